import ArgumentParser
import Foundation
import Workbench

extension SpectralLab {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a run's metrics as CSV (for pandas.read_csv or a spreadsheet).",
            discussion: "A column per number or string the metrics lines hold (step and cell first); lists (gradient profiles, singular values) stay in metrics.jsonl."
        )

        @Argument(help: ArgumentHelp("A run directory.", valueName: "run-dir"), completion: .directory)
        var runDirectory: String

        @Flag(help: "CSV (the one format there is; say it so that a later one can be added).")
        var csv = false

        @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write to this file (default: standard output).", valueName: "file.csv"))
        var output: String?

        func validate() throws {
            guard csv else { throw ValidationError("say the format: --csv") }
        }

        func run() throws {
            let data: RunData
            do { data = try RunData(path: runDirectory) } catch { throw ValidationError("\(error)") }
            let text = data.metricsCSV()
            if let output {
                try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            } else {
                print(text, terminator: "")
            }
        }
    }
}
