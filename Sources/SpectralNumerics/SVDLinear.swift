/// A linear layer whose weight is kept as its SVD (Zhang, Lei & Dhillon 2018):
///
///     W (out×in) = U (Σ | 0) Vᵀ,   σᵢ = σ* + 2r(sigmoid(pᵢ) − ½) ∈ [σ* − r, σ* + r],
///
/// U (out×out) and V (in×in) products of Householder reflectors (`Householder`), min(out, in)
/// singular values. y = W x + b for every row x of a B×in batch.
///
/// Parameters (each a tensor the optimizer updates in place), with gradients of the same shapes
/// that `backward` adds into (call `zeroGrad` between steps):
/// - `u`: kU×out reflector rows (row i has i masked leading entries), `v`: kV×in likewise;
/// - `p`: min(out, in) pre-activations of the singular values;
/// - `bias`: out (optional).
/// Initialization as in the authors' code: reflector rows Glorot-uniform (limit √(6/(k + dim)),
/// masked entries zero), p = 0 (so every σᵢ = σ*), bias zero.
public final class SVDLinear<T: TensorScalar> {
    public let inFeatures: Int
    public let outFeatures: Int
    public let sigmaStar: T
    public let r: T
    public let u: Tensor<T>, v: Tensor<T>, p: Tensor<T>
    public let bias: Tensor<T>?
    public let gradU: Tensor<T>, gradV: Tensor<T>, gradP: Tensor<T>
    public let gradBias: Tensor<T>?

    /// How the product is applied in the kernels.
    public var method: Householder.Method = .wy
    /// What `build` records for the backward pass, kept from one pass to the next (see WYTapePool).
    private let uTapes = WYTapePool<T>(layout: .columns), vTapes = WYTapePool<T>(layout: .rows)
    /// `.materialized` builds W once per forward and multiplies (best for large batches);
    /// `.factored` applies Vᵀ, Σ and U to the batch directly (best for few reflectors and small
    /// batches); `.automatic` picks by flop count. Both give the same results and gradients.
    public var mode: Mode = .automatic
    public enum Mode: String, Sendable, CaseIterable { case automatic, materialized, factored }

    public struct Options: Sendable {
        public var reflectorsU: Int?      // default: out (all)
        public var reflectorsV: Int?      // default: in (all)
        public var sigmaStar: Double = 1
        public var r: Double = 0.01
        public var bias = true
        public init(reflectorsU: Int? = nil, reflectorsV: Int? = nil, sigmaStar: Double = 1, r: Double = 0.01, bias: Bool = true) {
            self.reflectorsU = reflectorsU
            self.reflectorsV = reflectorsV
            self.sigmaStar = sigmaStar
            self.r = r
            self.bias = bias
        }
    }

    public init(inFeatures: Int, outFeatures: Int, options: Options = Options(), rng: inout Random) throws {
        guard inFeatures >= 1, outFeatures >= 1 else {
            throw TensorError.value("an SVD linear layer needs in ≥ 1 and out ≥ 1, got in=\(inFeatures) out=\(outFeatures)")
        }
        let ku = options.reflectorsU ?? outFeatures, kv = options.reflectorsV ?? inFeatures
        guard (0 ... outFeatures).contains(ku), (0 ... inFeatures).contains(kv) else {
            throw TensorError.value("reflectors: U takes 0…\(outFeatures) and V 0…\(inFeatures), got \(ku) and \(kv)")
        }
        guard options.r >= 0, options.sigmaStar >= options.r, options.sigmaStar.isFinite, options.r.isFinite else {
            throw TensorError.value("need 0 ≤ r ≤ σ* (singular values in [σ* − r, σ* + r] must be ≥ 0), got σ*=\(options.sigmaStar) r=\(options.r)")
        }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        sigmaStar = T(options.sigmaStar)
        r = T(options.r)
        u = SVDLinear.glorotReflectors(ku, outFeatures, &rng)
        v = SVDLinear.glorotReflectors(kv, inFeatures, &rng)
        p = Tensor(zeros: [Swift.min(inFeatures, outFeatures)])
        bias = options.bias ? Tensor(zeros: [outFeatures]) : nil
        gradU = Tensor(zeros: u.shape)
        gradV = Tensor(zeros: v.shape)
        gradP = Tensor(zeros: p.shape)
        gradBias = options.bias ? Tensor(zeros: [outFeatures]) : nil
    }

    /// Reflector rows as the authors initialize them: Glorot-uniform, the masked entries zero.
    static func glorotReflectors(_ k: Int, _ n: Int, _ rng: inout Random) -> Tensor<T> {
        let t: Tensor<T> = rng.glorotUniform(k, n)
        for i in 0 ..< k { for j in 0 ..< i { t[i, j] = 0 } }
        return t
    }

