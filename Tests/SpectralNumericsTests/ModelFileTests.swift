import Foundation
import Testing
@testable import SpectralNumerics

/// Model files rebuild the model they describe with its parameters, bit for bit, and refuse files
/// of another model, of a newer format, or that are not model files, saying which.
@Suite struct ModelFileTests {
    func path(_ name: String) -> String { NSTemporaryDirectory() + "modelfile-\(UUID().uuidString)-\(name).safetensors" }

    /// Every cell, readout and precision: the loaded model's forward is the saved one's, bitwise.
    @Test(arguments: Cell.allCases)
    func recurrentModelsRoundTrip(cell: Cell) throws {
        for readout in ReadoutLayer<Double>.Mode.allCases {
            var g = Random(seed: 7)
            let model = try cell.model(Double.self, input: 3, hidden: 6, output: 2, readout: readout,
                                       options: .init(reflectors: 4, sigmaStar: 1.5, r: 0.25, activation: .tanh), rng: &g)
            for p in model.parameters { for i in 0 ..< p.value.count { p.value.data[i] += 0.1 * g.normal() } }
            (model as? RecurrentNetwork<Double>)?.recurrence = cell == .spectral ? .perStep : .materialized
            model.carriesState = true
            let file = path("\(cell)")
            try ModelFile.save(model as! any Trainable<Double>, to: file, software: "test")
            guard case .double(let loaded) = try ModelFile.load(file), let back = loaded as? any SequenceModel<Double> else {
                Issue.record("\(cell): not a float64 sequence model"); return
            }
            let x: Tensor<Double> = g.normalTensor([5, 4, 3])
            let (y, z) = (try model.forward(x), try back.forward(x))
            #expect(y.shape == z.shape && (0 ..< y.count).allSatisfy { y.data[$0] == z.data[$0] }, "\(cell) \(readout)")
            #expect(back.cellName == cell.rawValue && back.carriesState)
            #expect((back as? RecurrentNetwork<Double>)?.recurrence == (model as? RecurrentNetwork<Double>)?.recurrence)
            #expect(try ModelFile.mismatch(loaded, ModelFile.describe(model as! any Trainable<Double>)) == nil)
        }
    }

    @Test func layersAndMLPsRoundTripInFloat32() throws {
        var g = Random(seed: 3)
        let mlp = try MLP<Float>(sizes: [6, 5, 3], activation: .tanh, options: .init(reflectorsU: 4, reflectorsV: 4, sigmaStar: 2, r: 0.5), rng: &g)
        let layer = try SVDLinear<Float>(inFeatures: 4, outFeatures: 7, options: .init(reflectorsU: 2, reflectorsV: 0, sigmaStar: 1, r: 0.3, bias: false), rng: &g)
        let dense = try MLP<Float>(sizes: [6, 4, 4, 2], activation: .relu, dense: .kaiming, bias: false, rng: &g)
        #expect(try ModelFile.describe(dense)["model"] == "dense_mlp" && ModelFile.describe(mlp)["model"] == "mlp")
        for (model, x) in [(mlp as any Trainable<Float>, g.normalTensor([3, 6]) as Tensor<Float>), (layer, g.normalTensor([3, 4])),
                           (dense, g.normalTensor([3, 6]))] {
            for p in model.parameters { for i in 0 ..< p.value.count { p.value.data[i] += 0.1 * Float(g.normal()) } }
            let file = path("layer")
            try ModelFile.save(model, to: file, software: "test")
            guard case .float(let back) = try ModelFile.load(file) else { Issue.record("not float32"); continue }
            #expect(back.parameters.map(\.name) == model.parameters.map(\.name))
            let forward = { (m: any Trainable<Float>) throws -> Tensor<Float> in
                if let m = m as? MLP<Float> { return try m.forward(x) }
                return try (m as! SVDLinear<Float>).forward(x)
            }
            let (y, z) = (try forward(model), try forward(back))
            #expect((0 ..< y.count).allSatisfy { y.data[$0] == z.data[$0] })
            #expect(try ModelFile.mismatch(back, ModelFile.describe(model)) == nil)
        }
    }

