import Foundation
import LuaBridge
import SpectralNumerics

/// `spectral-lab run`: one script, one run directory, one exit code
/// (0 done, 1 the script failed, 2 a bad command line, 128 + the signal when stopped by one:
/// 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).
public struct ScriptRunner {
    public var script: String
    public var arguments: [String] = []
    public var overrides: [ParameterOverride] = []
    public var seed = 1
    /// --out: the run directory itself. Otherwise `runs/<timestamp>-<script name>` below `runsBase`.
    public var out: String?
    public var runsBase = "runs"
    public var searchPath = RecipeSearchPath.standard()
    /// `run --resume DIR`: continue that run from its newest checkpoint.
    public var resume: RunDirectory?
    /// --threads: BLAS's thread count (nil: OpenBLAS's own choice; a resume's default is the run's own).
    public var threads: Int?

    /// The most threads this BLAS build runs.
    public static var maximumThreads: Int { BLASLibrary.maximumThreads }

    /// A recipe built into the binary (its file name, `adding.lua`): `script` is then only its
    /// name; the text is written to the run's source/ and runs from there.
    public var builtin: String?

    /// Whether the script runs in the sandbox (Sandbox.swift).
    public enum Trust: Sendable {
        /// Sandboxed when it comes from the recipe search path, unless its folder is trusted in
        /// ~/.spectral-lab/config; a built-in recipe, or a script of yours run by path, is not.
        case automatic
        case trusted     // --trust
        case sandboxed   // --sandbox
    }
    public var trust = Trust.automatic
    /// --memory: the process's address space, in bytes (nil: none, or 3/4 of the machine's for a
    /// sandboxed run). Past it an allocation fails as a Lua error ("not enough memory for …").
    public var memoryBytes: Int?
    /// --time-limit, in seconds of wall clock: then the run is stopped as SIGTERM stops it.
    public var timeLimit: Double?

    public init(script: String) { self.script = script }

    /// Why this run is sandboxed, or nil when it is not.
    func sandboxReason(resumed dir: RunDirectory?) throws -> String? {
        switch trust {
        case .trusted: return nil
        case .sandboxed: return "--sandbox was given"
        case .automatic:
            if let dir { return dir.recorded("sandboxed").string }   // as the run started
            if builtin != nil { return nil }
            let file = Sandbox.resolve(script)
            guard let folder = searchPath.directories.map(Sandbox.resolve).first(where: { Sandbox.isInside(file, $0) }) else { return nil }
            if try UserConfig.load().trusted.contains(where: { Sandbox.isInside(file, $0) }) { return nil }
            return "it comes from the recipe search path (\(folder))"
        }
    }

    /// The parameters `--set` may change on a resume: how long to train, nothing about what.
    public static let extendingParameters: Set<String> = ["steps", "epochs", "minutes"]

    /// A runner that continues the run in `dir` with its own script, seed and parameters, from its
    /// newest complete checkpoint; `overrides` (steps, epochs, minutes only) extend it. A run with
    /// no checkpoint, or a finished one not extended, is refused: resuming it could only train
    /// again from step 1 into the same files, or append a second result.
    public static func resuming(_ dir: RunDirectory, script: String?, overrides: [ParameterOverride] = []) throws -> ScriptRunner {
        if let other = overrides.first(where: { !extendingParameters.contains($0.key) }) {
            throw RunDirectoryError("--resume continues a run as it was started: --set may only extend it "
                + "(steps=, epochs=, minutes=), not change '\(other.key)'")
        }
        if dir.recorded("status").string == "ok", overrides.isEmpty {
            throw RunDirectoryError("the run in '\(dir.path)' has finished (status ok); to train it further, "
                + "resume it with --set steps=N (or epochs=, minutes=)")
        }
        guard Checkpoints.resumePoint(in: dir) != nil else {
            throw RunDirectoryError("nothing to resume in '\(dir.path)': it has no complete checkpoint "
                + "(lab.train writes them with checkpoint_every=N); start a new run")
        }
        // The copy the run made of its script, else the absolute path it recorded, else the path as typed.
        let copy = dir.recorded("source").string.map(dir.file).flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
        guard let recorded = copy ?? dir.recorded("script_path").string ?? dir.recorded("script").string ?? script else {
            throw RunDirectoryError("\(dir.path)/run.json names no script")
        }
        var runner = ScriptRunner(script: script ?? recorded)
        runner.seed = dir.recorded("seed").int ?? 1
        runner.arguments = dir.recorded("arguments").table?.array.compactMap(\.string) ?? []
        runner.resume = dir
        runner.overrides = overrides
        runner.threads = dir.recorded("blas_threads").int
        return runner
    }

