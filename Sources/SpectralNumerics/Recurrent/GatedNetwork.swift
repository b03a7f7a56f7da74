/// The gated baselines, LSTM and GRU (PyTorch's gate conventions), over sequences T×B×input with
/// the same readouts as `RecurrentNetwork`. The batch's parts run on a core each (BatchParallel);
/// each step is one GEMM with the input weights and one with the recurrent weights on a part's
/// rows; the backward pass writes every step's gate deltas
/// over that step's gate activations and forms the weight gradients from them in one GEMM each
/// (the GRU's recurrent ones in two: its candidate's deltas differ between the two parts).
///
/// LSTM: [i f g o] = x W_xᵀ + h W_hᵀ + b;  c' = σ(f)⊙c + σ(i)⊙tanh(g);  h' = σ(o)⊙tanh(c').
/// GRU:  r = σ(a_r + u_r), z = σ(a_z + u_z), n = tanh(a_n + r⊙u_n), h' = (1 − z)⊙n + z⊙h, with
///       a = x W_xᵀ + b_x and u = h W_hᵀ + b_h (r gates only the recurrent part of n).
/// Initialization as PyTorch: every weight and bias U(−1/√n, 1/√n); the LSTM's forget bias +1.
public final class GatedNetwork<T: TensorScalar>: SequenceModel {
    public enum Kind: String, Sendable { case lstm, gru }

    public let kind: Kind
    public let inputSize: Int, hiddenSize: Int, outputSize: Int
    public let readout: ReadoutLayer<T>
    /// Gate-stacked weights: (G·n)×input and (G·n)×n, G = 4 (LSTM) or 3 (GRU).
    public let inputWeight: Tensor<T>, recurrentWeight: Tensor<T>, inputBias: Tensor<T>, recurrentBias: Tensor<T>
    let gradInputWeight: Tensor<T>, gradRecurrentWeight: Tensor<T>, gradInputBias: Tensor<T>, gradRecurrentBias: Tensor<T>
    public private(set) var hiddenGradientNorms: [T] = []
    public var carriesState = false
    private var carried: (h: Tensor<T>, c: Tensor<T>?)?
    private let workspace = Workspace<T>()
    public func resetState() { carried = nil }
    public var carriedState: [Tensor<T>]? {
        get { carried.map { [$0.h.copy()] + ($0.c.map { [$0.copy()] } ?? []) } }
        set { carried = newValue.flatMap { s in s.first.map { ($0.copy(), s.count > 1 ? s[1].copy() : nil) } } }
    }

    var gates: Int { kind == .lstm ? 4 : 3 }
    public var cellName: String { kind.rawValue }

    public init(_ kind: Kind, input: Int, hidden: Int, output: Int, readout: ReadoutLayer<T>.Mode, rng: inout Random) throws {
        guard input >= 1, hidden >= 1, output >= 1 else {
            throw TensorError.value("a recurrent network needs input, hidden and output ≥ 1, got \(input), \(hidden), \(output)")
        }
        self.kind = kind
        inputSize = input
        hiddenSize = hidden
        outputSize = output
        let g = kind == .lstm ? 4 : 3
        let k = T(1 / Double(hidden).squareRoot())
        inputWeight = rng.uniformTensor([g * hidden, input], -k, k)
        recurrentWeight = rng.uniformTensor([g * hidden, hidden], -k, k)
        inputBias = rng.uniformTensor([g * hidden], -k, k)
        recurrentBias = rng.uniformTensor([g * hidden], -k, k)
        if kind == .lstm { for j in hidden ..< 2 * hidden { inputBias.data[j] += 1 } }   // forget gate
        gradInputWeight = Tensor(zeros: inputWeight.shape)
        gradRecurrentWeight = Tensor(zeros: recurrentWeight.shape)
        gradInputBias = Tensor(zeros: inputBias.shape)
        gradRecurrentBias = Tensor(zeros: recurrentBias.shape)
        self.readout = ReadoutLayer(hidden: hidden, output: output, mode: readout, rng: &rng)
    }

