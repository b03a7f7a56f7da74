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

    public init(path: String) throws {
        let path = URL(fileURLWithPath: path).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: path + "/run.json") else {
            throw RunDirectoryError("'\(path)' is not a run directory (no run.json)")
        }
        self.path = path
        record = try JSON.table(contentsOf: path + "/run.json")
        params = FileManager.default.fileExists(atPath: path + "/params.json") ? try JSON.table(contentsOf: path + "/params.json") : [:]
        metrics = try Self.lines(path + "/metrics.jsonl")
        results = try Self.lines(path + "/results.jsonl")
        status = RunDirectory.status(of: path) ?? "?"
    }

    /// The folder's name: what the run is called in tables and legends.
    public var name: String { URL(fileURLWithPath: path).lastPathComponent }

    /// The recipe or script that ran.
    public var script: String { record["builtin"].string ?? record["script"].string ?? "?" }

    /// Seconds from start to finish (or to the last metrics line of a run still going or dead).
    public var duration: Double? {
        if let start = record["started"].string.flatMap(RunDirectory.date(iso:)),
           let end = record["finished"].string.flatMap(RunDirectory.date(iso:)) { return end.timeIntervalSince(start) }
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
