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

    /// The batch as B×n rows (transposing a columns-layout n×B input).
    private static func rows<T>(_ x: Tensor<T>, _ layout: Layout, n: Int) throws -> Tensor<T> {
        guard x.rank == 2 else {
            throw TensorError.shape("expected a batch matrix (\(layout == .rows ? "B×\(n)" : "\(n)×B")), got \(x.shapeDescription)")
        }
        let r = layout == .rows ? x.copy() : try x.transposed()
        guard r.cols == n else {
            throw TensorError.shape("expected vectors of length \(n) (\(layout == .rows ? "B×\(n)" : "\(n)×B")), got \(x.shapeDescription)")
        }
        return r
    }

    private static func back<T>(_ x: Tensor<T>, _ layout: Layout) -> Tensor<T> {
        layout == .rows ? x : try! x.transposed()
    }

    /// Q x for every vector x of the batch (Qᵀ x when `transpose`).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func apply<T>(_ v: Tensor<T>, to x: Tensor<T>, transpose: Bool = false,
                                layout: Layout = .rows, method: Method = .wy) throws -> Tensor<T> {
        try check(v)
        let y = try rows(x, layout, n: v.cols)
        rightMultiply(y, v, byQ: transpose, method: method)
        return back(y, layout)
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
        let y = try rows(output, layout, n: v.cols)
        let g = try rows(gradOutput, layout, n: v.cols)
        let gv = Tensor<T>(zeros: v.shape)
        rightMultiplyBackward(y, g, v, gv, byQ: transpose, method: method)
        return (back(g, layout), gv)
    }

    /// The n×n matrix Q (Q = I·Q: the rows of the identity multiplied by Q).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func matrix<T>(_ v: Tensor<T>, method: Method = .wy) throws -> Tensor<T> {
        try check(v)
        let q = Tensor<T>.identity(v.cols)
        rightMultiply(q, v, byQ: true, method: method)
        return q
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
        let gv = Tensor<T>(zeros: v.shape)
        rightMultiplyBackward(q.copy(), gradMatrix.copy(), v, gv, byQ: true, method: method)
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

    // MARK: The in-place kernels on B×n rows: X ← X·Q (byQ) or X ← X·Qᵀ.

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func rightMultiply<T>(_ x: Tensor<T>, _ v: Tensor<T>, byQ: Bool, method: Method) {
        guard x.rows > 0, v.rows > 0 else { return }
        switch method {
        case .reflectorwise:
            // X·Q = X·H_0⋯H_{k−1}; X·Qᵀ = X·H_{k−1}⋯H_0 (each H is symmetric).
            let order = byQ ? Array(0 ..< v.rows) : Array((0 ..< v.rows).reversed())
            let alpha = Tensor<T>(zeros: [x.rows])
            for i in order { Reflector(v, i).apply(x, alpha) }
        case .compactWY(let nb):
            let blocks = WYBlock<T>.partition(v, blockSize: nb)
            for b in byQ ? blocks : blocks.reversed() {
                WYBlock(v, b).apply(x, transposed: !byQ)
            }
        }
    }

    /// Walks the steps of rightMultiply backwards: recovers each step's input from its output, adds
    /// the step's reflector gradients into gv and turns g into the gradient of the step's input.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func rightMultiplyBackward<T>(_ y: Tensor<T>, _ g: Tensor<T>, _ v: Tensor<T>, _ gv: Tensor<T>,
                                         byQ: Bool, method: Method) {
        guard y.rows > 0, v.rows > 0 else { return }
        switch method {
        case .reflectorwise:
            let order = byQ ? Array((0 ..< v.rows).reversed()) : Array(0 ..< v.rows)
            let alpha = Tensor<T>(zeros: [y.rows]), beta = Tensor<T>(zeros: [y.rows])
            for i in order { Reflector(v, i).backward(y, g, gv, alpha, beta) }
        case .compactWY(let nb):
            let blocks = WYBlock<T>.partition(v, blockSize: nb)
            for b in byQ ? blocks.reversed() : blocks {
                WYBlock(v, b).backward(y, g, gv, transposed: !byQ)
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

    /// X ← X·H: α = τ·X û; X ← X − α ûᵀ (α: scratch of length B).
    func apply(_ x: Tensor<T>, _ alpha: Tensor<T>) {
        guard tau != 0 else { return }
        let b = x.rows
        T.gemv(false, b, len, tau, x.data + i, n, u, 1, 0, alpha.data, 1)
        T.ger(b, len, -1, alpha.data, 1, u, 1, x.data + i, n)
    }

    /// For out = in·H, given out (in y) and G = ∂L/∂out (in g): y ← in, g ← ∂L/∂in = G·H, and
    /// ∂û += −Gᵀα − inᵀβ + (αᵀβ)û with α = τ·in û, β = τ·G û (exact, including the norm term).
    func backward(_ y: Tensor<T>, _ g: Tensor<T>, _ gv: Tensor<T>, _ alpha: Tensor<T>, _ beta: Tensor<T>) {
        guard tau != 0 else { return }
        let b = y.rows
        apply(y, alpha)                                   // in = out·H (H·H = I); alpha = τ·out û
        T.gemv(false, b, len, tau, y.data + i, n, u, 1, 0, alpha.data, 1)   // α = τ·in û
        T.gemv(false, b, len, tau, g.data + i, n, u, 1, 0, beta.data, 1)    // β = τ·G û
        let du = gv.data + i * n + i
        let ab = T.dot(b, alpha.data, 1, beta.data, 1)
        T.gemv(true, b, len, -1, g.data + i, n, alpha.data, 1, 1, du, 1)    // −Gᵀα
        T.gemv(true, b, len, -1, y.data + i, n, beta.data, 1, 1, du, 1)     // −inᵀβ
        T.axpy(len, ab, u, 1, du, 1)                                        // +(αᵀβ)û
        T.ger(b, len, -1, beta.data, 1, u, 1, g.data + i, n)                // ∂in = G − βûᵀ
    }
}

/// How many numbers of these parameters are trainable: reflector matrices (named `u` or `v`, or
/// ending in `.u`/`.v`) store k(k−1)/2 masked entries that are always zero and never updated.
public func trainableCount<T>(_ parameters: [(name: String, value: Tensor<T>, grad: Tensor<T>)]) -> Int {
    parameters.reduce(0) { total, p in
        let isReflectors = ["u", "v"].contains(p.name) || p.name.hasSuffix(".u") || p.name.hasSuffix(".v")
        let k = p.value.rank == 2 ? p.value.rows : 0
        return total + p.value.count - (isReflectors ? k * (k - 1) / 2 : 0)
    }
}
