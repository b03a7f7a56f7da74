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

    static func modelsModule(_ session: LabSession) -> LuaModule {
        var m = LuaModule("models")
        m.function("mlp", "lab.models.mlp{sizes={in, h1, ..., out}, activation=\"relu\", reflectors=all, r=0.01, sigma_star=1, bias=true, dtype=\"float32\"}: an MLP of SVD-parameterized layers") { [unowned session] args in
            let o = try args.table(1)
            try LuaNumerics.checkKeys(o, ["sizes", "activation", "reflectors", "r", "sigma_star", "bias", "dtype"], 1)
            let sizes = try (o["sizes"].table?.array ?? []).map { v -> Int in
                guard let n = v.int else { throw LuaError.argument(index: 1, message: "sizes must be a list of integers") }
                return n
            }
            let activationName = o["activation"].string ?? "relu"
            guard let activation = Activation(rawValue: activationName) else {
                throw LuaError.argument(index: 1, message: "activation must be one of \(Activation.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), got \"\(activationName)\"")
            }
            let k = o["reflectors"].int
            func make<T: TensorScalar>(_: T.Type) throws -> LuaValue {
                do {
                    return .object(try SpectralMLP<T>(sizes: sizes, activation: activation,
                                                      options: .init(reflectorsU: k, reflectorsV: k, sigmaStar: o["sigma_star"].double ?? 1,
                                                                     r: o["r"].double ?? 0.01, bias: o["bias"].bool ?? true),
                                                      rng: &session.random))
                } catch let e as TensorError { throw LuaError.runtime("lab.models.mlp: \(e)") }
            }
            return [try DType(lua: o["dtype"].string ?? "float32") == .float32 ? make(Float.self) : make(Double.self)]
        }
        m.function("rnn", "lab.models.rnn{cell=\"spectral\"|\"orthogonal\"|\"rnn\", input=, hidden=, output=, readout=\"last\"|\"all\", activation=\"relu\"|\"tanh\"|\"leaky_relu\", reflectors=hidden/4, r=0.01, sigma_star=1, init=\"gaussian\"|\"identity\"|\"orthogonal\", dtype=\"float32\"}: a recurrent network h_t = φ(W h_{t−1} + M x_t + b)") { [unowned session] args in
            let o = try args.table(1)
            try LuaNumerics.checkKeys(o, ["cell", "input", "hidden", "output", "readout", "activation", "reflectors", "r",
                                          "sigma_star", "init", "dtype", "stateful", "recurrence"], 1)
            func int(_ key: String, _ d: Int? = nil) throws -> Int {
                if o[key].isNil, let d { return d }
                guard let v = o[key].int else { throw LuaError.argument(index: 1, message: "\(key) must be an integer") }
                return v
            }
            func choice<E: RawRepresentable>(_ key: String, _ d: E) throws -> E where E.RawValue == String, E: CaseIterable {
                guard let name = o[key].string else {
                    if o[key].isNil { return d }
                    throw LuaError.argument(index: 1, message: "\(key) must be a string")
                }
                guard let e = E(rawValue: name) else {
                    throw LuaError.argument(index: 1, message: "\(key) must be one of \(E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), got \"\(name)\"")
                }
                return e
            }
            let cell = o["cell"].string ?? "spectral"
            let hidden = try int("hidden")
            let input = try int("input"), output = try int("output")
            let reflectors = try int("reflectors", Swift.max(1, hidden / 4))   // the authors' default
            let r = o["r"].double ?? 0.01, sigmaStar = o["sigma_star"].double ?? 1
            // oRNN's authors use leaky ReLU; everyone else here defaults to ReLU.
            let activation = try choice("activation", cell == "orthogonal" ? Activation.leakyRelu : .relu)
            let readout = try choice("readout", RecurrentNetwork<Float>.Readout.last)
            let initialization = try choice("init", DenseTransition<Float>.Initialization.gaussian)
            let dtype = try DType(lua: o["dtype"].string ?? "float32")

            let stateful = o["stateful"].bool ?? false
            let recurrence = try choice("recurrence", RecurrentNetwork<Float>.Recurrence.materialized)
            if recurrence == .perStep && !["spectral", "orthogonal"].contains(cell) {
                throw LuaError.argument(index: 1, message: "recurrence \"per_step\" applies W through its reflectors: spectral and orthogonal cells only")
            }
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
                                                               sigmaStar: sigmaStar, r: r, rng: &session.random)
                    case "orthogonal":
                        transition = try OrthogonalTransition<T>(size: hidden, reflectors: Swift.min(reflectors, hidden), rng: &session.random)
                    case "rnn":
                        transition = try DenseTransition<T>(size: hidden, initialization: DenseTransition<T>.Initialization(rawValue: initialization.rawValue)!,
                                                            rng: &session.random)
                    case "lstm", "gru":
                        return try GatedNetwork<T>(cell == "lstm" ? .lstm : .gru, input: input, hidden: hidden, output: output,
                                                   readout: ReadoutLayer<T>.Mode(rawValue: readout.rawValue)!, rng: &session.random)
                    default:
                        throw LuaError.argument(index: 1, message: "cell must be \"spectral\", \"orthogonal\", \"rnn\", \"lstm\" or \"gru\", got \"\(cell)\"")
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

    static func lossModule() -> LuaModule {
        var m = LuaModule("loss")
        m.function("mse", "lab.loss.mse(y, target): mean squared error and its gradient with respect to y") { args in
            func run<T: TensorScalar>(_: T.Type) throws -> [LuaValue] {
                let (loss, grad) = try Loss.meanSquaredError(args.tensor(1, T.self), args.tensor(2, T.self))
                return [.number(Double(loss)), .object(grad)]
            }
            return try args.requireTensor(1) == .float32 ? run(Float.self) : run(Double.self)
        }
        m.function("cross_entropy", "lab.loss.cross_entropy(logits, labels [, {ignore=-1}]): softmax cross-entropy (mean over counted rows), its gradient, and the accuracy; labels are 1-based classes, one per row (a table or tensor)") { args in
            let ignore = try args.table(3, default: [:])["ignore"].int ?? -1
            let labels = try zeroBasedLabels(args.value(2), ignore: ignore, argument: 2)
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
    static func zeroBasedLabels(_ value: LuaValue, ignore: Int, argument i: Int) throws -> [Int] {
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

    static func optimModule() -> LuaModule {
        var m = LuaModule("optim")
        func constructor(_ name: String, _ doc: String, _ keys: [String], _ rule: @escaping (LuaTable) throws -> OptimizerRule) {
            m.function(name, doc) { args in
                let o = try args.table(1, default: [:])
                try LuaNumerics.checkKeys(o, ["lr", "weight_decay", "clip", "renormalize"] + keys, 1)
                return [.object(try LuaOptimizer(rule: rule(o), options: o))]
            }
        }
        m.function("clip_grad_norm", "lab.optim.clip_grad_norm(model, max): scales the model's gradients so their global norm is at most max; returns the norm before") { args in
            let maxNorm = try args.number(2)
            guard maxNorm > 0 else { throw LuaError.argument(index: 2, message: "max must be > 0") }
            func clip<M: Trainable>(_ m: M) -> [LuaValue] {
                [.number(Double(Optimizer<M.Scalar>.clipGradientNorm(m.parameters, maxNorm: M.Scalar(maxNorm))))]
            }
            guard let m = args.trainable(1) else { throw LuaError.type(1, expected: "model or layer", got: args.typeName(1)) }
            return clip(m)
        }
        constructor("sgd", "lab.optim.sgd{lr=0.01, momentum=0, nesterov=false, weight_decay=0, clip=nil, renormalize=true}: stochastic gradient descent", ["momentum", "nesterov"]) { o in
            .sgd(momentum: o["momentum"].double ?? 0, nesterov: o["nesterov"].bool ?? false)
        }
        constructor("rmsprop", "lab.optim.rmsprop{lr=0.01, alpha=0.99, epsilon=1e-8, weight_decay=0, clip=nil, renormalize=true}: RMSProp", ["alpha", "epsilon"]) { o in
            .rmsprop(alpha: o["alpha"].double ?? 0.99, epsilon: o["epsilon"].double ?? 1e-8)
        }
        constructor("adam", "lab.optim.adam{lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, weight_decay=0, clip=nil, renormalize=true}: Adam", ["beta1", "beta2", "epsilon"]) { o in
            .adam(beta1: o["beta1"].double ?? 0.9, beta2: o["beta2"].double ?? 0.999, epsilon: o["epsilon"].double ?? 1e-8)
        }
        return m
    }

    // MARK: lab.diagnostics

    static func diagnosticsModule() -> LuaModule {
        var m = LuaModule("diagnostics")
        m.function("grad_norms", "lab.diagnostics.grad_norms(model, {x=, y=, loss=\"mse\"|\"xent\", ignore=}): ‖∂L/∂h_t‖ for t = 1…T at the model's current parameters, with field first_last_ratio (gradients are left untouched)") { args in
            let batch = try args.table(2)
            guard case .object(let xo) = batch["x"] else { throw LuaError.argument(index: 2, message: "batch.x must be a tensor") }
            let lossName = batch["loss"].string ?? "mse"
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
                    let labels = try LuaModels.zeroBasedLabels(batch["y"], ignore: batch["ignore"].int ?? -1, argument: 2)
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

    init(rule: OptimizerRule, options o: LuaTable) throws {
        self.rule = rule
        let defaultLR: Double
        if case .adam = rule { defaultLR = 1e-3 } else { defaultLR = 0.01 }
        learningRate = o["lr"].double ?? defaultLR
        weightDecay = o["weight_decay"].double ?? 0
        clip = o["clip"].double
        renormalize = o["renormalize"].bool ?? true
        if let clip, !(clip > 0) { throw LuaError.argument(index: 1, message: "clip must be > 0") }
        _ = try Optimizer<Double>(rule, learningRate: learningRate, weightDecay: weightDecay)   // validates
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
            o.learningRate = try args.number(2)
            return []
        }
        c.meta(.newindex) { args in
            let o = try args.object(1, LuaOptimizer.self)
            guard (try? args.string(2)) == "lr" else { throw LuaError.runtime("an optimizer has no settable field '\(args.typeName(2) == "string" ? try args.string(2) : "?")' (only lr)") }
            let lr = try args.number(3)
            guard lr >= 0, lr.isFinite else { throw LuaError.runtime("lr must be a finite number ≥ 0") }
            o.learningRate = lr
            return []
        }
        c.method("step", "opt:step(model): one update from the model's gradients (clipped to clip, reflectors renormalized after); returns the gradient norm") { o, args in
            guard let m = args.trainable(2) else { throw LuaError.type(2, expected: "model or layer", got: args.typeName(2)) }
            return [.number(try o.step(m))]
        }
        c.tostring { o in "Optimizer(\(o.rule), lr = \(o.learningRate)\(o.clip.map { ", clip = \($0)" } ?? ""))" }
    }
}
