import Foundation
import Testing
@testable import Workbench

/// The TensorBoard event files a run writes (tb/), read back with TensorBoard's own reader
/// (scripts/reference/tb_scalars.py in the venv scripts/test makes; SPECTRAL_LAB_PYTHON names it).
@Suite struct TensorBoardTests {
    static var python: String {
        ProcessInfo.processInfo.environment["SPECTRAL_LAB_PYTHON"]
            ?? CLI.projectRoot.appendingPathComponent(".build/venv/bin/python").path
    }

    /// {tag: [(step, value)]} as EventAccumulator reads the run's tb/ folder (tags prefixed by the
    /// cell's folder, tb/<cell>/).
    static func scalars(_ run: URL) throws -> [String: [[Double]]] {
        try read(run).filter { !$0.key.contains(":") }.compactMapValues { $0 as? [[Any]] }.mapValues { $0.map { [($0[0] as? NSNumber)?.doubleValue ?? .nan,
            // Values are float32s: Float(...) undoes the last-digit slips of JSONSerialization's reading.
            Double(Float(($0[1] as? NSNumber)?.doubleValue ?? .nan))] } }
    }

    /// {tag: markdown} of the text summaries (the first of each tag).
    static func texts(_ run: URL) throws -> [String: String] {
        try read(run).filter { $0.key.hasPrefix("text:") }.reduce(into: [:]) { $0[String($1.key.dropFirst(5))] = ($1.value as? [[Any]])?.first?[1] as? String }
    }

    /// Everything tb_scalars.py prints: scalars, "text:", "histo:" and "hparams:" entries.
    static func read(_ run: URL) throws -> [String: Any] {
        #expect(FileManager.default.isExecutableFile(atPath: python), "no \(python): run scripts/test, which makes the venv with tensorboard")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [CLI.projectRoot.appendingPathComponent("scripts/reference/tb_scalars.py").path, run.appendingPathComponent("tb").path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// What metrics.jsonl says TensorBoard should hold: every number of every line, at its step,
    /// as a float32, tagged cell/name.
    static func expected(_ cli: CLI, _ run: String, fields: Set<String>? = nil) throws -> [String: [[Double]]] {
        var all: [String: [[Double]]] = [:]
        // Read with the workbench's exact reader: a double that JSONSerialization reads one ulp off
        // can round to the neighbouring float32 (it did, for an eta_s).
        for text in try cli.read(cli.directory.appendingPathComponent("\(run)/metrics.jsonl").path).split(separator: "\n") {
            guard case .table(let line) = try JSONReader.parse(String(text)) else { Issue.record("not an object: \(text)"); continue }
            let step = Double(line["step"].int ?? 0), prefix = line["cell"].string.map { $0 + "/" } ?? ""
            for case (.string(let k), let v) in line.fields where k != "step" && (fields?.contains(k) ?? true) {
                guard let n = v.double else { continue }
                all[prefix + k, default: []].append([step, Double(Float(n))])
            }
        }
        return all
    }

    /// The standard check value of CRC-32C (RFC 3720's "123456789"), and TensorFlow's mask of it.
    @Test func crc32cOfTheCheckString() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        let c: UInt32 = 0xE306_9283
        #expect(CRC32C.masked(Array("123456789".utf8)) == ((c >> 15) | (c << 17)) &+ 0xA282_EAD8)
    }

