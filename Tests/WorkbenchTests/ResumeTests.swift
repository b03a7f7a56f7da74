import Foundation
import LuaBridge
import Testing
@testable import Workbench

@Suite struct ResumeTests {
    static let script = #"""
local p = lab.params { cell = "spectral", steps = 300, T = 10, crash_at = 0 }
"""# + addingTaskLua + #"""
lab.seed(1)
local model = lab.models.rnn { cell = p.cell, input = 2, hidden = 32, output = 1, reflectors = 8, r = 0.1 }
local last = lab.train { model = model, task = task, optimizer = lab.optim.adam { lr = 1e-2 }, steps = p.steps, checkpoint_every = 50,
                         schedule = lab.schedule.step { lr = 1e-2, every = 200, gamma = 0.3 }, every = 50,
                         eval_every = 200, diagnostics = { every = 200 }, clip = 5 }
print("final", last.loss, last.eval_loss, last.lr)
"""#

    /// A run that crashes after its step-200 checkpoint, resumed with --resume, logs exactly the
    /// losses of an uninterrupted run with the same seed (bitwise), and ends with status ok.
    @Test func aResumedRunMatchesAnUninterruptedOne() throws {
        let cli = try CLI()
        let path = try cli.write("resume.lua", Self.script)
        #expect(try cli.run(["run", path, "--out", "a"]).status == 0)
        let crashed = try cli.run(["run", path, "--out", "b", "--set", "crash_at=250"])
        #expect(crashed.status == 1)
        #expect(crashed.stderr.contains("simulated crash"))
        let resumed = try cli.run(["run", "--resume", "b"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.hasPrefix("resumed from the checkpoint at step 200"))
        func losses(_ run: String) throws -> [Double] {
            try cli.jsonLines(cli.directory.appendingPathComponent("\(run)/metrics.jsonl").path).compactMap { $0["loss"] as? Double }
        }
        let a = try losses("a"), b = try losses("b")
        #expect(a.count == 6)
        #expect(a == b)
        let record = try cli.json(cli.directory.appendingPathComponent("b/run.json").path)
        #expect(record["status"] as? String == "ok")
        #expect(record["error"] == nil)
        #expect(record["resumed_from_step"] as? Int == 200)
        let bad = try cli.run(["run", "--resume", "nowhere"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("'nowhere' is not a run directory"))
        // A finished run is not trained again, unless extended; only its length may change.
        let finished = try cli.run(["run", "--resume", "b"])
        #expect(finished.status == 2 && finished.stderr.contains("has finished (status ok); to train it further"), "\(finished.stderr)")
        let other = try cli.run(["run", "--resume", "b", "--set", "T=5"])
        #expect(other.status == 2 && other.stderr.contains("--set may only extend it (steps=, epochs=, minutes=), not change 'T'"), "\(other.stderr)")
        let shorter = try cli.run(["run", "--resume", "b", "--set", "steps=5"])
        #expect(shorter.status == 1 && shorter.stderr.contains("the checkpoint is at step 300, and steps is 5: nothing to train"), "\(shorter.stderr)")
        let extended = try cli.run(["run", "--resume", "b", "--set", "steps=400"])
        #expect(extended.status == 0, "\(extended.stderr)")
        #expect(try losses("b").count == 8)
        #expect(try cli.json(cli.directory.appendingPathComponent("b/params.json").path)["steps"] as? Int == 400)
    }

    /// A line's steps_per_s counts the steps trained in this process only. Resumed from a
    /// checkpoint at step 195, the line at 200 has 5 steps behind it here (and the mean loss of
    /// 100, 95 of them restored): a rate over 100 would show it 20 times too fast. Compared with
    /// the next line's rate, of 100 steps in the same process, as the machine's speed varies.
    @Test func theRateAfterAResumeCountsOnlyTheStepsTrainedSinceIt() throws {
        let cli = try CLI()
        let path = try cli.write("rate.lua", """
            local p = lab.params { T = 40, crash_at = 198 }
            \(addingTaskLua)
            local model = lab.models.rnn { cell = "spectral", input = 2, hidden = 32, output = 1 }
            lab.train { model = model, task = task, optimizer = lab.optim.adam {}, steps = 300, every = 100, checkpoint_every = 5 }
            """)
        #expect(try cli.run(["run", path, "--out", "b"]).status == 1)
        let resumed = try cli.run(["run", "--resume", "b"])
        #expect(resumed.status == 0 && resumed.stdout.hasPrefix("resumed from the checkpoint at step 195"), "\(resumed.stdout)\(resumed.stderr)")
        let lines = try cli.jsonLines(cli.directory.appendingPathComponent("b/metrics.jsonl").path)
        func rate(at step: Int) throws -> Double { try #require(lines.first { $0["step"] as? Int == step }?["steps_per_s"] as? Double) }
        let after = try rate(at: 200), next = try rate(at: 300)
        #expect(after < 5 * next, "steps_per_s \(after) at step 200 against \(next) at step 300")
    }

    /// What a resume must not do: train from step 1 into a run that has no checkpoint; keep lines
    /// logged after the checkpoint (or a half-written one); give up on a damaged newest checkpoint.
    @Test func resumeRefusesARunWithoutACheckpointAndCutsTheLogsBack() throws {
        let cli = try CLI()
        let path = try cli.write("resume.lua", Self.script)
        let none = try cli.run(["run", path, "--out", "c", "--set", "crash_at=30", "--set", "steps=40"])
        #expect(none.status == 1)
        let refused = try cli.run(["run", "--resume", "c"])
        #expect(refused.status == 2 && refused.stderr.contains("nothing to resume in") && refused.stderr.contains("no complete checkpoint"), "\(refused.stderr)")

        #expect(try cli.run(["run", path, "--out", "a"]).status == 0)
        #expect(try cli.run(["run", path, "--out", "b", "--set", "crash_at=280"]).status == 1)
        let dir = cli.directory.appendingPathComponent("b")
        // Odd bytes after the last line, and a damaged newest checkpoint (step 250): resume from 200.
        let metrics = try FileHandle(forWritingTo: dir.appendingPathComponent("metrics.jsonl"))
        metrics.seekToEndOfFile()
        metrics.write(Data("{\"step\": 26".utf8))
        try metrics.close()
        let newest = dir.appendingPathComponent("checkpoints/train/step-00000250.safetensors")
        let bytes = try Data(contentsOf: newest)
        try bytes.prefix(bytes.count / 2).write(to: newest)
        try Data().write(to: dir.appendingPathComponent("checkpoints/train/.step-00000300.safetensors.1234.tmp"))
        let resumed = try cli.run(["run", "--resume", "b"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("warning: checkpoint") && resumed.stderr.contains("step-00000250 is damaged")
                && resumed.stderr.contains("resuming from the checkpoint at step 200 instead"), "\(resumed.stderr)")
        func lines(_ run: String) throws -> [String] {
            try cli.read(cli.directory.appendingPathComponent("\(run)/metrics.jsonl").path).split(separator: "\n").map {
                // The same numbers, logged at other times.
                String($0).replacingOccurrences(of: #""(steps_per_s|eta_s|seconds)":[^,}]*"#, with: "", options: .regularExpression)
            }
        }
        let la = try lines("a"), lb = try lines("b")
        #expect(la == lb, "\(la.joined(separator: "\n"))\n--\n\(lb.joined(separator: "\n"))")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("checkpoints/train").path)
        #expect(!left.contains { $0.hasSuffix(".tmp") }, "\(left)")
    }

    /// One writer per run directory; a run whose process was killed shows as died and resumes.
    @Test func aRunDirectoryHasOneWriterAndADeadRunShowsAsDied() throws {
        let cli = try CLI()
        let script = try cli.write("hold.lua", """
            local p = lab.params { steps = 1 }
            lab.checkpoint.save(1, lab.models.rnn { input = 1, hidden = 2, output = 1 }, lab.optim.adam {})
            if not lab.checkpoint.resuming() then print('ready'); io.stdout:flush(); while true do end end
            """)
        let (process, _, _, _) = try cli.start(["run", script, "--out", "held"])
        let dir = cli.directory.appendingPathComponent("held").path
        #expect(RunDirectory.status(of: dir) == "running")
        let second = try cli.run(["run", "--resume", "held"])
        #expect(second.status == 2 && second.stderr.contains("is in use by process \(process.processIdentifier)"), "\(second.stderr)")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(try cli.json("\(dir)/run.json")["status"] as? String == "running")
        #expect(RunDirectory.status(of: dir) == "died")
        let resumed = try cli.run(["run", "--resume", "held", "--set", "steps=2"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("died without recording how it ended; resuming"), "\(resumed.stderr)")
        #expect(RunDirectory.status(of: dir) == "ok")
    }

    /// Steps are 64-bit in checkpoint names: step 2^32 + 3 does not overwrite step 3.
    @Test func checkpointStepsPastThirtyTwoBits() throws {
        let cli = try CLI()
        let path = try cli.write("big.lua", """
            local m = lab.models.rnn { input = 1, hidden = 2, output = 1 }
            local o = lab.optim.adam {}
            lab.checkpoint.save(3, m, o)
            lab.checkpoint.save((1 << 32) + 3, m, o)
            print(table.concat(lab.checkpoint.steps(), ","))
            """)
        let r = try cli.run(["run", path, "--out", "big"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "3,4294967299\n")
        #expect(FileManager.default.fileExists(atPath: cli.directory.appendingPathComponent("big/checkpoints/main/step-4294967299.json").path))
    }
}

/// Resume over lab.tasks: the task's stream (generator, epoch, cursor) and, for char_lm, the hidden
/// state the model carries between batches come back from the checkpoint, so the resumed losses are
/// the uninterrupted ones bit for bit.
@Suite struct TaskResumeTests {
    static let script = #"""
local p = lab.params { task = "adding", steps = 120, crash_at = 0 }
lab.seed(3)
local inner = p.task == "adding" and lab.tasks.adding { T = 12, batch = 16, seed = 5 }
                                  or lab.tasks.char_lm { path = "corpus.txt", seq_len = 8, batch = 4 }
-- A wrapper that fails on one call, delegating everything a checkpoint needs to the native task.
local calls, task = 0, { stateful = inner.stateful }
function task:batch()
  calls = calls + 1
  if calls == p.crash_at then error("simulated crash") end
  return inner:batch()
end
function task:eval_batches() return inner:eval_batches() end
function task:state() return inner:state() end
function task:set_state(s) inner:set_state(s) end
local model = lab.models.rnn { cell = "spectral", input = inner.input, hidden = 16, output = inner.output,
                               readout = inner.readout, reflectors = 4, r = 0.1, stateful = inner.stateful }
lab.train { model = model, task = task, optimizer = lab.optim.adam { lr = 1e-2 }, steps = p.steps,
            checkpoint_every = 40, every = 20, eval_every = 60 }
"""#

    @Test(arguments: ["adding", "char_lm"]) func aResumedTaskStreamMatchesAnUninterruptedOne(task: String) throws {
        let cli = try CLI()
        let path = try cli.write("resume.lua", Self.script)
        // Short lines of a small alphabet: 9 000 characters, enough for several epochs' worth of streams.
        var text = "", word = 0
        for i in 0 ..< 900 { word = (word * 7 + i) % 13; text += String(repeating: "abcdefghij".map { String($0) }[word % 10], count: 1 + word % 4) + (i % 9 == 8 ? "\n" : " ") }
        try cli.write("corpus.txt", String(repeating: text, count: 3))
        let full = try cli.run(["run", path, "--out", "a", "--set", "task=\(task)"])
        #expect(full.status == 0, "\(full.stderr)")
        let crashed = try cli.run(["run", path, "--out", "b", "--set", "task=\(task)", "--set", "crash_at=95"])
        #expect(crashed.status == 1)
        #expect(crashed.stderr.contains("simulated crash"), "\(crashed.stderr)")
        let resumed = try cli.run(["run", "--resume", "b"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.hasPrefix("resumed from the checkpoint at step 80"), "\(resumed.stdout)")
        func losses(_ run: String) throws -> [Double] {
            try cli.jsonLines(cli.directory.appendingPathComponent("\(run)/metrics.jsonl").path).flatMap { line in
                ["loss", "eval_loss"].compactMap { line[$0] as? Double }
            }
        }
        let a = try losses("a"), b = try losses("b")
        #expect(a.count == 8)
        #expect(a == b)
    }
}

/// Resume over lab.experiment, which trains one cell after another in one run: each cell keeps its
/// own checkpoints, a resumed run skips the cells that had finished (recomputing their results
/// without writing them twice) and picks up the interrupted one, so its logs are the uninterrupted
/// run's line for line.
@Suite struct ExperimentResumeTests {
    /// Three cells of a T = 10 adding task; the second crashes at its 35th batch while a file
    /// named `crash` exists.
    static let script = #"""
local p = lab.experiment.params({ steps = 60, every = 10, eval_every = 20, diagnostics_every = 20, hidden = 8, checkpoint_every = 10,
                                  cells = { "spectral", "rnn", "gru" } })
local made = 0
lab.experiment.run { name = "adding", params = p, task = function()
  made = made + 1
  local inner, calls, cell = lab.tasks.adding { T = 10, batch = 16 }, 0, made
  local t = { input = inner.input, output = inner.output, readout = inner.readout, baseline = inner.baseline }
  function t:batch()
    calls = calls + 1
    if cell == 2 and calls == 35 and io.open("crash") then error("simulated crash") end
    return inner:batch()
  end
  function t:eval_batches() return inner:eval_batches() end
  function t:state() return inner:state() end
  function t:set_state(s) inner:set_state(s) end
  return t
end }
"""#

    /// A log's lines without the fields that time the run (the same numbers, logged at other times).
    static func untimed(_ cli: CLI, _ run: String, _ log: String) throws -> [String] {
        try cli.read(cli.directory.appendingPathComponent("\(run)/\(log)").path).split(separator: "\n").map {
            String($0).replacingOccurrences(of: #""(steps_per_s|eta_s|seconds|seconds_per_epoch)":[^,}]*,?"#, with: "", options: .regularExpression)
        }
    }

    @Test func aCrashedExperimentResumesAtItsInterruptedCell() throws {
        let cli = try CLI()
        let path = try cli.write("cells.lua", Self.script)
        let full = try cli.run(["run", path, "--out", "a"])
        #expect(full.status == 0, "\(full.stderr)")
        try cli.write("crash", "")
        let crashed = try cli.run(["run", path, "--out", "b"])
        #expect(crashed.status == 1 && crashed.stderr.contains("simulated crash"), "\(crashed.stderr)")
        try FileManager.default.removeItem(at: cli.directory.appendingPathComponent("crash"))
        let resumed = try cli.run(["run", "--resume", "b"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("spectral: finished before the resume, at step 60"), "\(resumed.stdout)")
        #expect(resumed.stdout.contains("resumed from the checkpoint at step 30"), "\(resumed.stdout)")
        for log in ["metrics.jsonl", "results.jsonl"] {
            let a = try Self.untimed(cli, "a", log), b = try Self.untimed(cli, "b", log)
            #expect(a.count == (log == "metrics.jsonl" ? 21 : 3))   // per cell: step 0's diagnostics, 6 lines
            #expect(a == b, "\(log):\n\(a.joined(separator: "\n"))\n--\n\(b.joined(separator: "\n"))")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: cli.directory.appendingPathComponent("b/checkpoints").path)
        #expect(names.sorted() == ["gru", "rnn", "spectral"])
    }

    /// A finished experiment resumed with a larger steps trains every cell further, and its logs are
    /// those of a run given that many steps from the start.
    @Test func aFinishedExperimentExtendedEqualsALongerRun() throws {
        let cli = try CLI()
        let path = try cli.write("cells.lua", Self.script)
        #expect(try cli.run(["run", path, "--out", "long", "--set", "steps=80"]).status == 0)
        #expect(try cli.run(["run", path, "--out", "short"]).status == 0)
        let extended = try cli.run(["run", "--resume", "short", "--set", "steps=80"])
        #expect(extended.status == 0, "\(extended.stderr)")
        for log in ["metrics.jsonl", "results.jsonl"] {
            let a = try Self.untimed(cli, "long", log), b = try Self.untimed(cli, "short", log)
            #expect(a.count == (log == "metrics.jsonl" ? 27 : 3))   // per cell: step 0's diagnostics, 8 lines
            #expect(a == b, "\(log):\n\(a.joined(separator: "\n"))\n--\n\(b.joined(separator: "\n"))")
        }
    }

    /// The mlp recipe checkpoints too: a finished run resumed with more epochs trains both layer
    /// kinds further and logs what a run given those epochs from the start logs (its per-epoch
    /// time, saved with each checkpoint, aside). On a folder of small IDX files: 1 408 training
    /// images, 128 of them held out, so an epoch is 10 batches.
    @Test func theMLPRecipeExtendedEqualsALongerRun() throws {
        let cli = try CLI()
        let images = cli.directory.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        var state: UInt32 = 7
        func bytes(_ n: Int, below: UInt32) -> [UInt8] {
            (0 ..< n).map { _ in state = state &* 1664525 &+ 1013904223; return UInt8((state >> 24) % below) }
        }
        // An IDX file: magic 0, 0, 8 (unsigned bytes), the rank; each dimension as a big-endian UInt32.
        for (name, count) in [("train", 1408), ("t10k", 100)] {
            for (kind, dimensions, below) in [("images-idx3", [count, 28, 28], UInt32(256)), ("labels-idx1", [count], UInt32(10))] {
                var data = Data([0, 0, 8, UInt8(dimensions.count)])
                for n in dimensions { withUnsafeBytes(of: UInt32(n).bigEndian) { data.append(contentsOf: $0) } }
                data.append(contentsOf: bytes(dimensions.reduce(1, *), below: below))
                try data.write(to: images.appendingPathComponent("\(name)-\(kind)-ubyte"))
            }
        }
        let path = CLI.projectRoot.appendingPathComponent("plugins/mlp.lua").path
        let sets = ["path=images", "valid=128", "depth=2", "width=8", "every=5", "checkpoint_every=5", "seed=1"].flatMap { ["--set", $0] }
        #expect(try cli.run(["run", path, "--out", "long", "--set", "epochs=2"] + sets).status == 0)
        #expect(try cli.run(["run", path, "--out", "short", "--set", "epochs=1"] + sets).status == 0)
        let extended = try cli.run(["run", "--resume", "short", "--set", "epochs=2"])
        #expect(extended.status == 0, "\(extended.stderr)")
        #expect(extended.stdout.contains("resumed from the checkpoint at step 10"), "\(extended.stdout)")
        for log in ["metrics.jsonl", "results.jsonl"] {
            let a = try Self.untimed(cli, "long", log), b = try Self.untimed(cli, "short", log)
            #expect(a.count == (log == "metrics.jsonl" ? 10 : 2))   // per kind: step 0's diagnostics, steps 5, 10, 15, 20
            #expect(a == b, "\(log):\n\(a.joined(separator: "\n"))\n--\n\(b.joined(separator: "\n"))")
        }
        let rows = try cli.jsonLines(cli.directory.appendingPathComponent("short/results.jsonl").path)
        #expect(rows.count == 2 && rows.allSatisfy { ($0["seconds_per_epoch"] as? Double ?? 0) > 0 }, "\(rows)")
    }

    /// kill -9 at random moments, many times over (in training, in a checkpoint write, while a
    /// resume cuts its logs back or replays finished cells), each time followed by `--resume`: the
    /// run ends with every logged number the uninterrupted run's, bit for bit.
    @Test func killedAtRandomManyTimesAndResumedEqualsAnUninterruptedRun() throws {
        let cli = try CLI()
        let path = try cli.write("cells.lua", Self.script)
        let steps = ["--set", "steps=400"]
        let started = Date()
        #expect(try cli.run(["run", path, "--out", "a"] + steps).status == 0)
        // Moments as fractions of the uninterrupted run's time, so that a loaded machine (slower
        // to start and to train) is killed at as many different points as an idle one.
        let uninterrupted = Date().timeIntervalSince(started) * 1000
        // A machine that gets faster after that run (load gone, files cached) lets each attempt get
        // further, so the run can finish after fewer kills than the test is for: then it starts
        // again with the moments halved, rather than passing or failing on the machine's load.
        var generator = UInt64(12345), delays: [Int] = [], kills = 0, finished = false, scale = 1.0
        let dir = cli.directory.appendingPathComponent("b")
        for _ in 0 ..< 60 where !(finished && kills >= 5) {
            if finished {
                try FileManager.default.removeItem(at: dir)
                (finished, kills, scale) = (false, 0, max(scale / 2, 0.25))
                delays.append(-1)   // marks the restart in the message
            }
            generator = generator &* 6364136223846793005 &+ 1442695040888963407
            let delay = Int(uninterrupted * scale * (0.03 + 0.25 * Double(generator >> 11) / 0x1p53))   // ms after the process starts
            delays.append(delay)
            let fresh = !FileManager.default.fileExists(atPath: dir.path)
            let process = Process()
            process.executableURL = CLI.binary
            process.arguments = fresh ? ["run", path, "--out", "b"] + steps : ["run", "--resume", "b"]
            process.currentDirectoryURL = cli.directory
            process.environment = cli.environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(useconds_t(delay * 1000))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.waitUntilExit()
            if process.terminationReason == .exit {
                // Killed before the first checkpoint, a run can only start again.
                let checkpoints = FileManager.default.enumerator(atPath: dir.appendingPathComponent("checkpoints").path)?
                    .contains { ($0 as? String)?.hasSuffix(".json") == true } ?? false
                if process.terminationStatus == 2, !checkpoints {
                    try FileManager.default.removeItem(at: dir)
                    continue
                }
                // Killed after it recorded its end: the resume says it has finished.
                if process.terminationStatus == 2, RunDirectory.status(of: dir.path) == "ok" { finished = true; continue }
                #expect(process.terminationStatus == 0, "delays \(delays)")
                finished = process.terminationStatus == 0
            }
        }
        if !finished {
            let fresh = !FileManager.default.fileExists(atPath: dir.path)
            #expect(try cli.run(fresh ? ["run", path, "--out", "b"] + steps : ["run", "--resume", "b"]).status == 0)
        }
        #expect(kills >= 5, "kills landed \(kills) times (delays \(delays))")
        for log in ["metrics.jsonl", "results.jsonl"] {
            let a = try Self.untimed(cli, "a", log), b = try Self.untimed(cli, "b", log)
            #expect(a.count == (log == "metrics.jsonl" ? 123 : 3))   // with step 0's diagnostics per cell
            #expect(a == b, "\(log) after \(kills) kills (delays \(delays)):\n\(a.joined(separator: "\n"))\n--\n\(b.joined(separator: "\n"))")
        }
        #expect(try cli.json(dir.appendingPathComponent("run.json").path)["status"] as? String == "ok")
        for cell in ["spectral", "rnn", "gru"] {
            let left = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("checkpoints/\(cell)").path)
            #expect(!left.contains { $0.hasSuffix(".tmp") }, "\(left)")
        }
    }

    /// Two lab.train calls that checkpoint under one name would mix their steps: an error at the
    /// second call's line.
    @Test func twoTrainingsCannotShareACheckpointName() throws {
        let cli = try CLI()
        let path = try cli.write("same.lua", """
            local task = lab.tasks.adding { T = 5, batch = 4 }
            for i = 1, 2 do
              local m = lab.models.rnn { input = task.input, hidden = 4, output = task.output, readout = task.readout }
              lab.train { name = "cell", model = m, task = task, optimizer = lab.optim.adam {}, steps = 2, checkpoint_every = 1 }
            end
            """)
        let r = try cli.run(["run", path, "--out", "same"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("same.lua:4: lab.train: the checkpoint name 'cell' is taken by an earlier lab.train in this run"), "\(r.stderr)")
    }
}
