/// A block of consecutive reflectors b0..<b1 in compact WY form: H_{b0}⋯H_{b1−1} = I − Y T Yᵀ.
///
/// Y's columns are the block's û vectors. They are all zero above row b0, so Y is kept as the
/// (n − b0)×nb trailing part, stored transposed (Yᵀ, nb×(n − b0): each row a straight copy of a
/// reflector's parameter row), and the block touches only columns b0..<n of a batch. T is upper
/// triangular with T⁻¹ = striu(YᵀY) + diag(‖y_j‖²/2) (the "UT transform": one GEMM and a triangular
/// inverse). A zero y_j gets T⁻¹_jj = 1: its row and column of T are then zero off the diagonal and
/// the reflector is the identity, as in the reflector-wise path.
struct WYBlock<T: TensorScalar> {
    let n: Int, b0: Int, nb: Int, len: Int
    /// Yᵀ, nb×(n − b0), row-major: row j is reflector b0 + j on coordinates b0..<n, its j masked
    /// entries zero.
    let yt: Tensor<T>
    /// nb×nb upper triangular.
    let t: Tensor<T>
    /// YᵀY (nb×nb): lets the backward pass get Z of a block's input from Z of its output cheaply.
    let gram: Tensor<T>

    static func partition(_ v: Tensor<T>, blockSize: Int) -> [Range<Int>] {
        let nb = Swift.max(1, blockSize)
        return stride(from: 0, to: v.rows, by: nb).map { $0 ..< Swift.min($0 + nb, v.rows) }
    }

