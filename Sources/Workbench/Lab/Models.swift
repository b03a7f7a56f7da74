import LuaBridge
import SpectralNumerics

// Recurrent models, losses, optimizers and gradient diagnostics for Lua: lab.models, lab.loss,
// lab.optim, lab.diagnostics.

/// What an optimizer can step: anything with parameters, gradients and a renormalization.
protocol Trainable<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar
    var parameters: [(name: String, value: Tensor<Scalar>, grad: Tensor<Scalar>)] { get }
    func renormalize()
}
extension RecurrentNetwork: Trainable {}
extension GatedNetwork: Trainable {}
extension SVDLinear: Trainable {}
extension SpectralMLP: Trainable {}

extension LuaArgs {
    /// The recurrent model at i, of either kind and precision.
    func sequenceModel(_ i: Int) -> (any SequenceModel)? {
        (try? object(i, RecurrentNetwork<Float>.self)) ?? (try? object(i, RecurrentNetwork<Double>.self))
            ?? (try? object(i, GatedNetwork<Float>.self)) ?? (try? object(i, GatedNetwork<Double>.self))
    }

    /// A model or an SVD layer at i.
    func trainable(_ i: Int) -> (any Trainable)? {
        if let m = sequenceModel(i) as? any Trainable { return m }
        return (try? object(i, SVDLinear<Float>.self)) ?? (try? object(i, SVDLinear<Double>.self))
            ?? (try? object(i, SpectralMLP<Float>.self)) ?? (try? object(i, SpectralMLP<Double>.self))
    }
}

extension RecurrentNetwork: LuaObject {
    public static var luaClass: LuaClass<RecurrentNetwork<T>> {
        T.self == Float.self ? floatRNNClass as! LuaClass<RecurrentNetwork<T>> : doubleRNNClass as! LuaClass<RecurrentNetwork<T>>
    }
}
extension GatedNetwork: LuaObject {
    public static var luaClass: LuaClass<GatedNetwork<T>> {
        T.self == Float.self ? floatGatedClass as! LuaClass<GatedNetwork<T>> : doubleGatedClass as! LuaClass<GatedNetwork<T>>
    }
}
let floatRNNClass = LuaClass<RecurrentNetwork<Float>>("lab.RNN<float32>", declareSequenceModelClass)
let doubleRNNClass = LuaClass<RecurrentNetwork<Double>>("lab.RNN<float64>", declareSequenceModelClass)
let floatGatedClass = LuaClass<GatedNetwork<Float>>("lab.GatedRNN<float32>", declareSequenceModelClass)
let doubleGatedClass = LuaClass<GatedNetwork<Double>>("lab.GatedRNN<float64>", declareSequenceModelClass)

extension SpectralMLP: LuaObject {
    public static var luaClass: LuaClass<SpectralMLP<T>> {
        T.self == Float.self ? floatMLPClass as! LuaClass<SpectralMLP<T>> : doubleMLPClass as! LuaClass<SpectralMLP<T>>
    }
}
let floatMLPClass = LuaClass<SpectralMLP<Float>>("lab.MLP<float32>", declareMLPClass)
let doubleMLPClass = LuaClass<SpectralMLP<Double>>("lab.MLP<float64>", declareMLPClass)

private func declareMLPClass<T: TensorScalar>(_ c: LuaClass<SpectralMLP<T>>) {
    c.nativeSize { m in m.parameters.reduce(0) { $0 + 2 * $1.value.byteCount } }
    c.tostring { m in
        "MLP(\(([m.inputSize] + m.layers.map(\.outFeatures)).map(String.init).joined(separator: " → ")), SVD layers, \(m.activation.rawValue), \(m.parameterCount) parameters, \(T.dtypeName))"
    }
    c.method("forward", "mlp:forward(x): x is B×in; returns B×out") { m, args in [.object(try m.forward(args.tensor(2, T.self)))] }
    c.method("backward", "mlp:backward(dy): adds the parameter gradients and returns dx") { m, args in
        [.object(try m.backward(args.tensor(2, T.self)))]
    }
    c.method("parameters", "mlp:parameters(): {layerK.u=, layerK.v=, layerK.p=, layerK.bias=}") { m, _ in [parameterTable(m.parameters, grads: false)] }
    c.method("gradients", "mlp:gradients(): the accumulated gradients, same names") { m, _ in [parameterTable(m.parameters, grads: true)] }
    c.method("zero_grad", "mlp:zero_grad(): sets the gradients to zero") { m, _ in m.zeroGrad(); return [] }
    c.method("parameter_count", "mlp:parameter_count(): the number of trainable numbers") { m, _ in [.integer(m.parameterCount)] }
    c.method("renormalize", "mlp:renormalize(): every layer's reflector rows to unit norm") { m, _ in m.renormalize(); return [] }
    c.method("layer", "mlp:layer(k): the k-th SVD layer (1-based), for its spectrum and factors") { m, args in
        let k = try args.integer(2)
        guard k >= 1 && k <= m.layers.count else { throw LuaError.argument(index: 1, message: "layer \(k) out of range 1…\(m.layers.count)") }
        return [.object(m.layers[k - 1])]
    }
}

