import Foundation
import LuaBridge
#if canImport(Glibc)
import Glibc
#endif

/// A sweep on a Slurm cluster: one job array for every point not yet done (a sweep of 1 000 points
/// is one submission), each array task running `spectral-lab sweep point DIR INDEX`, which runs its
/// point or resumes it from its checkpoint (a requeued task, a re-submitted sweep). The task asks
/// for SIGTERM two minutes before its time runs out (`--signal=B:TERM@120`): the run checkpoints and
/// stops, and the next submission continues it. The sweep directory must be on a file system the
/// nodes share.
public struct SlurmSweep {
    public struct Options {
        public var partition: String?
        public var time: String?
        public var cpusPerTask = 1
        public var memory: String?
        public var maxParallel: Int?
        public var sbatchArguments: [String] = []
        public init() {}
    }

    let directory: SweepDirectory
    let plan: SweepPlan
    let target: String
    let command: [String]
    let options: Options
    let runOptions: [String]
    let binary: String

    public init(directory: SweepDirectory, plan: SweepPlan, target: String, command: [String], options: Options,
                runOptions: [String], binary: String = RecipeCatalog.thisExecutable) {
        self.directory = directory
        self.plan = plan
        self.target = target
        self.command = command
        self.options = options
        self.runOptions = runOptions
        self.binary = binary
    }

    /// The indices (into the plan) of the points to submit: every one not finished (done or diverged).
    public var unfinished: [Int] { plan.points.indices.filter { !SweepDirectory.isFinished(directory.state(of: plan.points[$0].name)) } }

    /// A shell word in single quotes.
    static func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// The sbatch script of one job array over `indices`.
    public func script(indices: [Int]) -> String {
        let name = "sweep-" + URL(fileURLWithPath: directory.path).lastPathComponent
        var lines = ["#!/bin/bash",
                     "#SBATCH --job-name=\(name)",
                     "#SBATCH --array=\(Self.ranges(indices))" + (options.maxParallel.map { "%\($0)" } ?? ""),
                     "#SBATCH --output=\(directory.path)/logs/slurm-%A_%a.out",
                     "#SBATCH --open-mode=append",
                     "#SBATCH --signal=B:TERM@120",
                     "#SBATCH --requeue",
                     "#SBATCH --cpus-per-task=\(options.cpusPerTask)"]
        if let p = options.partition { lines.append("#SBATCH --partition=\(p)") }
        if let t = options.time { lines.append("#SBATCH --time=\(t)") }
        if let m = options.memory { lines.append("#SBATCH --mem=\(m)") }
        lines += options.sbatchArguments.map { "#SBATCH \($0)" }
        lines += ["",
                  "# One array task per point of the sweep in \(directory.path) (sweep.json lists them, in order):",
                  "# the task runs its point, or resumes it from its checkpoint when it ran before (a requeue,",
                  "# a re-submitted sweep). What it prints goes to logs/POINT.log there.",
                  "exec \(Self.quoted(binary)) sweep point \(Self.quoted(directory.path)) \"$SLURM_ARRAY_TASK_ID\"", ""]
        return lines.joined(separator: "\n")
    }

