import ArgumentParser
import Foundation
import Workbench

extension SpectralLab {
    struct Runs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find runs again: list the run directories in a folder, or compare two runs.",
            subcommands: [List.self, Compare.self],
            defaultSubcommand: List.self
        )
    }
}

extension SpectralLab.Runs {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the run directories in a folder (default: runs): when, what, how it ended, the main result, how long.",
            discussion: "A run recorded as running whose process is gone shows as died (resume it with `spectral-lab run --resume DIR`)."
        )

        @Argument(help: ArgumentHelp("A folder of run directories.", valueName: "dir"), completion: .directory)
        var folder = "runs"

        func run() throws {
            let runs: [RunData]
            do { runs = try RunData.collect([folder]) } catch { throw ValidationError("\(error)") }
            let base = URL(fileURLWithPath: folder).standardizedFileURL.path + "/"
            let rows = runs.sorted { ($0.started ?? "") < ($1.started ?? "") }.map { r in
                [r.started ?? "–", r.path.hasPrefix(base) ? String(r.path.dropFirst(base.count)) : r.path,
                 r.script, r.status, r.mainResult, r.duration.map { HTMLReport.duration($0) } ?? "–"]
            }
            print(TextTable.render(["started", "run", "script", "status", "result", "duration"], rows))
        }
    }

    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the parameters, run facts and results that differ between two runs.")

        @Argument(help: ArgumentHelp("Two run directories.", valueName: "run-dir"), completion: .directory)
        var runs: [String]

        func validate() throws {
            guard runs.count == 2 else { throw ValidationError("compare takes two run directories, got \(runs.count)") }
        }

        func run() throws {
            let a: RunData, b: RunData
            do { (a, b) = (try RunData(path: runs[0]), try RunData(path: runs[1])) } catch { throw ValidationError("\(error)") }
            let comparison = RunComparison(a, b)
            if comparison.isEmpty { print("\(a.name) and \(b.name) have the same parameters, record and results."); return }
            for section in comparison.sections where !section.rows.isEmpty {
                print("\(section.title):")
                print(TextTable.render(["", a.name, b.name], section.rows.map { [$0.name, $0.a, $0.b] }))
                print()
            }
        }
    }
}