private func parameterTable<T>(_ ps: [(name: String, value: Tensor<T>, grad: Tensor<T>)], grads: Bool) -> LuaValue {
    var t = LuaTable(array: [])
    for p in ps { t[p.name] = .object(grads ? p.grad : p.value) }
    return .table(t)
}

private func declareSequenceModelClass<M: SequenceModel & LuaObject>(_ c: LuaClass<M>) {
    typealias T = M.Scalar
    c.nativeSize { m in m.parameters.reduce(0) { $0 + 2 * $1.value.byteCount } }
    c.tostring { m in
        let activation = (m as? RecurrentNetwork<T>).map { ", \($0.activation.rawValue)" } ?? ""
        let readout = (m as? RecurrentNetwork<T>)?.readout.mode ?? (m as? GatedNetwork<T>)?.readout.mode
        return "RNN(\(m.cellName), input \(m.inputSize), hidden \(m.hiddenSize), output \(m.outputSize)\(activation), readout \(readout?.rawValue ?? "?"), \(m.parameterCount) parameters, \(T.dtypeName))"
    }
    c.property("dtype") { _ in .string(T.dtypeName) }
    c.property("cell") { .string($0.cellName) }
    c.property("stateful") { .boolean($0.carriesState) }
    c.method("set_stateful", "model:set_stateful(on): truncated BPTT: each forward continues from the last one's final state") { m, args in
        m.carriesState = try args.boolean(2)
        return []
    }
    c.method("reset_state", "model:reset_state(): forgets the carried state (the next forward starts from zeros)") { m, _ in
        m.resetState()
        return []
    }
    c.method("carried_state", "model:carried_state(): a copy of the carried state ({h} or {h, c} for an LSTM), or nil") { m, _ in
        guard let state = m.carriedState else { return [.nil] }
        return [.table(LuaTable(array: state.map { .object($0) }))]
    }
    c.method("set_carried_state", "model:set_carried_state(s): puts back a state from carried_state() (nil forgets it)") { m, args in
        if args.isNil(2) { m.carriedState = nil; return [] }
        let tensors = try args.table(2).array.map { v -> Tensor<T> in
            guard case .object(let o) = v, let t = o as? Tensor<T>, t.rank == 2, t.cols == m.hiddenSize else {
                throw LuaError.argument(index: 2, message: "expected the table model:carried_state() returned (\(T.dtypeName) B×\(m.hiddenSize) tensors)")
            }
            return t
        }
        guard !tensors.isEmpty else { throw LuaError.argument(index: 2, message: "an empty state table") }
        m.carriedState = tensors
        return []
    }
    c.method("forward", "model:forward(x): x is T×B×input (time first); returns B×output (readout \"last\") or T×B×output (\"all\")") { m, args in
        [.object(try m.forward(args.tensor(2, T.self)))]
    }
    c.method("backward", "model:backward(dy): for the last forward, adds the parameter gradients (BPTT) and returns dx") { m, args in
        [.object(try m.backward(args.tensor(2, T.self)))]
    }
    c.method("parameters", "model:parameters(): {name = tensor}: the model's own tensors (recurrent.*, input.*, readout.*)") { m, _ in
        [parameterTable(m.parameters, grads: false)]
    }
    c.method("gradients", "model:gradients(): {name = tensor}: the accumulated gradients") { m, _ in [parameterTable(m.parameters, grads: true)] }
    c.method("zero_grad", "model:zero_grad(): sets the gradients to zero") { m, _ in m.zeroGrad(); return [] }
    c.method("parameter_count", "model:parameter_count(): the number of trainable numbers") { m, _ in [.integer(m.parameterCount)] }
    c.method("singular_values", "model:singular_values(): the singular values of the recurrent matrix W, descending (LSTM/GRU: the candidate's block)") { m, _ in
        [.table(LuaTable(array: try m.recurrentSingularValues().map { .number(Double($0)) }))]
    }
    c.method("renormalize", "model:renormalize(): reflector rows to unit norm (spectral and orthogonal cells; W unchanged)") { m, _ in
        m.renormalize()
        return []
    }
    c.method("grad_norms", "model:grad_norms(): ‖∂L/∂h_t‖ for t = 1…T from the last backward, with field first_last_ratio") { m, _ in
        [gradNormTable(m.hiddenGradientNorms)]
    }
}