    public var rank: Int { p.count }

    /// σᵢ for i < min(out, in), in parameter order.
    public func sigma() -> [T] {
        (0 ..< rank).map { i in sigmaStar + 2 * r * (SVDLinear.sigmoid(p.data[i]) - T(0.5)) }
    }

    static func sigmoid(_ x: T) -> T { x >= 0 ? 1 / (1 + T.exp(-x)) : T.exp(x) / (1 + T.exp(x)) }

    /// The singular values, descending (exact: read off σ, no SVD).
    public func singularValues() -> [T] { sigma().sorted(by: >) }
    public func spectralNorm() -> T { sigma().max() ?? 0 }
    /// σ_max / σ_min (infinite when σ_min = 0).
    public func conditionNumber() -> T {
        let s = sigma()
        guard let hi = s.max(), let lo = s.min() else { return 1 }
        return lo == 0 ? .infinity : hi / lo
    }

    /// The factors and W itself (for diagnostics: training builds W without U, see `build`).
    public struct Factors {
        public let u: Tensor<T>, v: Tensor<T>, sigma: [T], w: Tensor<T>
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func factors() throws -> Factors {
        let um = try Householder.matrix(u, method: method)
        let vm = try Householder.matrix(v, method: method)
        let s = sigma()
        // W = U[:, :s] diag(σ) V[:, :s]ᵀ
        let us = Tensor<T>(zeros: [outFeatures, rank])
        for i in 0 ..< outFeatures { for j in 0 ..< rank { us[i, j] = um[i, j] * s[j] } }
        let w = Tensor<T>(zeros: [outFeatures, inFeatures])
        T.gemm(false, true, outFeatures, inFeatures, rank, 1, us.data, rank, vm.data, inFeatures, 0, w.data, inFeatures)
        return Factors(u: um, v: vm, sigma: s, w: w)
    }

    /// W, out×in.
    public func matrix() throws -> Tensor<T> { try build().w }

    /// What backpropagating through W needs: Vᵀ, σ, W itself, the tapes of the two products
    /// (compact WY: nil for the reflector-wise method, which recovers the inputs from W and Vᵀ),
    /// and when W was built from U explicitly (`buildsU`), U and M = Σ̃Vᵀ.
    public struct Built {
        let vt: Tensor<T>, sigma: [T], w: Tensor<T>
        let uTape: WYTape<T>?, vTape: WYTape<T>?
        let explicit: (u: Tensor<T>, m: Tensor<T>)?
        /// What the backward pass reads beyond W and Vᵀ, in numbers: the tapes of U's and V's
        /// products, and U and M when U was built.
        var tapeNumbers: Int {
            (uTape?.numbers ?? 0) + (vTape?.numbers ?? 0) + (explicit.map { $0.u.count + $0.m.count } ?? 0)
        }
    }

    /// Flops of building Q from the identity with k reflectors of length n (`identityProduct`):
    /// reflector i works on the trailing (n − i)×(n − i) part, 4(n − i)² flops.
    private static func identityProductFlops(_ k: Int, _ n: Int) -> Double {
        (0 ..< k).reduce(0) { $0 + 4 * Double(n - $1) * Double(n - $1) }
    }

    /// Whether `build` makes U explicitly and multiplies, rather than applying U's reflectors to
    /// Σ̃Vᵀ: when that takes fewer flops, which is when U has more than about 0.83·out reflectors
    /// (at k_U = k_V = n: (8/3 + 2)n³ against (4/3 + 4)n³, and the backward pass likewise). U and Vᵀ
    /// are then built at once, one per core, where applying U's 64-reflector blocks to Σ̃Vᵀ kept
    /// OpenBLAS's two threads waiting on each other (perf, wide shape).
    public var buildsU: Bool {
        guard case .compactWY = method else { return false }
        let (m, n) = (outFeatures, inFeatures)
        let explicit = SVDLinear.identityProductFlops(u.rows, m) + 2 * Double(m * n * rank)
        return explicit < 4 * Double(m * n * u.rows)
    }

