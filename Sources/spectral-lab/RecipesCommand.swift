import ArgumentParser
import Foundation
import LuaBridge
import Workbench

extension SpectralLab {
    struct Recipes: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the recipes on the search path, or show one.",
            discussion: """
                A recipe is a Lua script that names itself with lab.recipe{name=, description=} and \
                declares its parameters with lab.params{...}. The search path, first match wins: each \
                directory in SPECTRAL_LAB_PATH (colon-separated), ~/.spectral-lab/plugins, then the \
                recipes built into spectral-lab. Run one by name: `spectral-lab run NAME --set key=value`.
                """,
            subcommands: [List.self, Show.self],
            defaultSubcommand: List.self
        )
    }
}

extension SpectralLab.Recipes {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every recipe with its parameters.")

        func run() throws {
            let path = RecipeSearchPath.standard()
            let recipes = RecipeCatalog(searchPath: path).recipes()
            if recipes.isEmpty { print("No recipes found.") }
            let width = recipes.map(\.name.count).max() ?? 0
            for r in recipes {
                let pad = String(repeating: " ", count: width + 2)
                print(r.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + (r.description.isEmpty ? "(no description)" : r.description))
                if !r.parameters.isEmpty {
                    print(pad + r.parameters.map { "\($0.name)=\(display($0.value))" }.joined(separator: " "))
                }
                if let p = r.problem { print(pad + "problem: \(p)") }
                if let s = r.sameName { print(pad + "problem: \(s) has this name too: run either by its path") }
                print(pad + r.path)
            }
            print("\nSearch path (first match wins):")
            for d in path.directories {
                print("  " + d + (FileManager.default.fileExists(atPath: d) ? "" : "  (missing)"))
            }
            if path.builtins { print("  the recipes built into spectral-lab (builtin:NAME.lua)") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one recipe: what it does, its parameters, its source.")

        @Argument(help: "The recipe's name.", completion: .custom { _, _, prefix in recipeNames(prefix) })
        var name: String

        @Flag(help: "Also print the recipe's source.")
        var source = false

        private func recipe() throws -> RecipeInfo {
            let catalog = RecipeCatalog(searchPath: .standard())
            let recipes = catalog.recipes()
            guard let r = try catalog.find(name, in: recipes) else {
                let known = Set(recipes.map(\.name)).sorted()
                throw ValidationError("no recipe named '\(name)' (recipes: \(known.joined(separator: ", ")))")
            }
            return r
        }

        func run() throws {
            let r = try recipe()
            print("\(r.name): \(r.description.isEmpty ? "(no description)" : r.description)")
            print("file: \(r.path)")
            if let p = r.problem { print("problem: \(p)") }
            if !r.parameters.isEmpty {
                print("parameters (defaults; change with --set name=value):")
                let width = r.parameters.map { $0.name.count + display($0.value).count + 3 }.max() ?? 0
                for p in r.parameters {
                    let left = "\(p.name) = \(display(p.value))"
                    let allowed = p.allowed.map { " [\($0)]" } ?? ""
                    print("  " + left.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + (p.help ?? "") + allowed)
                }
            }
            print("run: spectral-lab run \(r.name)" + (r.parameters.first.map { " --set \($0.name)=\(display($0.value))" } ?? ""))
            if source, let text = r.source {
                print("\n" + text)
            }
        }
    }
}

/// A default as a user would type it after --set: strings bare, lists comma-separated.
private func display(_ v: LuaValue) -> String {
    switch v {
    case .string(let s): return s.contains(" ") || s.isEmpty ? "\"\(s)\"" : s
    case .integer(let i): return String(i)
    case .number(let d): return "\(d)"
    case .boolean(let b): return b ? "true" : "false"
    case .table(let t): return t.array.map(display).joined(separator: ",")
    default: return v.typeName
    }
}
