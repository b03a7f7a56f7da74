extension Transition {
    /// W for one pass, and the closure that sends ∂W back through the parameterization.
    func prepare() throws -> (w: Tensor<Scalar>, backward: (Tensor<Scalar>) throws -> Void) {
        let (w, built) = try build()
        return (w, { [self] g in try self.accumulate(gradW: g, built) })
    }
}

/// A single-layer recurrent network over sequences (T×B×input, time first):
///
///     h_t = φ(W h_{t−1} + M x_t + b),  h_0 = 0,    y = R h_T + c  (readout "last")
///                                                 y_t = R h_t + c (readout "all", T×B×output)
///
/// W comes from a `Transition` (spectral, orthogonal or dense), built once per forward pass. The
/// inputs of all T steps are projected in one GEMM; each step is one GEMM on the whole batch; the
/// backward pass (full backpropagation through time) collects δ_t for every step and forms
/// ∂W = Σ δ_t h_{t−1}ᵀ, ∂M and ∂x in one GEMM each.
public final class RecurrentNetwork<T: TensorScalar>: SequenceModel {
    public typealias Readout = ReadoutLayer<T>.Mode

    public let inputSize: Int, hiddenSize: Int, outputSize: Int
    public let activation: Activation
    public let readout: ReadoutLayer<T>
    public let transition: any Transition<T>
    public let inputWeight: Tensor<T>, inputBias: Tensor<T>
    let gradInputWeight: Tensor<T>, gradInputBias: Tensor<T>

    /// ‖∂L/∂h_t‖ (over the batch) for t = 1…T, from the last backward pass: the gradient's profile
    /// through time, which vanishes or explodes for a badly conditioned W.
    public private(set) var hiddenGradientNorms: [T] = []
    /// How W h_{t−1} is computed: with W built once per pass (GEMMs), or through W's reflectors at
    /// every step (the paper's O(n·k) path; spectral and orthogonal cells only). Same results.
    public enum Recurrence: String, Sendable, CaseIterable { case materialized, perStep = "per_step" }
    public var recurrence = Recurrence.materialized {
        didSet { if recurrence == .perStep && transition.stepper() == nil { recurrence = .materialized } }
    }

    public var carriesState = false
    private var carried: Tensor<T>?
    private let workspace = Workspace<T>()
    public func resetState() { carried = nil }
    public var carriedState: [Tensor<T>]? {
        get { carried.map { [$0.copy()] } }
        set { carried = newValue?.first?.copy() }
    }

    public init(input: Int, hidden: Int, output: Int, transition: any Transition<T>, activation: Activation,
                readout: Readout, rng: inout Random) throws {
        guard input >= 1, hidden >= 1, output >= 1 else {
            throw TensorError.value("a recurrent network needs input, hidden and output ≥ 1, got \(input), \(hidden), \(output)")
        }
        guard transition.size == hidden else {
            throw TensorError.value("the transition is \(transition.size)×\(transition.size) but hidden = \(hidden)")
        }
        inputSize = input
        hiddenSize = hidden
        outputSize = output
        self.transition = transition
        self.activation = activation
        inputWeight = rng.glorotUniform(hidden, input)
        inputBias = Tensor(zeros: [hidden])
        gradInputWeight = Tensor(zeros: inputWeight.shape)
        gradInputBias = Tensor(zeros: [hidden])
        self.readout = ReadoutLayer(hidden: hidden, output: output, mode: readout, rng: &rng)
    }

    /// Every parameter with its gradient: the transition's under "recurrent.", then input and readout.
    public var parameters: [Parameter<T>] {
        transition.parameters.map { ("recurrent.\($0.name)", $0.value, $0.grad) }
            + [("input.weight", inputWeight, gradInputWeight), ("input.bias", inputBias, gradInputBias)]
            + readout.parameters
    }

    public var cellName: String {
        switch transition {
        case is SpectralTransition<T>: return "spectral"
        case is OrthogonalTransition<T>: return "orthogonal"
        default: return "rnn"
        }
    }

    public func recurrentSingularValues() throws -> [T] { try transition.singularValues() }

    // MARK: Forward

    private struct Cache {
        let x: Tensor<T>              // T×B×input
        let states: Tensor<T>         // (T+1)×B×hidden: h_0 … h_T
        let pre: Tensor<T>            // T×B×hidden: pre-activations
        let w: Tensor<T>
        let backwardW: (Tensor<T>) throws -> Void
        /// The per-step path: the stepper and each step's (y, a) for its backward.
        let stepper: ReflectorStepper<T>?
        let steps: [(y: Tensor<T>, a: Tensor<T>)]
    }
    private var cache: Cache?

    public func forward(_ x: Tensor<T>) throws -> Tensor<T> {
        let h0 = carriesState && carried?.shape == [x.rank == 3 ? x.shape[1] : -1, hiddenSize] ? carried : nil
        return try forward(x, initialState: h0)
    }

