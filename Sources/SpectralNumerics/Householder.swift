/// Products of Householder reflectors, as the paper parameterizes U and V.
///
/// The k reflectors are the rows of a k×n tensor `v`. Row i acts on the last n − i coordinates:
/// û_i = (0, …, 0, v[i, i], …, v[i, n−1]) (its first i entries are masked: ignored in the forward
/// pass and given zero gradient), H_i = I − 2 û_i û_iᵀ / ‖û_i‖², and
///
///     Q = H_0 H_1 ⋯ H_{k−1}.
///
/// A zero û_i is the identity (the paper's H(0) = I) with zero gradient: never a division by zero.
/// With k = n, Q ranges over the orthogonal matrices of determinant (−1)ⁿ (H_{n−1} acts on one
/// coordinate: it is diag(1, …, 1, −1)); fewer reflectors give a cheaper, restricted family.
///
/// Batches are matrices whose rows are the vectors (B×n, row-major): `apply` maps every row x to
/// Q x (Y = X Qᵀ) and, transposed, to Qᵀ x (Y = X Q). `Layout.columns` takes vectors as columns.
public enum Householder {
    /// How a product is applied. Both give the same numbers up to rounding; see DESIGN.md.
    public enum Method: Sendable, Equatable {
        /// One reflector at a time (BLAS-2): the paper's O(nk) per vector; the reference.
        case reflectorwise
        /// Blocks of reflectors as I − Y T Yᵀ (compact WY, T by the UT transform), applied with GEMMs.
        case compactWY(blockSize: Int)

        public static let wy = Method.compactWY(blockSize: 64)
    }

    public enum Layout: Sendable { case rows, columns }

    /// Checks that `v` holds reflectors for vectors of length `n` (k×n with k ≤ n).
    static func check<T>(_ v: Tensor<T>, length n: Int? = nil) throws {
        guard v.rank == 2 else {
            throw TensorError.shape("reflectors must be a k×n matrix (one reflector per row), got \(v.shapeDescription)")
        }
        guard v.rows <= v.cols else {
            throw TensorError.shape("\(v.rows) reflectors of length \(v.cols): at most \(v.cols) fit (row i acts on the last n − i coordinates)")
        }
        if let n, v.cols != n {
            throw TensorError.shape("reflectors of length \(v.cols) cannot act on vectors of length \(n)")
        }
    }

    /// A copy of the batch x for the kernels to work on in place, its vectors checked to have length n.
    private static func batch<T>(_ x: Tensor<T>, _ layout: Layout, n: Int) throws -> Tensor<T> {
        let shape = layout == .rows ? "B×\(n)" : "\(n)×B"
        guard x.rank == 2 else { throw TensorError.shape("expected a batch matrix (\(shape)), got \(x.shapeDescription)") }
        guard (layout == .rows ? x.cols : x.rows) == n else {
            throw TensorError.shape("expected vectors of length \(n) (\(shape)), got \(x.shapeDescription)")
        }
        return x.copy()
    }

