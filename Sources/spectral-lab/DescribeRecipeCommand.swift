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

        func run() throws {
            print(RecipeCatalog.describeHere(path: path).recordJSON)
        }
    }
}
