import LuaBridge
import SpectralNumerics

// lab.checkpoint: save and restore a model, its optimizer and the generator in the run directory.
extension LuaModels {
    // MARK: lab.checkpoint

    static func checkpointModule(_ session: LabSession) -> LuaModule {
        var m = LuaModule("checkpoint")
        m.function("save", "lab.checkpoint.save(step, model, optimizer [, state]): writes the model, the optimizer's state, the generator's state and the table state to the run's checkpoints/ (atomically; the newest 3 kept)") { [unowned session] args in
            let step = try args.integer(1)
            guard step >= 1 else { throw LuaError.argument(index: 1, message: "the step must be ≥ 1, got \(step)") }
            guard let model = args.trainable(2) else { throw LuaError.type(2, expected: "model or layer", got: args.typeName(2)) }
            let opt = try args.object(3, LuaOptimizer.self)
            let loop = try args.table(4, default: [:])
            func save<M: Trainable>(_ m: M) throws {
                let dir = try session.runDirectory()
                try Checkpoints(run: dir).save(step: step, model: m, optimizer: opt, random: session.random, loop: loop, logs: dir.logSizes())
            }
            try save(model)
            return []
        }
        m.function("restore", "lab.checkpoint.restore(model, optimizer): loads the newest checkpoint of the run into them (and the generator); returns its step and saved state, or nil") { [unowned session] args in
            guard let model = args.trainable(1) else { throw LuaError.type(1, expected: "model or layer", got: args.typeName(1)) }
            let opt = try args.object(2, LuaOptimizer.self)
            func restore<M: Trainable>(_ m: M) throws -> (step: Int, loop: LuaTable, logs: [String: Int]?)? {
                try Checkpoints(run: session.runDirectory()).restore(model: m, optimizer: opt, random: &session.random) { Console.error("spectral-lab: warning: \($0)") }
            }
            guard let (step, loop, logs) = try restore(model) else { return [.nil] }
            try session.didRestore(step: step, logs: logs)
            return [.integer(step), .table(loop)]
        }
        m.function("resuming", "lab.checkpoint.resuming(): true when this run was started with --resume (lab.train then restores the newest checkpoint)") { [unowned session] _ in
            [.boolean(session.resuming)]
        }
        m.function("steps", "lab.checkpoint.steps(): the steps of the run's complete checkpoints, ascending") { [unowned session] _ in
            guard let dir = session.existingRunDirectory else { return [.table([])] }
            return [.table(LuaTable(array: Checkpoints(run: dir).steps().map { .integer($0) }))]
        }
        return m
    }
}
