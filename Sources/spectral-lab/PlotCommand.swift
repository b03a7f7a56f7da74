import ArgumentParser
import Foundation
import Workbench

extension SpectralLab {
    struct Plot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw a run's curves in the terminal (gnuplot's text terminal), for a look over SSH.",
            discussion: """
                One chart per metric, a line per cell of each run (runs that differ only in their seed \
                as their mean), sized to the terminal's window (or --size). `spectral-lab report` draws \
                the same and more as an HTML page.
                """
        )

        @Argument(help: ArgumentHelp("Run directories, or folders holding them.", valueName: "run-dir"), completion: .directory)
        var paths: [String]

        @Option(help: ArgumentHelp("The metrics to draw, comma-separated.", valueName: "names"))
        var metric = "loss,eval_loss"

        @Option(help: ArgumentHelp("The x axis: step or seconds.", valueName: "axis"))
        var x = "step"

        @Option(help: ArgumentHelp("Columns and rows of the whole drawing (default: the terminal's window, else 80x24).", valueName: "WxH"))
        var size: String?

        func run() throws {
            let (width, height) = try dimensions()
            let groups: RunGroups
            let charts: [Chart]
            do {
                groups = RunGroups(try RunData.collect(paths))
                let names = metric.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
                // The default asks for eval_loss too, which a run without held-out data lacks.
                let wanted = metric == "loss,eval_loss" ? names.filter(groups.metricNames.contains) : names
                charts = try groups.charts(metrics: wanted.isEmpty ? names : wanted, x: x)
            } catch { throw ValidationError("\(error)") }
            // The charts share the rows; from the window, one is left for the prompt.
            let rows = (size == nil ? height - 1 : height) / charts.count
            for chart in charts { print(try Gnuplot.text(chart, width: width, height: max(12, rows)), terminator: "") }
        }

        private func dimensions() throws -> (Int, Int) {
            if let size {
                let parts = size.split(separator: "x").compactMap { Int($0) }
                guard parts.count == 2, parts[0] >= 40, parts[1] >= 12 else {
                    throw ValidationError("--size takes COLUMNSxROWS, at least 40x12, got '\(size)'")
                }
                return (parts[0], parts[1])
            }
            var w = winsize()
            if isatty(1) != 0, ioctl(1, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0, w.ws_row > 0 { return (Int(w.ws_col), Int(w.ws_row)) }
            return (80, 24)
        }
    }
}