    /// The records after the file-version one (whose wall time is the writer's own) are, byte for
    /// byte, what TensorBoard's own EventFileWriter writes for the same scalars: framing, lengths,
    /// masked CRC-32Cs and the Event encoding.
    @Test func framingAndEncodingAreTensorBoardsOwn() throws {
        let cli = try CLI()
        let events: [(Double, Int, String, Float)] = [(1_700_000_000.25, 0, "loss", 0.5), (1_700_000_001.5, 1, "loss", 0.25),
                                                      (1_700_000_002.75, 2, "cell/eval_loss", -3.1415927), (1_700_000_003, 300_000, "lr", 1e-3)]
        let ours = try EventWriter(folder: cli.directory.appendingPathComponent("ours").path)
        for (time, step, tag, value) in events { try ours.write([(tag, .scalar(value))], step: step, wallTime: time) }
        let theirs = cli.directory.appendingPathComponent("theirs")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python)
        p.arguments = [CLI.projectRoot.appendingPathComponent("scripts/reference/tb_write.py").path, theirs.path,
                       "[" + events.map { "[\($0.0), \($0.1), \"\($0.2)\", \($0.3)]" }.joined(separator: ",") + "]"]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let theirFile = try FileManager.default.contentsOfDirectory(atPath: theirs.path).first { $0.hasPrefix("events.out.tfevents.") }
        let a = try Data(contentsOf: URL(fileURLWithPath: ours.path)), b = try Data(contentsOf: theirs.appendingPathComponent(theirFile ?? "none"))
        // The first record: 8 bytes of length, 4 of its CRC, the Event, 4 of the Event's CRC.
        func afterFirst(_ d: Data) -> Data { d.count < 8 ? Data() : d.dropFirst(16 + Int(d.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })) }
        #expect(afterFirst(a).count > 4 * 16 && afterFirst(a) == afterFirst(b), "\(Array(afterFirst(a)))\n\(Array(afterFirst(b)))")
    }

    /// Lists of numbers (W's singular values, ‖∂L/∂h_t‖ over t) are histograms at their step, with
    /// every value counted; each cell's run carries the parameters and its cell for the HParams tab.
    @Test func listsAreHistogramsAndEachCellHasItsHyperparameters() throws {
        let cli = try CLI()
        let path = try cli.write("cells.lua", ExperimentResumeTests.script)
        let r = try cli.run(["run", path, "--out", "a", "--set", "steps=40", "--set", "cells=spectral,gru"])
        #expect(r.status == 0, "\(r.stderr)")
        let read = try Self.read(cli.directory.appendingPathComponent("a"))
        var checked = 0
        for line in try cli.jsonLines(cli.directory.appendingPathComponent("a/metrics.jsonl").path) {
            for key in ["singular_values", "grad_profile"] {
                guard let values = line[key] as? [Double], let cell = line["cell"] as? String, let step = line["step"] as? Int else { continue }
                let histograms = read["histo:\(cell)/\(key)"] as? [[Any]] ?? []
                guard let h = histograms.first(where: { ($0[0] as? Int) == step }) else { Issue.record("no \(cell)/\(key) at step \(step)"); continue }
                let counts = h[5] as? [Double] ?? [], limits = h[4] as? [Double] ?? []
                #expect(h[1] as? Double == values.min() && h[2] as? Double == values.max() && h[3] as? Double == Double(values.count))
                #expect(counts.reduce(0, +) == Double(values.count) && limits.count == counts.count && limits.last == values.max())
                // Each bucket holds the values in (previous limit, limit], the first from the minimum.
                for (i, c) in counts.enumerated() {
                    let lo = i == 0 ? -Double.infinity : limits[i - 1]
                    #expect(Double(values.filter { $0 > lo && $0 <= limits[i] }.count) == c, "\(key) bucket \(i)")
                }
                checked += 1
            }
        }
        #expect(checked == 2 * 2 * 3, "step 0, 20 and 40 of both cells, both lists")
        for cell in ["spectral", "gru"] {
            let hp = read["hparams:\(cell)"] as? [String: Any] ?? [:]
            #expect(hp["cell"] as? String == cell && hp["steps"] as? Double == 40 && hp["optimizer"] as? String == "adam", "\(hp)")
        }
    }

    /// The step is TensorBoard's x axis: one that is not an integer is an error at the line, and
    /// nothing is logged.
    @Test func aStepThatIsNotAnIntegerIsAnError() throws {
        let cli = try CLI()
        let path = try cli.write("half.lua", "lab.log { step = 1, loss = 1 }\nlab.log { step = 1.5, loss = 0.5 }\n")
        let r = try cli.run(["run", path, "--out", "half"])
        #expect(r.status == 1 && r.stderr.hasPrefix("half.lua:2: bad argument #1 to 'log' (step must be an integer, got 1.5)"), "\(r.stderr)")
        #expect(try cli.jsonLines(cli.directory.appendingPathComponent("half/metrics.jsonl").path).count == 1)
    }

    @Test func everyLoggedNumberIsAScalarAtItsStepTaggedByCell() throws {
        let cli = try CLI()
        let path = try cli.write("cells.lua", ExperimentResumeTests.script)
        let r = try cli.run(["run", path, "--out", "a", "--set", "steps=40", "--set", "cells=spectral,gru"])
        #expect(r.status == 0, "\(r.stderr)")
        let read = try Self.scalars(cli.directory.appendingPathComponent("a"))
        let expected = try Self.expected(cli, "a")
        #expect(read.keys.contains("spectral/loss") && read.keys.contains("gru/eval_loss"), "\(read.keys.sorted())")
        for tag in Set(read.keys).union(expected.keys) where read[tag] != expected[tag] {
            Issue.record("\(tag): TensorBoard has \(read[tag] ?? []), metrics.jsonl \(expected[tag] ?? [])")
        }
        // What ran, as text: the parameters as a table, the run record.
        let texts = try Self.texts(cli.directory.appendingPathComponent("a"))
        #expect(texts["gru/params"]?.contains("| steps | `40` |") == true && texts["spectral/params"]?.contains("| cells | `[\"spectral\",\"gru\"]` |") == true, "\(texts)")
        #expect(texts["spectral/run"]?.contains("\"status\": \"running\"") == true && texts["gru/run"]?.hasPrefix("```") == true, "\(texts)")
    }

    /// A crashed run resumed: TensorBoard holds what the uninterrupted run's does (the points
    /// logged after the checkpoint by the crashed process are not kept).
    @Test func aResumedRunsEventsAreTheUninterruptedOnes() throws {
        let cli = try CLI()
        let path = try cli.write("cells.lua", ExperimentResumeTests.script)
        // Checkpoints every 20 steps, lines every 10: the crash (rnn's 35th batch) comes after a
        // line (step 30) that the resume, from step 20, logs again.
        let every20 = ["--set", "checkpoint_every=20"]
        #expect(try cli.run(["run", path, "--out", "a"] + every20).status == 0)
        try cli.write("crash", "")
        #expect(try cli.run(["run", path, "--out", "b"] + every20).status == 1)
        try FileManager.default.removeItem(at: cli.directory.appendingPathComponent("crash"))
        #expect(try cli.run(["run", "--resume", "b"]).status == 0)
        func untimed(_ run: String) throws -> [String: [[Double]]] {
            try Self.scalars(cli.directory.appendingPathComponent(run)).filter { !["steps_per_s", "eta_s", "seconds"].contains($0.key.split(separator: "/").last!) }
        }
        let a = try untimed("a"), b = try untimed("b")
        #expect(a.count >= 12 && a == b, "\(a)\n--\n\(b)")
    }
}
