/// An orthogonal matrix as the layer's masked Householder reflectors: Householder QR of Q, k steps,
/// reflector i acting on coordinates i…n−1 (the layer's row i, i leading zeros), so that
///     H(u₀) H(u₁) ⋯ H(u_{k−1}) = Q · diag(d),   d ∈ {±1}ⁿ
/// up to rounding, where `residual` says how far the k steps fell short of that (0 when Q is in
/// the family). Step i maps column i of what is left to dᵢ‖x‖eᵢ with dᵢ = `targets[i]` (+1 when
/// not given) — every step but the last of a full set, whose reflector eₙ₋₁ acts on one coordinate
/// and can only negate it, chooses its sign. The signs it cannot choose (that step's, and those of
/// the columns past k) follow from det(H) = −1: ∏d = det(Q)·(−1)ᵏ.
struct ReflectorFactorization {
    /// k×n reflector rows, masked (row i has i leading zeros).
    let rows: Tensor<Double>
    /// diag(d): the sign the product gives column j of Q.
    let signs: [Double]
    /// max |(H_{k−1}⋯H₀ Q) − diag(d)| over the columns that count: 0 to rounding when Q is a
    /// product of k of these reflectors times diag(d), and of order 1 when it is not (k < n − 1
    /// reaches only part of the group).
    let residual: Double

    /// Whether step i chooses its sign (i < k and not the one-coordinate last step).
    static func choosesSign(_ i: Int, n: Int, reflectors k: Int) -> Bool { i < k && i < n - 1 }

    /// Q is n×n, row-major, orthogonal to rounding; 0 ≤ k ≤ n. Only Q's first `columns` columns
    /// count (a rectangular layer's U or V past its rank multiplies no singular value): k of them
    /// reach any `columns` < n orthonormal columns, as Householder QR of an n×columns matrix does.
    init(_ q: Tensor<Double>, reflectors k: Int, targets: [Double] = [], columns: Int? = nil) {
        let n = q.rows
        let a = q.copy()   // becomes H_{k−1}⋯H₀ Q
        let rows = Tensor<Double>(zeros: [k, n])
        var u = [Double](repeating: 0, count: n)
        for i in 0 ..< k {
            for j in 0 ..< n { u[j] = 0 }
            if i == n - 1 {
                u[i] = 1   // one coordinate left: H(eₙ₋₁) negates it
            } else {
                // Map x = A[i…, i] to t‖x‖eᵢ (t = ±1): u = x − t‖x‖eᵢ, its first entry by Parlett's
                // formula xᵢ − t‖x‖ = −t‖x_{i+1…}‖² / (|xᵢ| + ‖x‖) when t·xᵢ > 0 (no cancellation),
                // directly otherwise. When x is already t‖x‖eᵢ, a reflector that fixes it: H(e_{i+1}).
                let t = i < targets.count ? targets[i] : 1
                var tail = 0.0
                for r in i + 1 ..< n { tail += a[r, i] * a[r, i] }
                let xi = a[i, i], norm = (xi * xi + tail).squareRoot()
                if tail == 0 && t * xi >= 0 {
                    u[i + 1] = 1
                } else {
                    u[i] = t * xi > 0 ? -t * tail / (abs(xi) + norm) : xi - t * norm
                    for r in i + 1 ..< n { u[r] = a[r, i] }
                }
            }
            // A ← H(u) A on rows i…n−1: A −= (2/‖u‖²) u (uᵀA).
            var uu = 0.0
            for r in i ..< n { uu += u[r] * u[r] }
            for c in 0 ..< n {
                var s = 0.0
                for r in i ..< n { s += u[r] * a[r, c] }
                let f = 2 * s / uu
                if f != 0 { for r in i ..< n { a[r, c] -= f * u[r] } }
            }
            // Stored scaled to unit norm (the layer's reflectors depend on direction only).
            let scale = 1 / uu.squareRoot()
            for j in i ..< n { rows[i, j] = u[j] * scale }
        }
        var signs = [Double](repeating: 1, count: n), residual = 0.0
        for j in 0 ..< n {
            signs[j] = a[j, j] < 0 ? -1 : 1
            guard j < columns ?? n else { continue }
            for r in 0 ..< n { residual = Swift.max(residual, abs(a[r, j] - (r == j ? signs[j] : 0))) }
        }
        self.rows = rows
        self.signs = signs
        self.residual = residual
    }
}
