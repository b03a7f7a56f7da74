/// A block of consecutive reflectors b0..<b1 in compact WY form: H_{b0}⋯H_{b1−1} = I − Y T Yᵀ.
///
/// Y's columns are the block's û vectors. They are all zero above row b0, so Y is kept as the
/// (n − b0)×nb trailing part and the block touches only columns b0..<n of a batch. T is upper
/// triangular with T⁻¹ = striu(YᵀY) + diag(‖y_j‖²/2) (the "UT transform": one GEMM and a triangular
/// inverse). A zero y_j gets T⁻¹_jj = 1: its row and column of T are then zero off the diagonal and
/// the reflector is the identity, as in the reflector-wise path.
struct WYBlock<T: TensorScalar> {
    let n: Int, b0: Int, nb: Int, len: Int
    /// (n − b0)×nb, row-major.
    let y: Tensor<T>
    /// nb×nb upper triangular.
    let t: Tensor<T>
    /// YᵀY (nb×nb): lets the backward pass get Z of a block's input from Z of its output cheaply.
    let gram: Tensor<T>

    static func partition(_ v: Tensor<T>, blockSize: Int) -> [Range<Int>] {
        let nb = Swift.max(1, blockSize)
        return stride(from: 0, to: v.rows, by: nb).map { $0 ..< Swift.min($0 + nb, v.rows) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    init(_ v: Tensor<T>, _ block: Range<Int>) {
        n = v.cols
        b0 = block.lowerBound
        nb = block.count
        len = n - b0
        y = Tensor(zeros: [len, nb])
        for j in 0 ..< nb {
            let row = v.data + (b0 + j) * n
            for r in j ..< len { y.data[r * nb + j] = row[b0 + r] }   // masked entries (r < j) stay 0
        }
        // R = T⁻¹ = striu(YᵀY) + diag(‖y_j‖²/2), then T = R⁻¹ by a triangular solve against I.
        gram = Tensor<T>(zeros: [nb, nb])
        T.gemm(true, false, nb, nb, len, 1, y.data, nb, y.data, nb, 0, gram.data, nb)
        let r = gram.copy()
        for i in 0 ..< nb {
            for j in 0 ..< i { r.data[i * nb + j] = 0 }
            let half = r.data[i * nb + i] / 2
            r.data[i * nb + i] = half > 0 ? half : 1
        }
        t = Tensor<T>.identity(nb)
        T.trsmUpper(right: false, trans: false, nb, nb, 1, r.data, nb, t.data, nb)
    }

    /// X ← X·(I − Y T Yᵀ), or X·(I − Y Tᵀ Yᵀ) (the block's transpose) when `transposed`, for the
    /// vectors r0..< of the batch (the caller knows the others are zero in the block's coordinates).
    /// Returns Z = X Y and A = Z T(ᵀ) of the input, which the backward pass reuses.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    @discardableResult
    func apply(_ x: VectorBatch<T>, transposed: Bool, fromVector r0: Int = 0) -> (z: Tensor<T>, a: Tensor<T>) {
        let b = x.count - r0
        let z = Tensor<T>(zeros: [b, nb]), a = Tensor<T>(zeros: [b, nb])
        x.times(r0, b0, len, y.data, nb, 1, 0, into: z.data)                                 // Z = X Y
        T.gemm(false, transposed, b, nb, nb, 1, z.data, nb, t.data, nb, 0, a.data, nb)      // A = Z T(ᵀ)
        x.add(r0, b0, len, -1, a.data, y.data, nb)                                           // X −= A Yᵀ
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
    /// coordinate): (r0, b0) of the batch itself, or (0, 0) of a tape's copy — and Z = in·Y.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward(input x: VectorBatch<T>, origin: (vector: Int, coordinate: Int), z: Tensor<T>, _ g: VectorBatch<T>,
                  _ gv: Tensor<T>, transposed: Bool, fromVector r0: Int) {
        let b = g.count - r0
        let a = Tensor<T>(zeros: [b, nb]), gy = Tensor<T>(zeros: [b, nb])
        T.gemm(false, transposed, b, nb, nb, 1, z.data, nb, t.data, nb, 0, a.data, nb)      // A = Z T_e
        g.times(r0, b0, len, y.data, nb, 1, 0, into: gy.data)                                // GY

        // K from S = Zᵀ GY.
        let s = Tensor<T>(zeros: [nb, nb]), w = Tensor<T>(zeros: [nb, nb]), k = Tensor<T>(zeros: [nb, nb])
        if transposed {
            T.gemm(true, false, nb, nb, b, 1, gy.data, nb, z.data, nb, 0, s.data, nb)       // Sᵀ
        } else {
            T.gemm(true, false, nb, nb, b, 1, z.data, nb, gy.data, nb, 0, s.data, nb)       // S
        }
        T.gemm(true, false, nb, nb, nb, 1, t.data, nb, s.data, nb, 0, w.data, nb)           // Tᵀ S(ᵀ)
        T.gemm(false, true, nb, nb, nb, 1, w.data, nb, t.data, nb, 0, k.data, nb)           // ⋯ Tᵀ
        let m = Tensor<T>(zeros: [nb, nb])                                                   // K_u + K_uᵀ + diag K
        for i in 0 ..< nb {
            m.data[i * nb + i] = k.data[i * nb + i]
            for j in i + 1 ..< nb {
                m.data[i * nb + j] = k.data[i * nb + j]
                m.data[j * nb + i] = k.data[i * nb + j]
            }
        }
        let dy = Tensor<T>(zeros: [len, nb]), gyt = Tensor<T>(zeros: [b, nb])
        T.gemm(false, !transposed, b, nb, nb, 1, gy.data, nb, t.data, nb, 0, gyt.data, nb)  // (GY) T_eᵀ
        x.transposeTimes(origin.vector, origin.coordinate, len, -1, gyt.data, nb, 0, into: dy.data)  // −inᵀ (GY) T_eᵀ
        g.transposeTimes(r0, b0, len, -1, a.data, nb, 1, into: dy.data)                      // −Gᵀ A
        T.gemm(false, false, len, nb, nb, 1, y.data, nb, m.data, nb, 1, dy.data, nb)         // + Y M

        for j in 0 ..< nb {      // scatter into the reflector rows; masked entries get nothing
            let row = gv.data + (b0 + j) * n + b0
            for r in j ..< len { row[r] += dy.data[r * nb + j] }
        }
        g.add(r0, b0, len, -1, gyt.data, y.data, nb)                                         // ∂in = G − (GY)T_eᵀ Yᵀ
    }
}

/// What the backward pass of a compact WY product keeps from its forward pass: each block as applied,
/// with a copy of its input window and Z = in·Y. With it the backward pass skips recovering each
/// block's input from its output (two of its six large products) and rebuilding the blocks, for
/// O(B·n·k) memory (≈ 8 MB for the two factors of a 512×512 SVD layer).
final class WYTape<T: TensorScalar> {
    struct Step {
        let block: WYBlock<T>
        let transposed: Bool
        let r0: Int
        /// The input window as a batch of its own (vectors r0..<B, coordinates b0..<n).
        let input: Tensor<T>
        let z: Tensor<T>
    }
    let layout: Householder.Layout
    private(set) var steps: [Step] = []

    /// A tape for products applied with `method` to batches of this layout; nil for the reflector-wise
    /// method (a tape of every reflector's input would take O(B·n·k) memory per reflector), whose
    /// backward pass recovers the inputs instead.
    init?(_ method: Householder.Method, layout: Householder.Layout) {
        guard case .compactWY = method else { return nil }
        self.layout = layout
    }

    /// Applies the block to vectors r0..< of x, keeping what its backward pass needs.
    func apply(_ block: WYBlock<T>, _ x: VectorBatch<T>, transposed: Bool, fromVector r0: Int) {
        let input = x.copyWindow(r0, block.b0, block.len)
        let (z, _) = block.apply(x, transposed: transposed, fromVector: r0)
        steps.append(Step(block: block, transposed: transposed, r0: r0, input: input, z: z))
    }

    /// Walks the steps back: adds the reflector gradients into gv and turns g into the gradient of
    /// the product's input.
    func backward(_ g: VectorBatch<T>, _ gv: Tensor<T>) {
        for step in steps.reversed() {
            step.block.backward(input: VectorBatch(step.input, layout), origin: (0, 0), z: step.z, g, gv,
                                transposed: step.transposed, fromVector: step.r0)
        }
    }
}
