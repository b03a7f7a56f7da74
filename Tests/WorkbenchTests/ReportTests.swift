import Foundation
import LuaBridge
import Testing
@testable import Workbench

/// Seeing results: `report` (HTML with gnuplot's SVG), `plot` and lab.plot (gnuplot's text), the
/// progress line, `runs`, `runs compare` and `export --csv`.
@Suite struct ReportTests {
    /// Two cells, trained by two seeds at lr 1e-3 and by one seed at lr 1e-2 (three run directories).
    static func sweep(_ cli: CLI) throws -> URL {
        let path = try cli.write("cells.lua", ExperimentResumeTests.script)
        for (out, extra) in [("sweep/s1", ["--seed", "1"]), ("sweep/s2", ["--seed", "2"]), ("sweep/fast", ["--set", "lr=0.01"])] {
            let r = try cli.run(["run", path, "--out", out, "--set", "steps=40", "--set", "cells=spectral,gru", "--set", "checkpoint_every=0"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
        }
        return cli.directory.appendingPathComponent("sweep")
    }

    /// The <svg> elements of a page, in order.
    static func svgs(_ html: String) -> [String] {
        html.components(separatedBy: "<svg").dropFirst().map { $0.components(separatedBy: "</svg>")[0] }
    }

    @Test func aReportOfASweepDrawsEveryCurveWithMeansOverSeeds() throws {
        let cli = try CLI()
        let sweep = try Self.sweep(cli)
        let r = try cli.run(["report", sweep.path, "-o", "r.html"])
        #expect(r.status == 0 && r.stdout.contains("3 runs, 4 lines, 7 plots"), "\(r.stdout)\(r.stderr)")
        let html = try cli.read(cli.directory.appendingPathComponent("r.html").path)
        // Self-contained: nothing to fetch, nothing to run.
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"))
        let labels = ["spectral lr=0.001 (n=2)", "gru lr=0.001 (n=2)", "spectral lr=0.01", "gru lr=0.01"]
        let svgs = Self.svgs(html)
        #expect(svgs.count == 7)
        // Training loss against step: a line per cell and group, a band for each mean over two seeds.
        let loss = svgs[0]
        #expect(loss.contains("Training loss against step"))
        for label in labels { #expect(loss.contains("<text>\(label)</text>"), "\(label)") }
        #expect(loss.components(separatedBy: "<title>gnuplot_plot_").count - 1 == 4 + 2, "4 lines and 2 bands")
        // The gradient profile: start and end for each of the four lines.
        let profile = svgs.first { $0.contains("Gradient profile") } ?? ""
        #expect(labels.allSatisfy { profile.contains("<text>\($0), start</text>") && profile.contains("<text>\($0), end</text>") })
        // The results table gives the mean ± std (n) of the two seeds' results.
        let results = try ["s1", "s2"].map { try cli.jsonLines(sweep.appendingPathComponent("\($0)/results.jsonl").path).first { $0["cell"] as? String == "gru" }! }
        let s = Stats(results.map { $0["eval_loss"] as! Double })
        #expect(html.contains("\(HTMLReport.number(s.mean)) ± \(HTMLReport.number(s.std)) (n=2)"), "\(s)")
        #expect(html.contains("<td>lr</td>"), "what differs between the runs")
        // --figures: each plot as an SVG file of its own, the same plots.
        let figures = try cli.run(["report", sweep.path, "--figures", "figs"])
        #expect(figures.status == 0, "\(figures.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: cli.directory.appendingPathComponent("figs").path).sorted()
        #expect(names == ["eval_loss-seconds.svg", "eval_loss-step.svg", "gradient-profile.svg", "loss-seconds.svg", "loss-step.svg", "lr.svg", "singular-values.svg"])
        let lossFigure = try cli.read(cli.directory.appendingPathComponent("figs/loss-step.svg").path)
        #expect(labels.allSatisfy { lossFigure.contains("<text>\($0)</text>") })
    }

    /// A mean line is the mean of the seeds' values at each step, its band ± their standard deviation.
    @Test func meanAndBandAreTheSeedsMeanAndStandardDeviation() throws {
        let cli = try CLI()
        let sweep = try Self.sweep(cli)
        let groups = RunGroups(try RunData.collect([sweep.path]))
        let line = try #require(groups.lines.first { $0.label == "spectral lr=0.001 (n=2)" })
        let curve = try #require(line.curve("loss", x: "step"))
        let perSeed = try ["s1", "s2"].map { seed in
            try cli.jsonLines(sweep.appendingPathComponent("\(seed)/metrics.jsonl").path)
                .filter { $0["cell"] as? String == "spectral" && $0["loss"] != nil }.map { $0["loss"] as! Double }
        }
        #expect(curve.points.map(\.x) == [10, 20, 30, 40])
        for (i, p) in curve.points.enumerated() {
            let a = perSeed[0][i], b = perSeed[1][i], mean = (a + b) / 2, std = abs(a - b) / 2.0.squareRoot()
            #expect(abs(p.y - mean) <= 1e-15 * mean && abs(curve.band![i].hi - (mean + std)) <= 1e-12 && abs(curve.band![i].lo - (mean - std)) <= 1e-12)
        }
    }

    /// Runs of two sweeps together, each varying a parameter only its own cell reads: a legend
    /// names what tells a line apart from the other lines of its cell, not the other sweep's knob.
    @Test func aLegendNamesWhatDiffersWithinItsCell() throws {
        let cli = try CLI()
        let path = try cli.write("cells.lua", ExperimentResumeTests.script)
        for (out, sets) in [("a", ["cells=spectral", "r=0.1"]), ("b", ["cells=spectral", "r=0.5"]),
                            ("c", ["cells=gru", "lr=0.01"]), ("d", ["cells=gru", "lr=0.003"])] {
            let r = try cli.run(["run", path, "--out", "runs/\(out)", "--set", "steps=10", "--set", "checkpoint_every=0"] + sets.flatMap { ["--set", $0] })
            #expect(r.status == 0, "\(r.stderr)")
        }
        let groups = RunGroups(try RunData.collect([cli.directory.appendingPathComponent("runs").path]))
        #expect(Set(groups.differing) == ["cells", "lr", "r"])
        #expect(groups.lines.map(\.label).sorted() == ["gru lr=0.003", "gru lr=0.01", "spectral r=0.1", "spectral r=0.5"])
    }

    @Test func plotDrawsTextChartsOfTheGivenSize() throws {
        let cli = try CLI()
        let sweep = try Self.sweep(cli)
        let r = try cli.run(["plot", sweep.appendingPathComponent("s1").path, "--metric", "loss,lr", "--size", "90x40"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 40 && lines.allSatisfy { $0.count <= 90 } && lines.contains { $0.count == 90 }, "\(r.stdout)")
        #expect(r.stdout.contains("loss against step") && r.stdout.contains("lr against step"))
        #expect(r.stdout.contains("spectral *******") && r.stdout.contains("gru #######"), "a legend line per cell")
        let bad = try cli.run(["plot", sweep.appendingPathComponent("s1").path, "--metric", "los"])
        #expect(bad.status == 2 && bad.stderr.contains("no run logged 'los'; the metrics there are: ") && bad.stderr.contains("eval_loss"), "\(bad.stderr)")
        let none = try cli.run(["plot", cli.directory.path + "/nothing"])
        #expect(none.status == 2 && none.stderr.contains("is not a folder"), "\(none.stderr)")
    }

    @Test func labPlotDrawsInTheTerminalOrWritesSVGIntoTheRun() throws {
        let cli = try CLI()
        let path = try cli.write("p.lua", """
            for step = 1, 5 do lab.log { step = step, loss = 1 / step } end
            lab.plot { width = 60, height = 15 }
            local files = lab.plot { file = "figures/loss.svg", metrics = { "loss" } }
            print(#files, files[1])
            lab.plot { file = "../out.svg" }
            """)
        let r = try cli.run(["run", path, "--out", "p"])
        #expect(r.status == 1 && r.stderr.contains("p.lua:5: lab.plot: file must be a name.svg inside the run directory, got '../out.svg'"), "\(r.stderr)")
        #expect(r.stdout.contains("loss against step") && r.stdout.contains("1\t" + cli.directory.appendingPathComponent("p/figures/loss.svg").path))
        let svg = try cli.read(cli.directory.appendingPathComponent("p/figures/loss.svg").path)
        #expect(svg.contains("<svg") && svg.contains("<text>p</text>"))
    }

    /// The progress line, rendered from given numbers (what lab.train gives it from its clock).
    @Test func theProgressLineSaysWhereTrainingIs() throws {
        let cli = try CLI()
        let r = try cli.run(["repl"], stdin: """
            print(lab.progress.line { name = "spectral", step = 1200, total = 2000, loss = 0.0031234, eval = 0.0011, eval_name = "eval_loss", rate = 41.2, width = 100 })
            print(lab.progress.line { step = 0, total = 10 })
            print(lab.progress.line { name = "gru", step = 10, total = 10, loss = 2, rate = 0.5, width = 40 })
            for _, s in ipairs { 0, 59.4, 80, 7500, 3 * 86400 + 4 * 3600, 0 / 0 } do io.write(lab.progress.duration(s), " ") end
            print()
            print(lab.progress.terminal_width())

            """)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        // The bar takes the 23 columns the text leaves of 100: 60% of them filled.
        #expect(lines[0] == "spectral " + String(repeating: "█", count: 14) + String(repeating: "░", count: 9)
            + "  1200/2000  loss 0.003123  eval_loss 0.0011  41.2 steps/s  ETA 19s", "\(lines[0])")
        #expect(lines[1] == String(repeating: "░", count: 20) + "  0/10")
        #expect(lines[2] == "gru " + String(repeating: "█", count: 10) + "  10/10  loss 2  0.5 steps/s  ETA 0s")
        #expect(lines[3] == "0s 59s 1m20s 2h05m 3d04h ? ")
        #expect(lines[4] == "nil", "stdin and stdout are pipes: no progress line")
    }

    /// On a terminal (a pseudo-terminal made by script(1)) a training shows its progress in place;
    /// output.log holds the log lines only.
    @Test func onATerminalTrainingShowsOneLineInPlace() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { Issue.record("no /usr/bin/script (util-linux)"); return }
        let cli = try CLI()
        let path = try cli.write("cells.lua", ExperimentResumeTests.script)
        let command = [CLI.binary.path, "run", path, "--out", "tty", "--set", "steps=40", "--set", "cells=spectral", "--set", "checkpoint_every=0"].joined(separator: " ")
        var tty = cli
        tty.binaryOverride = URL(fileURLWithPath: "/usr/bin/script")
        tty.environment["TERM"] = "xterm"
        let r = try tty.run(["-qec", command, "/dev/null"])
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("\rspectral █") && r.stdout.contains("40/40") && r.stdout.contains("\u{1B}[K"), "\(r.stdout)")
        let log = try cli.read(cli.directory.appendingPathComponent("tty/output.log").path)
        #expect(!log.contains("\r") && !log.contains("█") && log.contains("cell=spectral task=adding step=40 loss="), "\(log)")
    }

    @Test func runsListsCompareAndExport() throws {
        let cli = try CLI()
        let sweep = try Self.sweep(cli)
        // A run whose process died: recorded as running, and nobody holds its lock.
        let dead = sweep.appendingPathComponent("s2/run.json")
        try cli.read(dead.path).replacingOccurrences(of: "\"status\": \"ok\"", with: "\"status\": \"running\"").write(to: dead, atomically: true, encoding: .utf8)
        let list = try cli.run(["runs", sweep.path])
        #expect(list.status == 0, "\(list.stderr)")
        let rows = list.stdout.split(separator: "\n").map(String.init)
        #expect(rows.count == 4 && rows[0].hasPrefix("started") && rows[0].contains("result"), "\(list.stdout)")
        #expect(rows.contains { $0.contains(" s2 ") && $0.contains(" died ") && $0.contains("spectral eval_loss=") })
        #expect(rows.contains { $0.contains(" fast ") && $0.contains(" ok ") && $0.contains("gru eval_loss=") })

        let compare = try cli.run(["runs", "compare", sweep.appendingPathComponent("s1").path, sweep.appendingPathComponent("fast").path])
        #expect(compare.status == 0, "\(compare.stderr)")
        #expect(compare.stdout.hasPrefix("Parameters:\n") && compare.stdout.contains("\nlr  0.001  0.01\n"), "\(compare.stdout)")
        #expect(compare.stdout.contains("Results: spectral:") && compare.stdout.contains("eval_loss"))
        #expect(!compare.stdout.contains("steps "), "equal values are left out")

        let csv = try cli.run(["export", sweep.appendingPathComponent("s1").path, "--csv"])
        #expect(csv.status == 0, "\(csv.stderr)")
        let table = csv.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = table[0]
        #expect(header.prefix(2) == ["step", "cell"] && !header.contains("grad_profile"))
        // Read with the workbench's own JSON reader (Foundation's slips in the last digit).
        let metrics = try RunData(path: sweep.appendingPathComponent("s1").path).metrics
        #expect(table.count == metrics.count + 1)
        for (row, line) in zip(table.dropFirst(), metrics) {
            for (name, text) in zip(header, row) {
                switch line[name] {
                case .integer(let i): #expect(Int(text) == i, "\(name)")
                case .number(let d): #expect(Double(text) == d, "\(name)")
                case .string(let s): #expect(text == s, "\(name)")
                default: #expect(text.isEmpty, "\(name) absent from the line")
                }
            }
        }
        #expect(try cli.run(["export", sweep.path + "/s1"]).stderr.contains("say the format: --csv"))
    }

    /// run.json's text fields that the tables show are checked as the run is read: absent shows as
    /// "–", another type is an error naming the file and the field, not a "–" that hides it.
    @Test func aRunJSONFieldOfTheWrongTypeIsAnError() throws {
        let cli = try CLI()
        let dir = cli.directory.appendingPathComponent("r")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try #"{"status": "ok", "script": "t.lua"}"#.write(to: dir.appendingPathComponent("run.json"), atomically: true, encoding: .utf8)
        let run = try RunData(path: dir.path)
        #expect(run.started == nil && run.host == nil && run.script == "t.lua")
        try #"{"status": "ok", "script": "t.lua", "started": 5}"#.write(to: dir.appendingPathComponent("run.json"), atomically: true, encoding: .utf8)
        #expect { try RunData(path: dir.path) } throws: { "\($0)".contains("run.json: 'started' must be text, got 5") }
        let listed = try cli.run(["runs", cli.directory.path])
        #expect(listed.status != 0 && listed.stderr.contains("'started' must be text"), "\(listed.stdout)\(listed.stderr)")
    }
}
