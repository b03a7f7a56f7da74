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
        var name = "\(folder)/events.out.tfevents.\(Int(now)).\(ProcessInfo.processInfo.hostName)"
        var n = 1
        while FileManager.default.fileExists(atPath: name) { name = "\(folder)/events.out.tfevents.\(Int(now)).\(ProcessInfo.processInfo.hostName).\(n)"; n += 1 }
        guard FileManager.default.createFile(atPath: name, contents: nil), let h = FileHandle(forWritingAtPath: name) else {
            throw RunDirectoryError("cannot create \(name)")
        }
        path = name
        handle = h
        try write(EventEncoding.event(wallTime: now, step: 0, fileVersion: "brain.Event:2"))
    }

    deinit { try? handle.close() }

    func scalars(_ values: [(tag: String, value: Float)], step: Int, wallTime: Double = Date().timeIntervalSince1970) throws {
        guard !values.isEmpty else { return }
        try write(EventEncoding.event(wallTime: wallTime, step: step, scalars: values))
    }

    func text(_ tag: String, markdown: String, step: Int = 0) throws {
        try write(EventEncoding.text(wallTime: Date().timeIntervalSince1970, step: step, tag: tag, markdown: markdown))
    }

    private func write(_ event: [UInt8]) throws {
        let length = EventEncoding.littleEndian(UInt64(event.count))
        var frame = length + EventEncoding.littleEndian(CRC32C.masked(length))
        frame += event + EventEncoding.littleEndian(CRC32C.masked(event))
        do { try handle.write(contentsOf: Data(frame)) } catch { throw RunDirectoryError("cannot write \(path): \(error)") }
    }
}

extension LabSession {
    /// The numbers of a metrics line as TensorBoard scalars at its step, tagged `cell/name` when
    /// the line says which cell trained (lab.experiment's), else `name`.
    /// A metrics line's step, TensorBoard's x axis: an integer when the line gives one (nil when not).
    static func step(of line: LuaTable) throws -> Int? {
        if line["step"].isNil { return nil }
        guard let step = line["step"].int else {
            throw LuaError.argument(index: 1, message: "step must be an integer, got \(LuaOptions.show(line["step"]))")
        }
        return step
    }

    func logScalars(_ line: LuaTable, step: Int?) throws {
        guard let dir = existingRunDirectory else { return }
        let prefix = line["cell"].string.map { $0 + "/" } ?? ""
        let values: [(tag: String, value: Float)] = line.namedFields.sorted { $0.name < $1.name }.compactMap { f in
            guard f.name != "step", let d = f.value.double else { return nil }
            return (prefix + f.name, Float(d))
        }
        metricsLines += 1
        if tensorBoard == nil {
            let writer = try EventWriter(folder: dir.file("tb"))
            // What ran, beside the curves (TensorBoard's Text tab): the parameters and the run record.
            if let params = try dir.recordedParameters() {
                let rows = params.namedFields.sorted { $0.name < $1.name }.map { "| \($0.name) | `\(JSON.encode($0.value))` |" }
                try writer.text("params", markdown: (["| parameter | value |", "| --- | --- |"] + rows).joined(separator: "\n"))
            }
            if let record = try? String(contentsOfFile: dir.file("run.json"), encoding: .utf8) {
                try writer.text("run", markdown: "```\n" + record + "```")
            }
            tensorBoard = writer
        }
        try tensorBoard!.scalars(values, step: step ?? metricsLines)
    }

    /// On resume: the event files are written again from metrics.jsonl as cut back to the
    /// checkpoint, so that TensorBoard shows no point that the resumed run will log anew.
    func rewriteTensorBoard(of dir: RunDirectory) throws {
        try? FileManager.default.removeItem(atPath: dir.file("tb"))
        let text = (try? String(contentsOfFile: dir.file("metrics.jsonl"), encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            if case .table(let t) = try JSONReader.parse(String(line)) { try logScalars(t, step: LabSession.step(of: t)) }
        }
    }
}