    /// The block of rows `block` of v, in the memory of `old` where it has the same shapes.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    init(_ v: Tensor<T>, _ block: Range<Int>, reusing old: WYBlock<T>? = nil) {
        n = v.cols
        b0 = block.lowerBound
        nb = block.count
        len = n - b0
        yt = .reusing(old?.yt, [nb, len])
        for j in 0 ..< nb {
            let row = yt.data + j * len
            row.update(repeating: 0, count: j)                                   // the masked entries
            (row + j).update(from: v.data + (b0 + j) * n + b0 + j, count: len - j)
        }
        // R = T⁻¹ = striu(YᵀY) + diag(‖y_j‖²/2), then T = R⁻¹ by a triangular solve against I.
        gram = .reusing(old?.gram, [nb, nb])
        T.gemm(false, true, nb, nb, len, 1, yt.data, len, yt.data, len, 0, gram.data, nb)
        let r = gram.copy()
        for i in 0 ..< nb {
            for j in 0 ..< i { r.data[i * nb + j] = 0 }
            let half = r.data[i * nb + i] / 2
            r.data[i * nb + i] = half > 0 ? half : 1
        }
        t = .reusing(old?.t, [nb, nb])
        t.fill(0)
        for i in 0 ..< nb { t.data[i * nb + i] = 1 }
        T.trsmUpper(right: false, trans: false, nb, nb, 1, r.data, nb, t.data, nb)
    }

    /// X ← X·(I − Y T Yᵀ), or X·(I − Y Tᵀ Yᵀ) (the block's transpose) when `transposed`, for the
    /// vectors r0..< of the batch (the caller knows the others are zero in the block's coordinates).
    /// Returns Z = X Y and A = Z T(ᵀ) of the input (in `z` and `a` when given: (B − r0)×nb),
    /// which the backward pass reuses.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    @discardableResult
    func apply(_ x: VectorBatch<T>, transposed: Bool, fromVector r0: Int = 0, z: Tensor<T>? = nil,
               a: Tensor<T>? = nil) -> (z: Tensor<T>, a: Tensor<T>) {
        let b = x.count - r0
        let z = z ?? Tensor<T>(unfilled: [b, nb]), a = a ?? Tensor<T>(unfilled: [b, nb])
        x.timesTransposed(r0, b0, len, yt.data, nb, 1, 0, into: z.data)                     // Z = X Y
        T.gemm(false, transposed, b, nb, nb, 1, z.data, nb, t.data, nb, 0, a.data, nb)      // A = Z T(ᵀ)
        x.add(r0, b0, len, -1, a.data, yt.data, nb)                                          // X −= A Yᵀ
        return (z, a)
    }

    /// For out = in·B with B = I − Y T_e Yᵀ (T_e = T, or Tᵀ when `transposed`), given out (in x)
    /// and G (in g): x ← in, g ← ∂L/∂in = G·Bᵀ, and the block's reflector gradients added to gv:
    ///   ∂Y = −inᵀ(GY)T_eᵀ − Gᵀ(in Y T_e) + Y(K_u + K_uᵀ + diag K),
    ///   K = Tᵀ S Tᵀ (or Tᵀ Sᵀ Tᵀ when transposed), S = (in Y)ᵀ(G Y), K_u its strict upper part;
    /// the last term is T's dependence on Y through the UT transform. Only the vectors r0..< take
    /// part: the caller knows that the others are zero in the block's coordinates in `in` and that
    /// their gradients are not needed any more.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward(_ x: VectorBatch<T>, _ g: VectorBatch<T>, _ gv: Tensor<T>, transposed: Bool, fromVector r0: Int = 0) {
        let b = x.count - r0
        // in = out·Bᵀ (B is orthogonal); then Z = in·Y = out·Y − A_r·(YᵀY) with A_r the recovery's A:
        // an nb×nb product instead of another pass over the block's len coordinates.
        let (z, recovery) = apply(x, transposed: !transposed, fromVector: r0)
        T.gemm(false, false, b, nb, nb, -1, recovery.data, nb, gram.data, nb, 1, z.data, nb)
        backward(input: x, origin: (r0, b0), z: z, g, gv, transposed: transposed, fromVector: r0)
    }

    /// The backward pass given the block's input — the window of `input` at `origin` (vector,
    /// coordinate): (r0, b0) of the batch itself, or (0, 0) of a tape's copy — Z = in·Y and, when
    /// the forward pass kept it, A = Z T_e. Everything about Y is computed transposed (∂Yᵀ,
    /// nb×len), so that it lands in the reflector rows of gv as contiguous rows.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward(input x: VectorBatch<T>, origin: (vector: Int, coordinate: Int), z: Tensor<T>, a kept: Tensor<T>? = nil,
                  _ g: VectorBatch<T>, _ gv: Tensor<T>, transposed: Bool, fromVector r0: Int) {
        let b = g.count - r0
        let gy = Tensor<T>(unfilled: [b, nb])
        let a = kept ?? Tensor<T>(unfilled: [b, nb])
        if kept == nil {
            T.gemm(false, transposed, b, nb, nb, 1, z.data, nb, t.data, nb, 0, a.data, nb)  // A = Z T_e
        }
        g.timesTransposed(r0, b0, len, yt.data, nb, 1, 0, into: gy.data)                    // GY

        // K from S = Zᵀ GY.
        let s = Tensor<T>(unfilled: [nb, nb]), w = Tensor<T>(unfilled: [nb, nb]), k = Tensor<T>(unfilled: [nb, nb])
        if transposed {
            T.gemm(true, false, nb, nb, b, 1, gy.data, nb, z.data, nb, 0, s.data, nb)       // Sᵀ
        } else {
            T.gemm(true, false, nb, nb, b, 1, z.data, nb, gy.data, nb, 0, s.data, nb)       // S
        }
        T.gemm(true, false, nb, nb, nb, 1, t.data, nb, s.data, nb, 0, w.data, nb)           // Tᵀ S(ᵀ)
        T.gemm(false, true, nb, nb, nb, 1, w.data, nb, t.data, nb, 0, k.data, nb)           // ⋯ Tᵀ
        let m = Tensor<T>(unfilled: [nb, nb])                                                // K_u + K_uᵀ + diag K
        for i in 0 ..< nb {
            m.data[i * nb + i] = k.data[i * nb + i]
            for j in i + 1 ..< nb {
                m.data[i * nb + j] = k.data[i * nb + j]
                m.data[j * nb + i] = k.data[i * nb + j]
            }
        }
        let dyt = Tensor<T>(unfilled: [nb, len]), gyt = Tensor<T>(unfilled: [b, nb])
        T.gemm(false, !transposed, b, nb, nb, 1, gy.data, nb, t.data, nb, 0, gyt.data, nb)  // (GY) T_eᵀ
        x.transposedTimes(origin.vector, origin.coordinate, len, -1, gyt.data, nb, 0, into: dyt.data)  // −((GY) T_eᵀ)ᵀ in
        g.transposedTimes(r0, b0, len, -1, a.data, nb, 1, into: dyt.data)                   // −Aᵀ G
        T.gemm(false, false, nb, len, nb, 1, m.data, nb, yt.data, len, 1, dyt.data, len)    // + M Yᵀ (M symmetric)

        for j in 0 ..< nb {      // into the reflector rows; masked entries get nothing
            T.axpy(len - j, 1, dyt.data + j * len + j, 1, gv.data + (b0 + j) * n + b0 + j, 1)
        }
        g.add(r0, b0, len, -1, gyt.data, yt.data, nb)                                        // ∂in = G − (GY)T_eᵀ Yᵀ
    }
}

