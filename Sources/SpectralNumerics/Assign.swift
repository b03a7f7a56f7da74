import BLASThreading
import COpenBLAS

/// Any matrix as an SVD-parameterized one: W = U Σ Vᵀ by LAPACK (dgesdd, in float64 whatever the
/// layer's precision), U and V as the layer's masked reflectors (ReflectorFactorization), and p so
/// that σ = σ* + 2r(sigmoid(p) − ½) gives Σ.
///
/// What the family can reach, and what assign says when W is outside it:
/// - k reflectors reach only orthogonal matrices whose Householder QR is done after k steps: a
///   square W chosen at random needs n − 1 or n of them in each factor. Of a rectangular W's U or V
///   only the first rank = min(out, in) columns count, and rank reflectors reach any of those.
/// - A product of k reflectors has determinant (−1)ᵏ, and a column of U can be negated together
///   with the same column of V without changing W. So a full set of reflectors reaches every U
///   and V, up to such joint signs, except that det(U)·det(V) is fixed: (−1)^(k_U + k_V). A square
///   W of full rank whose det(W) has the other sign is out of reach (a spectral cell's k_U = k_V,
///   so it reaches det(W) > 0 only); a rectangular W always has a column of U or V that multiplies
///   no singular value and takes the sign.
/// - σ is kept in [σ* − r, σ* + r]: singular values outside are clipped into the band (the report
///   gives the worst), or refused when strict. One within rounding of the band (roundingTolerance,
///   relative) is moved onto its edge without a word: σ*·Q rounded to float32 has σ = σ* only to
///   about 1e-7, and a band of width 0 (r = 0) must still take it.
public struct AssignReport: Sendable, Equatable {
    public struct Clip: Sendable, Equatable {
        /// Index in descending order, the singular value, and where it went.
        public let index: Int, sigma: Double, to: Double
    }
    /// How many singular values were outside the band.
    public var clipped = 0
    /// The one clipped furthest.
    public var worst: Clip?

    public init() {}

    /// "3 singular values were outside [0.99, 1.01] and clipped into it; the worst, σ1 = 2.5, to 1.01"
    public func describe(band: ClosedRange<Double>) -> String? {
        guard let w = worst else { return nil }
        // A float32 layer's band and clip points print as the float32 numbers they are (0.9, not 0.8999999761581421).
        func show(_ x: Double) -> String { Double(Float(x)) == x ? "\(Float(x))" : "\(x)" }
        return "\(clipped) singular value\(clipped == 1 ? " was" : "s were") outside [\(show(band.lowerBound)), \(show(band.upperBound))] and clipped into it; the worst, σ\(w.index + 1) = \(w.sigma), to \(show(w.to))"
    }
}

extension LinearAlgebra {
    /// W = U diag(s) Vᵀ with U (m×m) and V (n×n) orthogonal, s descending (min(m, n) of them).
    static func svd(_ w: Tensor<Double>) throws -> (u: Tensor<Double>, s: [Double], v: Tensor<Double>) {
        let (m, n) = (w.rows, w.cols)
        let a = w.copy(), u = Tensor<Double>(zeros: [m, m]), vt = Tensor<Double>(zeros: [n, n])
        var s = [Double](repeating: 0, count: Swift.min(m, n))
        let info = s.withUnsafeMutableBufferPointer { sp in
            blas_call_begin(); defer { blas_call_end() }
            return LAPACKE_dgesdd(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "A")), Int32(m), Int32(n), a.data, Int32(n), sp.baseAddress,
                                  u.data, Int32(m), vt.data, Int32(n))
        }
        guard info == 0 else { throw TensorError.lapack(info < 0 ? "dgesdd: argument \(-info) was illegal" : "dgesdd did not converge (info \(info))") }
        return (u, s, try vt.transposed())
    }
}

extension SVDLinear {
    /// How far a factorization may miss before U or V counts as out of the family's reach.
    static var reachTolerance: Double { 1e-8 }
    /// How far, relative, a float32 or float64 matrix's singular values or orthogonality may miss
    /// through rounding alone.
    static var roundingTolerance: Double { T.self == Float.self ? 1e-5 : 1e-10 }

