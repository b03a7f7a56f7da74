import LuaBridge
import SpectralNumerics

// lab.tasks: the paper's tasks as native generators and dataset readers, yielding lab.train batches.

/// A task for Lua: the task and the precision of the tensors it hands out.
final class LuaTask: LuaObject {
    let task: any SequenceTask
    let dtype: DType

    init(_ task: any SequenceTask, dtype: DType) {
        self.task = task
        self.dtype = dtype
    }

    /// {x=, y=, loss=, ignore=, reset=}: the shape of a batch lab.train reads.
    func lua<T: TensorScalar>(_ b: TaskBatch<T>) -> LuaValue {
        var t: LuaTable = ["x": .object(b.x), "y": .object(b.y)]
        switch task.loss {
        case .meanSquaredError: t["loss"] = "mse"
        case .crossEntropy(let ignore):
            t["loss"] = "xent"
            if let ignore { t["ignore"] = .integer(ignore) }
        }
        if b.reset { t["reset"] = true }
        return .table(t)
    }

    func batch() -> LuaValue { dtype == .float32 ? lua(task.nextBatch(Float.self)) : lua(task.nextBatch(Double.self)) }

    func list<T: TensorScalar>(_ batches: [TaskBatch<T>]) -> LuaValue { .table(LuaTable(array: batches.map(lua))) }

    static let luaClass = LuaClass<LuaTask>("lab.Task") { c in
        c.tostring { $0.task.description }
        c.property("name") { .string($0.task.name) }
        c.property("input") { .integer($0.task.inputSize) }
        c.property("output") { .integer($0.task.outputSize) }
        c.property("T") { .integer($0.task.length) }
        c.property("readout") { .string($0.task.readout.rawValue) }
        c.property("baseline") { $0.task.baseline.map { .number($0) } ?? .nil }
        c.property("stateful") { .boolean($0.task.continuesStreams) }
        c.property("dtype") { .string($0.dtype == .float32 ? "float32" : "float64") }
        c.property("vocabulary") { t in
            guard let lm = t.task as? CharLMTask else { return .nil }
            return .table(LuaTable(array: lm.corpus.vocabulary.map { .string(String($0)) }))
        }
        c.property("unknown") { t in
            guard let lm = t.task as? CharLMTask else { return .nil }
            return .table(["valid": .integer(lm.corpus.unknown.validation), "test": .integer(lm.corpus.unknown.test)])
        }
        c.method("batch", "task:batch(): the next training batch {x=, y=, loss=, ignore=, reset=}") { t, _ in [t.batch()] }
        c.method("eval_batches", "task:eval_batches(): the held-out (validation) batches, the same at every call") { t, _ in
            [t.dtype == .float32 ? t.list(t.task.validationBatches(Float.self)) : t.list(t.task.validationBatches(Double.self))]
        }
        c.method("test_batches", "task:test_batches(): the test split's batches (nil for generated tasks)") { t, _ in
            if t.dtype == .float32 { return [t.task.testBatches(Float.self).map(t.list) ?? .nil] }
            return [t.task.testBatches(Double.self).map(t.list) ?? .nil]
        }
        c.method("batches_per_epoch", "task:batches_per_epoch(): training batches per pass over the data (nil for generated tasks)") { t, _ in
            [t.task.batchesPerEpoch.map { .integer($0) } ?? .nil]
        }
        c.method("state", "task:state(): where the training stream is (generator, epoch, position), as a table for checkpoints") { t, _ in
            // Decimal strings: JSON numbers cannot hold every 64-bit word exactly.
            var s = LuaTable(array: [])
            for (k, v) in t.task.state { s[k] = .string(String(v)) }
            return [.table(s)]
        }
        c.method("set_state", "task:set_state(s): continues the training stream from a state task:state() returned") { t, args in
            var state: [String: UInt64] = [:]
            for (k, v) in try args.table(2).namedFields {
                guard let word = v.string.flatMap(UInt64.init) else {
                    throw LuaError.argument(index: 2, message: "state field '\(k)' is not a word from task:state()")
                }
                state[k] = word
            }
            t.task.state = state
            return []
        }
    }
}

