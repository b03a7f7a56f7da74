import Foundation
import LuaBridge
#if canImport(Glibc)
import Glibc
#endif

/// Runs a sweep's points on this machine, `jobs` at a time, each as its own `spectral-lab run`
/// process with the BLAS threads divided among them. A point that finished (done, or diverged:
/// its loss stopped being finite, a result of its settings) is skipped; one that
/// was interrupted, died or failed resumes from its checkpoint (`run --resume`), or starts again
/// when it has none (its old directory kept beside it as NAME.failed-N). A failing point does not
/// stop the others. Ctrl-C or SIGTERM stops every running point cleanly (each checkpoints, when it
/// checkpoints at all) and launches no more.
public final class LocalSweep {
    let directory: SweepDirectory
    let plan: SweepPlan
    let target: String
    let command: [String]
    let jobs: Int
    let threads: Int
    /// Further options for every point's `run` (--trust, --memory, …).
    let runOptions: [String]
    let binary: String

    public init(directory: SweepDirectory, plan: SweepPlan, target: String, command: [String], jobs: Int,
                threads: Int, runOptions: [String], binary: String = RecipeCatalog.thisExecutable) {
        self.directory = directory
        self.plan = plan
        self.target = target
        self.command = command
        self.jobs = jobs
        self.threads = threads
        self.runOptions = runOptions
        self.binary = binary
    }

    /// Runs the sweep; the exit status: 0 when every point finished (done or diverged), 1 when some
    /// failed, 128 + the signal when stopped.
    public func run() throws -> Int32 {
        try FileManager.default.createDirectory(atPath: directory.path + "/logs", withIntermediateDirectories: true)
        try record()
        let states = plan.points.map { directory.state(of: $0.name) }
        let queue = zip(plan.points, states).filter { !SweepDirectory.isFinished($0.1) && $0.1 != "running" }.map(\.0)
        let skipped = states.filter(SweepDirectory.isFinished).count, elsewhere = states.filter { $0 == "running" }.count
        if skipped > 0 { Console.error("sweep: \(skipped) of \(plan.points.count) points had finished: skipped") }
        if elsewhere > 0 { Console.error("sweep: \(elsewhere) points are running in another process (a Slurm task, another sweep): left to it") }
        let stop = StopSignals()
        StatusLine.attachIfTerminal()
        var pending = queue[...], running: [(point: SweepPlan.Point, process: Process, started: Date)] = []
        var failed: [String] = [], done = skipped, durations: [Double] = []
        let started = Date()
        func show() {
            let eta = durations.isEmpty ? "" : "  ETA " + HTMLReport.duration(durations.reduce(0, +) / Double(durations.count)
                * Double(pending.count + running.count) / Double(jobs))
            StatusLine.shared?.set("sweep  \(done)/\(plan.points.count) done  \(running.count) running  \(failed.count) failed  \(pending.count) queued" + eta)
        }
        while !pending.isEmpty || !running.isEmpty {
            while stop.signal == nil, running.count < jobs, let point = pending.first {
                pending = pending.dropFirst()
                let log = directory.logPath(point.name)
                FileManager.default.createFile(atPath: log, contents: nil)
                let p = Process()
                p.executableURL = URL(fileURLWithPath: binary)
                p.arguments = try directory.runArguments(for: point, target: target, threads: threads, options: runOptions)
                let out = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
                out.seekToEndOfFile()
                p.standardOutput = out
                p.standardError = out
                p.standardInput = FileHandle.nullDevice
                try p.run()
                try? out.close()
                running.append((point, p, Date()))
                try record()
                show()
            }
            if let signal = stop.signal, !stop.forwarded {
                stop.forwarded = true
                pending = []
                Console.error("sweep: \(Console.signalName(signal)): stopping the \(running.count) running point\(running.count == 1 ? "" : "s")")
                for r in running { kill(r.process.processIdentifier, SIGTERM) }
            }
            usleep(100_000)
            running.removeAll { r in
                guard !r.process.isRunning else { return false }
                let state = directory.state(of: r.point.name)
                if SweepDirectory.isFinished(state) {
                    done += 1
                    durations.append(Date().timeIntervalSince(r.started))
                } else if stop.signal == nil {
                    failed.append(r.point.name)
                }
                let line = "sweep: \(r.point.name): \(state) (exit \(r.process.terminationStatus), \(HTMLReport.duration(Date().timeIntervalSince(r.started))))"
                if state != "done" || StatusLine.shared == nil { Console.error(line) }
                return true
            }
            show()
            try record()
        }
        StatusLine.shared?.set(nil)
        print(directory.summary(of: plan.points.map(\.name)))
        Console.error("sweep: \(done) of \(plan.points.count) points finished in \(HTMLReport.duration(Date().timeIntervalSince(started))); sweep directory \(directory.path)")
        let diverged = plan.points.map(\.name).filter { directory.state(of: $0) == "diverged" }
        if !diverged.isEmpty {
            Console.error("sweep: \(diverged.count) point\(diverged.count == 1 ? "" : "s") diverged (the loss stopped being finite: a result of the settings, not run again): " + diverged.map { "\($0) (log: \(directory.logPath($0)))" }.joined(separator: ", "))
        }
        if let signal = stop.signal { return 128 + signal }
        if !failed.isEmpty {
            Console.error("sweep: \(failed.count) point\(failed.count == 1 ? "" : "s") failed: " + failed.map { "\($0) (log: \(directory.logPath($0)))" }.joined(separator: ", "))
            return 1
        }
        return 0
    }

    private func record() throws {
        try directory.write(target: target, command: command, plan: plan,
                            extra: ["jobs": .integer(jobs), "threads_per_point": .integer(threads),
                                    "run_options": .table(LuaTable(array: runOptions.map(LuaValue.string)))])
    }
}

/// SIGINT, SIGTERM and SIGHUP noted instead of ending the process, for the sweep to stop its
/// points cleanly.
final class StopSignals: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var received: Int32?
    var forwarded = false

    var signal: Int32? { lock.lock(); defer { lock.unlock() }; return received }

    init() {
        for s in [SIGINT, SIGTERM, SIGHUP] {
            Glibc.signal(s, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                if self.received == nil { self.received = s }
                self.lock.unlock()
            }
            source.resume()
            sources.append(source)
        }
    }
}
