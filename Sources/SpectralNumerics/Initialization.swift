import Foundation

/// Initializations of an SVD-parameterized matrix (the spectral and orthogonal cells, SVD layers)
/// from the orthogonal-RNN literature, set through `assign`: the initialization gives the singular
/// vectors, an orthogonal Q, and the layer takes W = σ*·Q (every σ = σ*, so p = 0 as with the
/// authors' initialization; the orthogonal cell takes Q itself).
public enum MatrixInitialization: String, Sendable, CaseIterable {
    /// The authors': Glorot-uniform reflector rows, p = 0 (what the layers are built with).
    case glorot
    /// Haar-random on the rotations (or on whichever determinant the cell reaches): the Q of a
    /// Gaussian's QR with R's diagonal made positive (Mezzadri 2007), a column negated if the
    /// determinant must change.
    case haar
    /// Henaff, Szlam & LeCun 2016 (as expRNN's henaff_init_): block-diagonal 2×2 rotations,
    /// angles uniform in [−π, π] (the exponential of a block-diagonal skew-symmetric A).
    case henaff
    /// Helfrich, Willmott & Ye 2018 (scoRNN; expRNN's cayley_init_): A block-diagonal skew with
    /// entries s = −√((1 − cos t)/(1 + cos t)), t uniform in [0, π/2], and W = (I + A)⁻¹(I − A):
    /// per block the rotation [[1 − s², −2s], [2s, 1 − s²]]/(1 + s²), by the angle −2·atan(s) = t.
    case cayley
    /// Q = I (the rectangular identity for an SVD layer).
    case identity

    /// An n×n orthogonal matrix of determinant `determinant` (±1), or rows×cols with orthonormal
    /// columns (rows ≥ cols) or rows for a rectangular Haar or identity. Nil for glorot.
    public func orthogonal(rows: Int, cols: Int, determinant: Int, rng: inout Random) throws -> Tensor<Double>? {
        let n = Swift.max(rows, cols)
        var q: Tensor<Double>
        switch self {
        case .glorot: return nil
        case .identity:
            return Tensor<Double>.identity(rows, cols)
        case .haar:
            q = rng.orthogonal(n, determinant: determinant)
        case .henaff, .cayley:
            guard rows == cols else { throw TensorError.value("init \"\(rawValue)\" makes square matrices; this one is \(rows)×\(cols) (haar and identity make rectangular ones)") }
            q = Tensor<Double>.identity(n)
            for b in 0 ..< n / 2 {
                let (c, s): (Double, Double)
                if self == .henaff {
                    let theta = Double.pi * (2 * rng.uniform() - 1)
                    (c, s) = (Foundation.cos(theta), Foundation.sin(theta))
                } else {
                    let t = Double.pi / 2 * rng.uniform()
                    let a = -((1 - Foundation.cos(t)) / (1 + Foundation.cos(t))).squareRoot()
                    (c, s) = ((1 - a * a) / (1 + a * a), -2 * a / (1 + a * a))
                }
                let i = 2 * b
                (q[i, i], q[i, i + 1], q[i + 1, i], q[i + 1, i + 1]) = (c, -s, s, c)
            }
            // The blocks are rotations (det +1); the other determinant negates the last column.
            if determinant < 0 { for r in 0 ..< n { q[r, n - 1] = -q[r, n - 1] } }
            return q
        }
        if rows == cols { return q }
        // Rectangular: the leading columns (tall) or rows (wide) of the square one.
        let out = Tensor<Double>(zeros: [rows, cols])
        for r in 0 ..< rows { for c in 0 ..< cols { out[r, c] = q[r, c] } }
        return out
    }
}

extension SVDLinear {
    /// Sets the layer to σ*·Q for the initialization's Q (glorot: new Glorot reflectors and p = 0).
    public func initialize(_ initialization: MatrixInitialization, rng: inout Random) throws {
        // A square W's determinant sign is (−1)^(k_U + k_V) (see assign).
        let determinant = (u.rows + v.rows) % 2 == 0 ? 1 : -1
        guard let q = try initialization.orthogonal(rows: outFeatures, cols: inFeatures, determinant: determinant, rng: &rng) else {
            try u.assign(SVDLinear.glorotReflectors(u.rows, outFeatures, &rng))
            try v.assign(SVDLinear.glorotReflectors(v.rows, inFeatures, &rng))
            p.fill(0)
            return
        }
        q.scale(by: Double(sigmaStar))
        do { try assign(q.converted(to: T.self), strict: true) } catch let e as TensorError {
            throw TensorError.value("init \"\(initialization.rawValue)\": \(e)")
        }
    }
}

extension OrthogonalTransition {
    /// Sets W to the initialization's Q, of the determinant (−1)ᵏ that k reflectors reach.
    public func initialize(_ initialization: MatrixInitialization, rng: inout Random) throws {
        let k = u.rows
        guard let q = try initialization.orthogonal(rows: size, cols: size, determinant: k % 2 == 0 ? 1 : -1, rng: &rng) else {
            try u.assign(SVDLinear<T>.glorotReflectors(k, size, &rng))
            return
        }
        if initialization == .identity && k % 2 == 1 {
            throw TensorError.value("init \"identity\" needs an even number of reflectors in an orthogonal cell (\(k) multiply to det −1; I has det +1)")
        }
        do { try assign(q.converted(to: T.self)) } catch let e as TensorError {
            throw TensorError.value("init \"\(initialization.rawValue)\": \(e)")
        }
    }
}