    public var parameters: [Parameter<T>] {
        [("input.weight", inputWeight, gradInputWeight), ("recurrent.weight", recurrentWeight, gradRecurrentWeight),
         ("input.bias", inputBias, gradInputBias), ("recurrent.bias", recurrentBias, gradRecurrentBias)] + readout.parameters
    }

    /// The singular values of the candidate's recurrent block (g for LSTM, n for GRU).
    public func recurrentSingularValues() throws -> [T] {
        let n = hiddenSize, first = 2 * n   // g (LSTM) and n (GRU) are both the third block
        let block = Tensor<T>(zeros: [n, n])
        block.data.update(from: recurrentWeight.data + first * n, count: n * n)
        return try LinearAlgebra.singularValues(block)
    }

    public func renormalize() {}

    private struct Cache {
        let x: Tensor<T>
        let states: Tensor<T>      // (T+1)×B×n
        let cells: Tensor<T>       // LSTM: (T+1)×B×n cell states
        let acts: Tensor<T>        // T×B×(G·n): gate activations (LSTM: σi σf tanh g σo; GRU: r z n)
        let recurrentN: Tensor<T>  // GRU: T×B×n, u_n (the recurrent part of the candidate)
    }
    private var cache: Cache?

    public func forward(_ x: Tensor<T>) throws -> Tensor<T> {
        let start = try startState(for: x)
        return try forward(x, initialState: start?.h, initialCell: start?.c)
    }

    private func startState(for x: Tensor<T>) throws -> (h: Tensor<T>, c: Tensor<T>?)? {
        guard x.rank == 3, x.shape[2] == inputSize, x.shape[0] >= 1 else {
            throw TensorError.shape("expected a sequence batch T×B×\(inputSize) (time first), got \(x.shapeDescription)")
        }
        return carriesState && carried?.h.shape == [x.shape[1], hiddenSize] ? carried : nil
    }

    /// Slot 0 of `into` (B×n) from `given`, or zeros.
    private func start(_ into: UnsafeMutablePointer<T>, from given: Tensor<T>?, batch: Int) throws {
        let plane = batch * hiddenSize
        guard let given else { return into.update(repeating: 0, count: plane) }
        guard given.shape == [batch, hiddenSize] else {
            throw TensorError.shape("initial state must be \(batch)×\(hiddenSize), got \(given.shapeDescription)")
        }
        into.update(from: given.data, count: plane)
    }

