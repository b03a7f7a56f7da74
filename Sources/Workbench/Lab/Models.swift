import LuaBridge
import SpectralNumerics

// lab.models: recurrent models and SVD MLPs for Lua, and what the other namespaces (Loss, Optim,
// Diagnostics, Checkpoint) share about models: Trainable, the classes, the options a model declares.


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
            ?? (try? object(i, MLP<Float>.self)) ?? (try? object(i, MLP<Double>.self))
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

extension MLP: LuaObject {
    public static var luaClass: LuaClass<MLP<T>> {
        T.self == Float.self ? floatMLPClass as! LuaClass<MLP<T>> : doubleMLPClass as! LuaClass<MLP<T>>
    }
}
let floatMLPClass = LuaClass<MLP<Float>>("lab.MLP<float32>", declareMLPClass)
let doubleMLPClass = LuaClass<MLP<Double>>("lab.MLP<float64>", declareMLPClass)

private func declareMLPClass<T: TensorScalar>(_ c: LuaClass<MLP<T>>) {
    c.nativeSize { m in m.parameters.reduce(0) { $0 + 2 * $1.value.byteCount } }
    c.tostring { m in
        "MLP(\(m.sizes.map(String.init).joined(separator: " → ")), \(m.kind == .svd ? "SVD" : "dense") layers, \(m.activation.rawValue), \(m.parameterCount) parameters, \(T.dtypeName))"
    }
    c.method("forward", "mlp:forward(x): x is B×in; returns B×out") { m, args in
        let x = try args.tensor(2, T.self)
        // Each layer keeps its input and pre-activation for backward.
        try args.reserveActivations(rows: x.shape.first ?? 1, widths: m.layers.map { 2 * $0.outFeatures }, T.self, of: "the MLP's forward")
        return [.object(try m.forward(x))]
    }
    c.method("backward", "mlp:backward(dy): adds the parameter gradients and returns dx") { m, args in
        [.object(try m.backward(args.tensor(2, T.self)))]
    }
    c.property("layers") { .string($0.kind.rawValue) }
    c.method("parameters", "mlp:parameters(): {layerK.u=, layerK.v=, layerK.p=, layerK.bias=} (dense layers: layerK.weight=, layerK.bias=)") { m, _ in [parameterTable(m.parameters, grads: false)] }
    c.method("gradients", "mlp:gradients(): the accumulated gradients, same names") { m, _ in [parameterTable(m.parameters, grads: true)] }
    c.method("zero_grad", "mlp:zero_grad(): sets the gradients to zero") { m, _ in m.zeroGrad(); return [] }
    c.method("parameter_count", "mlp:parameter_count(): the number of trainable numbers") { m, _ in [.integer(m.parameterCount)] }
    c.method("renormalize", "mlp:renormalize(): every layer's reflector rows to unit norm") { m, _ in m.renormalize(); return [] }
    LuaModelFiles.declareSave(c, "mlp")
    LuaModelFiles.declareExportTorch(c, "mlp")
    c.method("layer", "mlp:layer(k): the k-th layer (1-based), SVD or dense, for its spectrum and factors") { m, args in
        let k = try args.integer(2)
        guard k >= 1 && k <= m.layers.count else { throw LuaError.argument(index: 1, message: "layer \(k) out of range 1…\(m.layers.count)") }
        return [.object(m.layers[k - 1] as! any LuaObject)]
    }
    c.method("grad_norms", "mlp:grad_norms(): ‖∂L/∂h_k‖ for the hidden layers k = 1…depth from the last backward, with field first_last_ratio") { m, _ in
        [gradNormTable(m.hiddenGradientNorms)]
    }
}

func parameterTable<T>(_ ps: [Parameter<T>], grads: Bool) -> LuaValue {
    var t = LuaTable(array: [])
    for p in ps { t[p.name] = .object(grads ? p.grad : p.value) }
    return .table(t)
}