/// {‖∂L/∂h_1‖, …, ‖∂L/∂h_T‖, first_last_ratio = ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖}.
private func gradNormTable<T: TensorScalar>(_ norms: [T]) -> LuaValue {
    var t = LuaTable(array: norms.map { .number(Double($0)) })
    if let first = norms.first, let last = norms.last {
        t["first_last_ratio"] = .number(last == 0 ? (first == 0 ? .nan : .infinity) : Double(first / last))
    }
    return .table(t)
}

enum LuaModels {
    static func install(into lab: inout LuaModule, session: LabSession) {
        lab.module(checkpointModule(session))
        lab.module(modelsModule(session))
        lab.module(lossModule())
        lab.module(optimModule())
        lab.module(diagnosticsModule())
    }

    // MARK: lab.models

    /// The largest layer width a script may ask for (W alone is then 16 GiB in float32).
    static let maxWidth = 65536
    static let dtypeOption = LuaOption("dtype", .choice(["float32", "float64", "float", "double"]), default: "float32",
                                       help: "element type: float32 for training, float64 for gradient checks")

    static let mlpOptions = LuaOptions("lab.models.mlp", [
        .init("sizes", .list(.integer(1 ... maxWidth), count: 2 ... 64), required: true, help: "layer widths {in, h1, …, out}"),
        .init("activation", .choice(Activation.allCases.map(\.rawValue)), default: "relu", help: "between layers"),
        .init("reflectors", .integer(1 ... maxWidth), defaultText: "all", help: "Householder reflectors per factor (capped at each side's size)"),
        .init("r", .number(0, .greatestFiniteMagnitude), default: 0.01, help: "singular values stay in [sigma_star − r, sigma_star + r]; r ≤ sigma_star"),
        .init("sigma_star", .number(0, .greatestFiniteMagnitude, exclusiveLow: true), default: 1, help: "centre of the singular-value band"),
        .init("bias", .boolean, default: true, help: "a bias per layer"),
        dtypeOption,
    ])

    static let cells = ["spectral", "orthogonal", "rnn", "lstm", "gru"]
    static let rnnOptions = LuaOptions("lab.models.rnn", [
        .init("cell", .choice(cells), default: "spectral", help: "the recurrent cell: W = UΣVᵀ (spectral), orthogonal W (Σ = I), dense W (rnn), LSTM or GRU"),
        .init("input", .integer(1 ... 1 << 20), required: true, help: "input features per step"),
        .init("hidden", .integer(1 ... maxWidth), required: true, help: "hidden units n"),
        .init("output", .integer(1 ... 1 << 20), required: true, help: "outputs (per step with readout \"all\")"),
        .init("readout", .choice(["last", "all"]), default: "last", help: "read out the last step (classification) or every step"),
        .init("activation", .choice(Activation.allCases.map(\.rawValue)), defaultText: "relu; leaky_relu for orthogonal",
              help: "φ in h_t = φ(W h_{t−1} + M x_t + b)", only: ("cell", ["spectral", "orthogonal", "rnn"])),
        .init("reflectors", .integer(1 ... maxWidth), defaultText: "hidden/4", help: "Householder reflectors per factor (capped at hidden)",
              only: ("cell", ["spectral", "orthogonal"])),
        .init("r", .number(0, .greatestFiniteMagnitude), default: 0.01, help: "singular values stay in [sigma_star − r, sigma_star + r]; r ≤ sigma_star",
              only: ("cell", ["spectral"])),
        .init("sigma_star", .number(0, .greatestFiniteMagnitude, exclusiveLow: true), default: 1, help: "centre of the singular-value band",
              only: ("cell", ["spectral"])),
        .init("init", .choice(["gaussian", "identity", "orthogonal"]), default: "gaussian", help: "initial dense W", only: ("cell", ["rnn"])),
        .init("stateful", .boolean, default: false, help: "truncated BPTT: each forward continues from the last one's final state"),
        .init("recurrence", .choice(["materialized", "per_step"]), default: "materialized",
              help: "build W once per pass, or apply its reflectors at every step (the paper's way)", only: ("cell", ["spectral", "orthogonal"])),
        dtypeOption,
    ])

