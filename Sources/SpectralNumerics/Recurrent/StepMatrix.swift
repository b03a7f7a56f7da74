import StepKernels

/// The recurrent matrix as each step multiplies it: C = β·C + A·op(W) for a part's rows A, with
/// op(W) = Wᵀ forward (h_{t−1}Wᵀ) and W backward (δ_t W). W is the same for a whole pass, so for
/// Float it is packed once here and every step runs StepKernels' sg_gemm on it, where a BLAS call
/// repacks it each time; for Double (the gradient checks' precision), or on a CPU without AVX2 and
/// FMA, each step is a BLAS call as before. Either way safe to share between the parts' threads.
struct StepMatrix<T: TensorScalar> {
    let w: Tensor<T>, n: Int, transposed: Bool
    private let packed: [Float]?

    init(_ w: Tensor<T>, transposed: Bool) {
        let n = w.rows
        self.w = w
        self.n = n
        self.transposed = transposed
        guard T.self == Float.self, sg_available() != 0 else { packed = nil; return }
        packed = w.data.withMemoryRebound(to: Float.self, capacity: n * n) { f in
            [Float](unsafeUninitializedCapacity: sg_packed_count(Int32(n), Int32(n))) { buffer, count in
                sg_pack(transposed ? 1 : 0, Int32(n), Int32(n), f, Int32(n), buffer.baseAddress)
                count = buffer.count
            }
        }
    }

    /// c (rows×n) = β·c + a (rows×n)·op(W), β 0 or 1. Called from BatchParallel's parts only (its
    /// BLAS fallback is a part call).
    func multiply(_ a: UnsafePointer<T>, rows: Int, beta: T, into c: UnsafeMutablePointer<T>) {
        guard let packed else {
            return T.partGemm(false, transposed, rows, n, n, 1, a, n, w.data, n, beta, c, n)
        }
        a.withMemoryRebound(to: Float.self, capacity: rows * n) { a in
            c.withMemoryRebound(to: Float.self, capacity: rows * n) { c in
                sg_gemm(Int32(rows), Int32(n), Int32(n), a, Int32(n), packed, beta == 0 ? 0 : 1, c, Int32(n))
            }
        }
    }
}
