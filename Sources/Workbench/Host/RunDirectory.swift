import Foundation
import LuaBridge
import SpectralNumerics
#if canImport(Glibc)
import Glibc
#endif

/// The directory one run writes: params.json (parameters as resolved), metrics.jsonl (one JSON
/// object per lab.log call, flushed line by line so a crash loses nothing logged), run.json (what ran,
/// with which seed, when, and how it ended) and whatever the script saves there.
public final class RunDirectory {
    public let path: String
    /// The logs open for appending (metrics.jsonl takes a line per log; kept open).
    private var handles: [String: FileHandle] = [:]
    private var record: LuaTable
    /// run.lock, held (flock) for as long as this process writes the run: one writer per directory.
    private var lockDescriptor: Int32 = -1

    /// Creates `runs/<UTC timestamp>-<name>/` below `base` (a new, unique directory).
    public static func create(under base: String, name: String, date: Date = Date()) throws -> RunDirectory {
        let stamp = timestampFormatter.string(from: date)
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        var candidate = "\(base)/\(stamp)-\(safe)"
        var n = 2
        while FileManager.default.fileExists(atPath: candidate) {   // two runs within one second
            candidate = "\(base)/\(stamp)-\(safe)-\(n)"
            n += 1
        }
        return try RunDirectory(exactly: candidate)
    }

    /// An existing run directory, to resume: it must hold the run's run.json.
    public init(resuming path: String) throws {
        guard FileManager.default.fileExists(atPath: "\(path)/run.json") else {
            throw RunDirectoryError("'\(path)' is not a run directory (no run.json)")
        }
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
        record = [:]
        try lock()
        record = try JSON.table(contentsOf: "\(path)/run.json")
        // We hold the lock, so no process writes this run: one that is still "running" died.
        if record["status"].string == "running" { record["status"] = "died" }
    }

    /// The run's status as recorded, except that a run recorded as running whose process is gone
    /// (nobody holds its lock) is "died". For reading runs other processes may be writing.
    public static func status(of path: String) -> String? {
        guard let record = try? JSON.table(contentsOf: "\(path)/run.json"), let status = record["status"].string else { return nil }
        guard status == "running" else { return status }
        let fd = open("\(path)/run.lock", O_RDONLY)
        guard fd >= 0 else { return "died" }
        defer { close(fd) }
        return flock(fd, LOCK_SH | LOCK_NB) == 0 ? "died" : "running"
    }