    /// r ≤ σ*, so that no singular value can reach zero or below.
    static func checkBand(_ o: LuaOptionValues) throws {
        let r = try o.double("r"), sigmaStar = try o.double("sigma_star")
        guard r <= sigmaStar else {
            throw LuaError.runtime("bad option 'r' to '\(o.declaration.function)' (must be ≤ sigma_star = \(sigmaStar), got \(r): σ would reach \(sigmaStar - r))")
        }
    }

    /// Prices a model of these widths (parameters, gradients and optimizer state: eight numbers per
    /// weight at most, for an LSTM's four gates) before it is built.
    static func reserveModel(_ widths: [(Int, Int)], dtype: DType, what: String, session: LabSession) throws {
        var total = 0
        for (a, b) in widths {
            let (n, o1) = (8 * dtype.size).multipliedReportingOverflow(by: a)
            let (nb, o2) = n.multipliedReportingOverflow(by: b)
            let (sum, o3) = total.addingReportingOverflow(nb)
            guard !o1, !o2, !o3 else { throw LuaError.runtime("\(what) is too large (its size overflows)") }
            total = sum
        }
        try Memory.reserve(total, for: what, state: session.state)
    }

    static func modelsModule(_ session: LabSession) -> LuaModule {
        var m = LuaModule("models")
        m.function("mlp", "lab.models.mlp{sizes={in, h1, ..., out}, ...}: an MLP of SVD-parameterized layers", options: mlpOptions) { [unowned session] _, o in
            let sizes = try o.table("sizes").array.map { $0.int! }
            try checkBand(o)
            let activation = try o.choice("activation", Activation.self)
            let k = try o.optionalInt("reflectors")
            let dtype = try DType(lua: o.string("dtype"))
            try reserveModel(Array(zip(sizes, sizes.dropFirst())), dtype: dtype, what: "an MLP \(sizes)", session: session)
            func make<T: TensorScalar>(_: T.Type) throws -> LuaValue {
                do {
                    return .object(try SpectralMLP<T>(sizes: sizes, activation: activation,
                                                      options: .init(reflectorsU: k, reflectorsV: k, sigmaStar: o.double("sigma_star"),
                                                                     r: o.double("r"), bias: o.bool("bias")),
                                                      rng: &session.random))
                } catch let e as TensorError { throw LuaError.runtime("lab.models.mlp: \(e)") }
            }
            return [dtype == .float32 ? try make(Float.self) : try make(Double.self)]
        }
        m.function("rnn", "lab.models.rnn{cell=, input=, hidden=, output=, ...}: a recurrent network h_t = φ(W h_{t−1} + M x_t + b) (spectral, orthogonal, rnn) or an LSTM or GRU", options: rnnOptions) { [unowned session] _, o in
            let cell = try o.string("cell")
            let hidden = try o.int("hidden"), input = try o.int("input"), output = try o.int("output")
            let reflectors = try o.optionalInt("reflectors") ?? Swift.max(1, hidden / 4)   // the authors' default
            if cell == "spectral" { try checkBand(o) }
            // oRNN's authors use leaky ReLU; everyone else here defaults to ReLU.
            let activation = o.isGiven("activation") ? try o.choice("activation", Activation.self) : cell == "orthogonal" ? .leakyRelu : .relu
            let readout = try o.choice("readout", RecurrentNetwork<Float>.Readout.self)
            let dtype = try DType(lua: o.string("dtype"))
            let stateful = try o.bool("stateful")
            let recurrence = try o.choice("recurrence", RecurrentNetwork<Float>.Recurrence.self)
            try reserveModel([(hidden, hidden), (hidden, input), (hidden, output)], dtype: dtype,
                             what: "a \(cell) model with \(hidden) hidden units", session: session)
            func make<T: TensorScalar>(_: T.Type) throws -> LuaValue {
                let model = try build(T.self)
                model.carriesState = stateful
                (model as? RecurrentNetwork<T>)?.recurrence = RecurrentNetwork<T>.Recurrence(rawValue: recurrence.rawValue)!
                return .object(model as! any LuaObject)
            }
            func build<T: TensorScalar>(_: T.Type) throws -> any SequenceModel<T> {
                let transition: any Transition<T>
                do {
                    switch cell {
                    case "spectral":
                        transition = try SpectralTransition<T>(size: hidden, reflectors: Swift.min(reflectors, hidden),
                                                               sigmaStar: o.double("sigma_star"), r: o.double("r"), rng: &session.random)
                    case "orthogonal":
                        transition = try OrthogonalTransition<T>(size: hidden, reflectors: Swift.min(reflectors, hidden), rng: &session.random)
                    case "rnn":
                        transition = try DenseTransition<T>(size: hidden, initialization: o.choice("init"), rng: &session.random)
                    default:
                        return try GatedNetwork<T>(cell == "lstm" ? .lstm : .gru, input: input, hidden: hidden, output: output,
                                                   readout: ReadoutLayer<T>.Mode(rawValue: readout.rawValue)!, rng: &session.random)
                    }
                    return try RecurrentNetwork<T>(input: input, hidden: hidden, output: output, transition: transition,
                                                   activation: activation, readout: RecurrentNetwork<T>.Readout(rawValue: readout.rawValue)!,
                                                   rng: &session.random)
                } catch let e as TensorError { throw LuaError.runtime("lab.models.rnn: \(e)") }
            }
            return [dtype == .float32 ? try make(Float.self) : try make(Double.self)]
        }
        return m
    }

