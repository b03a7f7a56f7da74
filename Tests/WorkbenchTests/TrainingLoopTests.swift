import Foundation
import LuaBridge
import Testing
@testable import Workbench

@Suite struct TrainingLoopTests {
    static let script = #"""
local p = lab.params { cell = "spectral", steps = 400, T = 10 }
"""# + addingTaskLua + #"""
lab.seed(1)
local model = lab.models.rnn { cell = p.cell, input = 2, hidden = 32, output = 1, reflectors = 8, r = 0.1 }
local last = lab.train { model = model, task = task, optimizer = lab.optim.adam { lr = 1e-2 }, steps = p.steps,
                         schedule = lab.schedule.step { lr = 1e-2, every = 200, gamma = 0.3 }, every = 100,
                         eval_every = 200, diagnostics = { every = 200 }, clip = 5 }
print("final", last.loss, last.eval_loss, last.lr)
"""#

    /// An evaluation or a diagnosis that falls between two progress lines gets a line of its own
    /// (it used to wait for a step that was a multiple of both, and at eval_every = 250 with every
    /// = 100 that was every 500 steps).
    @Test func evaluationsAndDiagnosesOffTheLoggingGridAreLogged() throws {
        let cli = try CLI()
        let path = try cli.write("train.lua", #"""
local p = lab.params { steps = 300, T = 5 }
"""# + addingTaskLua + #"""
lab.seed(1)
local model = lab.models.rnn { cell = "spectral", input = 2, hidden = 8, output = 1, reflectors = 4, r = 0.1 }
lab.train { model = model, task = task, optimizer = lab.optim.adam { lr = 1e-2 }, steps = p.steps, every = 100,
            eval_every = 150, diagnostics = { every = 250 } }
"""#)
        let r = try cli.run(["run", path, "--out", "run"])
        #expect(r.status == 0, "\(r.stderr)")
        let all = try cli.jsonLines(cli.directory.appendingPathComponent("run/metrics.jsonl").path)
        #expect(all.map { $0["step"] as? Int } == [0, 100, 150, 200, 250, 300])
        #expect(all.map { $0["eval_loss"] != nil } == [false, false, true, false, false, true])
        #expect(all.map { $0["grad_profile"] != nil } == [true, false, false, false, true, true])
    }

    @Test func trainLogsProgressEvalAndDiagnostics() throws {
        let cli = try CLI()
        let path = try cli.write("train.lua", Self.script)
        let r = try cli.run(["run", path, "--out", "run"])
        #expect(r.status == 0, "\(r.stderr)")
        let all = try cli.jsonLines(cli.directory.appendingPathComponent("run/metrics.jsonl").path)
        #expect(all.map { $0["step"] as? Int } == [0, 100, 200, 300, 400])
        // Step 0: the diagnostics before training, the whole gradient profile and spectrum.
        #expect((all[0]["grad_profile"] as? [Double])?.count == 10 && (all[0]["singular_values"] as? [Double])?.count == 32, "\(all[0])")
        #expect(all[0]["loss"] == nil && all[0]["sigma_max"] as? Double == (all[0]["singular_values"] as? [Double])?.first)
        let metrics = Array(all.dropFirst())
        for key in ["loss", "lr", "grad_norm", "steps_per_s", "eta_s"] { #expect(metrics[0][key] != nil, "\(key)") }
        #expect(metrics[1]["eval_loss"] != nil && metrics[1]["grad_first_last_ratio"] != nil && metrics[1]["sigma_max"] != nil)
        #expect(metrics[1]["condition_number"] != nil && metrics[1]["orthogonality_drift"] != nil)
        #expect(metrics[1]["grad_norm.total"] != nil && metrics[1]["grad_norm.recurrent.u"] != nil)
        #expect(metrics[1]["grad_profile"] != nil && metrics[0]["grad_profile"] == nil)
        #expect(metrics[0]["eval_loss"] == nil)
        // The step schedule: 1e-2 for steps 1–200, then 3e-3.
        #expect(abs((metrics[1]["lr"] as? Double ?? 0) - 0.01) < 1e-12)
        #expect(abs((metrics[2]["lr"] as? Double ?? 0) - 0.003) < 1e-12)
        #expect((metrics[3]["loss"] as? Double ?? 1) < 0.05)
        // The printed lines are short: the gradient norms per parameter and the diagnostics go to
        // the files only; stdout is not a terminal, so no progress line either.
        #expect(!r.stdout.contains("grad_norm.") && !r.stdout.contains("grad_profile") && !r.stdout.contains("\r"), "\(r.stdout)")
        #expect(r.stdout.contains("step=100 loss="))
    }

    @Test func aNaNLossStopsTrainingWithTheStep() throws {
        let cli = try CLI()
        let path = try cli.write("nan.lua", """
            local model = lab.models.rnn { cell = "rnn", input = 1, hidden = 4, output = 1 }
            local n = 0
            local task = { batch = function()
              n = n + 1
              local x = lab.tensor.ones(3, 2, 1)
              if n == 7 then x[{1, 1, 1}] = 0 / 0 end
              return { x = x, y = lab.tensor.zeros(2, 1) }
            end }
            lab.train { model = model, task = task, optimizer = lab.optim.sgd { lr = 0.01 }, steps = 20, every = 5 }
            """)
        let r = try cli.run(["run", path, "--out", "nan"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("nan.lua:9: training stopped at step 7: the loss is"), "\(r.stderr)")
        #expect(r.stderr.contains("(last logged at step 5: loss"))
        // Recorded as a result of the settings (a sweep does not run it again), not as a fault.
        let record = try cli.json(cli.directory.appendingPathComponent("nan/run.json").path)
        #expect(record["status"] as? String == "diverged" && (record["error"] as? String)?.contains("the loss is") == true, "\(record)")
        // A divergence the script caught, then another error: that error is the run's end.
        try cli.write("caught.lua", (try cli.read(path)).replacingOccurrences(of: "lab.train {", with: "pcall(lab.train, {")
            .replacingOccurrences(of: "every = 5 }", with: "every = 5 })\nerror(\"something else\")"))
        let other = try cli.run(["run", cli.directory.appendingPathComponent("caught.lua").path, "--out", "caught"])
        let caught = try cli.json(cli.directory.appendingPathComponent("caught/run.json").path)
        #expect(other.status == 1 && caught["status"] as? String == "error" && (caught["error"] as? String)?.contains("something else") == true, "\(caught)")
    }

    @Test func schedulesAndOptionErrors() throws {
        let s = try LabSession(mode: .interactive(runsBase: NSTemporaryDirectory() + "runs-\(UUID().uuidString)"),
                               searchPath: RecipeSearchPath(directories: []))
        let r = try withExtendedLifetime(s) { try s.state.run("""
            local S = lab.schedule
            local st, ex = S.step { lr = 1, every = 10, gamma = 0.5 }, S.exponential { lr = 1, gamma = 0.9 }
            local co, wu = S.cosine { lr = 1, steps = 100, min = 0.1 }, S.warmup { steps = 10, after = 0.5 }
            local ok, e = pcall(lab.train, { model = 1, task = {}, optimizer = 1, step = 3 })
            return st(1), st(10), st(11), st(25), ex(1), ex(3), co(1), co(51), co(101), co(500), wu(5), wu(10), wu(11), e
            """, chunkName: "=t") }
        let expected: [Double] = [1, 1, 0.5, 0.25, 1, 0.81, 1, 0.55, 0.1, 0.1, 0.25, 0.5, 0.5]
        for (k, v) in expected.enumerated() { #expect(abs((r[k].double ?? .nan) - v) < 1e-12, "value \(k): \(r[k])") }
        #expect(r[13].string?.contains("unknown option 'step' to 'lab.train'; did you mean 'steps'?") == true, "\(r[13])")
        #expect(s.state.documentation.contains { $0.name == "lab.train" })
    }
}