/// What the backward pass of a compact WY product keeps from its forward pass: each block as
/// applied, with a copy of its input window, Z = in·Y and A = Z T_e. With it the backward pass skips
/// recovering each block's input from its output (two of its six large products), rebuilding the
/// blocks and recomputing A, for O(B·n·k) memory (≈ 11 MB for the two factors of a 512×512 SVD layer).
///
/// A tape is recorded again and again (a `WYTapePool` hands it out): its memory is reused step by
/// step, since fresh megabytes for every forward pass cost page faults and zeroing.
final class WYTape<T: TensorScalar> {
    struct Step {
        let block: WYBlock<T>
        let transposed: Bool
        let r0: Int
        /// The input window as a batch of its own (vectors r0..<B, coordinates b0..<n).
        let input: Tensor<T>
        let z: Tensor<T>, a: Tensor<T>
    }
    let layout: Householder.Layout
    private(set) var steps: [Step] = []
    /// The steps of the previous recording, whose memory the next recording reuses in order.
    private var spare: [Step] = []

    init(layout: Householder.Layout) {
        self.layout = layout
    }

    /// Starts a new recording over the memory of the last one.
    func rewind() {
        if !steps.isEmpty { spare = steps }
        steps = []
    }

    /// Applies the block of rows `range` of v to vectors r0..< of x, keeping what its backward pass needs.
    func apply(_ v: Tensor<T>, _ range: Range<Int>, _ x: VectorBatch<T>, transposed: Bool, fromVector r0: Int) {
        let old = steps.count < spare.count ? spare[steps.count] : nil
        let block = WYBlock(v, range, reusing: old?.block)
        let input = x.copyWindow(r0, block.b0, block.len, reusing: old?.input)
        let shape = [x.count - r0, block.nb]
        let (z, a) = block.apply(x, transposed: transposed, fromVector: r0, z: .reusing(old?.z, shape), a: .reusing(old?.a, shape))
        steps.append(Step(block: block, transposed: transposed, r0: r0, input: input, z: z, a: a))
    }

    /// The numbers this recording keeps for its backward pass: each block's Yᵀ, T and YᵀY, its
    /// input window and its Z and A.
    var numbers: Int {
        steps.reduce(0) { $0 + $1.block.yt.count + $1.block.t.count + $1.block.gram.count + $1.input.count + $1.z.count + $1.a.count }
    }

    /// Walks the steps back: adds the reflector gradients into gv and turns g into the gradient of
    /// the product's input.
    func backward(_ g: VectorBatch<T>, _ gv: Tensor<T>) {
        for step in steps.reversed() {
            step.block.backward(input: VectorBatch(step.input, layout), origin: (0, 0), z: step.z, a: step.a, g, gv,
                                transposed: step.transposed, fromVector: step.r0)
        }
    }
}

/// The tapes of one product of a layer (U's, say), reused from one forward pass to the next. A tape
/// is handed out again only once nothing but the pool holds it — ARC tells — so a forward pass whose
/// backward has not run yet (a `Built` still held) keeps its tape intact, and the next forward
/// records on another one.
final class WYTapePool<T: TensorScalar> {
    let layout: Householder.Layout
    private var tapes: [WYTape<T>] = []
    /// Enough for the usual pattern (one pass held by a cache while the next one is built); beyond
    /// it, tapes are made fresh and not kept.
    private let capacity = 3

    init(layout: Householder.Layout) {
        self.layout = layout
    }

    /// A tape to record a product applied with `method` (nil for the reflector-wise method, whose
    /// backward pass recovers the inputs instead: a tape of every reflector's input would take
    /// O(B·n·k) memory per reflector).
    func tape(for method: Householder.Method) -> WYTape<T>? {
        guard case .compactWY = method else { return nil }
        for i in tapes.indices where isKnownUniquelyReferenced(&tapes[i]) {
            tapes[i].rewind()
            return tapes[i]
        }
        let tape = WYTape<T>(layout: layout)
        if tapes.count < capacity { tapes.append(tape) }
        return tape
    }
}
