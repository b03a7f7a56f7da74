import Foundation
import LuaBridge
import SpectralNumerics
import Testing
@testable import Workbench

/// model:save and lab.models.load from a script's side, and checkpoints that describe their model.
@Suite struct ModelFileScriptTests: LabScripting {
    @Test func aSavedModelLoadsBackWithTheSameOutputs() throws {
        let r = try run("""
            local dir = os.tmpname(); os.remove(dir)
            local x = lab.tensor.randn({4, 3, 2})
            local out = {}
            for _, cell in ipairs { "spectral", "orthogonal", "rnn", "lstm", "gru" } do
              local m = lab.models.rnn { cell = cell, input = 2, hidden = 6, output = 2 }
              m:save(dir .. cell)
              local back = lab.models.load(dir .. cell)
              out[#out + 1] = back.cell .. "=" .. (back:forward(x) - m:forward(x)):norm()
              os.remove(dir .. cell)
            end
            local mlp = lab.models.mlp { sizes = { 5, 4, 3 }, dtype = "float64" }
            mlp:save(dir .. "mlp")
            out[#out + 1] = tostring(lab.models.load(dir .. "mlp"))
            local ok, e = pcall(lab.models.load, dir .. "missing")
            out[#out + 1] = e
            os.remove(dir .. "mlp")
            return table.concat(out, " | ")
            """)
        let text = r[0].string ?? ""
        #expect(text.hasPrefix("spectral=0.0 | orthogonal=0.0 | rnn=0.0 | lstm=0.0 | gru=0.0 | MLP(5 → 4 → 3, SVD layers, relu, "), "\(text)")
        #expect(text.contains("float64) | lab.models.load: ") && text.hasSuffix("missing: no such file"), "\(text)")
    }

    /// A checkpoint rebuilds its model, and restoring it into another model says what it holds.
    @Test func checkpointsDescribeTheirModel() throws {
        let r = try run("""
            local m = lab.models.rnn { cell = "spectral", input = 2, hidden = 8, output = 1 }
            local opt = lab.optim.adam { lr = 1e-3 }
            lab.checkpoint.save(1, m, opt)
            local back = lab.models.load(lab.run_dir("checkpoints/main/step-00000001.safetensors"))
            local x = lab.tensor.randn({3, 2, 2})
            local other = lab.models.rnn { cell = "gru", input = 2, hidden = 8, output = 1 }
            local ok, e = pcall(lab.checkpoint.restore, other, opt)
            return (back:forward(x) - m:forward(x)):norm(), e
            """)
        #expect(r[0] == .number(0))
        #expect(r[1].string?.contains("was written by another model: it holds a spectral rnn (") == true, "\(r[1])")
        #expect(r[1].string?.contains("not a gru rnn (") == true, "\(r[1])")
    }

    /// export_torch and from_torch from a script: the same outputs back, and options checked.
    @Test func aModelGoesToTorchsLayoutAndComesBack() throws {
        let r = try run("""
            local p = os.tmpname()
            local m = lab.models.rnn { cell = "lstm", input = 2, hidden = 5, output = 1, dtype = "float64" }
            m:export_torch(p)
            local back = lab.models.from_torch(p, { cell = "lstm" })
            local x = lab.tensor.randn({ 3, 2, 2 }, "float64")
            local d = (back:forward(x) - m:forward(x)):norm()
            local _, wrong = pcall(lab.models.from_torch, p, { cell = "gru" })
            local _, misplaced = pcall(lab.models.from_torch, p, { cell = "lstm", activation = "tanh" })
            local f32 = lab.models.from_torch(p, { cell = "lstm", dtype = "float32" }).dtype
            os.remove(p)
            return d, back.dtype, f32, wrong, misplaced
            """)
        #expect(r[0] == .number(0) && r[1] == .string("float64") && r[2] == .string("float32"))
        #expect(r[3].string?.contains("lab.models.from_torch: ") == true && r[3].string?.contains("a gru's is 3·hidden × hidden") == true, "\(r[3])")
        #expect(r[4].string?.contains("option 'activation' does not apply to cell 'lstm'") == true, "\(r[4])")
    }

    /// `spectral-lab export-model` on a model file and on a checkpoint.
    @Test func exportModelWritesTheStateDict() throws {
        let cli = try CLI()
        let script = try cli.write("save.lua", """
            local m = lab.models.rnn { cell = "spectral", input = 2, hidden = 6, output = 3 }
            m:save("model.safetensors")
            lab.checkpoint.save(1, m, lab.optim.adam { lr = 1e-3 })
            print(lab.run_dir("checkpoints/main/step-00000001.safetensors"))
            """)
        let saved = try cli.run(["run", script])
        #expect(saved.status == 0, "\(saved.stderr)")
        let checkpoint = saved.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for source in ["model.safetensors", checkpoint] {
            let out = cli.directory.appendingPathComponent("torch-\(UUID().uuidString).safetensors").path
            let r = try cli.run(["export-model", source, "--torch", out])
            #expect(r.status == 0, "\(r.stderr)")
            let (tensors, metadata) = try Safetensors.load(out)
            #expect(tensors.map(\.name) == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "readout.weight", "readout.bias"])
            #expect(metadata["torch_module"] == "RNN" && metadata["nonlinearity"] == "relu" && metadata["hidden_size"] == "6")
        }
        let bad = try cli.run(["export-model", script, "--torch", "x.safetensors"])
        #expect(bad.status == 2 && bad.stderr.contains("save.lua"), "\(bad.stderr)")
    }

    /// layer:assign and model:assign from a script, and an nn.RNN state_dict into a spectral cell.
    @Test func assignFactorsAMatrixIntoTheLayer() throws {
        let r = try run("""
            local W = lab.svd.linear(5, 4, { r = 0.5, dtype = "float64" }):matrix()
            local l = lab.svd.linear(5, 4, { r = 0.5, dtype = "float64" })
            l:assign(W)
            local back = (l:matrix() - W):norm()
            local _, shape = pcall(l.assign, l, lab.tensor.zeros({ 5, 4 }, "float64"))
            local _, strict = pcall(l.assign, l, W * 3, { strict = true })
            local s = lab.models.rnn { cell = "spectral", input = 2, hidden = 5, output = 1, activation = "tanh", reflectors = 5, r = 0.5, dtype = "float64" }
            s:parameters()["recurrent.p"]:copy_(lab.tensor.randn({ 5 }, "float64"))
            local p = os.tmpname()
            s:export_torch(p)
            local imported = lab.models.from_torch(p, { cell = "spectral", r = 0.5 })
            os.remove(p)
            local x = lab.tensor.randn({ 4, 3, 2 }, "float64")
            local _, gated = pcall(lab.models.rnn { cell = "lstm", input = 1, hidden = 2, output = 1 }.assign, lab.models.rnn { cell = "lstm", input = 1, hidden = 2, output = 1 }, lab.tensor.zeros({ 2, 2 }))
            return back, shape, strict, (imported:forward(x) - s:forward(x)):norm() / s:forward(x):norm(), imported.cell, gated
            """)
        #expect((r[0].double ?? 1) < 1e-12, "\(r[0])")
        #expect(r[1].string?.contains("layer:assign: W must be 4×5 (out × in), got 5×4") == true, "\(r[1])")
        #expect(r[2].string?.contains("layer:assign: strict: ") == true, "\(r[2])")
        #expect((r[3].double ?? 1) < 1e-12 && r[4] == .string("spectral"), "\(r[3])")
        #expect(r[5].string?.contains("an LSTM has no single W to set") == true, "\(r[5])")
    }
}