    /// Steps `count` steps from h (and c) in slot 0 of `states` (and `cells`), writing slots
    /// 1…count; `a` (count×B×G·n) ends up holding the gate activations, `recurrentN` (GRU,
    /// count×B×n) each step's u_n. The batch's parts go through all the steps at once, one per core
    /// (BatchParallel), each step's input projection taken on the part's rows as it comes.
    private func advance(_ x: UnsafePointer<T>, steps count: Int, batch: Int, a: UnsafeMutablePointer<T>,
                         states: UnsafeMutablePointer<T>, cells: UnsafeMutablePointer<T>, recurrentN: UnsafeMutablePointer<T>) throws {
        let (n, gn, input) = (hiddenSize, gates * hiddenSize, inputSize)
        let plane = batch * n
        guard count * batch > 0 else { return }
        let u = workspace.buffer("u", kind == .gru ? [batch, gn] : [0])   // GRU: h W_hᵀ + b_h of one step
        try BatchParallel.forEachPart(batch: batch) { _, part in
            let (r0, m) = (part.lowerBound, part.count)
            for t in 0 ..< count {
                let at = a + (t * batch + r0) * gn
                let hPrev = states + t * plane + r0 * n, hNext = hPrev + plane
                // a_t = x_t W_xᵀ + b_x; for the LSTM + b_h too, since b_h adds to every gate (the
                // GRU keeps b_h apart: r gates u_n + b_hn).
                T.partGemm(false, true, m, gn, input, 1, x + (t * batch + r0) * input, input, inputWeight.data, input, 0, at, gn)
                Tensor.addRows(inputBias.data, count: gn, to: at, rows: m)
                switch kind {
                case .lstm:
                    Tensor.addRows(recurrentBias.data, count: gn, to: at, rows: m)
                    // [i f g o] pre-activations: a_t += h W_hᵀ, in place; then the gates, in place.
                    T.partGemm(false, true, m, gn, n, 1, hPrev, n, recurrentWeight.data, n, 1, at, gn)
                    for b in 0 ..< m {
                        let ab = at + b * gn
                        T.sigmoid(ab, into: ab, count: 2 * n)                 // i, f
                        T.tanh(ab + 2 * n, into: ab + 2 * n, count: n)        // g
                        T.sigmoid(ab + 3 * n, into: ab + 3 * n, count: n)     // o
                        let cPrev = cells + t * plane + (r0 + b) * n, cNext = cPrev + plane
                        let hb = hNext + b * n
                        for j in 0 ..< n { cNext[j] = ab[n + j] * cPrev[j] + ab[j] * ab[2 * n + j] }   // c' = f c + i g
                        T.tanh(cNext, into: hb, count: n)
                        for j in 0 ..< n { hb[j] *= ab[3 * n + j] }                                  // h' = o tanh c'
                    }
                case .gru:
                    let up = u.data + r0 * gn
                    for b in 0 ..< m { (up + b * gn).update(from: recurrentBias.data, count: gn) }
                    T.partGemm(false, true, m, gn, n, 1, hPrev, n, recurrentWeight.data, n, 1, up, gn)
                    for b in 0 ..< m {
                        let ab = at + b * gn, ub = up + b * gn, un = recurrentN + t * plane + (r0 + b) * n
                        let hp = hPrev + b * n, hb = hNext + b * n
                        for j in 0 ..< 2 * n { ab[j] += ub[j] }
                        T.sigmoid(ab, into: ab, count: 2 * n)                                         // r, z
                        un.update(from: ub + 2 * n, count: n)
                        for j in 0 ..< n { ab[2 * n + j] += ab[j] * un[j] }
                        T.tanh(ab + 2 * n, into: ab + 2 * n, count: n)                               // n = tanh(a_n + r u_n)
                        for j in 0 ..< n { let z = ab[n + j]; hb[j] = (1 - z) * ab[2 * n + j] + z * hp[j] }
                    }
                }
            }
        }
    }