    /// A file whose tensors or metadata were changed is refused with a message naming what.
    @Test func damagedAndForeignFilesAreRefusedSayingWhy() throws {
        var g = Random(seed: 1)
        let model = try Cell.spectral.model(Float.self, input: 2, hidden: 8, output: 1, readout: .last,
                                            options: .init(reflectors: 3), rng: &g) as! any Trainable<Float>
        let good = path("good")
        try ModelFile.save(model, to: good, software: "test")
        let (tensors, metadata) = try Safetensors.load(good)

        func refusal(_ tensors: [(name: String, tensor: AnyTensor)], _ metadata: [String: String]) throws -> String {
            let file = path("bad")
            try Safetensors.save(tensors, metadata: metadata, to: file)
            do { _ = try ModelFile.load(file) { widths, _ in
                    if widths.contains(where: { $0.0 * $0.1 > 1 << 24 }) { throw TensorError.value("too large to build") }
                }
            } catch { return "\(error)" }
            Issue.record("no error for \(metadata)")
            return ""
        }
        let extra = tensors + [("stray", AnyTensor(Tensor<Float>(zeros: [2])))]
        #expect(try refusal(extra, metadata).contains("tensor \"stray\" is not a parameter of a spectral rnn"))
        #expect(try refusal(tensors.filter { $0.name != "recurrent.p" }, metadata).contains("no tensor \"recurrent.p\""))
        #expect(try refusal(tensors, metadata.merging(["hidden": "9"]) { $1 }).contains("\"recurrent.u\" is 3×8, a spectral rnn"))
        #expect(try refusal(tensors, metadata.merging(["dtype": "float64"]) { $1 }).contains("\"recurrent.u\" is float32, the file says float64"))
        #expect(try refusal(tensors, metadata.merging(["format_version": "2", "spectral_lab_version": "9.0"]) { $1 })
            .contains("written in model-file format 2 by spectral-lab 9.0; this build reads format 1"))
        #expect(try refusal(tensors, metadata.merging(["format": "something else"]) { $1 }).contains("not a spectral-lab model file (its format is \"something else\")"))
        #expect(try refusal(tensors, [:]).contains("without a \"format\""))
        #expect(try refusal(tensors, metadata.merging(["cell": "transformer"]) { $1 }).contains("cell must be one of spectral, orthogonal, rnn, lstm, gru, got \"transformer\""))
        #expect(try refusal(tensors, metadata.filter { $0.key != "r" }).contains("the description has no \"r\""))
        #expect(try refusal(tensors, metadata.merging(["r": "5"]) { $1 }).contains("does not make a model"))
        #expect(try refusal(tensors, metadata.merging(["hidden": "100000"]) { $1 }).contains("too large to build"))
        #expect(try refusal(tensors, metadata.merging(["model": "mlp", "sizes": "4,,3"]) { $1 }).contains("sizes must be two or more"))
        // A checkpoint from before checkpoints described their model.
        #expect(try refusal(tensors.map { ("model/" + $0.name, $0.tensor) }, ["format": "spectral-lab checkpoint"]).contains("holds parameters only"))
    }

    @Test func mismatchNamesBothModels() throws {
        var g = Random(seed: 1)
        let a = try Cell.lstm.model(Float.self, input: 2, hidden: 8, output: 1, readout: .last, options: .init(reflectors: 1), rng: &g) as! any Trainable<Float>
        let b = try Cell.gru.model(Float.self, input: 2, hidden: 8, output: 1, readout: .last, options: .init(reflectors: 1), rng: &g) as! any Trainable<Float>
        let why = try #require(try ModelFile.mismatch(a, ModelFile.describe(b)))
        #expect(why.contains("it holds a gru rnn") && why.contains("not a lstm rnn"))
    }
}
