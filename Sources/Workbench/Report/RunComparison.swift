import LuaBridge

/// What differs between two runs: parameters, the facts of the run record that bear on its numbers
/// (script, seed, build, threads, host), and the results of each cell.
public struct RunComparison {
    public struct Row { public let name: String, a: String, b: String }
    public struct Section { public let title: String, rows: [Row] }

    public let sections: [Section]
    public var isEmpty: Bool { sections.allSatisfy(\.rows.isEmpty) }

    /// Run-record fields that can change a run's numbers.
    static let recordFields = ["script", "seed", "spectral_lab", "spectral_lab_git_commit", "spectral_lab_crc32", "blas", "blas_threads", "host", "status"]

    public init(_ a: RunData, _ b: RunData) {
        func rows(_ x: LuaTable, _ y: LuaTable, names: [String]) -> [Row] {
            names.compactMap { n in
                let (u, v) = (x[n], y[n])
                return JSON.encode(u) == JSON.encode(v) ? nil : Row(name: n, a: u.isNil ? "–" : RunGroups.show(u), b: v.isNil ? "–" : RunGroups.show(v))
            }
        }
        let names = Array(Set(a.params.namedFields.map(\.name) + b.params.namedFields.map(\.name))).sorted()
        var record = [Row]()
        if a.script != b.script { record.append(Row(name: "script", a: a.script, b: b.script)) }
        record += rows(a.record, b.record, names: Self.recordFields.filter { $0 != "script" })
        if a.status != b.status, !record.contains(where: { $0.name == "status" }) { record.append(Row(name: "status", a: a.status, b: b.status)) }
        var sections = [Section(title: "Parameters", rows: rows(a.params, b.params, names: names)), Section(title: "Run", rows: record)]
        // Results, matched by cell (or by position for lines without one).
        func keyed(_ r: RunData) -> [(String, LuaTable)] {
            r.results.enumerated().map { ($1["cell"].isNil ? "result \($0 + 1)" : RunGroups.show($1["cell"]), $1) }
        }
        let ka = keyed(a), kb = keyed(b)
        var cells: [String] = []
        for (k, _) in ka + kb where !cells.contains(k) { cells.append(k) }
        for cell in cells {
            let x = ka.first { $0.0 == cell }?.1 ?? [:], y = kb.first { $0.0 == cell }?.1 ?? [:]
            let fields = Array(Set(x.namedFields.map(\.name) + y.namedFields.map(\.name))).sorted()
            sections.append(Section(title: "Results: \(cell)", rows: rows(x, y, names: fields).map {
                Row(name: $0.name, a: Self.short($0.a), b: Self.short($0.b))
            }))
        }
        self.sections = sections
    }

    /// Numbers with four significant digits (what a comparison is read at).
    static func short(_ s: String) -> String {
        guard s.contains(where: { ".e".contains($0) }), let d = Double(s) else { return s }   // integers stay whole
        return HTMLReport.number(d)
    }
}