    public func execute() -> Int32 {
        let name = URL(fileURLWithPath: builtin ?? script).deletingPathExtension().lastPathComponent
        var file = script, display = displayPath(script)   // what runs, and how messages name it
        if let threads { BLASLibrary.threads = threads }
        let dir: RunDirectory
        do {
            if let resume {
                let here = RunRecord.environment(arguments: CommandLine.arguments).merging(RunRecord.binary()) { a, _ in a }
                let differ = " its numbers may differ in the last bits from an uninterrupted run's"
                if let before = resume.recorded("blas_threads").int, before != BLASLibrary.threads {
                    Console.error("spectral-lab: warning: the run used \(before) BLAS threads and resumes with \(BLASLibrary.threads):" + differ)
                }
                if let before = resume.recorded("spectral_lab_crc32").string, let now = here["spectral_lab_crc32"]?.string, before != now {
                    Console.error("spectral-lab: warning: the run started with another build of spectral-lab (CRC-32 \(before), now \(now)):" + differ)
                }
                dir = resume
                if dir.recorded("status").string == "died" {
                    Console.error("spectral-lab: the run's process (pid \(dir.recorded("pid").int.map(String.init) ?? "?")) died without recording how it ended; resuming")
                }
                try dir.updateRecord(["status": "running", "pid": .integer(Int(getpid())), "resumed": .string(RunDirectory.isoNow()),
                                      "resumed_with": .table(LuaTable(array: [], fields: Dictionary(uniqueKeysWithValues:
                                          here.map { (LuaKey.string($0.key), $0.value) }))),
                                      "error": .nil, "finished": .nil, "exit_code": .nil])
            } else {
                dir = try out.map { try RunDirectory(exactly: $0) } ?? RunDirectory.create(under: runsBase, name: name)
                // The script as it ran: a copy in source/ (what --resume runs, even if the original
                // is edited or moved), its absolute path, and its repository's commit.
                let copy = "source/" + URL(fileURLWithPath: builtin ?? script).lastPathComponent
                try FileManager.default.createDirectory(atPath: dir.file("source"), withIntermediateDirectories: true)
                var fields = RunRecord.environment(arguments: CommandLine.arguments).merging(RunRecord.binary()) { a, _ in a }
                if let builtin {
                    // The binary's own recipe: the build that ran (spectral_lab_*) says which text it was.
                    guard let text = EmbeddedLua.recipes[builtin] else { throw RunDirectoryError("no built-in recipe \(builtin)") }
                    try Data(text.utf8).write(to: URL(fileURLWithPath: dir.file(copy)))
                    file = dir.file(copy)
                    display = RecipeInfo.builtinPrefix + builtin
                    fields["builtin"] = .string(builtin)
                } else {
                    let scriptPath = URL(fileURLWithPath: script).standardizedFileURL.path
                    try FileManager.default.copyItem(atPath: scriptPath, toPath: dir.file(copy))
                    fields.merge(RunRecord.repository(of: scriptPath)) { a, _ in a }
                    fields["script_path"] = .string(scriptPath)
                }
                fields["source"] = .string(copy)
                try dir.updateRecord(fields.merging([
                    "script": .string(builtin.map { RecipeInfo.builtinPrefix + $0 } ?? script),
                    "arguments": .table(LuaTable(array: arguments.map { .string($0) })),
                    "set": .table(LuaTable(array: overrides.map { .string("\($0.key)=\($0.text)") })),
                    "seed": .integer(seed),
                    "started": .string(RunDirectory.isoNow()),
                    "status": "running",
                    "spectral_lab": .string(Lab.version),
                    "pid": .integer(Int(getpid())),
                    "lua": .string(Lab.luaRelease),
                ]) { _, b in b })
            }
        } catch {
            Console.error("spectral-lab: \(error)")
            return out == nil && (error as? RunDirectoryError)?.inUse != true ? 1 : 2
        }

        // What the run prints, also in its directory; a resume adds to it under a line of its own.
        var output: OutputLog?
        do {
            output = try OutputLog(appendingTo: dir.file("output.log"),
                                   header: resume == nil ? "" : "== resumed \(RunDirectory.isoNow()) ==\n")
        } catch { Console.error("spectral-lab: warning: \(error); the run goes on without output.log") }
        defer { output?.finish() }

        let (code, status, message) = run(in: dir, file: file, display: display)
        if code == 2, dir.holdsOnlyRecord {
            dir.remove()   // nothing ran: leave no empty run behind
        } else {
            var fields: [String: LuaValue] = ["status": .string(status), "finished": .string(RunDirectory.isoNow()), "exit_code": .integer(Int(code))]
            if let message { fields["error"] = .string(message) }
            do { try dir.updateRecord(fields) } catch { Console.error("spectral-lab: \(error)") }
            Console.error("spectral-lab: run directory \(dir.path)")
        }
        return code
    }

