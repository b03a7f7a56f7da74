/// A batch of vectors as the Householder kernels see it, in place in its tensor: the rows of a B×n
/// matrix or the columns of an n×B one. The kernels work on a window of it — the vectors from r0 on,
/// their coordinates from c0 on — as on a (B − r0)×(n − c0) matrix X with one vector per row; each
/// product below picks the BLAS transpose flags for the storage, so a columns batch is never
/// transposed in memory (a transpose of a 512×512 matrix costs about a quarter of a whole WY pass).
struct VectorBatch<T: TensorScalar> {
    /// Held so that the memory lives as long as the batch (a temporary's storage could otherwise be
    /// freed right after the batch is made from it).
    let tensor: Tensor<T>
    let data: UnsafeMutablePointer<T>
    /// B, the number of vectors.
    let count: Int
    /// The length of the tensor's rows.
    let ld: Int
    let columns: Bool

    init(_ x: Tensor<T>, _ layout: Householder.Layout) {
        tensor = x
        data = x.data
        columns = layout == .columns
        count = columns ? x.cols : x.rows
        ld = x.cols
    }

    /// Where X[0, 0] of the window (vector r0, coordinate c0) is.
    @inline(__always)
    func window(_ r0: Int, _ c0: Int) -> UnsafeMutablePointer<T> {
        columns ? data + c0 * ld + r0 : data + r0 * ld + c0
    }

    /// A copy of the window (vectors r0..<B, coordinates c0..<c0 + len) stored the same way: B − r0
    /// rows of len, or len rows of B − r0 (in `old`'s memory when it has that shape).
    func copyWindow(_ r0: Int, _ c0: Int, _ len: Int, reusing old: Tensor<T>? = nil) -> Tensor<T> {
        let b = count - r0
        let (rows, cols) = columns ? (len, b) : (b, len)
        let out = Tensor<T>.reusing(old, [rows, cols])
        let from = window(r0, c0)
        for i in 0 ..< rows { (out.data + i * cols).update(from: from + i * ld, count: cols) }
        return out
    }

    // MARK: Level 3: X is the b×len window at (r0, c0); R is p×len and P b×p, both row-major. R holds
    // the block's reflectors as rows (Yᵀ), so it is a straight copy of their parameter rows.

    /// P ← α·X·Rᵀ + β·P.
    @inline(__always)
    func timesTransposed(_ r0: Int, _ c0: Int, _ len: Int, _ r: UnsafePointer<T>, _ p: Int, _ alpha: T, _ beta: T,
                         into out: UnsafeMutablePointer<T>) {
        T.gemm(columns, true, count - r0, p, len, alpha, window(r0, c0), ld, r, len, beta, out, p)
    }

    /// X ← X + α·P·R.
    @inline(__always)
    func add(_ r0: Int, _ c0: Int, _ len: Int, _ alpha: T, _ pm: UnsafePointer<T>, _ r: UnsafePointer<T>, _ p: Int) {
        if columns {   // Xᵀ (len×b) += α·Rᵀ·Pᵀ
            T.gemm(true, true, len, count - r0, p, alpha, r, len, pm, p, 1, window(r0, c0), ld)
        } else {
            T.gemm(false, false, count - r0, len, p, alpha, pm, p, r, len, 1, window(r0, c0), ld)
        }
    }

    /// D ← α·Pᵀ·X + β·D (D: p×len).
    @inline(__always)
    func transposedTimes(_ r0: Int, _ c0: Int, _ len: Int, _ alpha: T, _ pm: UnsafePointer<T>, _ p: Int, _ beta: T,
                         into d: UnsafeMutablePointer<T>) {
        T.gemm(true, columns, p, len, count - r0, alpha, pm, p, window(r0, c0), ld, beta, d, len)
    }

    // MARK: Level 2, the same with one column (the reflector-wise kernel).

    /// y ← α·X·u (y: b).
    @inline(__always)
    func times(_ r0: Int, _ c0: Int, _ len: Int, _ u: UnsafePointer<T>, _ alpha: T, into y: UnsafeMutablePointer<T>) {
        if columns {
            T.gemv(true, len, count - r0, alpha, window(r0, c0), ld, u, 1, 0, y, 1)
        } else {
            T.gemv(false, count - r0, len, alpha, window(r0, c0), ld, u, 1, 0, y, 1)
        }
    }

    /// X ← X + α·a·uᵀ (a: b, u: len).
    @inline(__always)
    func addOuter(_ r0: Int, _ c0: Int, _ len: Int, _ alpha: T, _ a: UnsafePointer<T>, _ u: UnsafePointer<T>) {
        if columns {
            T.ger(len, count - r0, alpha, u, 1, a, 1, window(r0, c0), ld)
        } else {
            T.ger(count - r0, len, alpha, a, 1, u, 1, window(r0, c0), ld)
        }
    }

    /// d ← d + α·Xᵀ·a (a: b, d: len).
    @inline(__always)
    func transposeTimes(_ r0: Int, _ c0: Int, _ len: Int, _ alpha: T, _ a: UnsafePointer<T>, into d: UnsafeMutablePointer<T>) {
        if columns {
            T.gemv(false, len, count - r0, alpha, window(r0, c0), ld, a, 1, 1, d, 1)
        } else {
            T.gemv(true, count - r0, len, alpha, window(r0, c0), ld, a, 1, 1, d, 1)
        }
    }
}
