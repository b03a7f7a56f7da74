import Foundation
import LuaBridge

/// The lines a report or plot draws from a set of runs: one per cell of each group of runs, where
/// runs of one script whose parameters differ only in the seed (`--seed` or a `seed` parameter)
/// form a group, drawn as the mean over the group with a band of ± one standard deviation.
public struct RunGroups {
    /// One line: a cell of a group of runs.
    public struct Line {
        public let label: String
        public let color: String
        public let cell: String?
        public let runs: [RunData]

        /// The metrics lines of this line's cell in one run.
        func metrics(of run: RunData) -> [LuaTable] { run.metrics.filter { $0["cell"].string == cell } }

        /// The results lines of this line's cell in one run.
        func results(of run: RunData) -> [LuaTable] { run.results.filter { cell == nil || $0["cell"].string == cell } }

        /// Field `y` against `x` ("step" or "seconds"): over a group, at the steps every run logged,
        /// the means of x and y and the band of y's standard deviation.
        func curve(_ y: String, x: String) -> Chart.Series? {
            let perRun: [[Int: (x: Double, y: Double)]] = runs.map { run in
                var points: [Int: (x: Double, y: Double)] = [:]
                for line in metrics(of: run) {
                    guard let step = line["step"].int, let v = line[y].double, let xv = x == "step" ? Double(step) : line[x].double else { continue }
                    points[step] = (xv, v)
                }
                return points
            }
            var common = Set(perRun.first.map { Array($0.keys) } ?? [])
            for points in perRun.dropFirst() { common.formIntersection(points.keys) }
            let steps = common.sorted()
            guard !steps.isEmpty else { return nil }
            let stats = steps.map { s in (x: Stats(perRun.map { $0[s]!.x }), y: Stats(perRun.map { $0[s]!.y })) }
            return Chart.Series(title: label, color: color, points: stats.map { ($0.x.mean, $0.y.mean) },
                                band: runs.count > 1 ? stats.map { ($0.y.mean - $0.y.std, $0.y.mean + $0.y.std) } : nil)
        }

        /// ‖∂L/∂h_t‖ / ‖∂L/∂h_T‖ against t from the first (`last` false) or last metrics line that
        /// holds a gradient profile, averaged over the group.
        func gradientProfile(last: Bool) -> Chart.Series? {
            let profiles: [[Double]] = runs.compactMap { run in
                let lines = metrics(of: run).filter { !$0["grad_profile"].isNil }
                guard case .table(let t)? = (last ? lines.last : lines.first)?["grad_profile"] else { return nil }
                let g = t.array.compactMap(\.double)
                guard g.count == t.array.count, let end = g.last, end > 0 else { return nil }
                return g.map { $0 / end }
            }
            guard profiles.count == runs.count, let T = profiles.first?.count, profiles.allSatisfy({ $0.count == T }) else { return nil }
            let stats = (0 ..< T).map { t in Stats(profiles.map { $0[t] }) }
            let step = last ? "end" : "start"
            return Chart.Series(title: "\(label), \(step)", color: color, dashed: !last,
                                points: stats.enumerated().map { (Double($0.offset + 1), $0.element.mean) },
                                band: runs.count > 1 ? stats.map { ($0.mean - $0.std, $0.mean + $0.std) } : nil)
        }
    }

    public let runs: [RunData]
    public let lines: [Line]
    /// Parameters whose values differ between the runs (what tells them apart in legends), in order.
    public let differing: [String]