enum LuaTasks {
    static func module(_ session: LabSession) -> LuaModule {
        var m = LuaModule("tasks")

        /// The options table, its keys checked; the task's seed (seed=, or drawn from the run's
        /// generator so that --seed decides) and its dtype.
        func options(_ args: LuaArgs, _ known: [String]) throws -> (LuaTable, UInt64, DType) {
            let o = try args.table(1, default: [:])
            try LuaNumerics.checkKeys(o, known + ["seed", "dtype"], 1)
            let seed: UInt64
            if o["seed"].isNil { seed = session.random.next() }
            else if let s = o["seed"].int, s >= 0 { seed = UInt64(s) }
            else { throw LuaError.argument(index: 1, message: "seed must be an integer ≥ 0") }
            return (o, seed, try DType(lua: o["dtype"].string ?? "float32"))
        }
        func int(_ o: LuaTable, _ key: String, _ d: Int) throws -> Int {
            if o[key].isNil { return d }
            guard let v = o[key].int else { throw LuaError.argument(index: 1, message: "\(key) must be an integer") }
            return v
        }
        func make(_ body: () throws -> any SequenceTask, _ dtype: DType) throws -> [LuaValue] {
            do { return [.object(LuaTask(try body(), dtype: dtype))] }
            catch let e as TaskError { throw LuaError.runtime(e.description) }
        }

        m.function("adding", "lab.tasks.adding{T=100, batch=128, seed=, dtype=}: the adding problem (MSE; always answering 1 scores 1/6)") { args in
            let (o, seed, dtype) = try options(args, ["T", "batch"])
            let t = try int(o, "T", 100), b = try int(o, "batch", 128)
            return try make({ try AddingTask(length: t, batchSize: b, seed: seed) }, dtype)
        }
        m.function("copy", "lab.tasks.copy{T=100, symbols=8, length=10, batch=128, loss_positions=\"all\"|\"answer\", seed=, dtype=}: the copying memory task (cross-entropy; baseline length·log(symbols)/(T + 2·length))") { args in
            let (o, seed, dtype) = try options(args, ["T", "symbols", "length", "batch", "loss_positions"])
            let positions = o["loss_positions"].string ?? "all"
            guard positions == "all" || positions == "answer" else {
                throw LuaError.argument(index: 1, message: "loss_positions must be \"all\" or \"answer\", got \"\(positions)\"")
            }
            let t = try int(o, "T", 100), s = try int(o, "symbols", 8), l = try int(o, "length", 10), b = try int(o, "batch", 128)
            return try make({ try CopyTask(blanks: t, symbols: s, length: l, batchSize: b, answerOnly: positions == "answer", seed: seed) }, dtype)
        }
        m.function("pixel_mnist", "lab.tasks.pixel_mnist{path=\"/usr/share/datasets/fashion-mnist\", permuted=false, permutation_seed=1, batch=128, valid=5000, eval_batch=500, seed=, dtype=}: pixel-by-pixel (784 steps) classification of MNIST-format IDX files, gzipped or not") { args in
            let (o, seed, dtype) = try options(args, ["path", "permuted", "permutation_seed", "batch", "valid", "eval_batch"])
            let path = o["path"].string ?? "/usr/share/datasets/fashion-mnist"
            let permuted = o["permuted"].bool ?? false
            let permutationSeed = try int(o, "permutation_seed", 1)
            guard permutationSeed >= 0 else { throw LuaError.argument(index: 1, message: "permutation_seed must be an integer ≥ 0") }
            let b = try int(o, "batch", 128), valid = try int(o, "valid", 5000), evalBatch = try int(o, "eval_batch", 500)
            return try make({
                try PixelMNIST(directory: path, permuted: permuted, permutationSeed: UInt64(permutationSeed), batchSize: b,
                               validation: valid, evalBatchSize: evalBatch, seed: seed)
            }, dtype)
        }
        m.function("char_lm", "lab.tasks.char_lm{path=\"/usr/share/games/fortunes\", format=\"auto\"|\"plain\"|\"ptb\"|\"fortune\", seq_len=50, batch=32, split={0.9, 0.05}, dtype=}: character-level language modelling with truncated BPTT streams (bits per character = loss / ln 2)") { args in
            let (o, _, dtype) = try options(args, ["path", "format", "seq_len", "batch", "split"])
            let path = o["path"].string ?? "/usr/share/games/fortunes"
            let formatName = o["format"].string ?? "auto"
            guard let format = CharCorpus.Format(rawValue: formatName) else {
                throw LuaError.argument(index: 1, message: "format must be one of \(CharCorpus.Format.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), got \"\(formatName)\"")
            }
            var fractions = (train: 0.9, validation: 0.05)
            if !o["split"].isNil {
                guard let s = o["split"].table?.array.compactMap(\.double), s.count == 2 else {
                    throw LuaError.argument(index: 1, message: "split must be {train fraction, validation fraction}, e.g. {0.9, 0.05}")
                }
                fractions = (s[0], s[1])
            }
            let seqLen = try int(o, "seq_len", 50), b = try int(o, "batch", 32)
            return try make({
                try CharLMTask(corpus: try CharCorpus(path: path, format: format, fractions: fractions), sequenceLength: seqLen, batchSize: b)
            }, dtype)
        }
        return m
    }
}