private func declareSequenceModelClass<M: SequenceModel & Trainable & LuaObject>(_ c: LuaClass<M>) {
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
        let x = try args.tensor(2, T.self)
        // What BPTT keeps per step: at most eight B×hidden tensors (an LSTM's gates, cell and
        // state), and the outputs.
        if x.rank == 3 {
            try args.reserveActivations(rows: x.shape[0] * x.shape[1], widths: [8 * m.hiddenSize, m.outputSize], T.self, of: "the forward over \(x.shape[0]) steps")
        }
        return [.object(try m.forward(x))]
    }
    c.method("predict", "model:predict(x): model:forward's outputs, keeping nothing for backward (for evaluation: a few steps in memory instead of all T; the last forward's tape stays as it was)") { m, args in
        let x = try args.tensor(2, T.self)
        if x.rank == 3 {
            try args.reserveActivations(rows: x.shape[1], widths: [8 * m.hiddenSize, x.shape[0] &* m.outputSize], T.self, of: "the evaluation over \(x.shape[0]) steps")
        }
        return [.object(try m.predict(x))]
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
    LuaModelFiles.declareSave(c, "model")
    LuaModelFiles.declareExportTorch(c, "model")
    LuaModelFiles.declareAssign(c, "model", doc: "sets the recurrent W: factored into the spectral cell's UΣVᵀ (σ clipped into its band with a warning, an error when strict) or the orthogonal cell's reflectors (W orthogonal, of the determinant its reflectors reach), copied into a dense one") { m, w, strict in
        guard let rnn = m as? RecurrentNetwork<T> else { throw TensorError.value("\(m.cellName == "lstm" ? "an LSTM" : "a GRU") has no single W to set (its gates' matrices are input.weight and recurrent.weight)") }
        let band = (rnn.transition as? SpectralTransition<T>).map { Double($0.layer.sigmaStar - $0.layer.r) ... Double($0.layer.sigmaStar + $0.layer.r) } ?? 1 ... 1
        return (try rnn.assignRecurrent(w, strict: strict), band)
    }
    c.method("grad_norms", "model:grad_norms(): ‖∂L/∂h_t‖ for t = 1…T from the last backward, with field first_last_ratio") { m, _ in
        [gradNormTable(m.hiddenGradientNorms)]
    }
}

/// {‖∂L/∂h_1‖, …, ‖∂L/∂h_T‖, first_last_ratio = ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖}.
func gradNormTable<T: TensorScalar>(_ norms: [T]) -> LuaValue {
    var t = LuaTable(array: norms.map { .number(Double($0)) })
    if let first = norms.first, let last = norms.last {
        t["first_last_ratio"] = .number(last == 0 ? (first == 0 ? .nan : .infinity) : Double(first / last))
    }
    return .table(t)
}

