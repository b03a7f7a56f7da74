import ArgumentParser
import Foundation
import Workbench

extension SpectralLab {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write one self-contained HTML page of one run or many: what ran, the results, the curves.",
            discussion: """
                Each path is a run directory, or a folder searched for run directories (a sweep's, or \
                runs/). Runs of one script whose parameters differ only in the seed are drawn as their \
                mean with a ± one standard deviation band, and their results as mean ± std (n). The \
                plots are gnuplot's SVG, inline: the page needs no network and runs no script.
                """
        )

        @Argument(help: ArgumentHelp("Run directories, or folders holding them.", valueName: "run-or-sweep-dir"), completion: .directory)
        var paths: [String]

        @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Where to write the page (default: report.html in the run directory for one run, else in the current folder).", valueName: "file.html"))
        var output: String?

        @Option(help: ArgumentHelp("Also write each plot as an SVG file of its own into this folder (loss-step.svg, gradient-profile.svg, …); the page only with -o.", valueName: "dir"), completion: .directory)
        var figures: String?

        func run() throws {
            let runs: [RunData]
            do { runs = try RunData.collect(paths) } catch { throw ValidationError("\(error)") }
            let report = HTMLReport(runs: runs)
            let file = output ?? (figures != nil ? nil : runs.count == 1 && paths.count == 1 ? runs[0].path + "/report.html" : "report.html")
            do {
                if let figures {
                    try FileManager.default.createDirectory(atPath: figures, withIntermediateDirectories: true)
                    for chart in report.charts {
                        try Data(try Gnuplot.svg(chart).utf8).write(to: URL(fileURLWithPath: "\(figures)/\(chart.name).svg"), options: .atomic)
                    }
                    print("wrote \(report.charts.count) plots into \(figures): \(report.charts.map { $0.name + ".svg" }.joined(separator: ", "))")
                }
                if let file { try Data(try report.html().utf8).write(to: URL(fileURLWithPath: file), options: .atomic) }
            } catch {
                FileHandle.standardError.write(Data("spectral-lab report: \(error)\n".utf8))
                throw ExitCode(1)
            }
            if let file {
                print("wrote \(file): \(runs.count) run\(runs.count == 1 ? "" : "s"), \(report.groups.lines.count) line\(report.groups.lines.count == 1 ? "" : "s"), \(report.charts.count) plots")
            }
        }
    }
}
