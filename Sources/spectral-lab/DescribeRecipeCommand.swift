import ArgumentParser
import Foundation
import Workbench

extension SpectralLab {
    /// What `recipes`, `recipes show` and `run NAME` start, once per recipe, to read its name,
    /// description and parameters in a process of its own that they stop after a second: the
    /// recipe's code runs in the describing sandbox (RecipeCatalog.describeHere), and whatever it
    /// does cannot reach the caller. Prints the declaration as JSON.
    struct DescribeRecipe: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "describe-recipe",
            abstract: "Print a recipe's declaration as JSON (used by `recipes` and `run NAME`).",
            shouldDisplay: false
        )

        @Argument(help: "The recipe's file.")
        var path: String

        @Option(help: "A JSON list of lists of key=value: each is checked against the declaration (a sweep's points).")
        var checks: String?

        func run() throws {
            var sets: [[ParameterOverride]] = []
            if let checks {
                let lists = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: checks))) as? [[String]] ?? []
                sets = try lists.map { try $0.map(ParameterOverride.init(parsing:)) }
            }
            print(RecipeCatalog.describeHere(path: path, checking: sets).recordJSON)
        }
    }
}
