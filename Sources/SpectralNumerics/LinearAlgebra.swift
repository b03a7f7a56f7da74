/// Dense factorizations used to verify the parameterization (never inside training).
public enum LinearAlgebra {
    /// Singular values of a matrix, descending (LAPACK ?gesdd).
    public static func singularValues<T>(_ a: Tensor<T>) throws -> [T] {
        guard a.rank == 2 else { throw TensorError.shape("singular values need a matrix, got \(a.shapeDescription)") }
        let work = a.copy()
        var s = [T](repeating: 0, count: Swift.min(a.rows, a.cols))
        if s.isEmpty { return [] }
        let info = T.singularValues(a.rows, a.cols, work.data, &s)
        guard info == 0 else {
            throw TensorError.lapack(info < 0 ? "?gesdd: argument \(-info) was illegal" : "?gesdd did not converge (info \(info))")
        }
        return s
    }

    /// The sign of det(A) (+1, −1, or 0 for singular), by LU with partial pivoting in Double.
    public static func determinantSign<T>(_ a: Tensor<T>) -> Int {
        let n = a.rows
        var m = a.scalars.map(Double.init)
        var sign = 1
        for k in 0 ..< n {
            let p = (k ..< n).max { abs(m[$0 * n + k]) < abs(m[$1 * n + k]) }!
            if m[p * n + k] == 0 { return 0 }
            if p != k {
                for j in 0 ..< n { m.swapAt(p * n + j, k * n + j) }
                sign = -sign
            }
            if m[k * n + k] < 0 { sign = -sign }
            for i in k + 1 ..< n {
                let f = m[i * n + k] / m[k * n + k]
                for j in k ..< n { m[i * n + j] -= f * m[k * n + j] }
            }
        }
        return sign
    }

    /// max |AᵀA − I| entry: how far a square matrix is from orthogonal.
    public static func orthogonalityError<T>(_ a: Tensor<T>) throws -> T {
        try a.matmul(a, transposeSelf: true).maxAbsDifference(Tensor.identity(a.cols))
    }
}
