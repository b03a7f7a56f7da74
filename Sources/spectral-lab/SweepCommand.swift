import ArgumentParser
import Foundation
import Workbench

extension SpectralLab {
    struct Sweep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a recipe or script over a grid of parameter values and seeds, many runs at once.",
            discussion: """
                `spectral-lab sweep adding --grid lr=1e-3,1e-2 --grid cells=spectral --seeds 1-3 --jobs 2`: \
                one run directory per point under the sweep directory (lr=0.001,seed=1/, …), with \
                sweep.json saying what ran and each point's state. Running the same command again \
                skips finished points and resumes interrupted ones. `spectral-lab sweep status DIR` \
                shows the points and the results over seeds; `spectral-lab report DIR` draws them.
                """,
            subcommands: [Launch.self, Status.self, Point.self],
            defaultSubcommand: Launch.self
        )
    }
}

extension SpectralLab.Sweep {
    struct Launch: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "launch", abstract: "Run the sweep's points (the default).")

        @Argument(help: ArgumentHelp("A recipe's name or a script's path.", valueName: "recipe-or-script"),
                  completion: .custom { _, _, prefix in recipeNames(prefix) })
        var target: String

        @Option(help: ArgumentHelp("A parameter's values, one point each: NAME=V1,V2,… (';' between values that hold commas: cells=spectral,rnn;lstm). Repeat for a product.", valueName: "name=values"))
        var grid: [String] = []

        @Option(help: ArgumentHelp("Values that go in pairs (one axis together): --zip lr=1e-3,1e-2 --zip clip=0,1.", valueName: "name=values"))
        var zip: [String] = []

        @Option(help: ArgumentHelp("Seeds, each point run once per seed (its --seed): 1-5, or 1,3,7.", valueName: "seeds"))
        var seeds: String?

        @Option(name: .customLong("set"), help: ArgumentHelp("A value every point gets.", valueName: "key=value"))
        var sets: [String] = []

        @Option(help: ArgumentHelp("Points run at once on this machine (default: one per core); BLAS threads are divided among them.", valueName: "n"))
        var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

        @Option(help: ArgumentHelp("The sweep directory (default: sweeps/<UTC time>-<recipe>).", valueName: "dir"), completion: .directory)
        var out: String?

        @Flag(help: "Submit the sweep to Slurm as one job array (and return) instead of running it here.")
        var slurm = false

        @Option(help: ArgumentHelp("Slurm: the partition.", valueName: "name"))
        var partition: String?

        @Option(help: ArgumentHelp("Slurm: each task's time limit (it checkpoints 2 minutes before).", valueName: "HH:MM:SS"))
        var time: String?

        @Option(help: ArgumentHelp("Slurm: CPUs per task, also each run's BLAS threads.", valueName: "n"))
        var cpusPerTask = 1

        @Option(help: ArgumentHelp("Slurm: memory per task (sbatch's --mem: 4G, 4000M).", valueName: "size"))
        var mem: String?

        @Option(help: ArgumentHelp("Slurm: at most this many tasks at once (the array's %K).", valueName: "k"))
        var maxParallel: Int?

        @Option(help: ArgumentHelp("Slurm: a further sbatch option for the script (repeatable): --sbatch-arg=--account=lab.", valueName: "option"))
        var sbatchArg: [String] = []

        @Flag(help: "Slurm: print the sbatch script and submit nothing.")
        var dryRun = false

        @Flag(help: "Run the points trusted (see `run --trust`).")
        var trust = false

        @Option(help: ArgumentHelp("Each point's memory limit in GiB (see `run --memory`).", valueName: "gib"))
        var memory: Double?

        func validate() throws {
            guard jobs >= 1, jobs <= 1024 else { throw ValidationError("--jobs takes 1 to 1024, got \(jobs)") }
            guard !grid.isEmpty || !zip.isEmpty || seeds != nil else {
                throw ValidationError("a sweep needs --grid, --zip or --seeds (for one run, use `spectral-lab run`)")
            }
            if let memory, !(memory >= 0.25) { throw ValidationError("--memory takes GiB from 0.25, got \(memory)") }
            let slurmOnly = [("--partition", partition != nil), ("--time", time != nil), ("--mem", mem != nil), ("--max-parallel", maxParallel != nil),
                             ("--sbatch-arg", !sbatchArg.isEmpty), ("--dry-run", dryRun), ("--cpus-per-task", cpusPerTask != 1)]
            if !slurm, let (flag, _) = slurmOnly.first(where: { $0.1 }) { throw ValidationError("\(flag) is for --slurm") }
            guard (1 ... 1024).contains(cpusPerTask) else { throw ValidationError("--cpus-per-task takes 1 to 1024, got \(cpusPerTask)") }
            if let k = maxParallel, k < 1 { throw ValidationError("--max-parallel takes a count ≥ 1, got \(k)") }
            if let time, time.range(of: #"^(\d+-)?\d{1,2}(:\d{2}){0,2}$"#, options: .regularExpression) == nil {
                throw ValidationError("--time takes Slurm's [D-]HH:MM:SS, got '\(time)'")
            }
        }

        func run() throws {
            let plan: SweepPlan
            do { plan = try SweepPlan(grids: grid, zips: zip, seeds: seeds, sets: sets) } catch { throw ValidationError("\(error)") }
            let path = try resolve()
            // Every point's values checked against the declaration before anything starts.
            let info = RecipeCatalog(searchPath: .standard()).describe(path, checking: plan.points.map(\.sets))
            if let problem = info.problem { throw ValidationError("\(target): \(problem)") }
            let bad = Swift.zip(plan.points, info.checkProblems).compactMap { p, problem in problem.map { (p.name, $0) } }
            if let (name, problem) = bad.first {
                throw ValidationError("point \(name): \(problem)" + (bad.count > 1 ? " (and \(bad.count - 1) more points)" : ""))
            }
            let folder = out ?? "sweeps/\(Self.stamp())-\(URL(fileURLWithPath: target).deletingPathExtension().lastPathComponent)"
            let dir = SweepDirectory(path: folder)
            if let record = try? dir.record() {
                let names = try dir.pointNames(record), recorded = try dir.target(record)
                guard names == plan.points.map(\.name), recorded == path else {
                    throw ValidationError("\(folder) holds another sweep (sweep.json: \(recorded), \(names.count) points); give another --out, or the command that made it")
                }
            }
            var options: [String] = trust ? ["--trust"] : []
            if let memory { options += ["--memory", String(memory)] }
            if slurm {
                var o = SlurmSweep.Options()
                (o.partition, o.time, o.cpusPerTask, o.memory, o.maxParallel, o.sbatchArguments) = (partition, time, cpusPerTask, mem, maxParallel, sbatchArg)
                let sweep = SlurmSweep(directory: dir, plan: plan, target: path, command: CommandLine.arguments, options: o, runOptions: options)
                if dryRun { print(sweep.script(indices: sweep.unfinished), terminator: ""); return }
                do {
                    if let id = try sweep.submit() {
                        print("submitted job array \(id): \(sweep.unfinished.count) of \(plan.points.count) points; `spectral-lab sweep status \(dir.path)` follows it")
                    } else {
                        print("every point of \(dir.path) is finished (done or diverged): nothing to submit")
                    }
                } catch {
                    FileHandle.standardError.write(Data("spectral-lab sweep: \(error)\n".utf8))
                    throw ExitCode(1)
                }
                return
            }
            let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / jobs)
            let sweep = LocalSweep(directory: dir, plan: plan, target: path, command: CommandLine.arguments,
                                   jobs: jobs, threads: threads, runOptions: options)
            let code = try sweep.run()
            if code != 0 { throw ExitCode(code) }
        }

        /// The script a name or path stands for, as the points' `run` gets it (a file's absolute
        /// path, builtin:NAME for a built-in recipe).
        private func resolve() throws -> String {
            if FileManager.default.fileExists(atPath: target) { return URL(fileURLWithPath: target).standardizedFileURL.path }
            if RecipeCatalog.builtin(path: target) != nil { return target }
            let catalog = RecipeCatalog(searchPath: .standard())
            let recipes = catalog.recipes()
            let found: RecipeInfo?
            do { found = try catalog.find(target, in: recipes) } catch { throw ValidationError("\(error)") }
            guard !target.contains("/"), let recipe = found else {
                throw ValidationError("cannot open '\(target)': no such file, and no recipe of that name (recipes: \(Set(recipes.map(\.name)).sorted().joined(separator: ", ")))")
            }
            return recipe.path
        }

        static func stamp() -> String {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "yyyyMMdd-HHmmss"
            return f.string(from: Date())
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a sweep's points (queued, running, done, diverged, failed, died) and its results over seeds.")

        @Argument(help: ArgumentHelp("The sweep directory.", valueName: "dir"), completion: .directory)
        var folder: String

        func run() throws {
            let dir = SweepDirectory(path: folder)
            guard let record = try? dir.record() else { throw ValidationError("'\(folder)' holds no sweep (no readable sweep.json)") }
            let names = try dir.pointNames(record), jobs = try dir.slurmJobs(record)
            var scheduled: [String: String] = [:]
            do {
                for (index, state) in try Slurm.queued(jobs: jobs) where names.indices.contains(index) { scheduled[names[index]] = state }
            } catch {
                FileHandle.standardError.write(Data("spectral-lab sweep status: \(error); the states below are the run directories' alone\n".utf8))
            }
            print("\(try dir.target(record)): \(names.count) points" + (jobs.isEmpty ? "" : " (Slurm job \(jobs.joined(separator: ", ")))"))
            print(dir.summary(of: names, scheduled: scheduled))
        }
    }

    /// What a Slurm array task runs: one point of a sweep, resumed when it ran before.
    struct Point: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run one point of a sweep (what a Slurm array task runs).", shouldDisplay: false)

        @Argument(help: "The sweep directory.")
        var folder: String

        @Argument(help: "The point's index in sweep.json.")
        var index: Int

        func run() throws {
            do { try Slurm.runPoint(SweepDirectory(path: folder), index: index) } catch { throw ValidationError("\(error)") }
        }
    }
}