    // MARK: lab.checkpoint

    static func checkpointModule(_ session: LabSession) -> LuaModule {
        var m = LuaModule("checkpoint")
        m.function("save", "lab.checkpoint.save(step, model, optimizer [, state]): writes the model, the optimizer's state, the generator's state and the table state to the run's checkpoints/ (atomically; the newest 3 kept)") { [unowned session] args in
            let step = try args.integer(1)
            guard let model = args.trainable(2) else { throw LuaError.type(2, expected: "model or layer", got: args.typeName(2)) }
            let opt = try args.object(3, LuaOptimizer.self)
            let loop = try args.table(4, default: [:])
            func save<M: Trainable>(_ m: M) throws {
                try Checkpoints(run: session.runDirectory()).save(step: step, model: m, optimizer: opt, random: session.random, loop: loop)
            }
            try save(model)
            return []
        }
        m.function("restore", "lab.checkpoint.restore(model, optimizer): loads the newest checkpoint of the run into them (and the generator); returns its step and saved state, or nil") { [unowned session] args in
            guard let model = args.trainable(1) else { throw LuaError.type(1, expected: "model or layer", got: args.typeName(1)) }
            let opt = try args.object(2, LuaOptimizer.self)
            func restore<M: Trainable>(_ m: M) throws -> (step: Int, loop: LuaTable)? {
                try Checkpoints(run: session.runDirectory()).restore(model: m, optimizer: opt, random: &session.random)
            }
            guard let (step, loop) = try restore(model) else { return [.nil] }
            try session.didRestore(step: step)
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

    // MARK: lab.loss

    static let crossEntropyOptions = LuaOptions("lab.loss.cross_entropy", [
        .init("ignore", .integer(Int.min ... Int.max), help: "a label whose rows count for nothing (padding)"),
    ])

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
            return n == ignore ? -1 : n - 1
        }
    }

    // MARK: lab.optim