    /// Sets u, v and p so that the layer's matrix is W (out×in) to rounding; the bias is left as it
    /// is. Throws, saying why, when W is out of reach (above); clips σ into the band unless strict.
    @discardableResult
    public func assign(_ w: Tensor<T>, strict: Bool = false) throws -> AssignReport {
        guard w.shape == [outFeatures, inFeatures] else {
            throw TensorError.shape("W must be \(outFeatures)×\(inFeatures) (out × in), got \(w.shapeDescription)")
        }
        guard (0 ..< w.count).allSatisfy({ w.data[$0].isFinite }) else { throw TensorError.value("W has entries that are not finite") }
        let (m, n, rank) = (outFeatures, inFeatures, self.rank)
        let (uq, s, vq) = try LinearAlgebra.svd(w.converted(to: Double.self))

        // Σ into the band first: a column pair whose σ ends at 0 needs no matching signs.
        let (lo, hi) = (Double(sigmaStar - r), Double(sigmaStar + r))
        var report = AssignReport()
        let sigma = s.enumerated().map { j, x -> Double in
            let c = Swift.min(Swift.max(x, lo), hi)
            if abs(c - x) > Self.roundingTolerance * Swift.max(1, abs(c)) {
                report.clipped += 1
                if abs(c - x) > report.worst.map({ abs($0.to - $0.sigma) }) ?? 0 { report.worst = .init(index: j, sigma: x, to: c) }
            }
            return c
        }
        if strict, let why = report.describe(band: lo ... hi) {
            throw TensorError.value("strict: \(why)")
        }

        // U and V as reflectors; the signs they cannot choose must agree wherever σ ≠ 0. Either
        // factor may go first and the other follow its signs; one order works whenever any does.
        let (ku, kv) = (u.rows, v.rows)
        func factor(_ q: Tensor<Double>, _ k: Int, following d: [Double]) -> ReflectorFactorization {
            ReflectorFactorization(q, reflectors: k, targets: (0 ..< Swift.min(k, q.rows)).map { $0 < d.count && $0 < rank ? d[$0] : 1 },
                                   columns: rank)
        }
        func mismatch(_ fu: ReflectorFactorization, _ fv: ReflectorFactorization) -> Int? {
            (0 ..< rank).first { fu.signs[$0] != fv.signs[$0] && sigma[$0] != 0 }
        }
        var fv = factor(vq, kv, following: []), fu = factor(uq, ku, following: fv.signs)
        if mismatch(fu, fv) != nil {
            let u2 = factor(uq, ku, following: []), v2 = factor(vq, kv, following: u2.signs)
            if mismatch(u2, v2) == nil || Swift.max(u2.residual, v2.residual) < Swift.max(fu.residual, fv.residual) { (fu, fv) = (u2, v2) }
        }
        for (f, name, k, size, option) in [(fu, "U", ku, m, "reflectors_u"), (fv, "V", kv, n, "reflectors_v")] where f.residual > Self.reachTolerance {
            let enough = rank < size ? rank : size - 1   // reach every W of this shape
            throw TensorError.value("this W's \(name) (\(size)×\(size)) is not a product of \(k) reflector\(k == 1 ? "" : "s") (it misses by \(f.residual)): fewer than \(enough) reach only part of what W needs (assign finds a W there only when its singular vectors already lie in it, as the identity's do); \(enough) or more reach all of it (\(option) = \(rank < size ? "\(rank)" : "\(size)"); a cell's or an MLP's reflectors = \(size))")
        }
        if let j = mismatch(fu, fv) {
            throw TensorError.value("det(W) \((ku + kv) % 2 == 0 ? "< 0" : "> 0") is out of reach: U and V are products of \(ku) and \(kv) reflectors, so det(U)·det(V) = (−1)^\(ku + kv) = \((ku + kv) % 2 == 0 ? "+1" : "−1"), and W = UΣVᵀ with σ\(j + 1) = \(sigma[j]) > 0 needs the other sign (an SVD layer whose reflectors_u and reflectors_v differ by one reaches it; a spectral cell, with equal counts, reaches det(W) > 0 only)")
        }

        for i in 0 ..< ku { for j in 0 ..< m { u[i, j] = T(fu.rows[i, j]) } }
        for i in 0 ..< kv { for j in 0 ..< n { v[i, j] = T(fv.rows[i, j]) } }
        // σ = σ* + 2r(sigmoid(p) − ½): p = logit((σ − σ*)/(2r) + ½), finite at the band's edges
        // (q within 1e-12 of 0 or 1, where sigmoid rounds to the edge in either precision).
        for j in 0 ..< rank {
            guard r > 0 else { p.data[j] = 0; continue }
            let q = Swift.min(Swift.max((sigma[j] - Double(sigmaStar)) / (2 * Double(r)) + 0.5, 1e-12), 1 - 1e-12)
            p.data[j] = T(Double.log(q / (1 - q)))
        }
        return report
    }
}