    private func run(in dir: RunDirectory, file: String, display: String) -> (code: Int32, status: String, message: String?) {
        let session: LabSession
        do {
            session = try LabSession(mode: .run(dir), overrides: overrides, seed: seed, searchPath: searchPath)
            try session.keepSources(in: dir, script: file, resuming: resume != nil)
            if let reason = try sandboxReason(resumed: resume) {
                // It reads its own folder, and what the user named on the command line.
                // A plugin's recipe also reads the data its manifest declares.
                let given = overrides.map(\.text).filter { FileManager.default.fileExists(atPath: $0) }
                let original = dir.originalScript(running: file)
                let folder = original.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
                let data = original.flatMap { RecipeCatalog(searchPath: searchPath).plugin(holding: $0)?.data } ?? []
                try session.enterSandbox(Sandbox(runDirectory: dir.path, readable: [folder].compactMap { $0 } + given + data, reason: reason))
            }
            try dir.updateRecord(["sandboxed": session.sandbox.map { .string($0.reason) } ?? false])
            try limitResources(of: dir, sandboxed: session.sandbox != nil)
            if resume != nil {
                session.resuming = true
                session.resumedParameters = try dir.recordedParameters()
                try session.prepareResume(of: dir)
            }
            var arg = LuaTable(array: arguments.map { .string($0) })
            arg.fields[.integer(0)] = .string(script)
            try session.state.setGlobal("arg", .table(arg))
        } catch {
            Console.error("spectral-lab: cannot start Lua: \(error)")
            return (1, "error", "\(error)")
        }
        session.state.catchInterrupts(alsoTerminate: true)
        defer { LuaState.releaseInterrupts() }
        do {
            try session.state.run(file: file, displayName: display, arguments: arguments.map { .string($0) })
            StatusLine.shared?.set(nil)
        } catch {
            StatusLine.shared?.set(nil)   // a progress line left by a training the error stopped
            if let usage = session.usageError {
                Console.error("spectral-lab: \(usage)")
                return (2, "usage error", usage)
            }
            let message = "\(error)"
            // Stopped by a signal: one clean line (the traceback goes to run.json), and 128 + its
            // number as the status, as a shell reports it (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).
            if let signal = LuaState.interruptSignal, message.contains(interruptedMessage) {
                Console.error("spectral-lab: \(interruptedMessage) (\(Console.signalName(signal)))")
                return (128 + signal, "interrupted", message)
            }
            Console.error(message)
            // The loss stopped being finite: a result of the run's settings, not a fault.
            if let divergence = session.divergence, message.contains(divergence) { return (1, "diverged", message) }
            return (1, "error", message)
        }
        if !overrides.isEmpty, session.parameters == nil {
            let m = "--set was given, but \(script) declares no parameters (it never calls lab.params)"
            Console.error("spectral-lab: \(m)")
            return (2, "usage error", m)
        }
        return (0, "ok", nil)
    }
}

extension ScriptRunner {
    /// The run's memory and time limits, recorded in run.json.
    func limitResources(of dir: RunDirectory, sandboxed: Bool) throws {
        let memory = memoryBytes ?? (sandboxed ? Int(ProcessInfo.processInfo.physicalMemory / 4 * 3) : nil)
        if let memory {
            var limit = rlimit(rlim_cur: rlim_t(memory), rlim_max: rlim_t(memory))
            guard setrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0 else {
                throw RunDirectoryError("cannot limit the run's memory to \(memory) bytes: \(String(cString: strerror(errno)))")
            }
        }
        if let timeLimit {
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now() + timeLimit)
            timer.setEventHandler {
                Console.error(String(format: "spectral-lab: the run's time limit (%g s) has passed: stopping it", timeLimit))
                kill(getpid(), SIGTERM)
            }
            timer.resume()
            ScriptRunner.timers.append(timer)
        }
        try dir.updateRecord(["memory_limit_bytes": memory.map { .integer($0) } ?? .nil, "time_limit_s": timeLimit.map { .number($0) } ?? .nil])
    }

    /// Kept alive for the process's life (a released timer source never fires).
    nonisolated(unsafe) static var timers: [DispatchSourceTimer] = []
}

/// A script's path as messages show it: relative to the working directory when inside it, with "~"
/// for the home directory, else as it is (Lua cuts names past 60 characters, so shorter is better).
func displayPath(_ path: String) -> String {
    let full = URL(fileURLWithPath: path).standardizedFileURL.path
    let cwd = FileManager.default.currentDirectoryPath
    if full.hasPrefix(cwd + "/") { return String(full.dropFirst(cwd.count + 1)) }
    if let home = ProcessInfo.processInfo.environment["HOME"], !home.isEmpty, home != "/", full.hasPrefix(home + "/") {
        return "~" + full.dropFirst(home.count)
    }
    return path
}
