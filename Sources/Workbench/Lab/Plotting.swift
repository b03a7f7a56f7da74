import Foundation
import LuaBridge

/// lab.plot: `spectral-lab plot` from a script or the REPL (as Torch7's gnuplot.plot): the curves
/// of this run (or of the runs named) drawn in the terminal, or written as SVG into the run directory.
enum Plotting {
    static let options = LuaOptions("lab.plot", [
        .init("metrics", .list(.string, count: 1 ... 32), defaultText: "loss, and eval_loss when logged", help: "the metrics to draw, a chart each"),
        .init("x", .choice(["step", "seconds"]), default: "step", help: "the x axis"),
        .init("runs", .list(.string, count: 1 ... 10_000), defaultText: "this run", help: "run directories (or folders of them) to draw instead"),
        .init("file", .string, help: "write the charts as SVG to this file in the run directory (one file per chart: name-2.svg, … after the first) instead of the terminal"),
        .init("width", .integer(40 ... 2000), defaultText: "the terminal's", help: "columns of the text chart"),
        .init("height", .integer(12 ... 1000), default: 24, help: "rows of each text chart"),
    ])

    static func install(into lab: inout LuaModule, session: LabSession) {
        lab.function("plot", "lab.plot{metrics=, x=, runs=, file=}: draws the run's curves in the terminal (gnuplot's text terminal), or writes them as SVG into the run directory (file=)", options: options) { [unowned session] _, o in
            let dir = try session.runDirectory()
            let paths = o["runs"].isNil ? [dir.path] : try o.table("runs").array.compactMap(\.string)
            let charts: [Chart]
            do {
                let groups = RunGroups(try RunData.collect(paths))
                let metrics = o["metrics"].isNil ? ["loss", "eval_loss"].filter(groups.metricNames.contains)
                                                 : try o.table("metrics").array.compactMap(\.string)
                charts = try groups.charts(metrics: metrics.isEmpty ? ["loss"] : metrics, x: try o.string("x"))
            } catch let e as RunDirectoryError { throw LuaError.runtime("lab.plot: \(e)") }
            if o["file"].isNil {
                let width = try o.optionalInt("width") ?? StatusLine.shared?.width ?? 80
                for chart in charts { print(try Gnuplot.text(chart, width: width, height: try o.int("height")), terminator: "") }
                return []
            }
            let name = try o.string("file")
            guard !name.isEmpty, !name.hasPrefix("/"), !name.split(separator: "/").contains(".."), name.hasSuffix(".svg") else {
                throw LuaError.runtime("lab.plot: file must be a name.svg inside the run directory, got '\(name)'")
            }
            var written: [LuaValue] = []
            for (i, chart) in charts.enumerated() {
                let path = dir.file(i == 0 ? name : String(name.dropLast(4)) + "-\(i + 1).svg")
                try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
                try Data(try Gnuplot.svg(chart).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
                written.append(.string(path))
            }
            return [.table(LuaTable(array: written))]
        }
    }
}
