import Foundation
import LuaBridge

/// A TensorBoard event file, `tb/events.out.tfevents.<seconds>.<host>` in a run directory: TFRecord
/// frames (length as UInt64 LE, masked CRC-32C of the length, the Event, masked CRC-32C of the
/// Event), the first holding file_version "brain.Event:2". Each write reaches the file at once, so
/// `tensorboard --logdir runs` shows a run live.
final class EventWriter {
    let path: String
    private let handle: FileHandle

    init(folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let now = Date().timeIntervalSince1970
        let base = "\(folder)/events.out.tfevents.\(Int(now)).\(ProcessInfo.processInfo.hostName)"
        var name = base, n = 1
        while FileManager.default.fileExists(atPath: name) { name = "\(base).\(n)"; n += 1 }
        guard FileManager.default.createFile(atPath: name, contents: nil), let h = FileHandle(forWritingAtPath: name) else {
            throw RunDirectoryError("cannot create \(name)")
        }
        path = name
        handle = h
        try write(EventEncoding.event(wallTime: now, step: 0, fileVersion: "brain.Event:2"))
    }

    deinit { try? handle.close() }

    func write(_ values: [(tag: String, value: EventEncoding.Value)], step: Int, wallTime: Double = Date().timeIntervalSince1970) throws {
        guard !values.isEmpty else { return }
        try write(EventEncoding.event(wallTime: wallTime, step: step, values: values))
    }

    private func write(_ event: [UInt8]) throws {
        let length = EventEncoding.littleEndian(UInt64(event.count))
        var frame = length + EventEncoding.littleEndian(CRC32C.masked(length))
        frame += event + EventEncoding.littleEndian(CRC32C.masked(event))
        do { try handle.write(contentsOf: Data(frame)) } catch { throw RunDirectoryError("cannot write \(path): \(error)") }
    }
}

extension LabSession {
    /// A metrics line's step, TensorBoard's x axis: an integer when the line gives one (nil when not).
    static func step(of line: LuaTable) throws -> Int? {
        if line["step"].isNil { return nil }
        guard let step = line["step"].int else {
            throw LuaError.argument(index: 1, message: "step must be an integer, got \(LuaOptions.show(line["step"]))")
        }
        return step
    }

    /// A metrics line in TensorBoard, at its step: each number a scalar, each list of numbers (W's
    /// singular values, ‖∂L/∂h_t‖ over t) a histogram. A line that says which cell trained
    /// (lab.experiment's) goes to that cell's own TensorBoard run, tb/<cell>/, so that the cells'
    /// curves of one tag are drawn in one chart and compared in the HParams tab.
    func logScalars(_ line: LuaTable, step: Int?) throws {
        guard let dir = existingRunDirectory else { return }
        metricsLines += 1
        let cell = line["cell"].string
        let values: [(tag: String, value: EventEncoding.Value)] = line.namedFields.compactMap { f in
            guard f.name != "step" else { return nil }
            if let d = f.value.double { return (f.name, .scalar(Float(d))) }
            if case .table(let t) = f.value, t.fields.isEmpty, !t.array.isEmpty {
                let xs = t.array.compactMap(\.double)
                if xs.count == t.array.count { return (f.name, .histogram(xs)) }
            }
            return nil
        }
        try tensorBoardWriter(in: dir, cell: cell).write(values, step: step ?? metricsLines)
    }

    /// The event file of the run (cell nil) or of one cell, made on first use with what ran beside
    /// the curves: the parameters as a table and the run record (Text tab), the hyperparameters and
    /// the cell (HParams tab).
    private func tensorBoardWriter(in dir: RunDirectory, cell: String?) throws -> EventWriter {
        let key = cell ?? ""
        if let w = tensorBoard[key] { return w }
        let writer = try EventWriter(folder: dir.file(cell.map { "tb/" + Self.folderName($0) } ?? "tb"))
        var values: [(tag: String, value: EventEncoding.Value)] = []
        let params = try dir.recordedParameters()?.namedFields ?? []
        if !params.isEmpty {
            let rows = params.map { "| \($0.name) | `\(JSON.encode($0.value))` |" }
            values.append(("params", .text((["| parameter | value |", "| --- | --- |"] + rows).joined(separator: "\n"))))
        }
        if let record = try? String(contentsOfFile: dir.file("run.json"), encoding: .utf8) {
            values.append(("run", .text("```\n" + record + "```")))
        }
        var hparams: [(name: String, value: EventEncoding.HParam)] = params.map { p in
            switch p.value {
            case .number(let d): return (p.name, .number(d))
            case .integer(let i): return (p.name, .number(Double(i)))
            case .boolean(let b): return (p.name, .bool(b))
            case .string(let s): return (p.name, .string(s))
            default: return (p.name, .string(JSON.encode(p.value)))
            }
        }
        if let cell { hparams.append(("cell", .string(cell))) }
        if !hparams.isEmpty { values.append(("_hparams_/session_start_info", .hparams(hparams, startTime: Date().timeIntervalSince1970))) }
        try writer.write(values, step: 0)
        tensorBoard[key] = writer
        return writer
    }

    /// A cell's name as a folder name: letters, digits, '.', '-' and '_' kept, anything else '_'.
    static func folderName(_ s: String) -> String {
        let safe = String(s.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" })
        return safe.isEmpty || safe.allSatisfy({ $0 == "." }) ? "_" + safe : safe
    }

    /// On resume: the event files are written again from metrics.jsonl as cut back to the
    /// checkpoint, so that TensorBoard shows no point that the resumed run will log anew.
    func rewriteTensorBoard(of dir: RunDirectory) throws {
        try? FileManager.default.removeItem(atPath: dir.file("tb"))
        tensorBoard = [:]
        let text = (try? String(contentsOfFile: dir.file("metrics.jsonl"), encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            if case .table(let t) = try JSONReader.parse(String(line)) { try logScalars(t, step: LabSession.step(of: t)) }
        }
    }
}
