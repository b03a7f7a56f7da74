import Foundation
import Testing
@testable import SpectralNumerics

/// PyTorch's own numbers (Tests/Fixtures/torch, written by scripts/reference/torch_fixtures.py with
/// torch 2.15): finite differences prove that a backward pass matches its forward; these prove that
/// the forward is torch.nn.RNN's, LSTM's and GRU's, the gradients are torch's, and the optimizers
/// step as torch.optim's. Relative errors ‖ours − torch‖/‖torch‖: 1e-12 in float64, 1e-5 in float32.
@Suite struct TorchReferenceTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/torch")

    struct Fixture {
        let tensors: [String: AnyTensor]
        let metadata: [String: String]

        init(_ name: String) throws {
            let file = try Safetensors.load(TorchReferenceTests.folder.appendingPathComponent(name + ".safetensors").path)
            tensors = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.tensor) })
            metadata = file.metadata
        }

        func tensor<T: TensorScalar>(_ name: String, _: T.Type = T.self) throws -> Tensor<T> {
            try #require(tensors[name]?.tensor(T.self), "the fixture has no \(T.self) tensor '\(name)'")
        }
        func int(_ key: String) throws -> Int { try #require(metadata[key].flatMap { Int($0) }, "metadata '\(key)'") }
        func double(_ key: String) throws -> Double { try #require(metadata[key].flatMap { Double($0) }, "metadata '\(key)'") }
    }

    static func relativeError<T: TensorScalar>(_ ours: Tensor<T>, _ torch: Tensor<T>) throws -> Double {
        #expect(ours.shape == torch.shape)
        let scale = Double(torch.norm())
        return scale > 0 ? Double(try ours.subtracting(torch).norm()) / scale : Double(ours.norm())
    }

    static func tolerance<T: TensorScalar>(_: T.Type) -> Double { T.self == Double.self ? 1e-12 : 1e-5 }

    static let cells = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
    static let recurrentFixtures = cells.flatMap { c in ["small_f64", "parts_f64", "wide_input_f64", "parts_f32"].map { "\(c)_\($0)" } }

    @Test(arguments: recurrentFixtures)
    func recurrentMatchesTorch(fixture name: String) throws {
        let f = try Fixture(name)
        if name.hasSuffix("f64") { try compare(f, Double.self, name) } else { try compare(f, Float.self, name) }
    }

    /// Reads the fixture's state_dict as a model (TorchStateDict's import: nn.RNN's two biases are
    /// one here, b = b_ih + b_hh, whose gradient is either of theirs), and compares y, the loss and
    /// every gradient.
    private func compare<T: TensorScalar>(_ f: Fixture, _: T.Type, _ name: String) throws {
        let cell = try #require(f.metadata["cell"])
        let readout = try #require(ReadoutLayer<Float>.Mode(rawValue: f.metadata["readout"] ?? ""))
        let model = try TorchStateDict.model(T.self, from: f.tensors.filter { !$0.key.hasPrefix("grad.") && !["x", "y", "target", "loss"].contains($0.key) },
                                             options: .init(cell: cell.hasPrefix("rnn_") ? .rnn : Cell(rawValue: cell)!, readout: readout,
                                                            activation: cell == "rnn_tanh" ? .tanh : cell == "rnn_relu" ? .relu : nil)).model
        // Our parameter name → the torch tensor whose gradient it must have.
        var torchName = ["readout.weight": "readout.weight", "readout.bias": "readout.bias",
                         "input.weight": "weight_ih_l0", "input.bias": "bias_ih_l0"]
        if cell.hasPrefix("rnn_") {
            torchName["recurrent.w"] = "weight_hh_l0"
        } else {
            torchName["recurrent.weight"] = "weight_hh_l0"
            torchName["recurrent.bias"] = "bias_hh_l0"
        }
        #expect(Set(model.parameters.map(\.name)) == Set(torchName.keys), "\(name): parameter names")
        #expect(try [model.inputSize, model.hiddenSize, model.outputSize] == [f.int("input"), f.int("hidden"), f.int("output")])

        let x: Tensor<T> = try f.tensor("x"), target: Tensor<T> = try f.tensor("target")
        model.zeroGrad()
        let y = try model.forward(x)
        let (loss, gradY): (T, Tensor<T>)
        if f.metadata["loss"] == "mse" {
            (loss, gradY) = try Loss.meanSquaredError(y, target)
        } else {
            let labels = (0 ..< target.count).map { Int(Double(target.data[$0])) }
            let result = try Loss.crossEntropy(y, labels: labels)
            (loss, gradY) = (result.loss, result.grad)
        }
        let gradX = try model.backward(gradY)
        let tol = Self.tolerance(T.self)
        #expect(try Self.relativeError(y, f.tensor("y")) <= tol, "\(name): y")
        #expect(try Self.relativeError(Tensor(shape: [1], copying: [loss]), f.tensor("loss")) <= tol, "\(name): loss")
        #expect(try Self.relativeError(gradX, f.tensor("grad.x")) <= tol, "\(name): ∂x")
        for p in model.parameters {
            let e = try Self.relativeError(p.grad, f.tensor("grad." + torchName[p.name]!))
            #expect(e <= tol, "\(name): ∂\(p.name) relative error \(e)")
        }
    }

    static let optimizerFixtures = ["sgd_momentum", "sgd_nesterov", "rmsprop", "adam"].flatMap { ["optim_\($0)_f64", "optim_\($0)_f32"] }

    @Test(arguments: optimizerFixtures)
    func optimizerStepsAsTorch(fixture name: String) throws {
        let f = try Fixture(name)
        if name.hasSuffix("f64") { try steps(f, Double.self, name) } else { try steps(f, Float.self, name) }
    }

    /// Three steps from torch's start on torch's gradients; the parameters after each must be torch's.
    private func steps<T: TensorScalar>(_ f: Fixture, _: T.Type, _ name: String) throws {
        let rule: OptimizerRule
        switch f.metadata["rule"] {
        case "sgd": rule = .sgd(momentum: try f.double("momentum"), nesterov: f.metadata["nesterov"] == "true")
        case "rmsprop": rule = .rmsprop(alpha: try f.double("alpha"), epsilon: try f.double("eps"))
        case "adam": rule = .adam(beta1: try f.double("beta1"), beta2: try f.double("beta2"), epsilon: try f.double("eps"))
        default: Issue.record("\(name): unknown rule \(f.metadata["rule"] ?? "none")"); return
        }
        let optimizer = try Optimizer<T>(rule, learningRate: try f.double("lr"), weightDecay: try f.double("weight_decay"))
        let parameters: [Parameter<T>] = try ["a", "b"].map { k in
            let start: Tensor<T> = try f.tensor("start.\(k)")
            return (k, start.copy(), Tensor(zeros: start.shape))
        }
        for step in 1 ... 3 {
            for p in parameters {
                let g: Tensor<T> = try f.tensor("grad\(step).\(p.name)")
                p.grad.data.update(from: g.data, count: g.count)
            }
            optimizer.step(parameters)
            for p in parameters {
                let e = try Self.relativeError(p.value, f.tensor("after\(step).\(p.name)"))
                #expect(e <= Self.tolerance(T.self), "\(name): \(p.name) after step \(step), relative error \(e)")
            }
        }
    }
}