    /// Q x for every vector x of the batch (Qᵀ x when `transpose`).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func apply<T>(_ v: Tensor<T>, to x: Tensor<T>, transpose: Bool = false,
                                layout: Layout = .rows, method: Method = .wy) throws -> Tensor<T> {
        try check(v)
        let y = try batch(x, layout, n: v.cols)
        multiply(VectorBatch(y, layout), v, transpose: transpose, method: method)
        return y
    }

    /// The backward pass of `apply`: from its output and the gradient of the loss with respect to
    /// that output, the gradients with respect to its input and to the reflector rows (masked
    /// entries zero). The input is not needed: it is recovered from the output (each step is its
    /// own inverse), so the memory is O(B·n) for any number of reflectors.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backward<T>(_ v: Tensor<T>, output: Tensor<T>, gradOutput: Tensor<T>, transpose: Bool = false,
                                   layout: Layout = .rows, method: Method = .wy) throws -> (input: Tensor<T>, vectors: Tensor<T>) {
        try check(v)
        guard output.shape == gradOutput.shape else {
            throw TensorError.shape("gradient \(gradOutput.shapeDescription) does not match output \(output.shapeDescription)")
        }
        let y = try batch(output, layout, n: v.cols)
        let g = try batch(gradOutput, layout, n: v.cols)
        let gv = Tensor<T>(zeros: v.shape)
        multiplyBackward(VectorBatch(y, layout), VectorBatch(g, layout), v, gv, transpose: transpose, method: method)
        return (g, gv)
    }

    /// The n×n matrix Q.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func matrix<T>(_ v: Tensor<T>, method: Method = .wy) throws -> Tensor<T> {
        try check(v)
        return identityProduct(v, layout: .columns, method: method)
    }

    /// The gradient with respect to the reflector rows of a loss of Q, given ∂L/∂Q and Q itself.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func matrixBackward<T>(_ v: Tensor<T>, matrix q: Tensor<T>, gradMatrix: Tensor<T>,
                                         method: Method = .wy) throws -> Tensor<T> {
        try check(v)
        guard q.shape == [v.cols, v.cols], gradMatrix.shape == q.shape else {
            throw TensorError.shape("matrixBackward: Q \(q.shapeDescription) and ∂Q \(gradMatrix.shapeDescription) must be \(v.cols)×\(v.cols)")
        }
        return identityProductBackward(v, q.copy(), gradMatrix.copy(), layout: .columns, method: method)
    }

    /// Q applied to the vectors of the identity: Q itself with `.columns`, Qᵀ with `.rows`. Built the
    /// way LAPACK's orgqr builds Q, the last reflectors first: until the step that applies the
    /// reflectors from b0 on, the identity's vectors before b0 are untouched and zero in coordinates
    /// b0..<n, so each step works on the trailing (n − b0)×(n − b0) part only: ≈ (4/3)n³ flops for
    /// k = n against 2n³ for a dense product.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func identityProduct<T>(_ v: Tensor<T>, layout: Layout, method: Method, recording tape: WYTape<T>? = nil) -> Tensor<T> {
        let q = Tensor<T>.identity(v.cols)
        let x = VectorBatch(q, layout)
        switch method {
        case .reflectorwise:
            let alpha = Tensor<T>(zeros: [v.cols])
            for i in (0 ..< v.rows).reversed() { Reflector(v, i).apply(x, alpha, fromVector: i) }
        case .compactWY(let nb):
            for b in WYBlock<T>.partition(v, blockSize: nb).reversed() {
                if let tape {
                    tape.apply(v, b, x, transposed: true, fromVector: b.lowerBound)
                } else {
                    WYBlock(v, b).apply(x, transposed: true, fromVector: b.lowerBound)
                }
            }
        }
        return q
    }

    /// The reflector gradients for q = identityProduct(v, layout), given q and ∂L/∂q (both consumed).
    /// The steps are walked back in the order H_0, H_1, …: at the step of the reflectors from b0 on,
    /// the vectors before b0 of its input are the identity's (zero in the step's coordinates) and
    /// their gradients are not needed by the steps still to walk, so again only vectors b0..<n take part.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func identityProductBackward<T>(_ v: Tensor<T>, _ q: Tensor<T>, _ gq: Tensor<T>, layout: Layout,
                                           method: Method) -> Tensor<T> {
        let gv = Tensor<T>(zeros: v.shape)
        let x = VectorBatch(q, layout), g = VectorBatch(gq, layout)
        switch method {
        case .reflectorwise:
            let alpha = Tensor<T>(zeros: [v.cols]), beta = Tensor<T>(zeros: [v.cols])
            for i in 0 ..< v.rows { Reflector(v, i).backward(x, g, gv, alpha, beta, fromVector: i) }
        case .compactWY(let nb):
            for b in WYBlock<T>.partition(v, blockSize: nb) {
                WYBlock(v, b).backward(x, g, gv, transposed: true, fromVector: b.lowerBound)
            }
        }
        return gv
    }

    /// Scales each reflector row's active part to unit norm, in place (zero rows stay zero). The
    /// reflectors, and so the product, do not change: the authors do this after each optimizer step.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func normalizeRows<T>(_ v: Tensor<T>) {
        for i in 0 ..< v.rows {
            let row = v.data + i * v.cols + i
            let norm = T.dot(v.cols - i, row, 1, row, 1).squareRoot()
            if norm > 0 { for j in 0 ..< v.cols - i { row[j] /= norm } }
        }
    }

    // MARK: The in-place kernels: every vector x of the batch ← Q x, or Qᵀ x when `transpose`.
    // For rows that is X ← X·Qᵀ (or X·Q): the steps below are written in that form.

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func multiply<T>(_ x: VectorBatch<T>, _ v: Tensor<T>, transpose: Bool, method: Method,
                            recording tape: WYTape<T>? = nil) {
        guard x.count > 0, v.rows > 0 else { return }
        switch method {
        case .reflectorwise:
            // X·Q = X·H_0⋯H_{k−1}; X·Qᵀ = X·H_{k−1}⋯H_0 (each H is symmetric).
            let order = transpose ? Array(0 ..< v.rows) : Array((0 ..< v.rows).reversed())
            let alpha = Tensor<T>(zeros: [x.count])
            for i in order { Reflector(v, i).apply(x, alpha) }
        case .compactWY(let nb):
            let blocks = WYBlock<T>.partition(v, blockSize: nb)
            for b in transpose ? blocks : blocks.reversed() {
                if let tape {
                    tape.apply(v, b, x, transposed: !transpose, fromVector: 0)
                } else {
                    WYBlock(v, b).apply(x, transposed: !transpose)
                }
            }
        }
    }

    /// Walks the steps of `multiply` backwards: recovers each step's input from its output, adds
    /// the step's reflector gradients into gv and turns g into the gradient of the step's input.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func multiplyBackward<T>(_ y: VectorBatch<T>, _ g: VectorBatch<T>, _ v: Tensor<T>, _ gv: Tensor<T>,
                                    transpose: Bool, method: Method) {
        guard y.count > 0, v.rows > 0 else { return }
        switch method {
        case .reflectorwise:
            let order = transpose ? Array((0 ..< v.rows).reversed()) : Array(0 ..< v.rows)
            let alpha = Tensor<T>(zeros: [y.count]), beta = Tensor<T>(zeros: [y.count])
            for i in order { Reflector(v, i).backward(y, g, gv, alpha, beta) }
        case .compactWY(let nb):
            let blocks = WYBlock<T>.partition(v, blockSize: nb)
            for b in transpose ? blocks.reversed() : blocks {
                WYBlock(v, b).backward(y, g, gv, transposed: !transpose)
            }
        }
    }
}