enum LuaModels {
    static func install(into lab: inout LuaModule, session: LabSession) {
        lab.module(checkpointModule(session))
        var models = modelsModule(session)
        LuaModelFiles.install(into: &models, session: session)
        lab.module(models)
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
        .init("layers", .choice(MLP<Float>.Layers.allCases.map(\.rawValue)), default: "svd", help: "SVD-parameterized layers, or dense ones of the same shapes"),
        .init("activation", .choice(Activation.allCases.map(\.rawValue)), default: "relu", help: "between layers"),
        .init("reflectors", .integer(1 ... maxWidth), defaultText: "all", help: "Householder reflectors per factor (capped at each side's size)",
              only: ("layers", ["svd"])),
        .init("r", .number(0, .greatestFiniteMagnitude), default: 0.01, help: "singular values stay in [sigma_star − r, sigma_star + r]; r ≤ sigma_star",
              only: ("layers", ["svd"])),
        .init("sigma_star", .number(0, .greatestFiniteMagnitude, exclusiveLow: true), default: 1, help: "centre of the singular-value band",
              only: ("layers", ["svd"])),
        .init("bias", .boolean, default: true, help: "a bias per layer"),
        .init("init", .choice(mlpInitializations.svd + mlpInitializations.dense.filter { !mlpInitializations.svd.contains($0) }), defaultText: "glorot (svd), kaiming (dense)",
              help: "SVD layers: W = σ*·Q with haar, henaff, cayley (square layers) or identity; glorot: the authors' reflectors. Dense layers: kaiming (N(0, 2/in)), glorot (uniform), torch (nn.Linear's U(±1/√in)), haar (orthogonal)"),
        dtypeOption,
    ])
    static let mlpInitializations = (svd: MatrixInitialization.allCases.map(\.rawValue), dense: DenseLinear<Float>.Initialization.allCases.map(\.rawValue))

    static let cells = Cell.allCases.map(\.rawValue)
    static let initializations = ["glorot", "haar", "henaff", "cayley", "identity", "gaussian", "orthogonal"]

    /// The `init` option as the cell takes it: a dense W's own initializations, or a matrix one.
    static func initialization(_ o: LuaOptionValues, cell: String) throws -> (DenseTransition<Float>.Initialization, MatrixInitialization?) {
        guard o.isGiven("init") else { return (.gaussian, nil) }
        let name = try o.string("init")
        if cell == "rnn" {
            switch name {
            case "glorot": throw LuaError.runtime("bad option 'init' to '\(o.declaration.function)' (glorot sets reflector rows: a dense rnn takes gaussian, orthogonal, haar, identity, henaff or cayley)")
            case "haar": return (.orthogonal, nil)
            default:
                if let dense = DenseTransition<Float>.Initialization(rawValue: name) { return (dense, nil) }
                return (.gaussian, MatrixInitialization(rawValue: name))
            }
        }
        guard let m = MatrixInitialization(rawValue: name) else {
            throw LuaError.runtime("bad option 'init' to '\(o.declaration.function)' (\(name) is a dense rnn's: the \(cell) cell takes glorot, haar, henaff, cayley or identity)")
        }
        return (.gaussian, m)
    }
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
        .init("init", .choice(initializations), defaultText: "glorot; gaussian for rnn",
              help: "initial W: glorot (the authors' reflectors), haar, henaff, cayley, identity (docs/interop.md); a dense rnn: gaussian, orthogonal (= haar), identity, henaff, cayley",
              only: ("cell", ["spectral", "orthogonal", "rnn"])),
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
            guard let n = Memory.product([8 * dtype.size, a, b]), case let (sum, false) = total.addingReportingOverflow(n) else {
                throw LuaError.runtime("\(what) is too large (its size overflows)")
            }
            total = sum
        }
        try Memory.reserve(total, for: what, state: session.state)
    }

    static func modelsModule(_ session: LabSession) -> LuaModule {
        var m = LuaModule("models")
        m.function("mlp", "lab.models.mlp{sizes={in, h1, ..., out}, layers=\"svd\", ...}: an MLP of SVD-parameterized layers, or of dense ones", options: mlpOptions) { [unowned session] _, o in
            let sizes = try o.table("sizes").array.map { $0.int! }
            let activation = try o.choice("activation", Activation.self)
            let layers = try o.choice("layers", MLP<Float>.Layers.self)
            let initialization = o.isGiven("init") ? try o.string("init") : layers == .svd ? "glorot" : "kaiming"
            let allowed = layers == .svd ? mlpInitializations.svd : mlpInitializations.dense
            guard allowed.contains(initialization) else {
                throw LuaError.runtime("bad option 'init' to 'lab.models.mlp' (\(layers.rawValue) layers take \(allowed.joined(separator: ", ")), got \(initialization))")
            }
            if layers == .svd { try checkBand(o) }
            let dtype = try DType(lua: o.string("dtype"))
            // haar draws and factors a max(in, out)² Gaussian for each layer.
            let shapes = Array(zip(sizes, sizes.dropFirst()))
            let drawn = initialization == "haar" ? shapes.map { (Swift.max($0, $1), Swift.max($0, $1)) } : []
            try reserveModel(shapes + drawn, dtype: dtype, what: "an MLP \(sizes)\(drawn.isEmpty ? "" : " with init haar")", session: session)
            func make<T: TensorScalar>(_: T.Type) throws -> LuaValue {
                do {
                    guard layers == .svd else {
                        return .object(try MLP<T>(sizes: sizes, activation: activation, dense: DenseLinear<T>.Initialization(rawValue: initialization)!,
                                                  bias: o.bool("bias"), rng: &session.random))
                    }
                    let k = try o.optionalInt("reflectors")
                    let mlp = try MLP<T>(sizes: sizes, activation: activation,
                                         options: .init(reflectorsU: k, reflectorsV: k, sigmaStar: o.double("sigma_star"),
                                                        r: o.double("r"), bias: o.bool("bias")),
                                         rng: &session.random)
                    let matrix = MatrixInitialization(rawValue: initialization)!
                    if matrix != .glorot { for layer in mlp.svdLayers! { try layer.initialize(matrix, rng: &session.random) } }
                    return .object(mlp)
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
            let (dense, matrix) = try initialization(o, cell: cell)
            let options = Cell.Options(reflectors: reflectors, sigmaStar: try o.double("sigma_star"), r: try o.double("r"),
                                       initialization: dense, matrixInitialization: matrix, activation: activation)
            func make<T: TensorScalar>(_: T.Type) throws -> LuaValue {
                let model: any SequenceModel<T>
                do {
                    model = try o.choice("cell", Cell.self).model(T.self, input: input, hidden: hidden, output: output,
                                                                   readout: ReadoutLayer<T>.Mode(rawValue: readout.rawValue)!,
                                                                   options: options, rng: &session.random)
                } catch let e as TensorError { throw LuaError.runtime("lab.models.rnn: \(e)") }
                model.carriesState = stateful
                (model as? RecurrentNetwork<T>)?.recurrence = RecurrentNetwork<T>.Recurrence(rawValue: recurrence.rawValue)!
                return .object(model as! any LuaObject)
            }
            return [dtype == .float32 ? try make(Float.self) : try make(Double.self)]
        }
        return m
    }
}
