/// The recurrent cells by name, and the one place that builds a model from a cell's name: the Lua
/// bindings (lab.models.rnn), `spectral-lab bench` and the benchmark target all come through here.
public enum Cell: String, Sendable, CaseIterable {
    /// W = UΣVᵀ, U and V products of Householder reflectors, σ in [σ* − r, σ* + r].
    case spectral
    /// W = U Vᵀ (Σ = I): orthogonal, through the same reflectors.
    case orthogonal
    /// A dense W.
    case rnn
    case lstm, gru

    /// What the cells with a parameterized or dense W take (the gated cells ignore these).
    public struct Options: Sendable {
        /// Reflectors per factor (spectral, orthogonal), at most the hidden size.
        public var reflectors: Int
        public var sigmaStar = 1.0
        public var r = 0.01
        public var initialization = DenseTransition<Float>.Initialization.gaussian
        /// The spectral and orthogonal cells' W (glorot: the authors' reflectors); for the dense
        /// cell, when set, it replaces `initialization`.
        public var matrixInitialization: MatrixInitialization?
        public var activation = Activation.relu

        public init(reflectors: Int, sigmaStar: Double = 1, r: Double = 0.01,
                    initialization: DenseTransition<Float>.Initialization = .gaussian,
                    matrixInitialization: MatrixInitialization? = nil, activation: Activation = .relu) {
            self.reflectors = reflectors
            self.sigmaStar = sigmaStar
            self.r = r
            self.initialization = initialization
            self.matrixInitialization = matrixInitialization
            self.activation = activation
        }
    }

    /// The transition h ↦ W h of this cell (nil for the gated cells, which have none on its own).
    public func transition<T: TensorScalar>(_: T.Type = T.self, hidden: Int, options o: Options,
                                            rng: inout Random) throws -> (any Transition<T>)? {
        switch self {
        case .spectral:
            let t = try SpectralTransition<T>(size: hidden, reflectors: min(o.reflectors, hidden), sigmaStar: o.sigmaStar, r: o.r, rng: &rng)
            if let i = o.matrixInitialization, i != .glorot { try t.layer.initialize(i, rng: &rng) }
            return t
        case .orthogonal:
            let t = try OrthogonalTransition<T>(size: hidden, reflectors: min(o.reflectors, hidden), rng: &rng)
            if let i = o.matrixInitialization, i != .glorot { try t.initialize(i, rng: &rng) }
            return t
        case .rnn:
            let t = try DenseTransition<T>(size: hidden, initialization: DenseTransition<T>.Initialization(rawValue: o.initialization.rawValue)!, rng: &rng)
            if let i = o.matrixInitialization {
                guard let q = try i.orthogonal(rows: hidden, cols: hidden, determinant: 1, rng: &rng) else {
                    throw TensorError.value("init \"glorot\" (reflector rows) is for the spectral and orthogonal cells")
                }
                try t.w.assign(q.converted(to: T.self))
            }
            return t
        case .lstm, .gru:
            return nil
        }
    }

    /// A model of this cell: h_t = φ(W h_{t−1} + M x_t + b) with a readout, or an LSTM or GRU.
    public func model<T: TensorScalar>(_: T.Type = T.self, input: Int, hidden: Int, output: Int,
                                       readout: ReadoutLayer<T>.Mode, options o: Options,
                                       rng: inout Random) throws -> any SequenceModel<T> {
        guard let transition: any Transition<T> = try transition(hidden: hidden, options: o, rng: &rng) else {
            return try GatedNetwork<T>(self == .lstm ? .lstm : .gru, input: input, hidden: hidden, output: output, readout: readout, rng: &rng)
        }
        return try RecurrentNetwork<T>(input: input, hidden: hidden, output: output, transition: transition,
                                       activation: o.activation, readout: readout, rng: &rng)
    }
}
