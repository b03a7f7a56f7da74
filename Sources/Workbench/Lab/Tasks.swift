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
            do { try t.task.restore(state: state) } catch let e as TaskError { throw LuaError.argument(index: 2, message: "\(e)") }
            return []
        }
    }
}

enum LuaTasks {
    /// What every task takes.
    static func taskOptions(_ name: String, seeded: Bool = true, _ own: [LuaOption]) -> LuaOptions {
        LuaOptions("lab.tasks.\(name)", own + [
            .init("batch", .integer(1 ... 1 << 16), default: own.contains { $0.name == "seq_len" } ? 32 : 128, help: "sequences per batch"),
            LuaModels.dtypeOption,
        ] + (seeded ? [.init("seed", .integer(0 ... Int.max), defaultText: "drawn from the run's generator", help: "the task's own stream")] : []))
    }
    static let steps = LuaOptionKind.integer(1 ... 1 << 20)
    static let addingOptions = taskOptions("adding", [.init("T", steps, default: 100, help: "sequence length")])
    static let copyOptions = taskOptions("copy", [
        .init("T", steps, default: 100, help: "blanks between the symbols and the recall marker"),
        .init("symbols", .integer(1 ... 1 << 10), default: 8, help: "distinct symbols to remember"),
        .init("length", .integer(1 ... 1 << 16), default: 10, help: "symbols to remember"),
        .init("loss_positions", .choice(["all", "answer"]), default: "all", help: "score every step, or the answer steps only"),
    ])
    /// What both readers of MNIST-format folders take.
    static let imageFolderOptions: [LuaOption] = [
        .init("path", .string, default: "/usr/share/datasets/fashion-mnist", help: "folder of MNIST-format IDX files"),
        .init("valid", .integer(0 ... 1 << 20), default: 5000, help: "training images held out for validation"),
        .init("eval_batch", .integer(1 ... 1 << 16), default: 500, help: "images per held-out batch"),
    ]
    static let pixelOptions = taskOptions("pixel_mnist", imageFolderOptions + [
        .init("permuted", .boolean, default: false, help: "pixels in a fixed random order (permuted MNIST)"),
        .init("permutation_seed", .integer(0 ... Int.max), default: 1, help: "the permutation's seed", only: ("permuted", ["true"])),
    ])
    static let mnistOptions = taskOptions("mnist", imageFolderOptions)
    static let charLMOptions = taskOptions("char_lm", seeded: false, [
        .init("path", .string, default: "/usr/share/games/fortunes", help: "a text file or a folder of them"),
        .init("format", .choice(CharCorpus.Format.allCases.map(\.rawValue)), default: "auto", help: "how to read the text"),
        .init("seq_len", steps, default: 50, help: "characters per truncated-BPTT window"),
        .init("split", .list(.number(0, 1), count: 2 ... 2), default: [0.9, 0.05], help: "{train, validation} fractions; the rest is the test split"),
    ])