    public init(_ runs: [RunData]) {
        self.runs = runs
        // A group: same script, same parameters but the seed.
        func key(_ r: RunData) -> String {
            var p = r.params
            p["seed"] = .nil
            return r.script + "\u{0}" + JSON.encode(.table(p))
        }
        var order: [String] = [], members: [String: [RunData]] = [:]
        for r in runs {
            let k = key(r)
            if members[k] == nil { order.append(k) }
            members[k, default: []].append(r)
        }
        let groups = order.map { members[$0]! }
        // What differs between groups: the script, or a parameter's value.
        let names = Set(runs.flatMap { $0.params.namedFields.map(\.name) }).subtracting(["seed"]).sorted()
        let representatives = groups.map { $0[0] }
        var differing = names.filter { n in Set(representatives.map { JSON.encode($0.params[n]) }).count > 1 }
        if Set(representatives.map(\.script)).count > 1 { differing.insert("script", at: 0) }
        self.differing = differing
        var lines: [Line] = []
        func cells(of group: [RunData]) -> [String?] {
            var cells: [String?] = []
            for run in group { for c in run.cells where !cells.contains(c) { cells.append(c) } }
            return cells
        }
        // A line's legend names what tells it apart from the other lines of its cell: a parameter
        // only one kind of model reads (an MLP sweep's dense_init for its SVD lines) stays out.
        var differingFor: [String?: [String]] = [:]
        for cell in Set(groups.flatMap(cells)) {
            let same = groups.filter { cells(of: $0).contains(cell) }.map { $0[0] }
            differingFor[cell] = differing.filter { n in
                n == "script" ? Set(same.map(\.script)).count > 1 : Set(same.map { JSON.encode($0.params[n]) }).count > 1
            }
        }
        for group in groups {
            let r = group[0]
            for cell in cells(of: group) {
                var parts = cell.map { [$0] } ?? []
                for n in differingFor[cell] ?? [] where n != "cells" {
                    parts.append(n == "script" ? r.script : "\(n)=\(Self.show(r.params[n]))")
                }
                if parts.isEmpty { parts = [groups.count == 1 && group.count == 1 ? r.name : r.script] }
                if group.count > 1 { parts.append("(n=\(group.count))") }
                lines.append(Line(label: parts.joined(separator: " "), color: Chart.palette[lines.count % Chart.palette.count],
                                  cell: cell, runs: group))
            }
        }
        self.lines = lines
    }

    /// A parameter's value as a legend shows it.
    static func show(_ v: LuaValue) -> String {
        switch v {
        case .string(let s): return s
        case .number(let d): return String(format: "%g", d)
        default: return JSON.encode(v)
        }
    }
}

/// Mean and sample standard deviation (0 for one value).
struct Stats {
    let mean: Double, std: Double, n: Int
    init(_ xs: [Double]) {
        n = xs.count
        let m = xs.reduce(0, +) / Double(max(n, 1))
        mean = m
        std = n > 1 ? (xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n - 1)).squareRoot() : 0
    }
}

extension RunGroups {
    /// The numeric fields some run's metrics lines hold (what `plot --metric` can draw).
    public var metricNames: [String] {
        Set(runs.flatMap { $0.metrics.flatMap { $0.namedFields.filter { $0.value.double != nil }.map(\.name) } })
            .subtracting(["step"]).sorted()
    }

    /// One chart per metric against x ("step" or "seconds"), a line per cell of each group; a
    /// metric no run logged is an error listing those there are.
    public func charts(metrics: [String], x: String) throws -> [Chart] {
        guard x == "step" || x == "seconds" else { throw RunDirectoryError("the x axis is step or seconds, not '\(x)'") }
        let known = metricNames
        return try metrics.map { m in
            guard known.contains(m) else {
                throw RunDirectoryError("no run logged '\(m)'; the metrics there are: \(known.joined(separator: ", "))")
            }
            return Chart(title: "\(m) against \(x)", xLabel: x, yLabel: m, series: lines.compactMap { $0.curve(m, x: x) })
        }
    }
}

extension RunGroups {
    /// The results lines as a table: a row per line (a cell of a group of runs), a column per
    /// field; numbers of a group over seeds as "mean ± std (n=…)", strings as the values seen.
    public func resultTable() -> (columns: [String], rows: [[String]]) {
        var rows: [[String: String]] = [], columns: [String] = ["line"]
        for line in lines {
            let results = line.runs.flatMap { line.results(of: $0) }
            guard !results.isEmpty else { continue }
            var row = ["line": line.label]
            var keys: [String] = []
            for r in results { for f in r.namedFields where !keys.contains(f.name) { keys.append(f.name) } }
            for k in keys where k != "cell" {   // the line's label names the cell
                let values = results.map { $0[k] }
                let numbers = values.compactMap(\.double)
                if numbers.count == values.count, line.runs.count > 1, Set(numbers).count > 1 {
                    let s = Stats(numbers)
                    row[k] = "\(HTMLReport.number(s.mean)) ± \(HTMLReport.number(s.std)) (n=\(s.n))"
                } else if numbers.count == values.count {
                    row[k] = Array(Set(numbers)).sorted().map(HTMLReport.number).joined(separator: ", ")
                } else {
                    row[k] = Array(Set(values.map { RunGroups.show($0) })).sorted().joined(separator: ", ")
                }
                if !columns.contains(k) { columns.append(k) }
            }
            rows.append(row)
        }
        return (columns, rows.map { r in columns.map { r[$0] ?? "–" } })
    }
}
