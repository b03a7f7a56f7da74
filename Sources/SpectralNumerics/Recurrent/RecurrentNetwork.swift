extension Transition {
    /// W for one pass, the closure that sends ∂W back through the parameterization, and how many
    /// numbers that backward keeps (the build's tape).
    func prepare() throws -> (w: Tensor<Scalar>, backward: (Tensor<Scalar>) throws -> Void, tape: Int) {
        let (w, built) = try build()
        return (w, { [self] g in try self.accumulate(gradW: g, built) }, tapeNumbers(built))
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

    /// The numbers the last forward's build of W keeps for the backward pass (the spectral and
    /// orthogonal cells' reflector-product tapes; 0 for a dense W): activations of the
    /// parameterization, as the states are the recurrence's.
    public private(set) var parameterizationTapeNumbers = 0
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
        let states: Tensor<T>         // (T+1)×B×hidden: h_0 … h_T (φ' comes from h: no pre-activations kept)
        let w: Tensor<T>
        let backwardW: (Tensor<T>) throws -> Void
        /// The per-step path: the stepper and each step's (y, a) for its backward.
        let stepper: ReflectorStepper<T>?
        let steps: [(y: Tensor<T>, a: Tensor<T>)]
    }
    private var cache: Cache?

    public func forward(_ x: Tensor<T>) throws -> Tensor<T> {
        try forward(x, initialState: startState(for: x))
    }

    private func startState(for x: Tensor<T>) -> Tensor<T>? {
        carriesState && carried?.shape == [x.rank == 3 ? x.shape[1] : -1, hiddenSize] ? carried : nil
    }

    private func check(_ x: Tensor<T>, _ h0: Tensor<T>?) throws {
        guard x.rank == 3, x.shape[2] == inputSize, x.shape[0] >= 1 else {
            throw TensorError.shape("expected a sequence batch T×B×\(inputSize) (time first), got \(x.shapeDescription)")
        }
        if let h0, h0.shape != [x.shape[1], hiddenSize] {
            throw TensorError.shape("initial state must be \(x.shape[1])×\(hiddenSize), got \(h0.shapeDescription)")
        }
    }

    /// Steps `count` steps from the state in planes[0] (B×n each), writing h_1…h_count into
    /// planes[1…count]. With W materialized, the batch's parts go through all the steps at once, one
    /// per core (BatchParallel), each step on a part's rows while they are in cache: h_t = M x_t + b,
    /// then h_t += W h_{t−1}, then φ in place. The per-step path projects every step's input in one
    /// GEMM first, then steps the whole batch through the reflectors, returning each step's (y, a)
    /// when `keep` (for its backward).
    private func advance(_ x: UnsafePointer<T>, steps count: Int, batch: Int, planes: UnsafeMutablePointer<T>,
                         w: Tensor<T>, stepper: ReflectorStepper<T>?, keep: Bool) throws -> [(y: Tensor<T>, a: Tensor<T>)] {
        let n = hiddenSize, input = inputSize, plane = batch * n, rows = count * batch
        var stepped: [(y: Tensor<T>, a: Tensor<T>)] = []
        guard rows > 0 else { return stepped }
        guard let stepper else {
            let narrow = NarrowInput(weight: inputWeight), step = StepMatrix(w, transposed: true)
            try BatchParallel.forEachPart(batch: batch) { _, part in
                let size = part.count * n
                for t in 0 ..< count {
                    let hPrev = planes + t * plane + part.lowerBound * n, h = hPrev + plane
                    let xt = x + (t * batch + part.lowerBound) * input
                    if let narrow {
                        narrow.project(xt, rows: part.count, bias: inputBias.data, into: h)
                    } else {
                        T.partGemm(false, true, part.count, n, input, 1, xt, input, inputWeight.data, input, 0, h, n)
                        Tensor.addRows(inputBias.data, count: n, to: h, rows: part.count)
                    }
                    step.multiply(hPrev, rows: part.count, beta: 1, into: h)
                    activation.apply(h, into: h, count: size)
                }
            }
            return stepped
        }
        T.gemm(false, true, rows, n, input, 1, x, input, inputWeight.data, input, 0, planes + plane, n)
        Tensor.addRows(inputBias, to: planes + plane, rows: rows)
        for t in 0 ..< count {
            let hPrev = planes + t * plane, h = planes + (t + 1) * plane
            let hp = Tensor<T>(zeros: [batch, n])
            hp.data.update(from: hPrev, count: plane)
            let (y, a) = try stepper.forward(hp)
            T.axpy(plane, 1, y.data, 1, h, 1)
            if keep { stepped.append((y, a)) }
            activation.apply(h, into: h, count: plane)
        }
        return stepped
    }

    /// The forward pass from a given h_0 (B×hidden; nil: zeros). The gradient stops at h_0.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>, initialState h0: Tensor<T>?) throws -> Tensor<T> {
        try check(x, h0)
        let (steps, batch, n) = (x.shape[0], x.shape[1], hiddenSize)
        let stepper = recurrence == .perStep ? transition.stepper() : nil
        // The last pass's tape goes first: its W build (a WY tape per factor, 17 MB at n = k = 512)
        // is then free for this build to record over, instead of a second one beside it.
        cache = nil
        let (w, backwardW, tape): (Tensor<T>, (Tensor<T>) throws -> Void, Int) = stepper == nil ? try transition.prepare() : (Tensor<T>(zeros: [0]), { _ in }, 0)
        let states = workspace.buffer("states", [steps + 1, batch, n])  // every slot written below
        let plane = batch * n
        if let h0 { states.data.update(from: h0.data, count: plane) } else { states.data.update(repeating: 0, count: plane) }
        let stepped = try advance(x.data, steps: steps, batch: batch, planes: states.data, w: w, stepper: stepper, keep: true)
        cache = Cache(x: x, states: states, w: w, backwardW: backwardW, stepper: stepper, steps: stepped)
        parameterizationTapeNumbers = tape
        if carriesState { carried = Tensor(shape: [batch, n], copying: states.data + steps * plane) }
        return readout.forward(states)
    }

    /// `forward` without the tape: the steps run in chunks of a few steps through one small buffer
    /// (the chunk's last state carried into the next chunk's slot 0), so memory stays at a few
    /// planes whatever T is. The GEMMs see the same operands row for row, so the outputs are
    /// forward's. The last forward's tape (and a backward after it) are untouched.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func predict(_ x: Tensor<T>) throws -> Tensor<T> {
        let h0 = startState(for: x)
        try check(x, h0)
        let (steps, batch, n) = (x.shape[0], x.shape[1], hiddenSize)
        let stepper = recurrence == .perStep ? transition.stepper() : nil
        let w = stepper == nil ? try transition.build().0 : Tensor<T>(zeros: [0])
        let plane = batch * n, chunk = RecurrentNetwork.chunkSteps(plane: plane, steps: steps)
        let planes = workspace.buffer("predict", [chunk + 1, batch, n])
        if let h0 { planes.data.update(from: h0.data, count: plane) } else { planes.data.update(repeating: 0, count: plane) }
        let y = Tensor<T>(zeros: readout.outputShape(steps: steps, batch: batch))
        for start in Swift.stride(from: 0, to: steps, by: chunk) {
            let count = Swift.min(chunk, steps - start)
            _ = try advance(x.data + start * batch * inputSize, steps: count, batch: batch, planes: planes.data,
                            w: w, stepper: stepper, keep: false)
            if readout.mode == .all { readout.project(planes.data + plane, rows: count * batch, into: y.data + start * batch * outputSize) }
            planes.data.update(from: planes.data + count * plane, count: plane)   // h at the chunk's end → slot 0
        }
        if readout.mode == .last { readout.project(planes.data, rows: batch, into: y.data) }
        if carriesState { carried = Tensor(shape: [batch, n], copying: planes.data) }
        return y
    }

    /// Steps per chunk of an evaluation pass: about a million numbers of states at a time.
    static func chunkSteps(plane: Int, steps: Int) -> Int { Swift.max(1, Swift.min(steps, (1 << 20) / Swift.max(plane, 1))) }

    // MARK: Backward

    /// Given ∂L/∂y for the last forward pass, adds every parameter gradient and returns ∂L/∂x.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let c = cache else { throw TensorError.value("backward called before forward") }
        let (steps, batch, n) = (c.x.shape[0], c.x.shape[1], hiddenSize)
        let plane = batch * n, rows = steps * batch
        // ∂L/∂h_t from the readout, for t = 1…T. With readout "last" only the slot of h_T is written:
        // the slots before it (t < unread) are overwritten below instead of added to. Each slot then
        // becomes δ_t in place, so the deltas need no buffer of their own.
        let delta = try readout.backward(gradOutput, c.states, clearing: false)
        let unread = readout.mode == .last ? steps - 1 : 0
        // Backwards through time: ∂L/∂h_t = readout part + δ_{t+1} W; δ_t = ∂L/∂h_t ⊙ φ'(pre_t).
        let gradX = Tensor<T>(zeros: c.x.shape)
        guard rows > 0 else { hiddenGradientNorms = [T](repeating: 0, count: steps); return gradX }
        if let stepper = c.stepper {
            var norms = [T](repeating: 0, count: steps)
            for t in Swift.stride(from: steps - 1, through: 0, by: -1) {
                let d = delta.data + t * plane
                norms[t] = T.dot(plane, d, 1, d, 1).squareRoot()
                activation.backward(d, out: c.states.data + (t + 1) * plane, into: d, count: plane)
                // This step's reflector gradients, and ∂L/∂h_{t−1} += δ_t W, through the reflectors.
                let dt = Tensor<T>(shape: [batch, n], copying: d)
                let dh = try stepper.backward(delta: dt, y: c.steps[t].y, a: c.steps[t].a)
                if t > 0 {
                    let previous = d - plane
                    if t - 1 < unread { previous.update(from: dh.data, count: plane) } else { T.axpy(plane, 1, dh.data, 1, previous, 1) }
                }
            }
            hiddenGradientNorms = norms
            // ∂M = Σ_t δ_tᵀ x_t, ∂b = Σ_t δ_t, ∂x = δ M: one GEMM each over all steps.
            T.gemm(true, false, n, inputSize, rows, 1, delta.data, n, c.x.data, inputSize, 1, gradInputWeight.data, inputSize)
            Tensor.addColumnSums(of: delta.data, rows: rows, into: gradInputBias)
            T.gemm(false, false, rows, inputSize, n, 1, delta.data, n, inputWeight.data, inputSize, 0, gradX.data, inputSize)
            return gradX
        }
        // The batch's parts backwards through all the steps at once, one per core. Once δ_t of a
        // part is final, its share of every gradient is taken while it is in cache: ∂W += δ_tᵀ h_{t−1},
        // ∂M += δ_tᵀ x_t, ∂b += Σ_rows δ_t, ∂x_t = δ_t M. Each part sums into its own ∂W, ∂M, ∂b and
        // its rows' squares of ∂L/∂h_t; the parts' sums are added in part order after.
        let parts = BatchParallel.parts(batch: batch), input = inputSize
        let squares = Tensor<T>(zeros: [parts, steps])
        let partGrads = n * n + n * input + n
        let partial = workspace.zeros("partial gradients", [parts, partGrads])
        // A narrow input's part sums ∂Mᵀ (input×n) instead of ∂M.
        let narrow = NarrowInput(weight: inputWeight), step = StepMatrix(c.w, transposed: false)
        try BatchParallel.forEachPart(batch: batch) { p, part in
            let size = part.count * n, sums = squares.data + p * steps
            let gW = partial.data + p * partGrads, gM = gW + n * n, gb = gM + n * input
            for t in Swift.stride(from: steps - 1, through: 0, by: -1) {
                let d = delta.data + t * plane + part.lowerBound * n
                if t + 1 < steps {
                    step.multiply(d + plane, rows: part.count, beta: t < unread ? 0 : 1, into: d)
                }
                sums[t] = T.partDot(size, d, d)
                let hPrev = c.states.data + t * plane + part.lowerBound * n
                activation.backward(d, out: hPrev + plane, into: d, count: size)
                let xt = c.x.data + (t * batch + part.lowerBound) * input
                let dx = gradX.data + (t * batch + part.lowerBound) * input
                T.partGemm(true, false, n, n, part.count, 1, d, n, hPrev, n, 1, gW, n)
                if let narrow {
                    narrow.backward(d, xt, rows: part.count, gradTransposed: gM, gradBias: gb, gradX: dx)
                } else {
                    T.partGemm(true, false, n, input, part.count, 1, d, n, xt, input, 1, gM, input)
                    Tensor.addColumnSums(of: d, rows: part.count, leading: n, into: gb, count: n)
                    T.partGemm(false, false, part.count, input, n, 1, d, n, inputWeight.data, input, 0, dx, input)
                }
            }
        }
        hiddenGradientNorms = BatchParallel.norms(fromPartSquares: squares)
        let gradW = Tensor<T>(zeros: [n, n])
        for p in 0 ..< parts {
            let gW = partial.data + p * partGrads
            T.axpy(n * n, 1, gW, 1, gradW.data, 1)
            if let narrow { narrow.addTransposed(gW + n * n, into: gradInputWeight.data) } else { T.axpy(n * input, 1, gW + n * n, 1, gradInputWeight.data, 1) }
            T.axpy(n, 1, gW + n * n + n * input, 1, gradInputBias.data, 1)
        }
        try c.backwardW(gradW)
        return gradX
    }

    public func renormalize() { transition.renormalize() }
}