    static let finiteNonNegative = LuaOptionKind.number(0, .greatestFiniteMagnitude)
    static let positive = LuaOptionKind.number(0, .greatestFiniteMagnitude, exclusiveLow: true)
    static let probability = LuaOptionKind.number(0, 1)
    /// What every optimizer takes; then each rule's own.
    static func optimizerOptions(_ name: String, lr: Double, _ own: [LuaOption]) -> LuaOptions {
        LuaOptions("lab.optim.\(name)", [
            .init("lr", finiteNonNegative, default: .number(lr), help: "learning rate"),
            .init("weight_decay", finiteNonNegative, default: 0, help: "L2 penalty added to the gradient"),
            .init("clip", finiteNonNegative, default: 0, help: "clip the gradients' global norm to this before each step (0: none)"),
            .init("renormalize", .boolean, default: true, help: "reflector rows back to unit norm after each step"),
        ] + own)
    }
    static let epsilon = LuaOption("epsilon", positive, default: 1e-8, help: "added to the denominator")
    static let sgdOptions = optimizerOptions("sgd", lr: 0.01, [
        .init("momentum", .number(0, 1, exclusiveLow: false), default: 0, help: "heavy-ball momentum in [0, 1)"),
        .init("nesterov", .boolean, default: false, help: "Nesterov momentum (needs momentum > 0)"),
    ])
    static let rmspropOptions = optimizerOptions("rmsprop", lr: 0.01, [
        .init("alpha", probability, default: 0.99, help: "decay of the squared-gradient average"), epsilon,
    ])
    static let adamOptions = optimizerOptions("adam", lr: 1e-3, [
        .init("beta1", probability, default: 0.9, help: "decay of the gradient average, in [0, 1)"),
        .init("beta2", probability, default: 0.999, help: "decay of the squared-gradient average, in [0, 1)"), epsilon,
    ])

    static func optimModule() -> LuaModule {
        var m = LuaModule("optim")
        func constructor(_ name: String, _ doc: String, _ declaration: LuaOptions, _ rule: @escaping (LuaOptionValues) throws -> OptimizerRule) {
            m.function(name, doc, options: declaration) { _, o in [.object(try LuaOptimizer(rule: rule(o), options: o))] }
        }
        m.function("clip_grad_norm", "lab.optim.clip_grad_norm(model, max): scales the model's gradients so their global norm is at most max; returns the norm before") { args in
            let maxNorm = try args.number(2)
            guard maxNorm > 0, maxNorm.isFinite else { throw LuaError.argument(index: 2, message: "max must be a finite number > 0, got \(maxNorm)") }
            func clip<M: Trainable>(_ m: M) -> [LuaValue] {
                [.number(Double(Optimizer<M.Scalar>.clipGradientNorm(m.parameters, maxNorm: M.Scalar(maxNorm))))]
            }
            guard let m = args.trainable(1) else { throw LuaError.type(1, expected: "model or layer", got: args.typeName(1)) }
            return clip(m)
        }
        func below1(_ o: LuaOptionValues, _ names: String...) throws {
            for n in names where try o.double(n) >= 1 {
                throw LuaError.runtime("bad option '\(n)' to '\(o.declaration.function)' (must be < 1, got \(try o.double(n)))")
            }
        }
        constructor("sgd", "lab.optim.sgd{lr=0.01, ...}: stochastic gradient descent", sgdOptions) { o in
            try below1(o, "momentum")
            if try o.bool("nesterov"), try o.double("momentum") == 0 {
                throw LuaError.runtime("bad option 'nesterov' to 'lab.optim.sgd' (Nesterov momentum needs momentum > 0)")
            }
            return .sgd(momentum: try o.double("momentum"), nesterov: try o.bool("nesterov"))
        }
        constructor("rmsprop", "lab.optim.rmsprop{lr=0.01, ...}: RMSProp", rmspropOptions) { o in
            try below1(o, "alpha")
            return .rmsprop(alpha: try o.double("alpha"), epsilon: try o.double("epsilon"))
        }
        constructor("adam", "lab.optim.adam{lr=1e-3, ...}: Adam", adamOptions) { o in
            try below1(o, "beta1", "beta2")
            return .adam(beta1: try o.double("beta1"), beta2: try o.double("beta2"), epsilon: try o.double("epsilon"))
        }
        return m
    }

    // MARK: lab.diagnostics

    static let tensorKind = LuaOptionKind.object("tensor", prefixes: ["lab.FloatTensor", "lab.DoubleTensor"])
    /// A batch as task:batch() gives it and lab.train reads it.
    static let batchOptions = LuaOptions("batch", [
        .init("x", tensorKind, required: true, help: "inputs, T×B×features"),
        .init("y", .data("tensor or labels"), required: true, help: "targets: a tensor (mse) or 1-based labels (xent)"),
        .init("loss", .choice(["mse", "xent"]), default: "mse", help: "mean squared error or softmax cross-entropy"),
        .init("ignore", .integer(Int.min ... Int.max), help: "a label that counts for nothing (xent)"),
        .init("reset", .boolean, default: false, help: "a new stream begins: a stateful model forgets its state"),
    ])

