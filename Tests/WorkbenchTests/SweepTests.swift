import Foundation
import LuaBridge
import Testing
@testable import Workbench

/// `spectral-lab sweep` on this machine: points, names, the summary over seeds, reruns that skip
/// and resume, and grids refused before anything starts.
@Suite struct SweepTests {
    static let small = ["--set", "steps=40", "--set", "cells=spectral", "--set", "checkpoint_every=0"]

    /// What a Slurm task reads back from sweep.json: a field of the wrong type is an error that
    /// names it, never a default (another thread count, a point without its --set or seed).
    @Test func aDamagedSweepRecordIsAnErrorNamingTheField() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("damaged-sweep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = #"{"target": "adding", "threads_per_point": 2, "run_options": ["--quiet"], "points": [{"name": "a", "set": ["lr=1"], "seed": 3}]}"#
        let cases = [
            (good.replacingOccurrences(of: #""threads_per_point": 2"#, with: #""threads_per_point": "2""#), "threads_per_point is not an integer"),
            (good.replacingOccurrences(of: #""seed": 3"#, with: #""seed": "3""#), "point a's seed is not an integer"),
            (good.replacingOccurrences(of: #""set": ["lr=1"]"#, with: #""set": [1]"#), "point a's set holds a non-string"),
            (good.replacingOccurrences(of: #""run_options": ["--quiet"]"#, with: #""run_options": "--quiet""#), "run_options is not a list"),
            (good.replacingOccurrences(of: #"{"name": "a","#, with: #"{"name": 1,"#), "point 1 has no name"),
        ]
        let directory = SweepDirectory(path: folder.path)
        try good.write(toFile: directory.recordPath, atomically: true, encoding: .utf8)
        let stored = try directory.stored()
        #expect(stored.threads == 2 && stored.options == ["--quiet"] && stored.points.first?.sets == ["lr=1"] && stored.points.first?.seed == 3)
        for (text, message) in cases {
            try text.write(toFile: directory.recordPath, atomically: true, encoding: .utf8)
            #expect(throws: (any Error).self, "\(message)") { _ = try directory.stored() }
            do { _ = try directory.stored() } catch { #expect("\(error)".contains(message), "\(error)") }
        }
        // What `sweep status` and a resubmission read: the names by array index, the Slurm jobs to
        // wait for. A point without a name or a job without an id is an error, not a gap.
        let record = { (text: String) throws -> LuaTable in
            try text.write(toFile: directory.recordPath, atomically: true, encoding: .utf8)
            return try #require(try directory.record())
        }
        let slurm = good.replacingOccurrences(of: #""target""#, with: #""slurm": {"jobs": [{"job_id": "41"}]}, "target""#)
        #expect(try directory.pointNames(record(slurm)) == ["a"] && directory.slurmJobs(record(slurm)) == ["41"])
        #expect(try directory.slurmJobs(record(good)) == [])
        for (text, message) in [(slurm.replacingOccurrences(of: #""job_id": "41""#, with: #""job_id": 41"#), "Slurm job 1 has no job_id"),
                                (slurm.replacingOccurrences(of: #"[{"job_id": "41"}]"#, with: #""41""#), "slurm.jobs is not a list")] {
            do { _ = try directory.slurmJobs(record(text)); Issue.record("no error: \(message)") } catch { #expect("\(error)".contains(message), "\(error)") }
        }
        do { _ = try directory.pointNames(record(cases[4].0)); Issue.record("no error for a point without a name") } catch {
            #expect("\(error)".contains("point 1 has no name"), "\(error)")
        }
    }

    @Test func theProductOfTheGridsAndSeedsNamesThePoints() throws {
        let plan = try SweepPlan(grids: ["lr=1e-3,1e-2", "cells=spectral,rnn;lstm"], zips: ["clip=0,1", "r=0.1,0.2"], seeds: "1-2,7", sets: ["T=10"])
        #expect(plan.points.count == 2 * 2 * 2 * 3)
        #expect(plan.points[0].name == "lr=1e-3,cells=spectral,rnn,clip=0,r=0.1,seed=1")
        #expect(plan.points[0].sets == ["T=10", "lr=1e-3", "cells=spectral,rnn", "clip=0", "r=0.1"] && plan.points[0].seed == 1)
        #expect(plan.points[3].name == "lr=1e-3,cells=spectral,rnn,clip=1,r=0.2,seed=1")
        #expect(plan.points.last?.name == "lr=1e-2,cells=lstm,clip=1,r=0.2,seed=7")
        #expect(Set(plan.points.map(\.name)).count == plan.points.count)
        for (grids, zips, seeds, message) in [(["lr"], [String](), nil as String?, "--grid expects NAME=V1,V2"), (["lr=1,,2"], [], nil, "needs a list of values"),
                                              (["lr=1,2"], ["a=1,2", "b=1"], nil, "must have one length"), (["lr=1"], [], "3-1", "--seeds takes"),
                                              (["lr=1"], [], "1,1", "names a seed twice"), (["lr=1", "lr=2"], [], nil, "'lr' is given more than once")] {
            do {
                _ = try SweepPlan(grids: grids, zips: zips, seeds: seeds)
                Issue.record("accepted: \(grids) \(zips) \(seeds ?? "")")
            } catch { #expect("\(error)".contains(message), "\(error)") }
        }
    }

    /// A 2 × 2 grid over 2 seeds, two at a time: 8 runs, the summary's mean ± std those of the
    /// runs' results, and a second time nothing runs again.
    @Test func aLocalSweepRunsEveryPointAndARerunSkipsThem() throws {
        let cli = try CLI()
        let path = try cli.write("cells.lua", ExperimentResumeTests.script)
        let args = ["sweep", path, "--grid", "lr=0.001,0.01", "--grid", "hidden=8,12", "--seeds", "1-2", "--jobs", "2", "--out", "sw"] + Self.small
        let r = try cli.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        let sweep = cli.directory.appendingPathComponent("sw")
        let names = ["lr=0.001,hidden=8", "lr=0.001,hidden=12", "lr=0.01,hidden=8", "lr=0.01,hidden=12"].flatMap { ["\($0),seed=1", "\($0),seed=2"] }
        let record = try cli.json(sweep.appendingPathComponent("sweep.json").path)
        let points = record["points"] as? [[String: Any]] ?? []
        #expect(points.map { $0["name"] as? String } == names && points.allSatisfy { $0["state"] as? String == "done" }, "\(points)")
        #expect(record["jobs"] as? Int == 2 && record["threads_per_point"] as? Int == max(1, ProcessInfo.processInfo.activeProcessorCount / 2))
        for n in names {
            let run = try RunData(path: sweep.appendingPathComponent(n).path)
            #expect(run.status == "ok" && run.record["seed"].int == (n.hasSuffix("seed=1") ? 1 : 2))
            #expect(run.params["lr"].double == (n.hasPrefix("lr=0.001") ? 0.001 : 0.01) && run.params["hidden"].int == (n.contains("hidden=8") ? 8 : 12))
        }
        // The mean ± std over the two seeds of one grid point, as the summary prints it.
        let losses = try ["seed=1", "seed=2"].map { try RunData(path: sweep.appendingPathComponent("lr=0.01,hidden=12,\($0)").path).results[0]["eval_loss"].double! }
        let s = Stats(losses)
        let row = r.stdout.split(separator: "\n").first { $0.hasPrefix("spectral hidden=12 lr=0.01 (n=2)") }
        #expect(row?.contains("\(HTMLReport.number(s.mean)) ± \(HTMLReport.number(s.std)) (n=2)") == true, "\(r.stdout)")
        let status = try cli.run(["sweep", "status", sweep.path])
        #expect(status.status == 0 && status.stdout.contains(String(row ?? "none")), "\(status.stdout)")

        let before = try names.map { try cli.read(sweep.appendingPathComponent("\($0)/metrics.jsonl").path) }
        let again = try cli.run(args)
        #expect(again.status == 0 && again.stderr.contains("sweep: 8 of 8 points had finished: skipped"), "\(again.stderr)")
        #expect(try names.map { try cli.read(sweep.appendingPathComponent("\($0)/metrics.jsonl").path) } == before)
    }

    /// A point whose loss becomes NaN is a result of its settings: the sweep records it as diverged,
    /// exits 0 naming it, and a rerun skips it rather than repeating it (and moving it aside).
    @Test func aDivergedPointIsAResultNotAFailure() throws {
        let cli = try CLI()
        let path = try cli.write("nan.lua", """
            local p = lab.params { nan_at = 0 }
            local model = lab.models.rnn { cell = "rnn", input = 1, hidden = 4, output = 1 }
            local n = 0
            local task = { batch = function()
              n = n + 1
              local x = lab.tensor.ones(3, 2, 1)
              if n == p.nan_at then x[{1, 1, 1}] = 0 / 0 end
              return { x = x, y = lab.tensor.zeros(2, 1) }
            end }
            lab.train { model = model, task = task, optimizer = lab.optim.sgd { lr = 0.01 }, steps = 10, every = 5 }
            lab.result { trained = 1 }
            """)
        let args = ["sweep", path, "--grid", "nan_at=0,7", "--jobs", "2", "--out", "sw"]
        let r = try cli.run(args)
        #expect(r.status == 0 && r.stderr.contains("sweep: 1 point diverged (the loss stopped being finite") && r.stderr.contains("nan_at=7 (log: "), "\(r.stderr)")
        let directory = SweepDirectory(path: cli.directory.appendingPathComponent("sw").path)
        #expect(directory.state(of: "nan_at=0") == "done" && directory.state(of: "nan_at=7") == "diverged")
        let points = try cli.json(directory.recordPath)["points"] as? [[String: Any]] ?? []
        #expect(points.map { $0["state"] as? String } == ["done", "diverged"], "\(points)")
        let status = try cli.run(["sweep", "status", directory.path])
        #expect(status.stdout.contains("nan_at=7  diverged"), "\(status.stdout)")
        let again = try cli.run(args)
        #expect(again.status == 0 && again.stderr.contains("sweep: 2 of 2 points had finished: skipped"), "\(again.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.pointPath("nan_at=7") + ".failed-1"))
    }

    /// Points that crash (the second cell, while a file named crash exists) fail without stopping
    /// the others; the command exits 1 naming them; run again, each resumes from its checkpoint and
    /// ends with the logs of an uninterrupted run of that point, bit for bit.
    @Test func failedPointsResumeWhenTheSweepRunsAgain() throws {
        let cli = try CLI()
        let path = try cli.write("cells.lua", ExperimentResumeTests.script)
        let args = ["sweep", path, "--grid", "lr=0.001,0.01", "--jobs", "2", "--out", "sw", "--set", "cells=spectral,rnn"]
        try cli.write("crash", "")
        let crashed = try cli.run(args)
        #expect(crashed.status == 1 && crashed.stderr.contains("sweep: 2 points failed: ") && crashed.stderr.contains("lr=0.001 (log: ")
                && crashed.stderr.contains("lr=0.01 (log: "), "\(crashed.stderr)")
        #expect(try cli.read(cli.directory.appendingPathComponent("sw/logs/lr=0.01.log").path).contains("simulated crash"))
        try FileManager.default.removeItem(at: cli.directory.appendingPathComponent("crash"))
        let resumed = try cli.run(args)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try cli.read(cli.directory.appendingPathComponent("sw/logs/lr=0.01.log").path).contains("resumed from the checkpoint at step 30"))
        let whole = try cli.run(["run", path, "--out", "whole", "--set", "cells=spectral,rnn", "--set", "lr=0.01", "--threads",
                                 String(max(1, ProcessInfo.processInfo.activeProcessorCount / 2))])
        #expect(whole.status == 0, "\(whole.stderr)")
        for log in ["metrics.jsonl", "results.jsonl"] {
            #expect(try ExperimentResumeTests.untimed(cli, "sw/lr=0.01", log) == ExperimentResumeTests.untimed(cli, "whole", log), "\(log)")
        }
    }

    /// A point's process killed (kill -9) mid-run: the sweep goes on and exits 1 with the point
    /// died; run again, the point resumes from its checkpoint and ends bitwise as an uninterrupted run.
    @Test func aPointKilledMidRunResumesWhenTheSweepRunsAgain() throws {
        let cli = try CLI()
        let path = try cli.write("cells.lua", ExperimentResumeTests.script)
        let sets = ["--set", "steps=3000", "--set", "cells=spectral", "--set", "eval_every=0", "--set", "checkpoint_every=10", "--set", "every=50"]
        let args = ["sweep", path, "--grid", "lr=0.001", "--jobs", "1", "--out", "sw"] + sets
        let sweep = Process()
        sweep.executableURL = CLI.binary
        sweep.arguments = args
        sweep.currentDirectoryURL = cli.directory
        sweep.environment = cli.environment
        sweep.standardOutput = FileHandle.nullDevice
        sweep.standardError = FileHandle.nullDevice
        try sweep.run()
        let point = cli.directory.appendingPathComponent("sw/lr=0.001")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, ((try? FileManager.default.contentsOfDirectory(atPath: point.appendingPathComponent("checkpoints/spectral").path)) ?? [])
            .filter({ $0.hasSuffix(".json") }).count < 2 { usleep(50_000) }
        let pid = try #require(try cli.json(point.appendingPathComponent("run.json").path)["pid"] as? Int)
        kill(pid_t(pid), SIGKILL)
        sweep.waitUntilExit()
        #expect(sweep.terminationStatus == 1 && SweepDirectory(path: cli.directory.appendingPathComponent("sw").path).state(of: "lr=0.001") == "died")
        let again = try cli.run(args)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try cli.read(cli.directory.appendingPathComponent("sw/logs/lr=0.001.log").path).contains("resumed from the checkpoint at step"))
        let whole = try cli.run(["run", path, "--out", "whole", "--threads", String(ProcessInfo.processInfo.activeProcessorCount), "--set", "lr=0.001"] + sets)
        #expect(whole.status == 0, "\(whole.stderr)")
        for log in ["metrics.jsonl", "results.jsonl"] {
            #expect(try ExperimentResumeTests.untimed(cli, "sw/lr=0.001", log) == ExperimentResumeTests.untimed(cli, "whole", log), "\(log)")
        }
    }

    /// A sweep of 1 000 points is one job array (one script, nothing submitted with --dry-run).
    @Test func aThousandPointsAreOneJobArray() throws {
        let cli = try CLI()
        let path = try cli.write("cells.lua", ExperimentResumeTests.script)
        let values = (1 ... 1000).map { "0.\(String(format: "%04d", $0))" }.joined(separator: ",")
        let r = try cli.run(["sweep", path, "--grid", "lr=" + values, "--slurm", "--max-parallel", "50", "--time", "01:00:00", "--dry-run", "--out", "big"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.components(separatedBy: "#SBATCH --array=").count == 2 && r.stdout.contains("#SBATCH --array=0-999%50\n")
                && r.stdout.contains("#SBATCH --time=01:00:00\n"), "\(r.stdout)")
    }

    /// A grid a run would refuse is refused before any point starts (exit 2, nothing written).
    @Test func badGridsAreRefusedBeforeAnythingStarts() throws {
        let cli = try CLI()
        let path = try cli.write("cells.lua", ExperimentResumeTests.script)
        for (grid, message) in [("lrr=0.1,0.2", "point lrr=0.1: unknown parameter 'lrr' in --set lrr=0.1 (did you mean 'lr'?)"),
                                ("hidden=8,x", "point hidden=x: --set hidden=x: parameter 'hidden' expects an integer"),
                                ("cells=spectral;lstmm", "point cells=lstmm: --set cells=lstmm: parameter 'cells' entry 1: must be one of"),
                                ("lr=", "--grid lr= needs a list of values")] {
            let r = try cli.run(["sweep", path, "--grid", grid, "--out", "bad"])
            #expect(r.status == 2 && r.stderr.hasPrefix("Error: " + message), "\(grid): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: cli.directory.appendingPathComponent("bad").path))
        }
        let other = try cli.run(["sweep", path, "--grid", "lr=0.1", "--out", "sw"] + Self.small)
        #expect(other.status == 0, "\(other.stderr)")
        let clash = try cli.run(["sweep", path, "--grid", "lr=0.2", "--out", "sw"] + Self.small)
        #expect(clash.status == 2 && clash.stderr.contains("holds another sweep"), "\(clash.stderr)")
    }
}

/// `sweep --slurm` through a real Slurm on this machine (scripts/slurm-local start, which
/// scripts/test runs; SLURM_CONF names its configuration).
@Suite(.serialized) struct SlurmSweepTests {
    static var slurmConf: String? { ProcessInfo.processInfo.environment["SLURM_CONF"] }

    static func cli() throws -> CLI {
        var cli = try CLI()
        #expect(slurmConf != nil, "no SLURM_CONF: run scripts/test, which starts a local Slurm (scripts/slurm-local start)")
        cli.environment["SLURM_CONF"] = slurmConf ?? ""
        return cli
    }

    /// Waits until Slurm holds no task of the sweep and none of its points is queued or running.
    static func wait(_ cli: CLI, _ sweep: String, seconds: Double = 180) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let s = try cli.run(["sweep", "status", sweep])
            let states = s.stdout.split(separator: "\n").dropFirst(2).prefix { !$0.isEmpty }.map { $0.split(separator: " ", omittingEmptySubsequences: true)[1] }
            if !states.isEmpty, !states.contains(where: { ["pending", "running", "queued"].contains($0) }) { return s.stdout }
            usleep(500_000)
        }
        Issue.record("the sweep in \(sweep) did not end within \(seconds) s")
        return ""
    }

    /// A point's state as `sweep status` prints it.
    static func state(_ point: String, in status: String) -> String? {
        status.split(separator: "\n").first { $0.hasPrefix(point + " ") }?.split(separator: " ").dropFirst().first.map(String.init)
    }

    /// The same sweep as a job array gives, point by point, bitwise the logs of the local sweep
    /// (same seeds, one BLAS thread each).
    @Test func aJobArrayRunsEveryPointAsTheLocalSweepDoes() throws {
        let cli = try Self.cli()
        let path = try cli.write("cells.lua", ExperimentResumeTests.script)
        let common = ["sweep", path, "--grid", "lr=0.001,0.01", "--seeds", "1-2"] + SweepTests.small
        let local = try cli.run(common + ["--jobs", "2", "--out", "local"])
        #expect(local.status == 0, "\(local.stderr)")
        let dry = try cli.run(common + ["--slurm", "--max-parallel", "2", "--out", "slurm", "--dry-run"])
        #expect(dry.stdout.contains("#SBATCH --array=0-3%2\n") && dry.stdout.contains("#SBATCH --signal=B:TERM@120\n") && dry.stdout.contains(" sweep point "), "\(dry.stdout)")
        let submitted = try cli.run(common + ["--slurm", "--max-parallel", "2", "--out", "slurm"])
        #expect(submitted.status == 0 && submitted.stdout.hasPrefix("submitted job array "), "\(submitted.stdout)\(submitted.stderr)")
        let record = try cli.json(cli.directory.appendingPathComponent("slurm/sweep.json").path)
        #expect(((record["slurm"] as? [String: Any])?["jobs"] as? [[String: Any]])?.first?["job_id"] != nil, "\(record)")
        let status = try Self.wait(cli, cli.directory.appendingPathComponent("slurm").path)
        #expect(["lr=0.001,seed=1", "lr=0.01,seed=2"].allSatisfy { Self.state($0, in: status) == "done" }, "\(status)")
        for point in ["lr=0.001,seed=1", "lr=0.001,seed=2", "lr=0.01,seed=1", "lr=0.01,seed=2"] {
            for log in ["metrics.jsonl", "results.jsonl"] {
                let a = try ExperimentResumeTests.untimed(cli, "local/\(point)", log), b = try ExperimentResumeTests.untimed(cli, "slurm/\(point)", log)
                #expect(!a.isEmpty && a == b, "\(point) \(log)")
            }
        }
        let again = try cli.run(common + ["--slurm", "--out", "slurm"])
        #expect(again.status == 0 && again.stdout.contains("nothing to submit"), "\(again.stdout)")
    }

    /// A task stopped with SIGTERM mid-run (as Slurm does before a time limit or a preemption)
    /// checkpoints; the sweep submitted again resumes the point, which ends as an uninterrupted run.
    @Test func aCancelledTaskResumesWhenTheSweepIsSubmittedAgain() throws {
        let cli = try Self.cli()
        let path = try cli.write("cells.lua", ExperimentResumeTests.script)
        let args = ["sweep", path, "--grid", "lr=0.001", "--set", "steps=3000", "--set", "cells=spectral", "--set", "eval_every=0",
                    "--set", "checkpoint_every=10", "--set", "every=50", "--slurm", "--out", "sw"]
        let first = try cli.run(args)
        #expect(first.status == 0, "\(first.stderr)")
        let record = try cli.json(cli.directory.appendingPathComponent("sw/sweep.json").path)
        let job = try #require(((record["slurm"] as? [String: Any])?["jobs"] as? [[String: Any]])?.first?["job_id"] as? String)
        // Once the point has checkpointed, its task gets SIGTERM.
        let checkpoints = cli.directory.appendingPathComponent("sw/lr=0.001/checkpoints/spectral").path
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? []).filter({ $0.hasSuffix(".json") }).count < 2 { usleep(100_000) }
        var scancel = cli
        scancel.binaryOverride = URL(fileURLWithPath: "/usr/bin/scancel")
        #expect(try scancel.run(["--full", "--signal=TERM", "\(job)_0"]).status == 0)
        let stopped = try Self.wait(cli, cli.directory.appendingPathComponent("sw").path)
        #expect(Self.state("lr=0.001", in: stopped) == "interrupted", "\(stopped)")
        let again = try cli.run(args)
        #expect(again.status == 0 && again.stdout.contains("submitted job array"), "\(again.stdout)\(again.stderr)")
        let done = try Self.wait(cli, cli.directory.appendingPathComponent("sw").path)
        #expect(Self.state("lr=0.001", in: done) == "done", "\(done)")
        #expect(try cli.read(cli.directory.appendingPathComponent("sw/logs/lr=0.001.log").path).contains("resumed from the checkpoint at step"))
        let whole = try cli.run(["run", path, "--out", "whole", "--threads", "1", "--set", "lr=0.001", "--set", "steps=3000", "--set", "cells=spectral",
                                 "--set", "eval_every=0", "--set", "checkpoint_every=10", "--set", "every=50"])
        #expect(whole.status == 0, "\(whole.stderr)")
        for log in ["metrics.jsonl", "results.jsonl"] {
            #expect(try ExperimentResumeTests.untimed(cli, "sw/lr=0.001", log) == ExperimentResumeTests.untimed(cli, "whole", log), "\(log)")
        }
    }
}
