import StepKernels

/// The input projection of a recurrent step when the input is a few numbers per step (a pixel, the
/// adding task's pair): a GEMM with K or N that small spends more on packing and zeroing its output
/// than on arithmetic, four calls per step. These loops do the same sums over the rows of a part,
/// with M held transposed (Mᵀ, input×n) so each input's column is contiguous: StepKernels' loops for
/// Float (eight columns at a time in registers), the ones below for Double.
struct NarrowInput<T: TensorScalar> {
    /// Inputs up to this width take the loops; wider ones the GEMMs (where packing pays).
    static var widest: Int { Int(NI_WIDEST) }

    let n: Int, input: Int
    /// Mᵀ: row i is column i of the n×input weight M.
    let transposed: [T]

    init?(weight: Tensor<T>) {
        let (n, input) = (weight.shape[0], weight.shape[1])
        guard input <= Self.widest else { return nil }
        self.n = n
        self.input = input
        var t = [T](repeating: 0, count: n * input)
        for j in 0 ..< n { for i in 0 ..< input { t[i * n + j] = weight.data[j * input + i] } }
        transposed = t
    }

    /// h[r] = b + Σ_i x[r][i] M[:, i] for `rows` rows (h is rows×n, x rows×input).
    func project(_ x: UnsafePointer<T>, rows: Int, bias: UnsafePointer<T>, into h: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            return float(transposed) { mt in
                ni_project(Int32(rows), Int32(n), Int32(input), float(x), mt, float(bias), float(h))
            }
        }
        transposed.withUnsafeBufferPointer { mt in
            for r in 0 ..< rows {
                let row = h + r * n, xr = x + r * input
                for j in 0 ..< n { row[j] = bias[j] }
                for i in 0 ..< input {
                    let xi = xr[i], column = mt.baseAddress! + i * n
                    for j in 0 ..< n { row[j] += xi * column[j] }
                }
            }
        }
    }

    /// For δ (rows×n) and the step's input x: ∂Mᵀ[i] += Σ_r x[r][i] δ[r], ∂b += Σ_r δ[r], and
    /// ∂x[r][i] = δ[r] · M[:, i]. `gradTransposed` is input×n (transpose it into ∂M once, after).
    func backward(_ d: UnsafePointer<T>, _ x: UnsafePointer<T>, rows: Int, gradTransposed: UnsafeMutablePointer<T>,
                  gradBias: UnsafeMutablePointer<T>, gradX: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            return float(transposed) { mt in
                ni_backward(Int32(rows), Int32(n), Int32(input), float(d), float(x), mt, float(gradTransposed), float(gradBias), float(gradX))
            }
        }
        transposed.withUnsafeBufferPointer { mt in
            for r in 0 ..< rows {
                let dr = d + r * n, xr = x + r * input
                for j in 0 ..< n { gradBias[j] += dr[j] }
                for i in 0 ..< input {
                    let xi = xr[i], g = gradTransposed + i * n, column = mt.baseAddress! + i * n
                    for j in 0 ..< n { g[j] += xi * dr[j] }
                    // BLAS's dot: a plain loop's sum stays serial (no reassociation of floats).
                    gradX[r * input + i] = T.partDot(n, dr, column)
                }
            }
        }
    }

    // The same memory seen as Float, where T is Float (checked by the callers).
    private func float(_ p: UnsafePointer<T>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
    private func float(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> { UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self) }
    private func float(_ a: [T], _ body: (UnsafePointer<Float>) -> Void) {
        a.withUnsafeBufferPointer { body(float($0.baseAddress!)) }
    }

    /// ∂M[j][i] += ∂Mᵀ[i][j]: a part's transposed sum into the n×input gradient.
    func addTransposed(_ gradTransposed: UnsafePointer<T>, into grad: UnsafeMutablePointer<T>) {
        for j in 0 ..< n { for i in 0 ..< input { grad[j * input + i] += gradTransposed[i * n + j] } }
    }
}
