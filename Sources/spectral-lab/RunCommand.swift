import ArgumentParser
import Foundation
import Workbench

extension SpectralLab {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run an experiment script or a recipe.",
            discussion: """
                SCRIPT is a path to a Lua file, or the name of a recipe on the search path \
                (see `spectral-lab recipes`). The script sees the global `lab` (also `require "lab"`) \
                and the full Lua standard library. Arguments after `--` reach it as `arg[1]`, `arg[2]`, ...

                Each run writes a run directory: params.json (the parameters as resolved), \
                metrics.jsonl (one line per lab.log call), results.jsonl (one per lab.result), run.json \
                (what ran, where, and how it ended), output.log (everything it printed), source/ (the \
                script and the modules it required, which --resume runs) and checkpoints/.

                Exit status: 0 done, 1 the script failed, 2 a bad command line, 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP \
                (the run stops at the next step and checkpoints if it checkpoints; a second signal ends it at once).
                """
        )

        @Argument(help: "A Lua file, or the name of a recipe (optional with --resume: the run's own script).",
                  completion: .custom { _, _, prefix in recipeNames(prefix) })
        var script: String?

        @Option(help: ArgumentHelp("Continue the run in this directory from its newest checkpoint, with its script, seed and parameters (--set steps=, epochs= or minutes= extends it).", valueName: "run-dir"))
        var resume: String?

        @Option(name: .customLong("set"), help: ArgumentHelp(
            "Override a parameter declared with lab.params (repeatable). The value is read as a Lua literal of the default's type; lists are comma-separated.",
            valueName: "key=value"))
        var overrides: [String] = []

        @Option(help: "Seed for the run's random numbers (math.random and lab's generators).")
        var seed: Int = 1

        @Option(help: ArgumentHelp("Threads for BLAS (default: OPENBLAS_NUM_THREADS, else one per core; a resume keeps the run's own, so that its numbers stay bitwise the same).", valueName: "n"))
        var threads: Int?

        @Flag(help: "Run a recipe from the search path without the sandbox (you trust its author).")
        var trust = false

        @Flag(help: "Run any script in the sandbox: it reads only its folder, the data sets and paths given with --set, writes only its run directory, and starts no programs.")
        var sandbox = false

        @Option(help: ArgumentHelp("Memory the whole run may take, in GiB (Lua's heap, tensors, everything: the process's address space). Default: none; a sandboxed run, 3/4 of the machine's memory.", valueName: "gib"))
        var memory: Double?

        @Option(help: ArgumentHelp("Stop the run after this many seconds of wall clock, as SIGTERM would (it checkpoints if it checkpoints; exit 143).", valueName: "seconds"))
        var timeLimit: Double?

        @Option(help: ArgumentHelp("The run directory to write (new or empty). Default: runs/<UTC time>-<script name>.", valueName: "dir"))
        var out: String?

        @Argument(parsing: .postTerminator, help: "Arguments for the script, after `--`.")
        var scriptArguments: [String] = []

        /// The script's path, resolved once by validate() (a recipe name means reading every
        /// recipe's declaration). Not a command-line argument.
        private var resolved: Resolved?

        /// A script resolved: a file, or a built-in recipe's file name. (Codable only because a
        /// command's stored properties must be.)
        private struct Resolved: Codable {
            let path: String
            let builtin: String?
        }

        // Command-line mistakes are found here, so that ArgumentParser shows `run`'s usage with them.
        mutating func validate() throws {
            guard !(trust && sandbox) else { throw ValidationError("--trust and --sandbox contradict each other: give one") }
            do { _ = try UserConfig.load() } catch { throw ValidationError("\(error)") }   // a bad config before any run
            if let memory, !(memory.isFinite && memory >= 0.25 && memory <= 1_048_576) {
                throw ValidationError("--memory takes GiB from 0.25, got \(memory)")
            }
            if let timeLimit, !(timeLimit.isFinite && timeLimit > 0 && timeLimit <= 1e9) {
                throw ValidationError("--time-limit takes seconds > 0, got \(timeLimit)")
            }
            guard seed >= 0 else { throw ValidationError("--seed takes an integer ≥ 0, got \(seed)") }
            if let threads, !(1 ... ScriptRunner.maximumThreads).contains(threads) {
                throw ValidationError("--threads takes 1…\(ScriptRunner.maximumThreads) (this BLAS build's limit), got \(threads)")
            }
            _ = try parsedOverrides()
            if resume != nil {
                guard out == nil else { throw ValidationError("--resume continues a run in its own directory: it takes no --out") }
                _ = try resumedRunner()
            } else {
                guard script != nil else { throw ValidationError("Missing expected argument '<script>'") }
                resolved = try resolveScript()
            }
        }

        private func resumedRunner() throws -> ScriptRunner {
            do {
                return try ScriptRunner.resuming(RunDirectory(resuming: resume!), script: script == nil ? nil : resolveScript().path,
                                                 overrides: parsedOverrides())
            } catch let e as RunDirectoryError { throw ValidationError(e.description) }
        }

        func run() throws {
            var runner: ScriptRunner
            if resume != nil {
                runner = try resumedRunner()
                if let threads { runner.threads = threads }
            } else {
                let script = try resolved ?? resolveScript()
                runner = ScriptRunner(script: script.path)
                runner.builtin = script.builtin
                runner.arguments = scriptArguments
                runner.overrides = try parsedOverrides()
                runner.seed = seed
                runner.out = out
                runner.threads = threads
            }
            runner.trust = trust ? .trusted : sandbox ? .sandboxed : .automatic
            runner.memoryBytes = memory.map { Int($0 * Double(1 << 30)) }
            runner.timeLimit = timeLimit
            let code = runner.execute()
            if code != 0 { throw ExitCode(code) }
        }

        private func parsedOverrides() throws -> [ParameterOverride] {
            do { return try overrides.map(ParameterOverride.init(parsing:)) } catch {
                throw ValidationError("\(error)")
            }
        }

        /// A path to an existing file, or else a recipe name (on the search path, or built in).
        private func resolveScript() throws -> Resolved {
            guard let script else { throw ValidationError("Missing expected argument '<script>'") }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: script, isDirectory: &isDir) {
                guard !isDir.boolValue else { throw ValidationError("'\(script)' is a directory, not a Lua script") }
                guard FileManager.default.isReadableFile(atPath: script) else {
                    throw ValidationError("cannot read '\(script)': permission denied")
                }
                return Resolved(path: script, builtin: nil)
            }
            if let builtin = RecipeCatalog.builtin(path: script) { return Resolved(path: script, builtin: builtin) }
            let catalog = RecipeCatalog(searchPath: .standard())
            let recipes = catalog.recipes()
            let found: RecipeInfo?
            do { found = try catalog.find(script, in: recipes) } catch { throw ValidationError("\(error)") }
            if !script.contains("/"), let recipe = found { return Resolved(path: recipe.path, builtin: recipe.builtin) }
            let known = Set(recipes.map(\.name)).sorted()
            throw ValidationError("cannot open '\(script)': no such file"
                + (script.contains("/") ? "" : ", and no recipe of that name (recipes: \(known.joined(separator: ", ")))"))
        }
    }
}

/// Shell completion of a recipe name: the declared names (read without running any recipe's code
/// with power), then the .lua files here.
@Sendable func recipeNames(_ prefix: String) -> [String] {
    let names = Set(RecipeCatalog(searchPath: .standard()).recipes().map(\.name)).sorted()
    let files = ((try? FileManager.default.contentsOfDirectory(atPath: ".")) ?? []).filter { $0.hasSuffix(".lua") }.sorted()
    return (names + files).filter { $0.hasPrefix(prefix) }
}
