import Foundation

/// A chart as gnuplot draws it: lines against a shared x axis, each optionally with a shaded band
/// (mean ± standard deviation over seeds).
public struct Chart {
    public struct Series {
        public var title: String
        public var color: String
        public var dashed = false
        public var points: [(x: Double, y: Double)]
        /// Below and above each point (the same x values as points), when the line is a mean.
        public var band: [(lo: Double, hi: Double)]?
    }

    public var title: String
    /// A file name for the chart on its own (report --figures): "eval_loss-step".
    public var name = "chart"
    public var xLabel: String
    public var yLabel: String
    public var series: [Series] = []
    /// nil: logarithmic when every value is positive and they span more than 30×.
    public var logY: Bool?

    var usesLogY: Bool {
        if let logY { return logY }
        let ys = series.flatMap { $0.points.map(\.y) }
        guard let lo = ys.min(), let hi = ys.max(), lo > 0 else { return false }
        return hi / lo > 30
    }

    /// Colours of the series, in order (Tableau 10: distinct, and readable on white).
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
}

/// Runs gnuplot (Debian's gnuplot-nox) on a chart: its SVG terminal for reports and files, its
/// dumb terminal for text in a terminal. The data goes inline, as gnuplot datablocks.
public enum Gnuplot {
    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// The gnuplot on PATH.
    static func executable() throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/gnuplot"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Failure(description: "gnuplot is not installed: plots need it (Debian: apt-get install gnuplot-nox; scripts/setup installs it)")
    }

    /// The chart as SVG, taller by a line of legend (below the plot) per series.
    public static func svg(_ chart: Chart, width: Int = 720) throws -> String {
        let height = 380 + 18 * chart.series.count
        return try run(script(chart, terminal: "svg size \(width),\(height) dynamic noenhanced font 'sans,12' background rgb 'white'"))
    }

    /// The chart as text: lines told apart by their characters, without bands or grid (which
    /// would fill the picture with characters).
    public static func text(_ chart: Chart, width: Int, height: Int) throws -> String {
        var plain = chart
        for i in plain.series.indices { plain.series[i].band = nil }
        // Without the form feed the dumb terminal starts each page with.
        return try run(script(plain, terminal: "dumb size \(max(width, 40)),\(max(height, 12))", grid: false))
            .replacingOccurrences(of: "\u{0C}", with: "")
    }

    /// A string in gnuplot's single quotes (where only a quote is special: it is doubled).
    static func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }

    static func number(_ x: Double) -> String { x.isFinite ? String(x) : "NaN" }

    static func script(_ chart: Chart, terminal: String, grid: Bool = true) -> String {
        var lines = ["set terminal \(terminal)", "set encoding utf8",
                     "set title \(quoted(chart.title))", "set xlabel \(quoted(chart.xLabel))", "set ylabel \(quoted(chart.yLabel))",
                     "set key below", "set datafile missing 'NaN'"] + (grid ? ["set grid"] : [])
        let logY = chart.usesLogY
        // Four digits: enough to tell ticks apart (0.00099, 0.000995), not more.
        lines.append(logY ? "set logscale y\nset format y '%g'" : "set format y '%.4g'")
        var plots: [String] = []
        for (i, s) in chart.series.enumerated() where !s.points.isEmpty {
            lines.append("$d\(i) << EOD")
            for (j, p) in s.points.enumerated() {
                var row = "\(number(p.x)) \(number(p.y))"
                // On a log axis a band cannot reach zero or below: it stops at a tenth of the mean.
                if let b = s.band?[j] { row += " \(number(logY ? max(b.lo, p.y / 10) : b.lo)) \(number(b.hi))" }
                lines.append(row)
            }
            lines.append("EOD")
            if s.band != nil {
                plots.append("$d\(i) using 1:3:4 with filledcurves lc rgb '\(s.color)' fs transparent solid 0.18 noborder notitle")
            }
            let style = s.points.count == 1 ? "with points pt 7 ps 0.8" : "with lines lw 2\(s.dashed ? " dt 2" : "")"
            plots.append("$d\(i) using 1:2 \(style) lc rgb '\(s.color)' title \(quoted(s.title))")
        }
        lines.append(plots.isEmpty ? "plot NaN notitle" : "plot " + plots.joined(separator: ", \\\n  "))
        return lines.joined(separator: "\n") + "\n"
    }

    /// gnuplot's output for `script`; a script it refuses is an error with what it said.
    static func run(_ script: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("spectral-lab-gnuplot-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let scriptFile = folder.appendingPathComponent("plot.gp"), errorFile = folder.appendingPathComponent("stderr")
        try Data(script.utf8).write(to: scriptFile)
        FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try executable())
        p.arguments = [scriptFile.path]
        let output = Pipe()
        p.standardOutput = output
        p.standardError = try FileHandle(forWritingTo: errorFile)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let said = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
            throw Failure(description: "gnuplot failed (status \(p.terminationStatus)): \(said.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return String(decoding: out, as: UTF8.self)
    }
}
