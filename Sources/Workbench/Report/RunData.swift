import Foundation
import LuaBridge

/// One run directory as `report`, `plot`, `runs` and `export` read it: its record (run.json),
/// parameters (params.json), metrics lines and results. Runs being written are read as they stand:
/// a last line without its newline yet is left out; a line that is not JSON elsewhere is an error
/// naming the file and line.
public struct RunData {
    public let path: String
    public let record: LuaTable
    public let params: LuaTable
    public let metrics: [LuaTable]
    public let results: [LuaTable]
    /// As recorded, or "died" for a run recorded as running whose process is gone.
    public let status: String
    /// run.json's text fields that tables show: nil when absent (a run still going has no end; a
    /// binary outside a checkout records no commit), an error naming the field when not text.
    public let started: String?, finished: String?, host: String?, version: String?, commit: String?
    /// The recipe or script that ran.
    public let script: String

    public init(path: String) throws {
        let path = URL(fileURLWithPath: path).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: path + "/run.json") else {
            throw RunDirectoryError("'\(path)' is not a run directory (no run.json)")
        }
        self.path = path
        let record = try JSON.table(contentsOf: path + "/run.json")
        func text(_ key: String) throws -> String? {
            let v = record[key]
            if v.isNil { return nil }
            guard let s = v.string else { throw RunDirectoryError("\(path)/run.json: '\(key)' must be text, got \(JSON.encode(v))") }
            return s
        }
        self.record = record
        (started, finished, host) = (try text("started"), try text("finished"), try text("host"))
        (version, commit) = (try text("spectral_lab"), try text("spectral_lab_git_commit"))
        script = try text("builtin") ?? text("script") ?? text("kind") ?? "?"
        params = FileManager.default.fileExists(atPath: path + "/params.json") ? try JSON.table(contentsOf: path + "/params.json") : [:]
        metrics = try Self.lines(path + "/metrics.jsonl")
        results = try Self.lines(path + "/results.jsonl")
        status = RunDirectory.status(of: path) ?? "?"
    }

    /// The folder's name: what the run is called in tables and legends.
    public var name: String { URL(fileURLWithPath: path).lastPathComponent }

    /// Seconds from start to finish (or to the last metrics line of a run still going or dead).
    public var duration: Double? {
        if let start = started.flatMap(RunDirectory.date(iso:)), let end = finished.flatMap(RunDirectory.date(iso:)) {
            return end.timeIntervalSince(start)
        }
        return metrics.last(where: { $0["seconds"].double != nil })?["seconds"].double
    }

    /// The cells a run trained (lab.experiment's `cell` tag), in the order they first appear; [nil]
    /// for a run whose lines name none.
    public var cells: [String?] {
        var seen: [String?] = []
        for line in metrics + results where !seen.contains(line["cell"].string) { seen.append(line["cell"].string) }
        return seen.isEmpty ? [nil] : seen
    }

    /// The runs that `paths` name: each a run directory, or a folder searched for run directories
    /// (a sweep's, or runs/), in path order. No run at all is an error naming the paths.
    public static func collect(_ paths: [String]) throws -> [RunData] {
        var found: [String] = []
        for p in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw RunDirectoryError("'\(p)' is not a folder")
            }
            found += runDirectories(under: URL(fileURLWithPath: p).standardizedFileURL.path)
        }
        guard !found.isEmpty else { throw RunDirectoryError("no run directories (folders with a run.json) in \(paths.joined(separator: ", "))") }
        var seen = Set<String>()
        return try found.filter { seen.insert($0).inserted }.map(RunData.init(path:))
    }

    /// `folder` if it is a run directory, else the run directories below it (not looking inside
    /// runs: their checkpoints/ and source/ hold none).
    private static func runDirectories(under folder: String) -> [String] {
        if FileManager.default.fileExists(atPath: folder + "/run.json") { return [folder] }
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        return children.flatMap { name -> [String] in
            // A sweep's earlier attempt at a point, kept aside (POINT.failed-1): not one of its runs.
            if name.range(of: #"\.failed-\d+$"#, options: .regularExpression) != nil { return [] }
            var isDirectory: ObjCBool = false
            let child = folder + "/" + name
            guard FileManager.default.fileExists(atPath: child, isDirectory: &isDirectory), isDirectory.boolValue else { return [] }
            return runDirectories(under: child)
        }
    }

    private static func lines(_ path: String) throws -> [LuaTable] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()   // after the last newline: empty, or a line still being written
        return try lines.enumerated().compactMap { i, line in
            guard !line.isEmpty else { return nil }
            do {
                guard case .table(let t) = try JSONReader.parse(String(line)) else { throw RunDirectoryError("not a JSON object") }
                return t
            } catch {
                throw RunDirectoryError("\(path):\(i + 1): \(error)")
            }
        }
    }
}

extension RunData {
    /// The results a person looks at first, as "cell eval_loss=0.0011" per results line (the first
    /// of test and held-out accuracy, bits per character, held-out and training loss that the line
    /// holds), or the last training loss when the run recorded no result.
    public var mainResult: String {
        let preferred = ["test_accuracy", "eval_accuracy", "test_bpc", "eval_bpc", "test_loss", "eval_loss", "loss"]
        let parts = results.compactMap { line -> String? in
            guard let key = preferred.first(where: { line[$0].double != nil }) else { return nil }
            return [line["cell"].string, "\(key)=\(HTMLReport.number(line[key].double!))"].compactMap { $0 }.joined(separator: " ")
        }
        if !parts.isEmpty { return parts.joined(separator: ", ") }
        if let last = metrics.last(where: { $0["loss"].double != nil }) {
            return "loss=\(HTMLReport.number(last["loss"].double!))" + (last["step"].isNil ? "" : " at step \(RunGroups.show(last["step"]))")
        }
        return "–"
    }

    /// The metrics lines as CSV for pandas and spreadsheets: a column per number or string any
    /// line holds (step and cell first), lists left out; empty where a line lacks the field.
    public func metricsCSV() -> String {
        var columns: [String] = []
        for line in metrics {
            for f in line.namedFields where !columns.contains(f.name) {
                if case .table = f.value { continue }
                columns.append(f.name)
            }
        }
        let first = ["step", "cell"].filter(columns.contains)
        columns = first + columns.filter { !first.contains($0) }.sorted()
        func cell(_ v: LuaValue) -> String {
            switch v {
            case .nil, .table, .object, .ref: return ""
            case .integer(let i): return String(i)
            case .number(let d): return d.isNaN ? "nan" : d.isInfinite ? (d > 0 ? "inf" : "-inf") : JSON.number(d)
            case .boolean(let b): return b ? "true" : "false"
            case .string(let s):
                // The JSON spellings of non-finite numbers, as pandas reads them.
                if let n = ["NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"][s] { return n }
                return s.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
            }
        }
        return ([columns.map { cell(.string($0)) }.joined(separator: ",")] + metrics.map { line in columns.map { cell(line[$0]) }.joined(separator: ",") })
            .joined(separator: "\n") + "\n"
    }
}