/// One reflector, row i of v: û = (0_i, v[i, i...]); it touches only columns i..<n of a batch.
struct Reflector<T: TensorScalar> {
    let n: Int, i: Int, len: Int
    let u: UnsafeMutablePointer<T>
    /// 2/‖û‖², or 0 for a zero vector (the identity).
    let tau: T

    init(_ v: Tensor<T>, _ i: Int) {
        n = v.cols
        self.i = i
        len = n - i
        u = v.data + i * n + i
        let s = T.dot(len, u, 1, u, 1)
        tau = s > 0 ? 2 / s : 0
    }

    /// X ← X·H: α = τ·X û; X ← X − α ûᵀ (α: scratch of length B), for the vectors r0..< of X.
    func apply(_ x: VectorBatch<T>, _ alpha: Tensor<T>, fromVector r0: Int = 0) {
        guard tau != 0 else { return }
        x.times(r0, i, len, u, tau, into: alpha.data)
        x.addOuter(r0, i, len, -1, alpha.data, u)
    }

    /// For out = in·H, given out (in y) and G = ∂L/∂out (in g): y ← in, g ← ∂L/∂in = G·H, and
    /// ∂û += −Gᵀα − inᵀβ + (αᵀβ)û with α = τ·in û, β = τ·G û (exact, including the norm term).
    /// Only the vectors r0..< take part (see WYBlock.backward).
    func backward(_ y: VectorBatch<T>, _ g: VectorBatch<T>, _ gv: Tensor<T>, _ alpha: Tensor<T>, _ beta: Tensor<T>,
                  fromVector r0: Int = 0) {
        guard tau != 0 else { return }
        apply(y, alpha, fromVector: r0)                   // in = out·H (H·H = I)
        y.times(r0, i, len, u, tau, into: alpha.data)     // α = τ·in û
        g.times(r0, i, len, u, tau, into: beta.data)      // β = τ·G û
        let du = gv.data + i * n + i
        let ab = T.dot(y.count - r0, alpha.data, 1, beta.data, 1)
        g.transposeTimes(r0, i, len, -1, alpha.data, into: du)   // −Gᵀα
        y.transposeTimes(r0, i, len, -1, beta.data, into: du)    // −inᵀβ
        T.axpy(len, ab, u, 1, du, 1)                              // +(αᵀβ)û
        g.addOuter(r0, i, len, -1, beta.data, u)                  // ∂in = G − βûᵀ
    }
}

/// How many numbers of these parameters are trainable: reflector matrices (named `u` or `v`, or
/// ending in `.u`/`.v`) store k(k−1)/2 masked entries that are always zero and never updated.
public func trainableCount<T>(_ parameters: [Parameter<T>]) -> Int {
    parameters.reduce(0) { total, p in
        let isReflectors = ["u", "v"].contains(p.name) || p.name.hasSuffix(".u") || p.name.hasSuffix(".v")
        let k = p.value.rank == 2 ? p.value.rows : 0
        return total + p.value.count - (isReflectors ? k * (k - 1) / 2 : 0)
    }
}