    /// W = U·(Σ̃Vᵀ): Vᵀ built from the identity (orgqr's order, which skips the identity's untouched
    /// part), its rows scaled by σ, and U's reflectors applied straight to that (no U, no GEMM);
    /// or, when `buildsU`, U built from the identity as well, at the same time, and one GEMM.
    /// For k_U = k_V = out = in = n: ≈ (10/3)n³ or (14/3)n³ flops against 6n³ via `factors`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func build() throws -> (w: Tensor<T>, built: Built) {
        let vTape = vTapes.tape(for: method), uTape = uTapes.tape(for: method)
        let s = sigma()
        let scale = { (vt: Tensor<T>, dst: Tensor<T>) in     // dst's first rank rows ← Σ̃Vᵀ
            for i in 0 ..< self.rank { T.axpy(self.inFeatures, s[i], vt.data + i * self.inFeatures, 1, dst.data + i * self.inFeatures, 1) }
        }
        guard buildsU else {
            let vt = Householder.identityProduct(v, layout: .rows, method: method, recording: vTape)   // Vᵀ
            let w = Tensor<T>(zeros: [outFeatures, inFeatures])     // Σ̃Vᵀ, then U·Σ̃Vᵀ in place
            scale(vt, w)
            Householder.multiply(VectorBatch(w, .columns), u, transpose: false, method: method, recording: uTape)
            return (w, Built(vt: vt, sigma: s, w: w, uTape: uTape, vTape: vTape, explicit: nil))
        }
        var vt = Tensor<T>(zeros: [0]), um = Tensor<T>(zeros: [0])
        try BatchParallel.concurrently([
            { vt = Householder.identityProduct(self.v, layout: .rows, method: self.method, recording: vTape) },
            { um = Householder.identityProduct(self.u, layout: .columns, method: self.method, recording: uTape) },
        ])
        let m = Tensor<T>(zeros: [rank, inFeatures])
        scale(vt, m)
        let w = Tensor<T>(unfilled: [outFeatures, inFeatures])   // U[:, :rank]·M
        T.gemm(false, false, outFeatures, inFeatures, rank, 1, um.data, outFeatures, m.data, inFeatures, 0, w.data, inFeatures)
        return (w, Built(vt: vt, sigma: s, w: w, uTape: uTape, vTape: vTape, explicit: (um, m)))
    }