extension OrthogonalTransition {
    /// Sets the reflectors so that W = H(u₁)⋯H(u_k) is the given orthogonal matrix (to rounding).
    /// A product of k reflectors has determinant (−1)ᵏ and no Σ or V to take a sign: W must have
    /// that determinant, and be reachable with k reflectors (n or n − 1 reach one sign each).
    public func assign(_ w: Tensor<T>) throws {
        let n = size, k = u.rows
        guard w.shape == [n, n] else { throw TensorError.shape("W must be \(n)×\(n), got \(w.shapeDescription)") }
        guard (0 ..< w.count).allSatisfy({ w.data[$0].isFinite }) else { throw TensorError.value("W has entries that are not finite") }
        let q = w.converted(to: Double.self)
        let tolerance = SVDLinear<T>.roundingTolerance
        let off = try LinearAlgebra.orthogonalityError(q)
        guard off <= tolerance else {
            let s = try LinearAlgebra.singularValues(q)
            throw TensorError.value("W is not orthogonal (max |WᵀW − I| = \(off); its singular values span [\(s.last ?? 0), \(s.first ?? 0)]): an orthogonal cell has Σ = I (a spectral cell takes any W)")
        }
        let f = ReflectorFactorization(q, reflectors: k)
        guard f.residual <= Swift.max(SVDLinear<T>.reachTolerance, 10 * tolerance) else {
            throw TensorError.value("this W is not a product of \(k) reflectors (it misses by \(f.residual)): fewer than \(n - 1) reach only part of the orthogonal group; \(n - 1) or \(n) reach all of one determinant's sign")
        }
        guard f.signs.allSatisfy({ $0 == 1 }) else {
            let det = LinearAlgebra.determinantSign(q)
            throw TensorError.value("det(W) = \(det > 0 ? "+1" : "−1"), but \(k) reflectors multiply to det (−1)^\(k) = \(k % 2 == 0 ? "+1" : "−1"): use \(k == n ? n - 1 : n) reflectors, or negate a column of W")
        }
        for i in 0 ..< k { for j in 0 ..< n { u[i, j] = T(f.rows[i, j]) } }
    }
}

extension RecurrentNetwork {
    /// The recurrent matrix W: factored into the spectral cell's U Σ Vᵀ or the orthogonal cell's
    /// reflectors, copied into a dense one.
    @discardableResult
    public func assignRecurrent(_ w: Tensor<T>, strict: Bool = false) throws -> AssignReport {
        switch transition {
        case let s as SpectralTransition<T>: return try s.layer.assign(w, strict: strict)
        case let o as OrthogonalTransition<T>: try o.assign(w); return AssignReport()
        case let d as DenseTransition<T>:
            guard w.shape == d.w.shape else { throw TensorError.shape("W must be \(d.w.rows)×\(d.w.cols), got \(w.shapeDescription)") }
            try d.w.assign(w)
            return AssignReport()
        default: throw TensorError.value("this cell's W cannot be set")
        }
    }
}