    /// The forward pass from a given h_0 (B×hidden; nil: zeros). The gradient stops at h_0.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>, initialState h0: Tensor<T>?) throws -> Tensor<T> {
        guard x.rank == 3, x.shape[2] == inputSize, x.shape[0] >= 1 else {
            throw TensorError.shape("expected a sequence batch T×B×\(inputSize) (time first), got \(x.shapeDescription)")
        }
        let (steps, batch, n) = (x.shape[0], x.shape[1], hiddenSize)
        let stepper = recurrence == .perStep ? transition.stepper() : nil
        let (w, backwardW): (Tensor<T>, (Tensor<T>) throws -> Void) = stepper == nil ? try transition.prepare() : (Tensor<T>(zeros: [0]), { _ in })
        var stepped: [(y: Tensor<T>, a: Tensor<T>)] = []
        // All input projections at once: pre = X Mᵀ + b, then each step adds h_{t−1} Wᵀ.
        let pre = workspace.buffer("pre", [steps, batch, n])          // overwritten by the projection GEMM
        let rows = steps * batch
        if rows > 0 {
            T.gemm(false, true, rows, n, inputSize, 1, x.data, inputSize, inputWeight.data, inputSize, 0, pre.data, n)
            Tensor.addRows(inputBias, to: pre.data, rows: rows)
        }
        let states = workspace.buffer("states", [steps + 1, batch, n])  // h_1…h_T overwritten below
        let plane = batch * n
        if let h0 {
            guard h0.shape == [batch, n] else { throw TensorError.shape("initial state must be \(batch)×\(n), got \(h0.shapeDescription)") }
            states.data.update(from: h0.data, count: plane)
        } else {
            states.data.update(repeating: 0, count: plane)
        }
        for t in 0 ..< steps where batch > 0 {
            let p = pre.data + t * plane
            if let stepper {
                let h = Tensor<T>(zeros: [batch, n])
                h.data.update(from: states.data + t * plane, count: plane)
                let (y, a) = try stepper.forward(h)
                T.axpy(plane, 1, y.data, 1, p, 1)
                stepped.append((y, a))
            } else {
                T.gemm(false, true, batch, n, n, 1, states.data + t * plane, n, w.data, n, 1, p, n)
            }
            activation.apply(p, into: states.data + (t + 1) * plane, count: plane)
        }
        cache = Cache(x: x, states: states, pre: pre, w: w, backwardW: backwardW, stepper: stepper, steps: stepped)
        if carriesState {
            let last = Tensor<T>(zeros: [batch, n])
            last.data.update(from: states.data + steps * plane, count: plane)
            carried = last
        }
        return readout.forward(states)
    }

    // MARK: Backward

    /// Given ∂L/∂y for the last forward pass, adds every parameter gradient and returns ∂L/∂x.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let c = cache else { throw TensorError.value("backward called before forward") }
        let (steps, batch, n) = (c.x.shape[0], c.x.shape[1], hiddenSize)
        let plane = batch * n, rows = steps * batch
        // ∂L/∂h_t from the readout, for t = 1…T. With readout "last" only the slot of h_T is written:
        // the slots before it (t < unread) are overwritten below instead of added to.
        let gradStates = try readout.backward(gradOutput, c.states, clearing: false)
        let unread = readout.mode == .last ? steps - 1 : 0
        // Backwards through time: ∂L/∂h_t = readout part + δ_{t+1} W; δ_t = ∂L/∂h_t ⊙ φ'(pre_t).
        let delta = workspace.buffer("delta", [steps, batch, n])      // every step writes its δ
        var norms = [T](repeating: 0, count: steps)
        for t in Swift.stride(from: steps - 1, through: 0, by: -1) where batch > 0 {
            let g = gradStates.data + t * plane
            if t + 1 < steps, c.stepper == nil {
                T.gemm(false, false, batch, n, n, 1, delta.data + (t + 1) * plane, n, c.w.data, n, t < unread ? 0 : 1, g, n)
            }
            norms[t] = T.dot(plane, g, 1, g, 1).squareRoot()
            let d = delta.data + t * plane, p = c.pre.data + t * plane, h = c.states.data + (t + 1) * plane
            activation.backward(g, pre: p, out: h, into: d, count: plane)
            if let stepper = c.stepper {
                // This step's reflector gradients, and ∂L/∂h_{t−1} += δ_t W, through the reflectors.
                let dt = Tensor<T>(zeros: [batch, n])
                dt.data.update(from: d, count: plane)
                let dh = try stepper.backward(delta: dt, y: c.steps[t].y, a: c.steps[t].a)
                if t > 0 {
                    let previous = gradStates.data + (t - 1) * plane
                    if t - 1 < unread { previous.update(from: dh.data, count: plane) } else { T.axpy(plane, 1, dh.data, 1, previous, 1) }
                }
            }
        }
        hiddenGradientNorms = norms
        let gradX = Tensor<T>(zeros: c.x.shape)
        if rows > 0 {
            // ∂W = Σ_t δ_tᵀ h_{t−1}: the deltas of all steps against the states h_0…h_{T−1}, one GEMM.
            if c.stepper == nil {
                let gradW = Tensor<T>(zeros: [n, n])
                T.gemm(true, false, n, n, rows, 1, delta.data, n, c.states.data, n, 0, gradW.data, n)
                try c.backwardW(gradW)
            }
            T.gemm(true, false, n, inputSize, rows, 1, delta.data, n, c.x.data, inputSize, 1, gradInputWeight.data, inputSize)
            Tensor.addColumnSums(of: delta.data, rows: rows, into: gradInputBias)
            T.gemm(false, false, rows, inputSize, n, 1, delta.data, n, inputWeight.data, inputSize, 0, gradX.data, inputSize)
        }
        return gradX
    }

    public func renormalize() { transition.renormalize() }
}