    /// "0-3,5,7-9": indices as sbatch's --array takes them.
    static func ranges(_ indices: [Int]) -> String {
        var parts: [String] = [], i = 0
        while i < indices.count {
            var j = i
            while j + 1 < indices.count, indices[j + 1] == indices[j] + 1 { j += 1 }
            parts.append(i == j ? "\(indices[i])" : "\(indices[i])-\(indices[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// Writes sweep.json and the script, submits it with sbatch, records the job id; returns it
    /// (nil when every point is done).
    public func submit() throws -> String? {
        try FileManager.default.createDirectory(atPath: directory.path + "/logs", withIntermediateDirectories: true)
        let earlier = try directory.slurmJobs(try directory.record())
        let queued = try Slurm.queued(jobs: earlier)
        guard queued.isEmpty else {   // a point must not run twice at once
            throw SweepPlan.Failure(description: "Slurm still holds \(queued.count) task\(queued.count == 1 ? "" : "s") of this sweep (job \(earlier.joined(separator: ", "))): wait for them, or scancel them, before submitting again")
        }
        let indices = unfinished
        guard !indices.isEmpty else { try record(jobs: nil); return nil }
        try record(jobs: nil)
        let scriptPath = directory.path + "/logs/sbatch-\(RunDirectory.isoNow()).sh"
        try script(indices: indices).write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let (status, out, err) = try Slurm.command("sbatch", ["--parsable", scriptPath])
        guard status == 0, let id = out.split(separator: ";").first.map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }), !id.isEmpty else {
            throw SweepPlan.Failure(description: "sbatch failed (status \(status)): \(err.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        try record(jobs: (id, scriptPath, indices.count))
        return id
    }

    private func record(jobs new: (id: String, script: String, tasks: Int)?) throws {
        var slurm = (try? directory.record())?["slurm"].table ?? [:]
        var jobs = slurm["jobs"].table?.array ?? []
        if let new {
            jobs.append(.table(["job_id": .string(new.id), "script": .string(new.script), "tasks": .integer(new.tasks),
                                "submitted": .string(RunDirectory.isoNow())]))
        }
        slurm["jobs"] = .table(LuaTable(array: jobs))
        try directory.write(target: target, command: command, plan: plan,
                            extra: ["slurm": .table(slurm), "threads_per_point": .integer(options.cpusPerTask),
                                    "run_options": .table(LuaTable(array: runOptions.map(LuaValue.string)))])
    }
}

/// Slurm's commands, as a sweep calls them.
public enum Slurm {
    /// Runs a Slurm client command (found on PATH); its status, stdout and stderr.
    static func command(_ name: String, _ arguments: [String]) throws -> (Int32, String, String) {
        guard let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map({ "\($0)/\(name)" }).first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw SweepPlan.Failure(description: "\(name) is not on PATH: is this a Slurm cluster's login node?")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// The array tasks squeue still knows of, as point index → "pending" or "running", over the
    /// sweep's jobs (sacct is not needed: what ended is read off the run directories).
    /// A failing squeue is an error saying what it said.
    public static func queued(jobs: [String]) throws -> [Int: String] {
        guard !jobs.isEmpty else { return [:] }
        let (status, out, err) = try command("squeue", ["-r", "-h", "-j", jobs.joined(separator: ","), "-o", "%i %T"])
        // A job Slurm has forgotten (long finished) is not an error: it holds no task.
        guard status == 0 || err.contains("Invalid job id") else {
            throw SweepPlan.Failure(description: "squeue failed (status \(status)): \(err.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        var states: [Int: String] = [:]
        for line in out.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let index = parts[0].split(separator: "_").last.flatMap({ Int($0) }) else { continue }
            states[index] = parts[1] == "PENDING" || parts[1] == "REQUEUED" ? "pending" : "running"
        }
        return states
    }

    /// `sweep point DIR INDEX` (what an array task runs): becomes the point's `spectral-lab run`
    /// (exec, so Slurm's signals reach the run itself), its output appended to logs/POINT.log.
    public static func runPoint(_ directory: SweepDirectory, index: Int, binary: String = RecipeCatalog.thisExecutable) throws -> Never {
        let stored = try directory.stored()
        guard stored.points.indices.contains(index) else {
            throw SweepPlan.Failure(description: "the sweep in \(directory.path) has \(stored.points.count) points; there is no point \(index)")
        }
        let point = stored.points[index]
        let arguments = try directory.runArguments(for: point, target: stored.target, threads: stored.threads, options: stored.options)
        let log = open(directory.logPath(point.name), O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if log >= 0 { dup2(log, 1); dup2(log, 2); close(log) }
        let argv = ([binary] + arguments).map { strdup($0) } + [nil]
        execv(binary, argv)
        throw SweepPlan.Failure(description: "cannot run \(binary): \(String(cString: strerror(errno)))")
    }
}
