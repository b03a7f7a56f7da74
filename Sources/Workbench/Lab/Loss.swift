import LuaBridge
import SpectralNumerics

// lab.loss: losses and their gradients.
extension LuaModels {
    // MARK: lab.loss

    static let crossEntropyOptions = LuaOptions("lab.loss.cross_entropy", [
        .init("ignore", .integer(Int.min ... Int.max), help: "a label whose rows count for nothing (padding)"),
    ])

    static let tensorKind = LuaOptionKind.object("tensor", prefixes: ["lab.FloatTensor", "lab.DoubleTensor"])
    /// A batch as task:batch() gives it and lab.train reads it, declared for each function that takes one.
    static func batchOptions(_ function: String) -> LuaOptions { LuaOptions(function, [
        .init("x", tensorKind, required: true, help: "inputs, T×B×features"),
        .init("y", .data("tensor or labels"), required: true, help: "targets: a tensor (mse) or 1-based labels (xent)"),
        .init("loss", .choice(["mse", "xent"]), default: "mse", help: "mean squared error or softmax cross-entropy"),
        .init("ignore", .integer(Int.min ... Int.max), help: "a label that counts for nothing (xent)"),
        .init("reset", .boolean, default: false, help: "a new stream begins: a stateful model forgets its state"),
    ]) }

    /// The one loss dispatch (lab.loss.batch, lab.train, lab.evaluate, grad_norms): the loss a batch
    /// names, of the model's outputs y, with its gradient and the accuracy (nil for mse).
    /// `argument` is the batch's position in the call, for messages.
    static func batchLoss<T: TensorScalar>(_ y: Tensor<T>, _ batch: LuaOptionValues, argument: Int) throws -> (loss: Double, grad: Tensor<T>, accuracy: Double?) {
        if try batch.string("loss") == "mse" {
            guard case .object(let to) = batch["y"], let target = to as? Tensor<T> else {
                throw LuaError.argument(index: argument, message: "batch.y must be a \(T.dtypeName) tensor for loss \"mse\"")
            }
            let (loss, grad) = try Loss.meanSquaredError(y, target)
            return (Double(loss), grad, nil)
        }
        // "xent", the declaration's only other choice
        let labels = try zeroBasedLabels(batch["y"], ignore: batch.optionalInt("ignore"), argument: argument)
        let r = try Loss.crossEntropy(y, labels: labels, ignore: -1)
        return (Double(r.loss), r.grad, r.counted == 0 ? .nan : Double(r.correct) / Double(r.counted))
    }

    static func lossModule() -> LuaModule {
        var m = LuaModule("loss")
        m.function("mse", "lab.loss.mse(y, target): mean squared error and its gradient with respect to y") { args in
            func run<T: TensorScalar>(_: T.Type) throws -> [LuaValue] {
                let (loss, grad) = try Loss.meanSquaredError(args.tensor(1, T.self), args.tensor(2, T.self))
                return [.number(Double(loss)), .object(grad)]
            }
            return try args.requireTensor(1) == .float32 ? run(Float.self) : run(Double.self)
        }
        m.function("cross_entropy", "lab.loss.cross_entropy(logits, labels [, {ignore=}]): softmax cross-entropy (mean over counted rows), its gradient, and the accuracy; labels are 1-based classes, one per row (a table or tensor)", options: crossEntropyOptions, at: 3) { args, o in
            let labels = try zeroBasedLabels(args.value(2), ignore: o.optionalInt("ignore"), argument: 2)
            func run<T: TensorScalar>(_: T.Type) throws -> [LuaValue] {
                let r = try Loss.crossEntropy(args.tensor(1, T.self), labels: labels, ignore: -1)
                return [.number(Double(r.loss)), .object(r.grad), .number(r.counted == 0 ? .nan : Double(r.correct) / Double(r.counted))]
            }
            return try args.requireTensor(1) == .float32 ? run(Float.self) : run(Double.self)
        }
        m.function("batch", "lab.loss.batch(y, batch): the loss batch.loss names (mse or xent, with batch.ignore) of outputs y against batch.y, its gradient, and the accuracy (nil for mse)", options: batchOptions("lab.loss.batch"), at: 2) { args, batch in
            func run<T: TensorScalar>(_: T.Type) throws -> [LuaValue] {
                let r = try batchLoss(args.tensor(1, T.self), batch, argument: 2)
                return [.number(r.loss), .object(r.grad), r.accuracy.map { .number($0) } ?? .nil]
            }
            return try args.requireTensor(1) == .float32 ? run(Float.self) : run(Double.self)
        }
        m.function("bits_per_char", "lab.loss.bits_per_char(nats): a cross-entropy in nats as bits per character") { args in
            [.number(Loss.bitsPerCharacter(try args.number(1)))]
        }
        return m
    }

    /// Labels as a Lua table of integers or a tensor of integral values (argument i, for messages),
    /// made 0-based with `ignore` (a 1-based label, or any other value) as −1.
    static func zeroBasedLabels(_ value: LuaValue, ignore: Int?, argument i: Int) throws -> [Int] {
        let values: [Double]
        switch value {
        case .object(let o as Tensor<Float>): values = o.scalars.map(Double.init)
        case .object(let o as Tensor<Double>): values = o.scalars
        case .table(let t): values = t.array.map { $0.double ?? .nan }
        default: throw LuaError.argument(index: i, message: "labels must be a table of integers or a tensor, got \(value.typeName)")
        }
        return try values.enumerated().map { k, v in
            guard let n = Int(exactly: v) else { throw LuaError.argument(index: i, message: "label \(k + 1) is not an integer") }
            if n == ignore { return -1 }
            // 0 would become −1, the mark of an ignored row: a silent drop, not a class.
            guard n >= 1 else { throw LuaError.argument(index: i, message: "label \(k + 1) is \(n): labels are classes 1…C") }
            return n - 1
        }
    }
}
