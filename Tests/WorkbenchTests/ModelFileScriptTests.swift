import Foundation
import LuaBridge
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
}
