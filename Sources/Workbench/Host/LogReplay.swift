import Foundation
import LuaBridge

/// How a resumed run runs its script again from the top without writing twice what its logs
/// already hold. The run picks up at its newest checkpoint of any lab.train call: the logs are cut
/// back to their length at that moment, and every line the script produces up to there (by
/// trainings that had finished, whose results it computes again, or by training it repeats
/// exactly) is counted but not written again. A lab.train that restores its own checkpoint moves
/// the count to where the logs stood when that checkpoint was written.
struct LogReplay {
    /// Lines each log holds where the run picks up.
    var target: [String: Int]
    /// Lines the script has produced for each log so far, written or not.
    var position: [String: Int] = [:]

    var isReplaying: Bool { target.contains { position[$0.key, default: 0] < $0.value } }

    /// Counts one line for `log`; true when it is new (past what the log holds).
    mutating func take(_ log: String) -> Bool {
        position[log, default: 0] += 1
        return position[log]! > target[log, default: 0]
    }

    mutating func move(to lines: [String: Int]) {
        for (log, n) in lines { position[log] = max(position[log, default: 0], n) }
    }
}

extension LabSession {
    /// A resumed run with --set (steps, epochs, minutes): trainings may go further than before.
    var extendsRun: Bool { resuming && !overrides.isEmpty }

    /// `run --resume`: cuts the logs back to the newest checkpoint and starts the replay.
    func prepareResume(of dir: RunDirectory) throws {
        guard let point = Checkpoints.resumePoint(in: dir) else {
            throw RunDirectoryError("nothing to resume in '\(dir.path)': it has no complete checkpoint")
        }
        try dir.truncateLogs(to: point.logs)
        try rewriteTensorBoard(of: dir)
        replay = LogReplay(target: dir.lineCounts())
        try dir.updateRecord(["resumed_from": .string(point.name), "resumed_from_step": .integer(point.step)])
    }

    /// Appends a line to one of the run's logs, unless the resumed run is replaying lines the log
    /// holds; true when it was written.
    @discardableResult
    func appendLog(_ line: String, to log: String) throws -> Bool {
        let dir = try runDirectory()
        if replay?.take(log) == false { return false }
        try dir.appendLine(line, to: log)
        return true
    }

    /// After lab.train restored a checkpoint that recorded the logs' sizes then.
    func didRestore(logs: [String: Int]?) {
        guard let logs, let dir = existingRunDirectory else { return }
        replay?.move(to: dir.lineCounts(upTo: logs))
    }

    /// A lab.train call takes its checkpoint folder; a second call with the same name would mix
    /// their steps.
    func claimCheckpoints(_ name: String) throws {
        try Checkpoints.check(name: name)
        guard !claimedCheckpoints.contains(name) else {
            throw LuaError.runtime("the checkpoint name '\(name)' is taken by an earlier lab.train in this run; give each lab.train its own name=")
        }
        claimedCheckpoints.append(name)
    }

    /// lab.train is about to train. In an extended resume that is still replaying, the training
    /// from here on differs from what the logs hold after this point: they are cut back to it, and
    /// the checkpoints of trainings not yet reached are removed (they train again, with their logs).
    func willTrain(_ name: String) throws {
        guard extendsRun, var r = replay, r.isReplaying, let dir = existingRunDirectory else { return }
        try dir.truncateLogs(toLines: r.position)
        r.target = r.position
        replay = r
        let later = Checkpoints.names(in: dir).filter { !claimedCheckpoints.contains($0) }
        for other in later { try Checkpoints(run: dir, name: other).remove() }
        Console.error("spectral-lab: '\(name)' trains further than before; the logs after its checkpoint"
            + (later.isEmpty ? "" : " and the checkpoints of \(later.joined(separator: ", ")) (which train again)") + " are dropped")
    }
}