    /// Takes run.lock (creating it) and writes our pid into it, or fails naming the holder.
    private func lock() throws {
        let lockPath = file("run.lock")
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunDirectoryError("cannot open '\(lockPath)': \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = Glibc.read(fd, &buffer, 31)
            close(fd)
            let holder = n > 0 ? String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            throw RunDirectoryError.inUse("run directory '\(path)' is in use by process \(holder) (it holds \(lockPath))")
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { Glibc.write(fd, $0, strlen($0)) }
        lockDescriptor = fd
    }

    /// params.json as a Lua table (integers stay integers), or nil when the run declared none.
    func recordedParameters() throws -> LuaTable? {
        guard FileManager.default.fileExists(atPath: file("params.json")) else { return nil }
        return try JSON.table(contentsOf: file("params.json"))
    }

    /// A field of run.json (e.g. "script", "seed").
    public func recorded(_ key: String) -> LuaValue { record[key] }

    /// Uses `path` itself (from --out): it must not exist yet, or be empty, so that no earlier
    /// run's metrics are overwritten.
    public init(exactly path: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw RunDirectoryError("'\(path)' exists and is not a directory") }
            guard (try fm.contentsOfDirectory(atPath: path)).isEmpty else {
                throw RunDirectoryError("run directory '\(path)' is not empty; choose a new one with --out")
            }
        } else {
            do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw RunDirectoryError("cannot create run directory '\(path)': \(error.localizedDescription)")
            }
        }
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
        record = [:]
        try lock()
    }

    deinit {
        for h in handles.values { try? h.close() }
        if lockDescriptor >= 0 { close(lockDescriptor) }
    }

    public func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Appends one line to the log `name` (created when missing), unbuffered: on disk when this returns.
    func appendLine(_ line: String, to name: String) throws {
        if handles[name] == nil { handles[name] = try openForAppending(name) }
        try handles[name]!.write(contentsOf: Data((line + "\n").utf8))
    }

    private func openForAppending(_ name: String) throws -> FileHandle {
        let p = file(name)
        if !FileManager.default.fileExists(atPath: p) { _ = FileManager.default.createFile(atPath: p, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: p) else { throw RunDirectoryError("cannot open '\(p)'") }
        h.seekToEndOfFile()
        return h
    }

    /// The files a checkpoint records the length of, so that a resume cuts them back to it.
    static let logs = ["metrics.jsonl", "results.jsonl"]

    /// Their sizes in bytes now (a missing file is 0).
    func logSizes() -> [String: Int] {
        Dictionary(uniqueKeysWithValues: RunDirectory.logs.map { name in
            (name, ((try? FileManager.default.attributesOfItem(atPath: file(name)))?[.size] as? Int) ?? 0)
        })
    }

    /// Cuts each log back to the size a checkpoint recorded: whatever was written after it (lines
    /// of steps to be trained again, a result to be computed again, a half-written line) goes.
    func truncateLogs(to sizes: [String: Int]) throws {
        for h in handles.values { try? h.close() }
        handles = [:]
        for name in RunDirectory.logs {
            let size = sizes[name] ?? 0
            guard let h = FileHandle(forUpdatingAtPath: file(name)) else { continue }
            defer { try? h.close() }
            if (try h.seekToEnd()) > UInt64(size) { try h.truncate(atOffset: UInt64(size)) }
        }
    }

    /// How many lines each log holds in its first `sizes[name]` bytes (all of it when nil).
    func lineCounts(upTo sizes: [String: Int]? = nil) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: RunDirectory.logs.map { name in
            let data = FileManager.default.contents(atPath: file(name)) ?? Data()
            let prefix = data.prefix(sizes.map { $0[name] ?? 0 } ?? data.count)
            return (name, prefix.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) })
        })
    }

    /// Cuts each log back to its first `lines[name]` lines.
    func truncateLogs(toLines lines: [String: Int]) throws {
        var sizes: [String: Int] = [:]
        for name in RunDirectory.logs {
            let data = FileManager.default.contents(atPath: file(name)) ?? Data()
            var left = lines[name] ?? 0, size = 0
            for byte in data where left > 0 {
                size += 1
                if byte == UInt8(ascii: "\n") { left -= 1 }
            }
            sizes[name] = size
        }
        try truncateLogs(to: sizes)
    }

    func writeParams(_ params: LuaTable) throws {
        try write(JSON.encode(.table(params), pretty: true) + "\n", to: "params.json")
    }

    /// Merges fields into run.json and rewrites it (atomically: write, then rename).
    func updateRecord(_ fields: [String: LuaValue]) throws {
        for (k, v) in fields { record[k] = v }
        try write(JSON.encode(.table(record), pretty: true) + "\n", to: "run.json")
    }

    private func write(_ text: String, to name: String) throws {
        do { try AtomicFile.write(Data(text.utf8), to: file(name)) } catch {
            throw RunDirectoryError("cannot write '\(file(name))': \(error)")
        }
    }

    /// True when nothing but our own run.json is in it (a run that failed before doing anything).
    var holdsOnlyRecord: Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.allSatisfy { $0 == "run.json" || $0 == "run.lock" || $0 == "source" || $0 == "output.log" }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    static func isoNow() -> String { ISO8601DateFormatter().string(from: Date()) }
    static func date(iso: String) -> Date? { ISO8601DateFormatter().date(from: iso) }

    private static var timestampFormatter: DateFormatter {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd-HHmmss"
        return f
    }
}

public struct RunDirectoryError: Error, CustomStringConvertible {
    public let description: String
    /// Another process holds the directory (a usage error: exit 2).
    public var inUse = false
    init(_ d: String) { description = d }
    static func inUse(_ d: String) -> RunDirectoryError {
        var e = RunDirectoryError(d)
        e.inUse = true
        return e
    }
}
