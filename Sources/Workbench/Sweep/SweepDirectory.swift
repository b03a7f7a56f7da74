import Foundation
import LuaBridge
import SpectralNumerics

/// A sweep's folder: `sweep.json` (the command, what it runs, its points and their state) and one
/// run directory per point, named after it; `logs/NAME.log` holds what a point's process printed
/// (its run directory's output.log holds the same once the run has started).
public struct SweepDirectory {
    public let path: String

    public init(path: String) { self.path = URL(fileURLWithPath: path).standardizedFileURL.path }

    public var recordPath: String { path + "/sweep.json" }
    public func pointPath(_ name: String) -> String { path + "/" + name }
    public func logPath(_ name: String) -> String { path + "/logs/" + name + ".log" }

    /// A point's state, read off its run directory: queued (none yet), done, diverged, running,
    /// failed, interrupted or died (what run.json says, `died` for a run whose process is gone).
    public func state(of name: String) -> String {
        switch RunDirectory.status(of: pointPath(name)) {
        case nil: return FileManager.default.fileExists(atPath: pointPath(name)) ? "failed" : "queued"
        case "ok": return "done"
        case "diverged": return "diverged"
        case "running": return "running"
        case "interrupted": return "interrupted"
        case "died": return "died"
        default: return "failed"
        }
    }

    /// Whether a point in this state has its result: done, or diverged (its loss stopped being
    /// finite, which running it again with the same settings and seed would only repeat).
    public static func isFinished(_ state: String) -> Bool { state == "done" || state == "diverged" }

    /// Whether a point's run directory holds a complete checkpoint to resume from.
    func canResume(_ name: String) -> Bool {
        guard let dir = try? RunDirectory(resuming: pointPath(name)) else { return false }
        return Checkpoints.resumePoint(in: dir) != nil
    }

    /// The arguments of a point's `spectral-lab run`: a resume when its directory holds a
    /// checkpoint, else a fresh run (an old directory without one is moved aside, as NAME.failed-N).
    func runArguments(for point: SweepPlan.Point, target: String, threads: Int, options: [String]) throws -> [String] {
        let dir = pointPath(point.name)
        guard state(of: point.name) != "running" else {   // its directory is another process's
            throw SweepPlan.Failure(description: "point \(point.name) is running in another process (it holds \(dir)/run.lock)")
        }
        if FileManager.default.fileExists(atPath: dir) {
            if canResume(point.name) { return ["run", "--resume", dir] + options }
            var n = 1
            while FileManager.default.fileExists(atPath: "\(dir).failed-\(n)") { n += 1 }
            try FileManager.default.moveItem(atPath: dir, toPath: "\(dir).failed-\(n)")
        }
        return ["run", target, "--out", dir, "--threads", String(threads)] + point.sets.flatMap { ["--set", $0] }
            + (point.seed.map { ["--seed", String($0)] } ?? []) + options
    }

    /// The points, recipe, threads and run options sweep.json records (what a Slurm task runs). A
    /// field of the wrong type is an error naming it: a task must never run other points, seeds or
    /// threads than the sweep recorded.
    public func stored() throws -> (target: String, points: [SweepPlan.Point], threads: Int, options: [String]) {
        guard let r = try record(), let target = r["target"].string, let list = r["points"].table?.array else {
            throw SweepPlan.Failure(description: "'\(path)' holds no sweep (no readable sweep.json)")
        }
        /// A list of strings, or none when the field is absent.
        func strings(_ v: LuaValue, _ what: String) throws -> [String] {
            if v.isNil { return [] }
            guard let items = v.table?.array else { throw damaged("\(what) is not a list") }
            return try items.map { guard let s = $0.string else { throw damaged("\(what) holds a non-string") }; return s }
        }
        let points = try list.enumerated().map { i, v -> SweepPlan.Point in
            guard let t = v.table, let name = t["name"].string else { throw damaged("point \(i + 1) has no name") }
            guard t["seed"].isNil || t["seed"].int != nil else { throw damaged("point \(name)'s seed is not an integer") }
            return SweepPlan.Point(name: name, values: [], seed: t["seed"].int, sets: try strings(t["set"], "point \(name)'s set"))
        }
        let threads = r["threads_per_point"]
        guard threads.isNil || threads.int != nil else { throw damaged("threads_per_point is not an integer") }
        return (target, points, threads.int ?? 1, try strings(r["run_options"], "run_options"))
    }

