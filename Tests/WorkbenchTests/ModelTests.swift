import Foundation
import LuaBridge
import Testing
@testable import Workbench

@Suite struct ModelTests {
    static let customLoop = #"""
local p = lab.params { cell = "spectral", steps = 300, T = 10, hidden = 32, recurrence = "materialized" }
"""# + addingTaskLua + #"""
lab.seed(1)
-- Each cell gets the options that apply to it (others are an error).
local o = { cell = p.cell, input = 2, hidden = p.hidden, output = 1 }
if p.cell == "spectral" or p.cell == "orthogonal" then o.reflectors, o.recurrence = 8, p.recurrence end
if p.cell == "spectral" then o.r = 0.1 end
local model = lab.models.rnn(o)
print(model)
local opt = lab.optim.adam { lr = 1e-2 }
for step = 1, p.steps do
  local x, y = adding_batch(32)
  local out = model:forward(x)
  local loss, grad = lab.loss.mse(out, y)
  model:zero_grad()
  model:backward(grad)
  local norm = opt:step(model)
  if step % 50 == 0 then lab.log { step = step, loss = loss, grad_norm = norm } end
  if step == 200 then opt.lr = 3e-3 end
end
local x, y = adding_batch(64)
local g = lab.diagnostics.grad_norms(model, { x = x, y = y, loss = "mse" })
print("grad norm profile first/last:", g.first_last_ratio, #g)
print("singular values:", model:singular_values()[1], model:singular_values()[p.hidden], opt.lr)
"""#

    /// The low-level pieces (model, loss, optimizer, diagnostics) are enough for a training loop
    /// written in Lua: each cell learns a small adding problem.
    @Test(arguments: ["spectral", "orthogonal", "rnn", "lstm", "gru", "spectral per_step"])
    func aCustomLoopInLuaLearns(cell: String) throws {
        let cli = try CLI()
        let parts = cell.split(separator: " ")
        let script = try cli.write("loop.lua", Self.customLoop)
        let r = try cli.run(["run", script, "--set", "cell=\(parts[0])", "--set", "recurrence=\(parts.count > 1 ? parts[1] : "materialized")", "--out", "run"])
        #expect(r.status == 0, "\(r.stderr)")
        let metrics = try cli.jsonLines(cli.directory.appendingPathComponent("run/metrics.jsonl").path)
        let losses = metrics.compactMap { $0["loss"] as? Double }
        #expect(losses.count == 6)
        // Predicting the mean scores about 1/6 (the paper's baseline, T-independent); all get far below.
        #expect(losses.last! < 0.05, "\(cell): \(losses)")
        #expect(r.stdout.contains("grad norm profile first/last:"))
        #expect(r.stdout.hasSuffix("0.003\n"))   // opt.lr = 3e-3 took effect
    }

    @Test func spectrumDiagnostics() throws {
        let s = try LabSession(mode: .interactive(runsBase: NSTemporaryDirectory() + "runs-\(UUID().uuidString)"),
                               searchPath: RecipeSearchPath(directories: []))
        let r = try withExtendedLifetime(s) { try s.state.run("""
            local o = lab.diagnostics.spectrum(lab.models.rnn{cell = 'orthogonal', input = 1, hidden = 6, output = 1, reflectors = 6, dtype = 'double'})
            local d = lab.diagnostics.spectrum(lab.models.rnn{cell = 'rnn', init = 'identity', input = 1, hidden = 4, output = 1, dtype = 'double'})
            local sp = lab.models.rnn{cell = 'spectral', input = 1, hidden = 5, output = 1, r = 0.5, dtype = 'double'}
            local p = sp:parameters()["recurrent.p"]
            p:copy_(lab.tensor.from({3, -3, 0, 1, -1}, 'double'))
            local x = lab.diagnostics.spectrum(sp)
            local expected = 0
            for _, v in ipairs(x.singular_values) do expected = expected + (v * v - 1) ^ 2 end
            return o.orthogonality_drift < 1e-12, o.condition_number, d.condition_number, d.orthogonality_drift,
                   math.abs(x.orthogonality_drift - math.sqrt(expected)) < 1e-12, x.spectral_norm > 1.4, #x.singular_values
            """, chunkName: "=t") }
        #expect(r == [true, 1.0, 1.0, 0.0, true, true, 5])
    }

    @Test func statefulModelsContinueTheStream() throws {
        let s = try LabSession(mode: .interactive(runsBase: NSTemporaryDirectory() + "runs-\(UUID().uuidString)"),
                               searchPath: RecipeSearchPath(directories: []))
        let r = try withExtendedLifetime(s) { try s.state.run("""
            local results = {}
            for _, cell in ipairs { "spectral", "lstm" } do
              lab.seed(3); local whole = lab.models.rnn{cell = cell, input = 1, hidden = 4, output = 1, readout = 'all', dtype = 'double'}
              lab.seed(3); local parts = lab.models.rnn{cell = cell, input = 1, hidden = 4, output = 1, readout = 'all', dtype = 'double', stateful = true}
              local x = lab.tensor.randn(6, 2, 1, 'double')
              local a = whole:forward(x):totable()
              local b1 = parts:forward(lab.tensor.from({x[1]:totable(), x[2]:totable(), x[3]:totable()}, 'double')):totable()
              local b2 = parts:forward(lab.tensor.from({x[4]:totable(), x[5]:totable(), x[6]:totable()}, 'double')):totable()
              results[#results + 1] = a[4][1][1] == b2[1][1][1] and a[6][2][1] == b2[3][2][1] and a[1][1][1] == b1[1][1][1]
              parts:reset_state()
              results[#results + 1] = parts:forward(lab.tensor.from({x[4]:totable(), x[5]:totable(), x[6]:totable()}, 'double')):totable()[1][1][1] ~= b2[1][1][1]
              results[#results + 1] = parts.stateful
            end
            return table.unpack(results)
            """, chunkName: "=t") }
        #expect(r == [true, true, true, true, true, true])
    }

    @Test func anMLPOfSVDLayersLearnsARegression() throws {
        let s = try LabSession(mode: .interactive(runsBase: NSTemporaryDirectory() + "runs-\(UUID().uuidString)"),
                               searchPath: RecipeSearchPath(directories: []))
        let r = try withExtendedLifetime(s) { try s.state.run("""
            lab.seed(5)
            local m = lab.models.mlp { sizes = {3, 16, 1}, r = 0.5, activation = "tanh" }
            local o = lab.optim.adam { lr = 1e-2 }
            local x = lab.tensor.randn(64, 3)
            local y = lab.tensor.zeros(64, 1)
            for b = 1, 64 do y[{b, 1}] = math.sin(x[{b, 1}]) + 0.5 * x[{b, 2}] end
            local first, last
            for step = 1, 300 do
              local loss, grad = lab.loss.mse(m:forward(x), y)
              m:zero_grad(); m:backward(grad); o:step(m)
              first = first or loss; last = loss
            end
            local sv = m:layer(1):singular_values()
            return first, last, sv[1] <= 1.5 + 1e-6 and sv[#sv] >= 0.5 - 1e-6, tostring(m)
            """, chunkName: "=t") }
        #expect((r[1].double ?? 1) < 0.2 * (r[0].double ?? 0), "\(r)")
        #expect(r[2] == true)
        #expect(r[3] == "MLP(3 → 16 → 1, SVD layers, tanh, 300 parameters, float32)")
    }

    /// The dense baseline from Lua: its layers, its initializations and the options it refuses; the
    /// diagnostics lab.train logs (the per-layer gradient profile, the spectrum of every layer).
    @Test func aDenseMLPAndItsDiagnostics() throws {
        let s = try LabSession(mode: .interactive(runsBase: NSTemporaryDirectory() + "runs-\(UUID().uuidString)"),
                               searchPath: RecipeSearchPath(directories: []))
        let r = try withExtendedLifetime(s) { try s.state.run("""
            lab.seed(3)
            local dense = lab.models.mlp { sizes = {6, 8, 8, 8, 3}, layers = "dense", init = "haar", dtype = "float64" }
            local svd = lab.models.mlp { sizes = {6, 8, 8, 8, 3}, r = 0.2, sigma_star = 1.5, dtype = "float64" }
            local x, y = lab.tensor.randn(5, 6, "float64"), lab.tensor.zeros(5, "float64")
            for b = 1, 5 do y:set(b, b % 3 + 1) end
            local batch = { x = x, y = y, loss = "xent" }
            local g = lab.diagnostics.grad_norms(dense, batch)
            local _, grad = lab.loss.batch(dense:forward(x), batch)
            dense:zero_grad(); dense:backward(grad)
            local same = #g == 3 and g.first_last_ratio == g[1] / g[3]
            for k = 1, 3 do same = same and math.abs(dense:grad_norms()[k] - g[k]) < 1e-15 end
            local before = dense:gradients()["layer2.weight"]:norm()
            lab.diagnostics.grad_norms(dense, batch)
            local kept = dense:gradients()["layer2.weight"]:norm() == before
            local sd, ss = lab.diagnostics.spectrum(dense), lab.diagnostics.spectrum(svd)
            local errors = {}
            for _, o in ipairs({ { layers = "dense", r = 0.1 }, { layers = "dense", init = "henaff" }, { init = "kaiming" } }) do
              o.sizes = { 4, 3 }
              errors[#errors + 1] = select(2, pcall(lab.models.mlp, o))
            end
            return tostring(dense), tostring(dense:layer(2)), same, kept, #sd.singular_values, sd.spectral_norm, ss.spectral_norm,
                   ss.singular_values[#ss.singular_values], dense.layers, svd.layers, table.concat(errors, "\\n")
            """, chunkName: "=t") }
        #expect(r[0] == "MLP(6 → 8 → 8 → 8 → 3, dense layers, relu, 227 parameters, float64)")
        #expect(r[1] == "DenseLinear(8 → 8, bias, float64)")
        #expect(r[2] == true && r[3] == true, "\(r)")
        // haar: every σ = 1 (6 + 8 + 8 + 3 of them); σ* = 1.5 for every SVD layer.
        #expect(r[4].int == 25 && abs((r[5].double ?? 0) - 1) < 1e-12 && r[6].double == 1.5 && r[7].double == 1.5, "\(r)")
        #expect(r[8] == "dense" && r[9] == "svd")
        #expect(r[10].string?.split(separator: "\n") == [
            "option 'r' does not apply to layers 'dense' in 'lab.models.mlp' (only to svd)",
            "bad option 'init' to 'lab.models.mlp' (dense layers take kaiming, glorot, torch, haar, got henaff)",
            "bad option 'init' to 'lab.models.mlp' (svd layers take glorot, haar, henaff, cayley, identity, got kaiming)",
        ], "\(r[10])")
    }

    @Test func modelOptimizerAndDiagnosticErrors() throws {
        let s = try LabSession(mode: .interactive(runsBase: NSTemporaryDirectory() + "runs-\(UUID().uuidString)"),
                               searchPath: RecipeSearchPath(directories: []))
        func error(_ code: String) throws -> String {
            try withExtendedLifetime(s) {
                let r = try s.state.run("local ok, e = pcall(function()\n\(code)\nend); return ok, e", chunkName: "=t")
                #expect(r[0] == false, "no error from \(code)")
                return r[1].string ?? ""
            }
        }
        #expect(try error("return lab.models.rnn{cell = 'lstmm', input = 1, hidden = 4, output = 1}").contains("bad option 'cell' to 'lab.models.rnn' (must be one of \"spectral\" | \"orthogonal\" | \"rnn\" | \"lstm\" | \"gru\", got \"lstmm\"; did you mean 'lstm'?)"))
        #expect(try error("return lab.models.rnn{cell = 'spectral', input = 1, hidden = 4, output = 1, hiden = 3}").contains("unknown option 'hiden'"))
        #expect(try error("return lab.models.rnn{input = 1, hidden = 4, output = 1, activation = 'gelu'}")
                .contains("bad option 'activation' to 'lab.models.rnn' (must be one of \"relu\" | \"tanh\" | \"leaky_relu\" | \"identity\", got \"gelu\"; did you mean 'relu'?)"))
        #expect(try error("return lab.models.rnn{input = 1, hidden = 4, output = 1}:forward(lab.tensor.zeros(3, 2))")
                == "t:2: expected a sequence batch T×B×1 (time first), got 3×2")
        #expect(try error("return lab.optim.sgd{lr = 0.1, momentum = 2}").contains("bad option 'momentum' to 'lab.optim.sgd' (must be a finite number ≥ 0, ≤ 1, got 2)"))
        #expect(try error("return lab.models.rnn{cell = 'lstm', input = 1, hidden = 4, output = 1, recurrence = 'per_step'}")
                .contains("option 'recurrence' does not apply to cell 'lstm' in 'lab.models.rnn' (only to spectral, orthogonal)"))
        #expect(try error("local o = lab.optim.adam{}; o.beta = 3").contains("no settable field 'beta'"))
        #expect(try error("return lab.optim.adam{}:step(42)").contains("model or layer expected, got number"))
        #expect(try error("return lab.loss.cross_entropy(lab.tensor.zeros(2, 3), {1, 4})").contains("label 3 at row 2 is outside 0…2"))
        let ok = try withExtendedLifetime(s) { try s.state.run("""
            local m = lab.models.rnn{cell = 'rnn', input = 1, hidden = 3, output = 2, readout = 'all', init = 'identity', dtype = 'double'}
            local loss, grad, acc = lab.loss.cross_entropy(m:forward(lab.tensor.ones(4, 2, 1, 'double')), {1, 2, 1, 2, 1, 2, 1, 2})
            local o = lab.optim.sgd{lr = 0.5}
            m:zero_grad(); m:backward(grad); o:step(m)
            return m:parameter_count(), m:singular_values()[1], acc >= 0 and acc <= 1, grad:size(), o.lr
            """, chunkName: "=t") }
        #expect(ok == [.integer(3 * 3 + 3 * 1 + 3 + 2 * 3 + 2), 1.0, true, [4, 2, 2], 0.5])
    }
}
