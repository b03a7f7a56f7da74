/// The gated baselines, LSTM and GRU (PyTorch's gate conventions), over sequences T×B×input with
/// the same readouts as `RecurrentNetwork`. The inputs of all steps are projected in one GEMM; each
/// step is one GEMM with the recurrent weights; the backward pass keeps every step's gate deltas
/// and forms the weight gradients in one GEMM each.
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
        let start = carriesState && carried?.h.shape == [x.rank == 3 ? x.shape[1] : -1, hiddenSize] ? carried : nil
        return try forward(x, initialState: start?.h, initialCell: start?.c)
    }

    /// The forward pass from given h_0 and (LSTM) c_0, B×hidden each (nil: zeros). The gradient stops there.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>, initialState h0: Tensor<T>?, initialCell c0: Tensor<T>? = nil) throws -> Tensor<T> {
        guard x.rank == 3, x.shape[2] == inputSize, x.shape[0] >= 1 else {
            throw TensorError.shape("expected a sequence batch T×B×\(inputSize) (time first), got \(x.shapeDescription)")
        }
        let (steps, batch, n, gn) = (x.shape[0], x.shape[1], hiddenSize, gates * hiddenSize)
        let rows = steps * batch, plane = batch * n
        // a = X W_xᵀ + b_x for all steps at once; for the LSTM + b_h too, since b_h adds to every
        // gate (the GRU keeps b_h apart: r gates u_n + b_hn).
        let a = workspace.buffer("a", [steps, batch, gn])             // overwritten by the projection GEMM
        if rows > 0 {
            T.gemm(false, true, rows, gn, inputSize, 1, x.data, inputSize, inputWeight.data, inputSize, 0, a.data, gn)
            Tensor.addRows(inputBias, to: a.data, rows: rows)
            if kind == .lstm { Tensor.addRows(recurrentBias, to: a.data, rows: rows) }
        }
        let states = workspace.buffer("states", [steps + 1, batch, n])
        let cells = workspace.buffer("cells", kind == .lstm ? [steps + 1, batch, n] : [0])
        let recurrentN = workspace.buffer("recurrentN", kind == .gru ? [steps, batch, n] : [0])
        // Slot 0 (h_0, c_0) starts at zero unless given below; every later slot is written per step.
        states.data.update(repeating: 0, count: plane)
        if kind == .lstm { cells.data.update(repeating: 0, count: plane) }
        for (given, into) in [(h0, states), (kind == .lstm ? c0 : nil, cells)] {
            guard let given else { continue }
            guard given.shape == [batch, n] else { throw TensorError.shape("initial state must be \(batch)×\(n), got \(given.shapeDescription)") }
            into.data.update(from: given.data, count: plane)
        }
        let u = workspace.buffer("u", kind == .gru ? [batch, gn] : [0])   // GRU: h W_hᵀ + b_h of one step
        for t in 0 ..< steps where batch > 0 {
            let at = a.data + t * batch * gn
            let hPrev = states.data + t * plane, hNext = states.data + (t + 1) * plane
            switch kind {
            case .lstm:
                // [i f g o] pre-activations: a_t += h W_hᵀ, in place; then the gates, in place.
                T.gemm(false, true, batch, gn, n, 1, hPrev, n, recurrentWeight.data, n, 1, at, gn)
                for b in 0 ..< batch {
                    let ab = at + b * gn
                    T.sigmoid(ab, into: ab, count: 2 * n)                 // i, f
                    T.tanh(ab + 2 * n, into: ab + 2 * n, count: n)        // g
                    T.sigmoid(ab + 3 * n, into: ab + 3 * n, count: n)     // o
                    let cPrev = cells.data + t * plane + b * n, cNext = cells.data + (t + 1) * plane + b * n
                    let hb = hNext + b * n
                    for j in 0 ..< n { cNext[j] = ab[n + j] * cPrev[j] + ab[j] * ab[2 * n + j] }   // c' = f c + i g
                    T.tanh(cNext, into: hb, count: n)
                    for j in 0 ..< n { hb[j] *= ab[3 * n + j] }                                  // h' = o tanh c'
                }
            case .gru:
                for b in 0 ..< batch { (u.data + b * gn).update(from: recurrentBias.data, count: gn) }
                T.gemm(false, true, batch, gn, n, 1, hPrev, n, recurrentWeight.data, n, 1, u.data, gn)
                for b in 0 ..< batch {
                    let ab = at + b * gn, ub = u.data + b * gn, un = recurrentN.data + t * plane + b * n
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
        cache = Cache(x: x, states: states, cells: cells, acts: a, recurrentN: recurrentN)
        if carriesState {
            func last(_ t: Tensor<T>) -> Tensor<T> {
                let r = Tensor<T>(zeros: [batch, n])
                r.data.update(from: t.data + steps * plane, count: plane)
                return r
            }
            carried = (last(states), kind == .lstm ? last(cells) : nil)
        }
        return readout.forward(states)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let c = cache else { throw TensorError.value("backward called before forward") }
        let (steps, batch, n, gn) = (c.x.shape[0], c.x.shape[1], hiddenSize, gates * hiddenSize)
        let plane = batch * n, rows = steps * batch
        let gradStates = try readout.backward(gradOutput, c.states)       // ∂L/∂h_t from the readout
        let da = workspace.buffer("da", [steps, batch, gn])               // deltas of the input part a (all written)
        // Deltas of the recurrent part u (all written): the LSTM's equal a's, the GRU's differ in u_n.
        let du = kind == .lstm ? da : workspace.buffer("du", [steps, batch, gn])
        let dcNext = Tensor<T>(zeros: [batch, n])                         // LSTM: ∂L/∂c_t from step t+1
        let tanhCell = workspace.buffer("tanhCell", [kind == .lstm ? n : 0])   // tanh c_t of one row, recomputed
        var norms = [T](repeating: 0, count: steps)
        for t in Swift.stride(from: steps - 1, through: 0, by: -1) where batch > 0 {
            let dh = gradStates.data + t * plane
            if t + 1 < steps {   // ∂L/∂h_t += du_{t+1} W_h (and, for the GRU, the direct z path below)
                T.gemm(false, false, batch, n, gn, 1, du.data + (t + 1) * batch * gn, gn, recurrentWeight.data, n, 1, dh, n)
            }
            norms[t] = T.dot(plane, dh, 1, dh, 1).squareRoot()
            let prevDh = t > 0 ? gradStates.data + (t - 1) * plane : nil
            for b in 0 ..< batch {
                let act = c.acts.data + (t * batch + b) * gn
                let dab = da.data + (t * batch + b) * gn, dub = du.data + (t * batch + b) * gn
                let dhb = dh + b * n
                switch kind {
                case .lstm:
                    let cPrev = c.cells.data + t * plane + b * n, cNext = c.cells.data + (t + 1) * plane + b * n
                    let dcb = dcNext.data + b * n, tcb = tanhCell.data
                    T.tanh(cNext, into: tcb, count: n)
                    for j in 0 ..< n {
                        let (i, f, g, o) = (act[j], act[n + j], act[2 * n + j], act[3 * n + j])
                        let tc = tcb[j]
                        let dc = dcb[j] + dhb[j] * o * (1 - tc * tc)
                        dab[j] = dc * g * i * (1 - i)
                        dab[n + j] = dc * cPrev[j] * f * (1 - f)
                        dab[2 * n + j] = dc * i * (1 - g * g)
                        dab[3 * n + j] = dhb[j] * tc * o * (1 - o)
                        dcb[j] = dc * f
                    }
                case .gru:
                    let hPrev = c.states.data + t * plane + b * n, un = c.recurrentN.data + t * plane + b * n
                    for j in 0 ..< n {
                        let (r, z, cand) = (act[j], act[n + j], act[2 * n + j])
                        let dn = dhb[j] * (1 - z) * (1 - cand * cand)
                        let dz = dhb[j] * (hPrev[j] - cand) * z * (1 - z)
                        let dr = dn * un[j] * r * (1 - r)
                        dab[j] = dr; dab[n + j] = dz; dab[2 * n + j] = dn
                        dub[j] = dr; dub[n + j] = dz; dub[2 * n + j] = dn * r
                        prevDh?[b * n + j] += dhb[j] * z          // h' = … + z⊙h
                    }
                }
            }
        }
        hiddenGradientNorms = norms
        let gradX = Tensor<T>(zeros: c.x.shape)
        if rows > 0 {
            T.gemm(true, false, gn, n, rows, 1, du.data, gn, c.states.data, n, 1, gradRecurrentWeight.data, n)        // Σ du_tᵀ h_{t−1}
            T.gemm(true, false, gn, inputSize, rows, 1, da.data, gn, c.x.data, inputSize, 1, gradInputWeight.data, inputSize)
            Tensor.addColumnSums(of: da.data, rows: rows, into: gradInputBias)
            Tensor.addColumnSums(of: du.data, rows: rows, into: gradRecurrentBias)
            T.gemm(false, false, rows, inputSize, gn, 1, da.data, gn, inputWeight.data, inputSize, 0, gradX.data, inputSize)
        }
        return gradX
    }
}