    static func diagnosticsModule() -> LuaModule {
        var m = LuaModule("diagnostics")
        m.function("grad_norms", "lab.diagnostics.grad_norms(model, batch): ‖∂L/∂h_t‖ for t = 1…T at the model's current parameters on a batch {x=, y=, loss=, ignore=} (as task:batch() gives), with field first_last_ratio (gradients are left untouched)", options: batchOptions, at: 2) { args, batch in
            guard case .object(let xo) = batch["x"] else { throw LuaError.argument(index: 2, message: "batch.x must be a tensor") }
            let lossName = try batch.string("loss")
            func run<M: SequenceModel>(_ model: M) throws -> [LuaValue] {
                typealias T = M.Scalar
                guard let x = xo as? Tensor<T> else { throw LuaError.argument(index: 2, message: "batch.x must be a \(T.dtypeName) tensor") }
                let saved = model.parameters.map { $0.grad.copy() }
                let stateful = model.carriesState
                model.carriesState = false          // a probe: it must not move a stream's carried state
                defer {
                    for (p, g) in zip(model.parameters, saved) { try? p.grad.assign(g) }
                    model.carriesState = stateful
                }
                let y = try model.forward(x)
                let grad: Tensor<T>
                switch lossName {
                case "mse":
                    guard case .object(let to) = batch["y"], let target = to as? Tensor<T> else {
                        throw LuaError.argument(index: 2, message: "batch.y must be a \(T.dtypeName) tensor for loss \"mse\"")
                    }
                    grad = try Loss.meanSquaredError(y, target).grad
                case "xent":
                    let labels = try LuaModels.zeroBasedLabels(batch["y"], ignore: batch.optionalInt("ignore"), argument: 2)
                    grad = try Loss.crossEntropy(y, labels: labels, ignore: -1).grad
                default:
                    throw LuaError.argument(index: 2, message: "loss must be \"mse\" or \"xent\", got \"\(lossName)\"")
                }
                _ = try model.backward(grad)
                return [gradNormTable(model.hiddenGradientNorms)]
            }
            guard let model = args.sequenceModel(1) else { throw LuaError.type(1, expected: "recurrent model", got: args.typeName(1)) }
            return try run(model)
        }
        m.function("spectrum", "lab.diagnostics.spectrum(model): {singular_values=, spectral_norm=, condition_number=, orthogonality_drift=‖WᵀW − I‖_F} of the recurrent matrix (exact from σ for SVD cells, LAPACK for dense ones)") { args in
            guard let model = args.sequenceModel(1) else { throw LuaError.type(1, expected: "recurrent model", got: args.typeName(1)) }
            func run<M: SequenceModel>(_ m: M) throws -> [LuaValue] {
                let sv = try m.recurrentSingularValues().map(Double.init)
                var t: LuaTable = ["singular_values": .table(LuaTable(array: sv.map { .number($0) }))]
                if let hi = sv.first, let lo = sv.last {
                    t["spectral_norm"] = .number(hi)
                    t["condition_number"] = .number(lo == 0 ? .infinity : hi / lo)
                }
                // ‖WᵀW − I‖_F = √Σ(σᵢ² − 1)²: read off the singular values.
                t["orthogonality_drift"] = .number(sv.reduce(0) { $0 + ($1 * $1 - 1) * ($1 * $1 - 1) }.squareRoot())
                return [.table(t)]
            }
            return try run(model)
        }
        m.function("gradient_norms", "lab.diagnostics.gradient_norms(model): {name = ‖gradient‖} for every parameter, and total") { args in
            guard let model = args.trainable(1) else { throw LuaError.type(1, expected: "model or layer", got: args.typeName(1)) }
            func run<M: Trainable>(_ m: M) -> [LuaValue] {
                var t = LuaTable(array: [])
                var total = 0.0
                for p in m.parameters {
                    let n = Double(p.grad.norm())
                    t[p.name] = .number(n)
                    total += n * n
                }
                t["total"] = .number(total.squareRoot())
                return [.table(t)]
            }
            return run(model)
        }
        return m
    }
}

