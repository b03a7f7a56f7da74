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

    /// {tag: [(step, value)]} as EventAccumulator reads the run's tb/ folder.
    static func scalars(_ run: URL) throws -> [String: [[Double]]] {
        try read(run).filter { !$0.key.hasPrefix("text:") }.mapValues { $0.map { [($0[0] as? NSNumber)?.doubleValue ?? .nan,
            // Values are float32s: Float(...) undoes the last-digit slips of JSONSerialization's reading.
            Double(Float(($0[1] as? NSNumber)?.doubleValue ?? .nan))] } }
    }

    /// {tag: markdown} of the text summaries (the first of each tag).
    static func texts(_ run: URL) throws -> [String: String] {
        try read(run).filter { $0.key.hasPrefix("text:") }.reduce(into: [:]) { $0[String($1.key.dropFirst(5))] = $1.value.first?[1] as? String }
    }

    private static func read(_ run: URL) throws -> [String: [[Any]]] {
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
        return try JSONSerialization.jsonObject(with: data) as? [String: [[Any]]] ?? [:]
    }

    /// What metrics.jsonl says TensorBoard should hold: every number of every line, at its step,
    /// as a float32, tagged cell/name.
    static func expected(_ cli: CLI, _ run: String, fields: Set<String>? = nil) throws -> [String: [[Double]]] {
        var all: [String: [[Double]]] = [:]
        for line in try cli.jsonLines(cli.directory.appendingPathComponent("\(run)/metrics.jsonl").path) {
            let step = Double(line["step"] as? Int ?? 0), prefix = (line["cell"] as? String).map { $0 + "/" } ?? ""
            for (k, v) in line where k != "step" && (fields?.contains(k) ?? true) {
                guard let n = (v as? NSNumber), !(v is String) else { continue }
                all[prefix + k, default: []].append([step, Double(Float(n.doubleValue))])
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
        #expect(texts["params"]?.contains("| steps | `40` |") == true && texts["params"]?.contains("| cells | `[\"spectral\",\"gru\"]` |") == true, "\(texts)")
        #expect(texts["run"]?.contains("\"status\": \"running\"") == true && texts["run"]?.hasPrefix("```") == true, "\(texts)")
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
