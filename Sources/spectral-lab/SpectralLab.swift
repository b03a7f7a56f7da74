import ArgumentParser
import Foundation
import Workbench

@main
struct SpectralLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectral-lab",
        abstract: "A workbench for neural networks whose weight matrices are kept as their SVD.",
        discussion: """
            Experiments are Lua scripts: `spectral-lab run experiment.lua` runs one and writes its \
            parameters and metrics to a run directory. Shared experiments ("recipes") are found by \
            name on the recipe search path: `spectral-lab recipes` lists them.
            """,
        version: "spectral-lab \(Lab.version) (\(Lab.luaRelease))",
        subcommands: [Run.self, Repl.self, Recipes.self, Plugins.self, Sweep.self, Runs.self, Report.self, Plot.self, Export.self, ExportModel.self, Bench.self, DescribeRecipe.self]
    )

    /// ArgumentParser's own main, except that a bad command line exits 2 (as the shell's builtins
    /// and most Unix tools do) rather than EX_USAGE (64).
    static func main() {
        var command: (any ParsableCommand)?
        do {
            command = try parseAsRoot()
            try command!.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                // A mistake found while a subcommand ran: where to read about it.
                var message = fullMessage(for: error)
                if command != nil { message = "Error: \(error)\n  See '\(commandPath()) --help' for more information." }
                FileHandle.standardError.write(Data((message + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    /// The subcommand the command line names, as typed: "spectral-lab plugins show".
    static func commandPath() -> String {
        var path = ["spectral-lab"], type: any ParsableCommand.Type = SpectralLab.self
        for argument in CommandLine.arguments.dropFirst() {
            guard let sub = type.configuration.subcommands.first(where: { $0._commandName == argument }) else { break }
            path.append(argument)
            type = sub
        }
        return path.joined(separator: " ")
    }
}