    static func module(_ session: LabSession) -> LuaModule {
        var m = LuaModule("tasks")

        /// The task's seed (seed=, or drawn from the run's generator so that --seed decides).
        func seed(_ o: LuaOptionValues) throws -> UInt64 {
            try o.optionalInt("seed").map { UInt64($0) } ?? session.random.next()
        }
        func make(_ o: LuaOptionValues, _ body: () throws -> any SequenceTask) throws -> [LuaValue] {
            do { return [.object(LuaTask(try body(), dtype: try DType(lua: o.string("dtype"))))] }
            catch let e as TaskError { throw LuaError.runtime(e.description) }
        }
        /// Prices a generated task's batches (T×B×features, its training and held-out streams) first.
        func reserve(_ o: LuaOptionValues, steps: Int, features: Int) throws {
            let what = "a \(o.declaration.function) task with T = \(steps) and batch = \(try o.int("batch"))"
            let dtype = try DType(lua: o.string("dtype"))
            try Memory.reserve([steps, try o.int("batch"), features, 8], elementSize: dtype.size, for: what, state: session.state)
        }

        m.function("adding", "lab.tasks.adding{T=100, batch=128, ...}: the adding problem (MSE; always answering 1 scores 1/6)", options: addingOptions) { _, o in
            let t = try o.int("T"), b = try o.int("batch")
            try reserve(o, steps: t, features: 3)
            let s = try seed(o)
            return try make(o) { try AddingTask(length: t, batchSize: b, seed: s) }
        }
        m.function("copy", "lab.tasks.copy{T=100, symbols=8, length=10, batch=128, ...}: the copying memory task (cross-entropy; baseline length·log(symbols)/(T + 2·length))", options: copyOptions) { _, o in
            let t = try o.int("T"), symbols = try o.int("symbols"), l = try o.int("length"), b = try o.int("batch")
            try reserve(o, steps: t + 2 * l, features: symbols + 3)
            let s = try seed(o)
            let answerOnly = try o.string("loss_positions") == "answer"
            return try make(o) { try CopyTask(blanks: t, symbols: symbols, length: l, batchSize: b, answerOnly: answerOnly, seed: s) }
        }
        m.function("pixel_mnist", "lab.tasks.pixel_mnist{path=, permuted=false, batch=128, ...}: pixel-by-pixel (784 steps) classification of MNIST-format IDX files, gzipped or not", options: pixelOptions) { _, o in
            let path = try o.string("path"), permuted = try o.bool("permuted")
            try session.checkRead(path, by: "lab.tasks.pixel_mnist")
            let permutationSeed = UInt64(try o.int("permutation_seed"))
            let b = try o.int("batch"), valid = try o.int("valid"), evalBatch = try o.int("eval_batch")
            try reserve(o, steps: 784, features: 2)
            let s = try seed(o)
            return try make(o) {
                try PixelMNIST(directory: path, permuted: permuted, permutationSeed: permutationSeed, batchSize: b,
                               validation: valid, evalBatchSize: evalBatch, seed: s)
            }
        }
        m.function("mnist", "lab.tasks.mnist{path=, batch=128, ...}: MNIST-format images as flat vectors (B×784, an MLP's input), classified; IDX files, gzipped or not", options: mnistOptions) { _, o in
            let path = try o.string("path")
            try session.checkRead(path, by: "lab.tasks.mnist")
            let b = try o.int("batch"), valid = try o.int("valid"), evalBatch = try o.int("eval_batch")
            try reserve(o, steps: 1, features: 784)
            let s = try seed(o)
            return try make(o) { try PixelMNIST(directory: path, flat: true, batchSize: b, validation: valid, evalBatchSize: evalBatch, seed: s) }
        }
        m.function("char_lm", "lab.tasks.char_lm{path=, format=\"auto\", seq_len=50, batch=32, split={0.9, 0.05}, ...}: character-level language modelling with truncated BPTT streams (bits per character = loss / ln 2)", options: charLMOptions) { _, o in
            let path = try o.string("path")
            try session.checkRead(path, by: "lab.tasks.char_lm")
            let format = try o.choice("format", CharCorpus.Format.self)
            let split = try o.table("split").array.map { $0.double! }
            guard split[0] > 0, split[1] >= 0, split[0] + split[1] < 1 else {
                throw LuaError.runtime("bad option 'split' to 'lab.tasks.char_lm' (train > 0, validation ≥ 0 and train + validation < 1 leave a test split; got {\(split[0]), \(split[1])})")
            }
            let seqLen = try o.int("seq_len"), b = try o.int("batch")
            try reserve(o, steps: seqLen, features: 2)
            return try make(o) {
                try CharLMTask(corpus: try CharCorpus(path: path, format: format, fractions: (split[0], split[1])), sequenceLength: seqLen, batchSize: b)
            }
        }
        return m
    }
}
