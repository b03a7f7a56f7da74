import LuaBridge
import SpectralNumerics

// lab.checkpoint: save and restore a model, its optimizer and the generator in the run directory.
extension LuaModels {
    // MARK: lab.checkpoint

    static func checkpointModule(_ session: LabSession) -> LuaModule {
        var m = LuaModule("checkpoint")
        m.function("save", "lab.checkpoint.save(step, model, optimizer [, state [, name]]): writes the model, the optimizer's state, the generator's state and the table state to the run's checkpoints/<name>/ (name: \"main\"; atomically; the newest 3 kept)") { [unowned session] args in
            let step = try args.integer(1)
            guard step >= 1 else { throw LuaError.argument(index: 1, message: "the step must be ≥ 1, got \(step)") }
            guard let model = args.trainable(2) else { throw LuaError.type(2, expected: "model or layer", got: args.typeName(2)) }
            let opt = try args.object(3, LuaOptimizer.self)
            let loop = try args.table(4, default: [:])
            let name = try args.string(5, default: "main")
            func save<M: Trainable>(_ m: M) throws {
                let dir = try session.runDirectory()
                try Checkpoints(run: dir, name: name).save(step: step, model: m, optimizer: opt, random: session.random, loop: loop, logs: dir.logSizes())
            }
            try save(model)
            return []
        }
        m.function("restore", "lab.checkpoint.restore(model, optimizer [, name]): loads the newest checkpoint in checkpoints/<name>/ (name: \"main\") into them and the generator; returns its step and saved state, or nil") { [unowned session] args in
            guard let model = args.trainable(1) else { throw LuaError.type(1, expected: "model or layer", got: args.typeName(1)) }
            let opt = try args.object(2, LuaOptimizer.self)
            let name = try args.string(3, default: "main")
            func restore<M: Trainable>(_ m: M) throws -> (step: Int, loop: LuaTable, logs: [String: Int]?)? {
                try Checkpoints(run: session.runDirectory(), name: name).restore(model: m, optimizer: opt, random: &session.random) {
                    Console.error("spectral-lab: warning: \($0)")
                }
            }
            guard let (step, loop, logs) = try restore(model) else { return [.nil] }
            session.didRestore(logs: logs)
            return [.integer(step), .table(loop)]
        }
        m.function("resuming", "lab.checkpoint.resuming(): true when this run was started with --resume (lab.train then restores its newest checkpoint)") { [unowned session] _ in
            [.boolean(session.resuming)]
        }
        m.function("extended", "lab.checkpoint.extended(): true when this run was resumed with --set (steps, epochs or minutes): a training that had finished goes on") { [unowned session] _ in
            [.boolean(session.extendsRun)]
        }
        m.function("claim", "lab.checkpoint.claim(name): lab.train takes checkpoints/<name>/ for itself (an error if an earlier lab.train of this run took it)") { [unowned session] args in
            try session.claimCheckpoints(try args.string(1))
            return []
        }
        m.function("will_train", "lab.checkpoint.will_train(name): lab.train is about to train; in an extended resume, what the logs hold after this point (and later trainings' checkpoints) is dropped") { [unowned session] args in
            try session.willTrain(try args.string(1))
            return []
        }
        m.function("steps", "lab.checkpoint.steps([name]): the steps of the complete checkpoints in checkpoints/<name>/ (name: \"main\"), ascending") { [unowned session] args in
            let name = try args.string(1, default: "main")
            guard let dir = session.existingRunDirectory else { return [.table([])] }
            return [.table(LuaTable(array: try Checkpoints(run: dir, name: name).steps().map { .integer($0) }))]
        }
        return m
    }
}
