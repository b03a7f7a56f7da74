import ArgumentParser
import Foundation
import Workbench

extension SpectralLab {
    struct Plugins: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, show, install and remove plugins (folders of recipes and modules).",
            discussion: """
                A plugin is a folder NAME on the recipe search path holding plugin.lua, its manifest \
                (name, version, description, lab, recipes, modules, data). Its recipes are listed by \
                `spectral-lab recipes`, its modules are required as `require "NAME.module"`. \
                Installed plugins live in ~/.spectral-lab/plugins. See docs/plugins.md.
                """,
            subcommands: [List.self, Show.self, Install.self, Remove.self],
            defaultSubcommand: List.self
        )
    }
}

extension SpectralLab.Plugins {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the plugins on the search path.")

        func run() throws {
            let plugins = RecipeCatalog(searchPath: .standard()).plugins()
            if plugins.isEmpty { print("No plugins found (search path: \(RecipeSearchPath.standard().directories.joined(separator: ":"))).") }
            for p in plugins {
                print("\(p.name) \(p.version)  \(p.description)")
                print("    \(p.folder)" + (p.source.map { "  (from \($0)\(p.commit.map { " at \($0.prefix(12))" } ?? ""))" } ?? ""))
                if let problem = p.problem { print("    problem: \(problem)") }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one plugin: its manifest, recipes, modules and data.")

        @Argument(help: "The plugin's name.")
        var name: String

        func run() throws {
            let catalog = RecipeCatalog(searchPath: .standard())
            guard let p = catalog.plugins().first(where: { $0.name == name }) else {
                throw ValidationError("no plugin named '\(name)' (plugins: \(catalog.plugins().map(\.name).joined(separator: ", ")))")
            }
            print("\(p.name) \(p.version): \(p.description)")
            print("folder: \(p.folder)")
            if let s = p.source { print("installed from: \(s)" + (p.commit.map { " (commit \($0))" } ?? "")) }
            if let problem = p.problem { print("problem: \(problem)"); return }
            print("needs spectral-lab \(p.lab) or newer")
            print("recipes: " + (p.recipes.isEmpty ? "none" : p.recipes.joined(separator: ", ")))
            print("modules: " + (p.modules.isEmpty ? "none" : p.modules.map { "\(p.name).\($0)" }.joined(separator: ", ")))
            print("reads: " + (p.data.isEmpty ? "its own folder only" : p.data.joined(separator: ", ")))
        }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install a plugin from a folder or a git repository into ~/.spectral-lab/plugins.",
            discussion: "A git repository (a URL, or a local folder with .git) is cloned with the system's git and its commit recorded; another folder is copied. Its manifest is checked, and a name already installed is refused."
        )

        @Argument(help: ArgumentHelp("A folder, or a git repository's URL or path.", valueName: "path-or-git-url"))
        var source: String

        func run() throws {
            do {
                let p = try PluginInstaller(home: ProcessInfo.processInfo.environment["HOME"] ?? "").install(from: source)
                print("installed \(p.name) \(p.version) in \(p.folder)" + (p.commit.map { " (commit \($0.prefix(12)))" } ?? ""))
                if !p.recipes.isEmpty { print("recipes: \(p.recipes.joined(separator: ", ")) (they run sandboxed unless you trust the plugin: see docs/plugins.md)") }
            } catch let e as PluginInstaller.Failure { throw ValidationError(e.description) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an installed plugin (from ~/.spectral-lab/plugins).")

        @Argument(help: "The plugin's name.")
        var name: String

        func run() throws {
            do {
                let folder = try PluginInstaller(home: ProcessInfo.processInfo.environment["HOME"] ?? "").remove(name)
                print("removed \(folder)")
            } catch let e as PluginInstaller.Failure { throw ValidationError(e.description) }
        }
    }
}