/// An optimizer as Lua holds it: one configuration, for models of either precision (the typed
/// optimizer is made on the first step).
final class LuaOptimizer: LuaObject {
    let rule: OptimizerRule
    var learningRate: Double
    let weightDecay: Double
    let clip: Double?
    let renormalize: Bool
    private var float: Optimizer<Float>?
    private var double: Optimizer<Double>?

    init(rule: OptimizerRule, options o: LuaOptionValues) throws {
        self.rule = rule
        learningRate = try o.double("lr")
        weightDecay = try o.double("weight_decay")
        let clip = try o.double("clip")
        self.clip = clip > 0 ? clip : nil
        renormalize = try o.bool("renormalize")
        do { _ = try Optimizer<Double>(rule, learningRate: learningRate, weightDecay: weightDecay) }   // validates
        catch { throw LuaError.runtime("\(o.declaration.function): \(error)") }
    }

    /// A learning rate a script sets: finite and ≥ 0.
    static func checkedLearningRate(_ lr: Double) throws -> Double {
        guard lr >= 0, lr.isFinite else { throw LuaError.runtime("the learning rate must be a finite number ≥ 0, got \(lr)") }
        return lr
    }

    private func typed<T: TensorScalar>(_: T.Type) throws -> Optimizer<T> {
        if T.self == Float.self {
            if float == nil { float = try Optimizer<Float>(rule, learningRate: learningRate, weightDecay: weightDecay) }
            return float as! Optimizer<T>
        }
        if double == nil { double = try Optimizer<Double>(rule, learningRate: learningRate, weightDecay: weightDecay) }
        return double as! Optimizer<T>
    }

    /// Updates taken so far (by whichever precision's optimizer ran).
    var steps: Int { float?.steps ?? double?.steps ?? 0 }

    func exportState<T: TensorScalar>(_ params: [(name: String, value: Tensor<T>, grad: Tensor<T>)]) -> [(name: String, tensor: AnyTensor)] {
        guard let opt = (T.self == Float.self ? float as Any? : double as Any?) as? Optimizer<T> else { return [] }
        return opt.exportState(params).map { ($0.name, AnyTensor($0.tensor)) }
    }

    func importState<T: TensorScalar>(_ state: [String: Tensor<T>], steps: Int,
                                      for params: [(name: String, value: Tensor<T>, grad: Tensor<T>)]) throws {
        try typed(T.self).importState(state, steps: steps, for: params)
    }

    /// Clip (if configured), update, renormalize (if configured). Returns the gradient norm before clipping.
    func step<M: Trainable>(_ model: M) throws -> Double {
        let opt = try typed(M.Scalar.self)
        opt.learningRate = learningRate
        let params = model.parameters
        let norm = Optimizer<M.Scalar>.clipGradientNorm(params, maxNorm: clip.map { M.Scalar($0) } ?? .infinity)
        opt.step(params)
        if renormalize { model.renormalize() }
        return Double(norm)
    }

    static let luaClass = LuaClass<LuaOptimizer>("lab.Optimizer") { c in
        c.property("lr") { .number($0.learningRate) }
        c.method("set_lr", "opt:set_lr(lr): changes the learning rate (also: opt.lr = lr)") { o, args in
            o.learningRate = try checkedLearningRate(args.number(2))
            return []
        }
        c.meta(.newindex) { args in
            let o = try args.object(1, LuaOptimizer.self)
            guard (try? args.string(2)) == "lr" else { throw LuaError.runtime("an optimizer has no settable field '\(args.typeName(2) == "string" ? try args.string(2) : "?")' (only lr)") }
            o.learningRate = try checkedLearningRate(args.number(3))
            return []
        }
        c.method("step", "opt:step(model): one update from the model's gradients (clipped to clip, reflectors renormalized after); returns the gradient norm") { o, args in
            guard let m = args.trainable(2) else { throw LuaError.type(2, expected: "model or layer", got: args.typeName(2)) }
            return [.number(try o.step(m))]
        }
        c.tostring { o in "Optimizer(\(o.rule), lr = \(o.learningRate)\(o.clip.map { ", clip = \($0)" } ?? ""))" }
    }
}
