/// The operations layers, optimizers and scripts need. Shape mismatches throw, naming both shapes.
extension Tensor {
    private func sameShape(_ other: Tensor, _ op: String) throws {
        guard shape == other.shape else {
            throw TensorError.shape("\(op): shapes \(shapeDescription) and \(other.shapeDescription) differ")
        }
    }

    /// self[i] = f(self[i], other[i]).
    private func zipMap(_ other: Tensor, _ op: String, _ f: (T, T) -> T) throws -> Tensor {
        try sameShape(other, op)
        let r = Tensor(zeros: shape)
        for i in 0 ..< count { r.data[i] = f(data[i], other.data[i]) }
        return r
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func map(_ f: (T) -> T) -> Tensor {
        let r = Tensor(zeros: shape)
        for i in 0 ..< count { r.data[i] = f(data[i]) }
        return r
    }

    public func adding(_ o: Tensor) throws -> Tensor { try zipMap(o, "add") { $0 + $1 } }
    public func subtracting(_ o: Tensor) throws -> Tensor { try zipMap(o, "sub") { $0 - $1 } }
    public func multiplying(_ o: Tensor) throws -> Tensor { try zipMap(o, "mul") { $0 * $1 } }
    public func dividing(_ o: Tensor) throws -> Tensor { try zipMap(o, "div") { $0 / $1 } }

    // In place (no allocation): the optimizer's and the kernels' building blocks.

    /// self += alpha · x
    public func add(_ x: Tensor, scaledBy alpha: T = 1) throws {
        try sameShape(x, "add_")
        T.axpy(count, alpha, x.data, 1, data, 1)
    }
    public func scale(by s: T) { for i in 0 ..< count { data[i] *= s } }
    public func fill(_ v: T) { data.update(repeating: v, count: count) }
    public func assign(_ x: Tensor) throws {
        try sameShape(x, "copy_")
        data.update(from: x.data, count: count)
    }

    public func sum() -> T { buffer.reduce(0, +) }
    public func mean() -> T { count == 0 ? .nan : sum() / T(count) }
    /// Euclidean (Frobenius) norm, scaled against overflow.
    public func norm() -> T {
        let m = buffer.reduce(T(0)) { Swift.max($0, abs($1)) }
        guard m > 0, m.isFinite else { return m }
        return m * buffer.reduce(T(0)) { $0 + ($1 / m) * ($1 / m) }.squareRoot()
    }
    public func max() -> T { buffer.max() ?? .nan }
    public func min() -> T { buffer.min() ?? .nan }
    public func dot(_ o: Tensor) throws -> T {
        try sameShape(o, "dot")
        return T.dot(count, data, 1, o.data, 1)
    }

    /// The transpose of a rank-2 tensor.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func transposed() throws -> Tensor {
        guard rank == 2 else { throw TensorError.shape("transpose needs a matrix, got \(shapeDescription)") }
        let (rows, cols) = (shape[0], shape[1])
        let r = Tensor(zeros: [cols, rows])
        // In 32×32 tiles, so that reads and writes both stay in cache (a plain double loop writes
        // with a stride of `rows` and runs several times slower on large matrices).
        let tile = 32
        for i0 in stride(from: 0, to: rows, by: tile) {
            for j0 in stride(from: 0, to: cols, by: tile) {
                for i in i0 ..< Swift.min(i0 + tile, rows) {
                    for j in j0 ..< Swift.min(j0 + tile, cols) { r.data[j * rows + i] = data[i * cols + j] }
                }
            }
        }
        return r
    }

    /// op(self) · op(other) for matrices (and a matrix times a vector).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func matmul(_ o: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) throws -> Tensor {
        guard rank == 2, o.rank == 2 || (o.rank == 1 && !transposeOther) else {
            throw TensorError.shape("matmul needs matrices, got \(shapeDescription) and \(o.shapeDescription)")
        }
        let other = o.rank == 1 ? try o.reshaped([o.shape[0], 1]) : o
        let (m, k) = transposeSelf ? (shape[1], shape[0]) : (shape[0], shape[1])
        let (k2, n) = transposeOther ? (other.shape[1], other.shape[0]) : (other.shape[0], other.shape[1])
        guard k == k2 else {
            throw TensorError.shape("matmul: inner dimensions differ: \(Tensor.describe([m, k])) · \(Tensor.describe([k2, n]))")
        }
        let r = Tensor(zeros: o.rank == 1 ? [m] : [m, n])
        if m > 0 && n > 0 && k > 0 {
            T.gemm(transposeSelf, transposeOther, m, n, k, 1, data, shape[1], other.data, other.shape[1], 0, r.data, n)
        }
        return r
    }

    public static func identity(_ n: Int, _ m: Int? = nil) -> Tensor {
        let r = Tensor(zeros: [n, m ?? n])
        for i in 0 ..< Swift.min(n, m ?? n) { r[i, i] = 1 }
        return r
    }

    /// Largest |a − b| over all entries (for tests and diagnostics).
    public func maxAbsDifference(_ o: Tensor) throws -> T {
        try sameShape(o, "compare")
        var m: T = 0
        for i in 0 ..< count { m = Swift.max(m, abs(data[i] - o.data[i])) }
        return m
    }

    /// Adds the vector `bias` to each of `rows` rows of length bias.count starting at `matrix`.
    static func addRows(_ bias: Tensor<T>, to matrix: UnsafeMutablePointer<T>, rows: Int) {
        addRows(bias.data, count: bias.count, to: matrix, rows: rows)
    }

    /// matrix[r][j] += bias[j] for `rows` rows of length `count`: no allocation, so a per-step loop
    /// can call it.
    static func addRows(_ bias: UnsafePointer<T>, count: Int, to matrix: UnsafeMutablePointer<T>, rows: Int) {
        for r in 0 ..< rows {
            let row = matrix + r * count
            for j in 0 ..< count { row[j] += bias[j] }
        }
    }

    /// grad += the sum of `rows` rows of length grad.count starting at `matrix`.
    static func addColumnSums(of matrix: UnsafePointer<T>, rows: Int, into grad: Tensor<T>) {
        addColumnSums(of: matrix, rows: rows, leading: grad.count, into: grad.data, count: grad.count)
    }

    /// grad[0..<count] += the sum of `rows` rows of length `count` starting at `matrix`, `leading`
    /// apart (a block of columns of a wider matrix), the rows in order: no allocation.
    static func addColumnSums(of matrix: UnsafePointer<T>, rows: Int, leading: Int, into grad: UnsafeMutablePointer<T>, count: Int) {
        for r in 0 ..< rows {
            let row = matrix + r * leading
            for j in 0 ..< count { grad[j] += row[j] }
        }
    }
}
