import Foundation
import LuaBridge
import Testing
@testable import Workbench

/// `spectral-lab sweep` on this machine: points, names, the summary over seeds, reruns that skip
/// and resume, and grids refused before anything starts.
@Suite struct SweepTests {
    static let small = ["--set", "steps=40", "--set", "cells=spectral", "--set", "checkpoint_every=0"]

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
