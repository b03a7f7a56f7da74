import Foundation
import Testing
@testable import SpectralNumerics

/// Export to PyTorch's state_dict layout and import from it (TorchReferenceTests imports torch's own
/// files; scripts/reference/torch_interop.py runs both ways through torch itself).
@Suite struct TorchStateDictTests {
    static func tensors(_ e: TorchStateDict.Export) -> [String: AnyTensor] {
        Dictionary(uniqueKeysWithValues: e.tensors.map { ($0.name, $0.tensor) })
    }

    /// Every cell exports and comes back (spectral and orthogonal as a dense rnn: their W
    /// materialized) with the same outputs.
    @Test(arguments: Cell.allCases)
    func exportThenImportKeepsTheOutputs(cell: Cell) throws {
        var g = Random(seed: 4)
        let model = try cell.model(Double.self, input: 3, hidden: 7, output: 2, readout: .all,
                                   options: .init(reflectors: 7, r: 0.4, activation: .tanh), rng: &g)
        for p in model.parameters { for i in 0 ..< p.value.count { p.value.data[i] += 0.1 * g.normal() } }
        let e = try TorchStateDict.export(model as! any Trainable<Double>)
        #expect(e.warning == nil)
        #expect(e.metadata["torch_module"] == (cell == .lstm ? "LSTM" : cell == .gru ? "GRU" : "RNN"))
        let gated = cell == .lstm || cell == .gru
        let back = try TorchStateDict.model(Double.self, from: Self.tensors(e), metadata: e.metadata,
                                            options: .init(cell: gated ? cell : .rnn, readout: .all)).model
        let x: Tensor<Double> = g.normalTensor([6, 5, 3])
        let (y, z) = (try model.forward(x), try back.forward(x))
        #expect(try y.subtracting(z).norm() <= 1e-14 * y.norm(), "\(cell)")
        let sigma = try model.recurrentSingularValues(), sigmaBack = try back.recurrentSingularValues()
        #expect(zip(sigma, sigmaBack).allSatisfy { abs($0 - $1) <= 1e-12 }, "\(cell): \(sigma) vs \(sigmaBack)")
    }

    @Test func leakyReLUExportsWithAWarningAndLayersAsLinear() throws {
        var g = Random(seed: 2)
        let leaky = try Cell.orthogonal.model(Float.self, input: 2, hidden: 4, output: 1, readout: .last,
                                              options: .init(reflectors: 4, activation: .leakyRelu), rng: &g) as! any Trainable<Float>
        let e = try TorchStateDict.export(leaky)
        #expect(e.warning?.contains("torch.nn.RNN has no leaky_relu nonlinearity") == true)
        #expect(e.metadata["nonlinearity"] == "leaky_relu" && Self.tensors(e)["weight_hh_l0"]?.shape == [4, 4])

        let mlp = try MLP<Float>(sizes: [5, 4, 3], activation: .leakyRelu, options: .init(), rng: &g)
        let m = try TorchStateDict.export(mlp)
        #expect(m.tensors.map(\.name) == ["0.weight", "0.bias", "2.weight", "2.bias"])
        #expect(m.metadata["modules"] == "Linear(5, 4, bias=True), LeakyReLU(0.1), Linear(4, 3, bias=True)")
        let w = try #require(Self.tensors(m)["2.weight"]?.tensor(Float.self))
        #expect(try w.maxAbsDifference(mlp.layers[1].matrix()) == 0)
        // A dense MLP exports its own weights.
        let dense = try MLP<Float>(sizes: [5, 4, 3], activation: .tanh, dense: .torch, bias: false, rng: &g)
        let d = try TorchStateDict.export(dense)
        #expect(d.tensors.map(\.name) == ["0.weight", "2.weight"])
        #expect(d.metadata["modules"] == "Linear(5, 4, bias=False), Tanh(), Linear(4, 3, bias=False)")
        #expect(try #require(Self.tensors(d)["0.weight"]?.tensor(Float.self)).maxAbsDifference((dense.layers[0] as! DenseLinear<Float>).weight) == 0)
    }

    @Test func importRefusesWhatItCannotRebuildSayingWhy() throws {
        var g = Random(seed: 1)
        let lstm = try Cell.lstm.model(Float.self, input: 2, hidden: 3, output: 1, readout: .last, options: .init(reflectors: 1), rng: &g)
        let t = Self.tensors(try TorchStateDict.export(lstm as! any Trainable<Float>))
        func refusal(_ tensors: [String: AnyTensor], _ o: TorchStateDict.ImportOptions) -> String {
            do { _ = try TorchStateDict.model(Float.self, from: tensors, options: o) } catch { return "\(error)" }
            Issue.record("no error for \(o)")
            return ""
        }
        #expect(refusal(t, .init(cell: .gru, readout: .last)).contains("weight_hh_l0 is 12×3; a gru's is 3·hidden × hidden: is it an LSTM's or an RNN's?"))
        #expect(refusal(t, .init(cell: .rnn, readout: .last)).contains("an rnn's is hidden × hidden"))
        #expect(refusal(t.merging(["weight_ih_l1": t["weight_ih_l0"]!]) { $1 }, .init(cell: .lstm, readout: .last)).contains("only num_layers = 1"))
        #expect(refusal(t.filter { $0.key != "readout.weight" }, .init(cell: .lstm, readout: .last)).contains("no \"readout.weight\""))
        #expect(refusal(t, .init(cell: .lstm, readout: .last, recurrentPrefix: "rnn.")).contains("no \"rnn.weight_ih_l0\""))
        let rnn = try Cell.rnn.model(Float.self, input: 2, hidden: 3, output: 1, readout: .last, options: .init(reflectors: 1), rng: &g)
        let r = Self.tensors(try TorchStateDict.export(rnn as! any Trainable<Float>))
        #expect(refusal(r, .init(cell: .rnn, readout: .last)).contains("say nn.RNN's nonlinearity"))
        // Prefixed keys, missing biases (bias=False) and the other precision come in.
        let prefixed = Dictionary(uniqueKeysWithValues: r.filter { !$0.key.hasPrefix("bias") && $0.key != "readout.bias" }.map { ($0.key.hasPrefix("readout.") ? "fc." + $0.key.dropFirst(8) : "rnn." + $0.key, $0.value) })
        let back = try TorchStateDict.model(Double.self, from: prefixed, options: .init(cell: .rnn, readout: .last, activation: .relu, recurrentPrefix: "rnn.", readoutPrefix: "fc.")).model
        #expect(back.inputSize == 2 && back.hiddenSize == 3 && back.parameters.first { $0.name == "input.bias" }?.value.norm() == 0)
    }
}