    /// The forward pass from given h_0 and (LSTM) c_0, B×hidden each (nil: zeros). The gradient stops there.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>, initialState h0: Tensor<T>?, initialCell c0: Tensor<T>? = nil) throws -> Tensor<T> {
        _ = try startState(for: x)
        let (steps, batch, n, gn) = (x.shape[0], x.shape[1], hiddenSize, gates * hiddenSize)
        let plane = batch * n
        let a = workspace.buffer("a", [steps, batch, gn])             // overwritten by the projection GEMM
        let states = workspace.buffer("states", [steps + 1, batch, n])
        let cells = workspace.buffer("cells", kind == .lstm ? [steps + 1, batch, n] : [0])
        let recurrentN = workspace.buffer("recurrentN", kind == .gru ? [steps, batch, n] : [0])
        try start(states.data, from: h0, batch: batch)
        if kind == .lstm { try start(cells.data, from: c0, batch: batch) }
        try advance(x.data, steps: steps, batch: batch, a: a.data, states: states.data, cells: cells.data, recurrentN: recurrentN.data)
        cache = Cache(x: x, states: states, cells: cells, acts: a, recurrentN: recurrentN)
        if carriesState {
            carried = (Tensor(shape: [batch, n], copying: states.data + steps * plane),
                       kind == .lstm ? Tensor(shape: [batch, n], copying: cells.data + steps * plane) : nil)
        }
        return readout.forward(states)
    }

    /// `forward` without the tape, a few steps at a time through small buffers (as
    /// RecurrentNetwork.predict): the same outputs, the last forward's tape untouched.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func predict(_ x: Tensor<T>) throws -> Tensor<T> {
        let given = try startState(for: x)
        let (steps, batch, n, gn) = (x.shape[0], x.shape[1], hiddenSize, gates * hiddenSize)
        let plane = batch * n, chunk = RecurrentNetwork<T>.chunkSteps(plane: batch * gn, steps: steps)
        let a = workspace.buffer("predict.a", [chunk, batch, gn])
        let states = workspace.buffer("predict.states", [chunk + 1, batch, n])
        let cells = workspace.buffer("predict.cells", kind == .lstm ? [chunk + 1, batch, n] : [0])
        let recurrentN = workspace.buffer("predict.recurrentN", kind == .gru ? [chunk, batch, n] : [0])
        try start(states.data, from: given?.h, batch: batch)
        if kind == .lstm { try start(cells.data, from: given?.c, batch: batch) }
        let y = Tensor<T>(zeros: readout.outputShape(steps: steps, batch: batch))
        for first in Swift.stride(from: 0, to: steps, by: chunk) {
            let count = Swift.min(chunk, steps - first)
            try advance(x.data + first * batch * inputSize, steps: count, batch: batch, a: a.data, states: states.data,
                    cells: cells.data, recurrentN: recurrentN.data)
            if readout.mode == .all { readout.project(states.data + plane, rows: count * batch, into: y.data + first * batch * outputSize) }
            states.data.update(from: states.data + count * plane, count: plane)    // the chunk's last h (and c) → slot 0
            if kind == .lstm { cells.data.update(from: cells.data + count * plane, count: plane) }
        }
        if readout.mode == .last { readout.project(states.data, rows: batch, into: y.data) }
        if carriesState {
            carried = (Tensor(shape: [batch, n], copying: states.data), kind == .lstm ? Tensor(shape: [batch, n], copying: cells.data) : nil)
        }
        return y
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let c = cache else { throw TensorError.value("backward called before forward") }
        let (steps, batch, n, gn) = (c.x.shape[0], c.x.shape[1], hiddenSize, gates * hiddenSize)
        let plane = batch * n, rows = steps * batch
        let gradStates = try readout.backward(gradOutput, c.states)       // ∂L/∂h_t from the readout
        // The deltas overwrite the tape they come from, step by step: da_t (of the input part a)
        // over the gate activations of step t, which nothing reads afterwards. The recurrent
        // part's deltas du equal da but for the GRU's candidate block, du_n = dn ⊙ r, which
        // overwrites u_n. So the backward pass needs no T-long buffers beyond ∂L/∂h.
        let da = c.acts
        let dun = c.recurrentN.data                                      // GRU: du_n, T×B×n
        let dcNext = Tensor<T>(zeros: [batch, n])                         // LSTM: ∂L/∂c_t from step t+1
        let gradX = Tensor<T>(zeros: c.x.shape)
        // The batch's parts backwards through all the steps at once, one per core (BatchParallel);
        // each sums its rows' squares of ∂L/∂h_t, and the norms add the parts' sums.
        let parts = BatchParallel.parts(batch: batch)
        let squares = Tensor<T>(zeros: [parts, steps])
        let tanhCells = workspace.buffer("tanhCell", [kind == .lstm ? parts * n : 0])   // tanh c_t of one row per part, recomputed
        try BatchParallel.forEachPart(batch: batch) { p, part in
            let (r0, m) = (part.lowerBound, part.count)
            let sums = squares.data + p * steps, tcb = tanhCells.data + p * n
            for t in Swift.stride(from: steps - 1, through: 0, by: -1) {
                let dh = gradStates.data + t * plane + r0 * n
                if t + 1 < steps {   // ∂L/∂h_t += du_{t+1} W_h (and, for the GRU, the direct z path below)
                    let next = da.data + ((t + 1) * batch + r0) * gn
                    if kind == .lstm {
                        T.partGemm(false, false, m, n, gn, 1, next, gn, recurrentWeight.data, n, 1, dh, n)
                    } else {   // the r z blocks from da, the candidate's from du_n
                        T.partGemm(false, false, m, n, 2 * n, 1, next, gn, recurrentWeight.data, n, 1, dh, n)
                        T.partGemm(false, false, m, n, n, 1, dun + (t + 1) * plane + r0 * n, n, recurrentWeight.data + 2 * n * n, n, 1, dh, n)
                    }
                }
                sums[t] = T.partDot(m * n, dh, dh)
                let prevDh = t > 0 ? dh - plane : nil
                for b in 0 ..< m {
                    let act = da.data + (t * batch + r0 + b) * gn    // read, then overwritten with the deltas
                    let dhb = dh + b * n
                    switch kind {
                    case .lstm:
                        let cPrev = c.cells.data + t * plane + (r0 + b) * n, cNext = cPrev + plane
                        let dcb = dcNext.data + (r0 + b) * n
                        T.tanh(cNext, into: tcb, count: n)
                        for j in 0 ..< n {
                            let (i, f, g, o) = (act[j], act[n + j], act[2 * n + j], act[3 * n + j])
                            let tc = tcb[j]
                            let dc = dcb[j] + dhb[j] * o * (1 - tc * tc)
                            act[j] = dc * g * i * (1 - i)
                            act[n + j] = dc * cPrev[j] * f * (1 - f)
                            act[2 * n + j] = dc * i * (1 - g * g)
                            act[3 * n + j] = dhb[j] * tc * o * (1 - o)
                            dcb[j] = dc * f
                        }
                    case .gru:
                        let hPrev = c.states.data + t * plane + (r0 + b) * n, un = c.recurrentN.data + t * plane + (r0 + b) * n
                        for j in 0 ..< n {
                            let (r, z, cand) = (act[j], act[n + j], act[2 * n + j])
                            let dn = dhb[j] * (1 - z) * (1 - cand * cand)
                            let dz = dhb[j] * (hPrev[j] - cand) * z * (1 - z)
                            let dr = dn * un[j] * r * (1 - r)
                            act[j] = dr; act[n + j] = dz; act[2 * n + j] = dn
                            un[j] = dn * r
                            prevDh?[b * n + j] += dhb[j] * z          // h' = … + z⊙h
                        }
                    }
                }
                // ∂x_t = da_t W_x while da_t is in cache. (Over all steps at once, on OpenBLAS's
                // two threads, this GEMM with one column packed a copy of half of da: +100 MB at
                // the pixel shape.)
                let at = da.data + (t * batch + r0) * gn
                T.partGemm(false, false, m, inputSize, gn, 1, at, gn, inputWeight.data, inputSize, 0, gradX.data + (t * batch + r0) * inputSize, inputSize)
            }
        }
        hiddenGradientNorms = BatchParallel.norms(fromPartSquares: squares)
        if rows > 0 {
            // Σ du_tᵀ h_{t−1}: for the GRU by blocks, r z from da and the candidate's from du_n.
            let wh = gradRecurrentWeight.data, recurrentRows = kind == .lstm ? gn : 2 * n
            T.gemm(true, false, recurrentRows, n, rows, 1, da.data, gn, c.states.data, n, 1, wh, n)
            T.gemm(true, false, gn, inputSize, rows, 1, da.data, gn, c.x.data, inputSize, 1, gradInputWeight.data, inputSize)
            Tensor.addColumnSums(of: da.data, rows: rows, into: gradInputBias)
            if kind == .lstm {
                Tensor.addColumnSums(of: da.data, rows: rows, into: gradRecurrentBias)
            } else {
                T.gemm(true, false, n, n, rows, 1, dun, n, c.states.data, n, 1, wh + 2 * n * n, n)
                Tensor.addColumnSums(of: da.data, rows: rows, leading: gn, into: gradRecurrentBias.data, count: 2 * n)
                Tensor.addColumnSums(of: dun, rows: rows, leading: n, into: gradRecurrentBias.data + 2 * n, count: n)
            }
        }
        return gradX
    }
}
