import Foundation
import LuaBridge

/// `spectral-lab report`: one self-contained HTML page (no scripts, nothing fetched) for one run or
/// many: what ran and with which parameters (and what differs between runs), the results, and the
/// curves drawn by gnuplot as inline SVG: losses and accuracies against step and against seconds,
/// the learning rate, the gradient profile ‖∂L/∂h_t‖/‖∂L/∂h_T‖ at the start and end of training,
/// and the recurrent matrix's extreme singular values over training.
public struct HTMLReport {
    public let groups: RunGroups
    public private(set) var charts: [Chart] = []

    public init(runs: [RunData]) {
        groups = RunGroups(runs)
        charts = Self.charts(for: groups)
    }

    /// The metrics a report draws against step and against seconds, when some run logged them.
    static let curves: [(field: String, title: String, axis: String)] = [
        ("loss", "Training loss", "loss"), ("eval_loss", "Held-out loss", "loss"),
        ("accuracy", "Training accuracy", "accuracy"), ("eval_accuracy", "Held-out accuracy", "accuracy"),
    ]

    static func charts(for groups: RunGroups) -> [Chart] {
        var charts: [Chart] = []
        func add(_ name: String, _ title: String, x: String, y: String, logY: Bool? = nil, _ series: [Chart.Series?]) {
            let present = series.compactMap { $0 }
            if !present.isEmpty { charts.append(Chart(title: title, name: name, xLabel: x, yLabel: y, series: present, logY: logY)) }
        }
        for c in curves { add("\(c.field)-step", "\(c.title) against step", x: "step", y: c.axis, groups.lines.map { $0.curve(c.field, x: "step") }) }
        for c in curves { add("\(c.field)-seconds", "\(c.title) against time", x: "seconds", y: c.axis, groups.lines.map { $0.curve(c.field, x: "seconds") }) }
        add("lr", "Learning rate", x: "step", y: "lr", groups.lines.map { $0.curve("lr", x: "step") })
        add("gradient-profile", "Gradient profile: ‖∂L/∂h_t‖ / ‖∂L/∂h_T‖ at the start (dashed) and end of training (an MLP: hidden layer t of T)", x: "t", y: "ratio", logY: true,
            groups.lines.flatMap { [$0.gradientProfile(last: false), $0.gradientProfile(last: true)] })
        add("singular-values", "Recurrent matrix (an MLP: all its layers): largest (solid) and smallest (dashed) singular value", x: "step", y: "σ",
            groups.lines.flatMap { line -> [Chart.Series?] in
                var lo = line.curve("sigma_min", x: "step")
                lo?.dashed = true
                var hi = line.curve("sigma_max", x: "step")
                hi?.title += ", σ max"
                lo?.title += ", σ min"
                return [hi, lo]
            })
        return charts
    }

    public func html() throws -> String {
        let runs = groups.runs
        var body: [String] = []
        let title = runs.count == 1 ? runs[0].name : "\(runs.count) runs"
        body.append("<h1>spectral-lab report: \(escape(title))</h1>")
        body.append("<p class=note>Made \(escape(RunDirectory.isoNow())) by spectral-lab \(escape(Lab.version)) from \(runs.map { "<code>\(escape($0.path))</code>" }.joined(separator: ", ")).</p>")
        body.append("<h2>Runs</h2>" + table(["run", "script", "status", "started", "duration", "seed", "host", "build"], runs.map { r in
            [r.name, r.script, r.status, r.started ?? "–", r.duration.map { Self.duration($0) } ?? "–",
             RunGroups.show(r.record["seed"]), r.host ?? "–", (r.version ?? "?") + (r.commit.map { " " + String($0.prefix(10)) } ?? "")]
        }))
        body.append(parameters(runs))
        body.append(results())
        body.append("<h2>Curves</h2>")
        if charts.isEmpty { body.append("<p>No run logged metrics to draw.</p>") }
        for (i, chart) in charts.enumerated() {
            body.append("<figure>\(Self.inline(try Gnuplot.svg(chart), prefix: "c\(i)_"))</figure>")
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title)) — spectral-lab report</title>
            <style>
            body { font-family: sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
            table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
            th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
            td.n { text-align: right; font-variant-numeric: tabular-nums; }
            th { background: #f3f3f3; }
            figure { display: inline-block; margin: 0.5em; border: 1px solid #ddd; }
            figure svg { width: 640px; height: auto; display: block; }
            .note { color: #666; font-size: 0.9em; }
            </style></head>
            <body>
            \(body.joined(separator: "\n"))
            </body></html>

            """
    }

    /// The parameters every run shares, then those that differ (a column per run).
    private func parameters(_ runs: [RunData]) -> String {
        let names = Set(runs.flatMap { $0.params.namedFields.map(\.name) }).sorted()
        let varying = names.filter { n in Set(runs.map { JSON.encode($0.params[n]) }).count > 1 }
        let shared = names.filter { !varying.contains($0) }
        var out = "<h2>Parameters</h2>"
        if !shared.isEmpty {
            out += (runs.count > 1 ? "<p>The same in every run:</p>" : "") + table(["parameter", "value"], shared.map { [$0, RunGroups.show(runs[0].params[$0])] })
        }
        if !varying.isEmpty {
            out += "<p>What differs between the runs:</p>" + table(["parameter"] + runs.map(\.name), varying.map { n in
                [n] + runs.map { $0.params[n].isNil ? "–" : RunGroups.show($0.params[n]) }
            })
        }
        return out
    }

    /// The results lines, one row per cell of each run or, for a group over seeds, the mean ± std (n).
    private func results() -> String {
        let (columns, rows) = groups.resultTable()
        guard !rows.isEmpty else { return "<h2>Results</h2><p>No run recorded results (lab.result).</p>" }
        return "<h2>Results</h2>" + table(columns, rows)
    }

    private func table(_ header: [String], _ rows: [[String]]) -> String {
        let head = "<tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>"
        let cells = rows.map { r in
            "<tr>" + r.map { v in Double(v.split(separator: " ").first ?? "") != nil ? "<td class=n>\(escape(v))</td>" : "<td>\(escape(v))</td>" }.joined() + "</tr>"
        }
        return "<table>" + head + cells.joined() + "</table>"
    }

    static func number(_ x: Double) -> String { String(format: "%.4g", x) }

    public static func duration(_ s: Double) -> String {
        s < 60 ? String(format: "%.0fs", s) : s < 3600 ? String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60)
            : String(format: "%dh%02dm", Int(s) / 3600, Int(s) % 3600 / 60)
    }

    /// gnuplot's SVG made fit to sit inside HTML: without its XML prolog, its ids (and the
    /// references to them) prefixed so that several charts on one page keep their own.
    static func inline(_ svg: String, prefix: String) -> String {
        var s = svg
        if let start = s.range(of: "<svg") { s = String(s[start.lowerBound...]) }
        for (pattern, template) in [(#"id=(["'])"#, "id=$1\(prefix)"), (#"href=(["'])#"#, "href=$1#\(prefix)"), (#"url\(#"#, "url(#\(prefix)")] {
            s = s.replacingOccurrences(of: pattern, with: template, options: .regularExpression)
        }
        return s
    }
}

func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