    private func damaged(_ what: String) -> SweepPlan.Failure {
        SweepPlan.Failure(description: "'\(recordPath)': \(what) (the file is damaged: rerun the sweep command that made it)")
    }

    /// sweep.json as it stands, or nil when the folder holds no sweep yet.
    public func record() throws -> LuaTable? {
        guard FileManager.default.fileExists(atPath: recordPath) else { return nil }
        return try JSON.table(contentsOf: recordPath)
    }

    /// The recipe or script sweep.json records (an error when it records none).
    public func target(_ record: LuaTable) throws -> String {
        guard let target = record["target"].string else { throw damaged("it names no recipe or script (target)") }
        return target
    }

    /// The point names sweep.json lists, in order (a point's index is its Slurm array index, so a
    /// point without a name is an error, not a gap that shifts the others).
    public func pointNames(_ record: LuaTable) throws -> [String] {
        guard let list = record["points"].table?.array else { throw damaged("it lists no points") }
        return try list.enumerated().map { i, v in
            guard let name = v.table?["name"].string else { throw damaged("point \(i + 1) has no name") }
            return name
        }
    }

    /// The Slurm job ids sweep.json records, in the order submitted (none when it records none; a
    /// job without an id is an error: a resubmission checks these jobs are gone first).
    public func slurmJobs(_ record: LuaTable?) throws -> [String] {
        guard let jobs = record?["slurm"].table?["jobs"], !jobs.isNil else { return [] }
        guard let list = jobs.table?.array else { throw damaged("slurm.jobs is not a list") }
        return try list.enumerated().map { i, v in
            guard let id = v.table?["job_id"].string else { throw damaged("Slurm job \(i + 1) has no job_id") }
            return id
        }
    }

    /// Writes sweep.json (whole, atomically) with every point's current state.
    func write(target: String, command: [String], plan: SweepPlan, extra: [String: LuaValue] = [:]) throws {
        var extra = extra
        // What earlier commands recorded (Slurm's job ids) stays.
        if let old = try? record() { for k in ["slurm"] where extra[k] == nil && !old[k].isNil { extra[k] = old[k] } }
        var t: LuaTable = ["target": .string(target), "command": .table(LuaTable(array: command.map(LuaValue.string))),
                           "updated": .string(RunDirectory.isoNow())]
        for (k, v) in extra { t[k] = v }
        t["points"] = .table(LuaTable(array: plan.points.map { p in
            var entry: LuaTable = ["name": .string(p.name), "set": .table(LuaTable(array: p.sets.map(LuaValue.string))),
                                   "state": .string(state(of: p.name))]
            if let seed = p.seed { entry["seed"] = .integer(seed) }
            return .table(entry)
        }))
        try AtomicFile.write(Data((JSON.encode(.table(t), pretty: true) + "\n").utf8), to: recordPath)
    }

    /// The runs of the points that have a run directory, in the plan's order.
    public func runs(of names: [String]) -> [RunData] {
        names.compactMap { try? RunData(path: pointPath($0)) }
    }

    /// The summary a sweep prints at its end and `sweep status` at any time: each point's state,
    /// main result and duration, then, per grid point (the runs that differ only in the seed), the
    /// mean ± std (n) of every result.
    /// `scheduled`: what Slurm says of points it still holds (pending, running), over what their
    /// directories say.
    public func summary(of names: [String], scheduled: [String: String] = [:]) -> String {
        let rows = names.map { n -> [String] in
            let run = try? RunData(path: pointPath(n))
            return [n, scheduled[n] ?? state(of: n), run?.mainResult ?? "–", run?.duration.map { HTMLReport.duration($0) } ?? "–"]
        }
        var out = TextTable.render(["point", "state", "result", "duration"], rows)
        let runs = self.runs(of: names).filter { !$0.results.isEmpty }
        if !runs.isEmpty {
            var (columns, table) = RunGroups(runs).resultTable()
            // A column that is the same in every row tells the points nothing apart.
            if table.count > 1 {
                let keep = columns.indices.filter { j in j == 0 || Set(table.map { $0[j] }).count > 1 }
                columns = keep.map { columns[$0] }
                table = table.map { row in keep.map { row[$0] } }
            }
            out += "\n\nResults over seeds (mean ± std, n):\n" + TextTable.render(columns, table)
        }
        return out
    }
}