    /// Back-propagates ∂L/∂W through `build` into the gradients (adds): the backward pass through
    /// U's reflectors (or, when U was built, ∂M = U[:, :rank]ᵀ∂W and ∂U[:, :rank] = ∂W·Mᵀ, then U's
    /// tape) gives ∂M and ∂u; then ∂σᵢ = Σⱼ ∂M_ij Vᵀ_ij, ∂Vᵀ[i, :] = σᵢ ∂M[i, :], and V's reflectors.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func accumulate(gradMatrix gw: Tensor<T>, built b: Built) throws {
        guard gw.shape == [outFeatures, inFeatures] else {
            throw TensorError.shape("∂W must be \(outFeatures)×\(inFeatures), got \(gw.shapeDescription)")
        }
        let gm: Tensor<T>                                       // ∂M in its first rank rows
        var gUm: Tensor<T>? = nil                               // ∂U when U was built
        if let (um, m) = b.explicit {
            gm = Tensor(unfilled: [rank, inFeatures])
            T.gemm(true, false, rank, inFeatures, outFeatures, 1, um.data, outFeatures, gw.data, inFeatures, 0, gm.data, inFeatures)
            let gu = Tensor<T>(zeros: [outFeatures, outFeatures])
            T.gemm(false, true, outFeatures, rank, inFeatures, 1, gw.data, inFeatures, m.data, inFeatures, 0, gu.data, outFeatures)
            gUm = gu
        } else {
            gm = gw.copy()                                      // ∂W, then ∂M in place
            if let tape = b.uTape {
                tape.backward(VectorBatch(gm, .columns), gradU)
            } else {
                Householder.multiplyBackward(VectorBatch(b.w.copy(), .columns), VectorBatch(gm, .columns), u, gradU,
                                             transpose: false, method: method)
            }
        }
        let gvt = Tensor<T>(zeros: [inFeatures, inFeatures])
        var gsigma = [T](repeating: 0, count: rank)
        for i in 0 ..< rank {
            let row = gm.data + i * inFeatures
            gsigma[i] = T.dot(inFeatures, row, 1, b.vt.data + i * inFeatures, 1)
            T.axpy(inFeatures, b.sigma[i], row, 1, gvt.data + i * inFeatures, 1)
        }
        if let gu = gUm, let uTape = b.uTape, let vTape = b.vTape {
            // The two tapes write gradU and gradV: nothing shared.
            try BatchParallel.concurrently([
                { uTape.backward(VectorBatch(gu, .columns), self.gradU) },
                { vTape.backward(VectorBatch(gvt, .rows), self.gradV) },
            ])
        } else if let tape = b.vTape {
            tape.backward(VectorBatch(gvt, .rows), gradV)
        } else {
            try gradV.add(Householder.identityProductBackward(v, b.vt.copy(), gvt, layout: .rows, method: method))
        }
        addSigmaGradient(gsigma)
    }

    // MARK: Forward and backward

    private enum Cache {
        case materialized(x: Tensor<T>, built: Built)
        case factored(x: Tensor<T>, a: Tensor<T>, yu: Tensor<T>)
    }
    private var cache: Cache?

    /// y = W x + b for each row of x (B×in). Keeps what backward needs.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>) throws -> Tensor<T> {
        guard x.rank == 2, x.cols == inFeatures else {
            throw TensorError.shape("SVD linear \(inFeatures)→\(outFeatures) expects a B×\(inFeatures) batch, got \(x.shapeDescription)")
        }
        let y: Tensor<T>
        if resolvedMode(batch: x.rows) == .materialized {
            let (w, built) = try build()
            y = try x.matmul(w, transposeOther: true)
            cache = .materialized(x: x.copy(), built: built)
        } else {
            // A = X V (rows: Vᵀx), then Σ (truncate or zero-pad to out), then rows U·s.
            let a = try Householder.apply(v, to: x, transpose: true, method: method)
            let s = sigma()
            let scaled = Tensor<T>(zeros: [x.rows, outFeatures])
            for b in 0 ..< x.rows { for i in 0 ..< rank { scaled[b, i] = a[b, i] * s[i] } }
            let yu = try Householder.apply(u, to: scaled, method: method)
            cache = .factored(x: x.copy(), a: a, yu: yu)
            y = yu.copy()
        }
        if let bias { for b in 0 ..< y.rows { T.axpy(outFeatures, 1, bias.data, 1, y.data + b * outFeatures, 1) } }
        return y
    }

    /// Given ∂L/∂y for the last forward, adds the parameter gradients and returns ∂L/∂x.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let cache else { throw TensorError.value("backward called before forward") }
        let batch: Int
        switch cache { case .materialized(let x, _), .factored(let x, _, _): batch = x.rows }
        guard gradOutput.shape == [batch, outFeatures] else {
            throw TensorError.shape("gradient must be \(batch)×\(outFeatures) (the last forward's output), got \(gradOutput.shapeDescription)")
        }
        if let gradBias {
            for b in 0 ..< batch { T.axpy(outFeatures, 1, gradOutput.data + b * outFeatures, 1, gradBias.data, 1) }
        }
        switch cache {
        case let .materialized(x, b):
            let gw = try gradOutput.matmul(x, transposeSelf: true)        // ∂W = Gᵀ X
            try accumulate(gradMatrix: gw, built: b)
            return try gradOutput.matmul(b.w)                             // ∂X = G W
        case let .factored(_, a, yu):
            let (gs, gu) = try Householder.backward(u, output: yu, gradOutput: gradOutput, method: method)
            try gradU.add(gu)
            let s = sigma()
            let ga = Tensor<T>(zeros: a.shape)
            var gsigma = [T](repeating: 0, count: rank)
            for b in 0 ..< batch {
                for i in 0 ..< rank {
                    gsigma[i] += gs[b, i] * a[b, i]
                    ga[b, i] = gs[b, i] * s[i]
                }
            }
            addSigmaGradient(gsigma)
            let (gx, gv) = try Householder.backward(v, output: a, gradOutput: ga, transpose: true, method: method)
            try gradV.add(gv)
            return gx
        }
    }

    /// ∂pᵢ = ∂σᵢ · 2r · s(1 − s), s = sigmoid(pᵢ).
    func addSigmaGradient(_ gsigma: [T]) {
        for i in 0 ..< rank {
            let s = SVDLinear.sigmoid(p.data[i])
            gradP.data[i] += gsigma[i] * 2 * r * s * (1 - s)
        }
    }

    public func zeroGrad() {
        gradU.fill(0); gradV.fill(0); gradP.fill(0); gradBias?.fill(0)
    }

    /// Scales every reflector row's active part to unit norm (the authors do this after each
    /// optimizer step; the reflectors do not depend on the norm, so W is unchanged). Zero rows stay.
    public func renormalize() {
        Householder.normalizeRows(u)
        Householder.normalizeRows(v)
    }

    /// Named parameters and their gradients, in a fixed order.
    public var parameters: [Parameter<T>] {
        var list = [("u", u, gradU), ("v", v, gradV), ("p", p, gradP)]
        if let bias, let gradBias { list.append(("bias", bias, gradBias)) }
        return list
    }

    /// The mode a batch of this size runs in: factored when applying the reflectors to the batch
    /// costs fewer flops than building U, V and W and multiplying.
    public func resolvedMode(batch: Int) -> Mode {
        if mode != .automatic { return mode }
        let (m, n, ku, kv, b) = (Double(outFeatures), Double(inFeatures), Double(u.rows), Double(v.rows), Double(batch))
        let factored = 4 * b * (m * ku + n * kv)
        let materialized = 4 * (m * m * ku + n * n * kv) + 2 * m * n * Double(rank) + 2 * b * m * n
        return factored < materialized ? .factored : .materialized
    }
}
