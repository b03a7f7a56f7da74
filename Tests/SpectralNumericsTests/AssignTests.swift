import Foundation
import Testing
@testable import SpectralNumerics

/// assign: any W in the family's reach comes back from matrix() to rounding; W out of reach, or σ
/// out of the band, is refused or clipped saying why.
@Suite struct AssignTests {
    /// Q1 diag(σ) Q2ᵀ (m×n) with σ uniform in [lo, hi] and the given determinant signs of Q1, Q2.
    static func matrix(_ m: Int, _ n: Int, sigma lo: Double, _ hi: Double, detU: Int = 1, detV: Int = 1, _ g: inout Random) -> Tensor<Double> {
        let q1: Tensor<Double> = g.orthogonal(m, determinant: detU), q2: Tensor<Double> = g.orthogonal(n, determinant: detV)
        let w = Tensor<Double>(zeros: [m, n])
        for j in 0 ..< Swift.min(m, n) {
            let s = lo + (hi - lo) * g.uniform()
            for a in 0 ..< m { for b in 0 ..< n { w[a, b] += q1[a, j] * s * q2[b, j] } }
        }
        return w
    }

    static func relativeError<T: TensorScalar>(_ a: Tensor<T>, _ b: Tensor<T>) throws -> Double {
        Double(try a.subtracting(b).norm() / b.norm())
    }

    @Test(arguments: [(6, 6), (5, 5), (7, 4), (3, 8), (1, 1)])
    func reflectorsOfAnOrthogonalMatrixMultiplyBackToIt(n: Int, k: Int) throws {
        var g = Random(seed: UInt64(n * 10 + k))
        let k = Swift.min(k, n)
        for det in [1, -1] where k >= n - 1 {
            let q: Tensor<Double> = g.orthogonal(n, determinant: det)
            let targets = (0 ..< k).map { _ in g.uniform() < 0.5 ? -1.0 : 1.0 }
            let f = ReflectorFactorization(q, reflectors: k, targets: targets)
            #expect(f.residual < 1e-13)
            let product = try Householder.matrix(f.rows, method: .reflectorwise)
            for i in 0 ..< n { for j in 0 ..< n { #expect(abs(product[i, j] - q[i, j] * f.signs[j]) < 1e-13) } }
            for i in 0 ..< k where ReflectorFactorization.choosesSign(i, n: n, reflectors: k) { #expect(f.signs[i] == targets[i]) }
            #expect(f.signs.reduce(1, *) == Double(det) * (k % 2 == 0 ? 1 : -1))   // ∏d = det(Q)·(−1)ᵏ
            for i in 0 ..< k { for j in 0 ..< i { #expect(f.rows[i, j] == 0) } }   // masked
        }
    }

    /// Square (det > 0: the spectral cell's reach), tall and wide, float32 and float64.
    @Test(arguments: [(8, 8), (6, 3), (3, 6), (1, 1)])
    func assignThenMatrixGivesBackW(m: Int, n: Int) throws {
        var g = Random(seed: UInt64(m * 7 + n))
        for (detU, detV) in m == n ? [(1, 1), (-1, -1)] : [(1, 1), (1, -1), (-1, 1)] {
            let w = Self.matrix(m, n, sigma: 0.6, 1.4, detU: detU, detV: detV, &g)
            let layer64 = try SVDLinear<Double>(inFeatures: n, outFeatures: m, options: .init(sigmaStar: 1, r: 0.5), rng: &g)
            #expect(try layer64.assign(w) == AssignReport())
            #expect(try Self.relativeError(layer64.matrix(), w) < 1e-12, "\(m)×\(n) det \(detU) \(detV)")
            let layer32 = try SVDLinear<Float>(inFeatures: n, outFeatures: m, options: .init(sigmaStar: 1, r: 0.5, bias: false), rng: &g)
            try layer32.assign(w.converted(to: Float.self))
            #expect(try Self.relativeError(layer32.matrix(), w.converted(to: Float.self)) < 1e-5)
            #expect(zip(layer32.singularValues(), try LinearAlgebra.singularValues(w)).allSatisfy { abs(Double($0) - $1) < 1e-5 })
        }
    }

    @Test func aSquareWOfNegativeDeterminantIsOutOfReachOfEqualReflectorCounts() throws {
        var g = Random(seed: 5)
        let w = Self.matrix(5, 5, sigma: 0.8, 1.2, detU: 1, detV: -1, &g)
        let layer = try SVDLinear<Double>(inFeatures: 5, outFeatures: 5, options: .init(sigmaStar: 1, r: 0.5), rng: &g)
        #expect { try layer.assign(w) } throws: { "\($0)".contains("det(W) < 0 is out of reach") && "\($0)".contains("(−1)^10 = +1") }
        // One reflector fewer in V: then det(U)·det(V) = −1, and that W is reached.
        let odd = try SVDLinear<Double>(inFeatures: 5, outFeatures: 5, options: .init(reflectorsU: 5, reflectorsV: 4, sigmaStar: 1, r: 0.5), rng: &g)
        try odd.assign(w)
        #expect(try Self.relativeError(odd.matrix(), w) < 1e-12)
    }

    /// Fewer than n − 1 reflectors reach only part of the group: a W chosen at random is refused
    /// saying so; the identity (σ* I, the identity initialization) is reached with any count.
    @Test func fewerReflectorsSayWhatTheyCannotReach() throws {
        var g = Random(seed: 9)
        let layer = try SVDLinear<Double>(inFeatures: 7, outFeatures: 7, options: .init(reflectorsU: 3, reflectorsV: 2, sigmaStar: 1, r: 0.3), rng: &g)
        let random = Self.matrix(7, 7, sigma: 0.8, 1.2, &g)
        #expect { try layer.assign(random) } throws: { "\($0)".contains("is not a product of 3 reflectors") && "\($0)".contains("reflectors_u = 7") }
        for k in [1, 2, 3] {
            let few = try SVDLinear<Double>(inFeatures: 7, outFeatures: 7, options: .init(reflectorsU: k, reflectorsV: k, sigmaStar: 1, r: 0.3), rng: &g)
            try few.assign(Tensor<Double>.identity(7))
            #expect(try Self.relativeError(few.matrix(), Tensor<Double>.identity(7)) < 1e-14, "k \(k)")
        }
    }

    /// Of a rectangular W's larger factor only the first rank columns count: rank reflectors reach
    /// any W of that shape (a random one here), and fewer are refused saying how many would do.
    @Test func rectangularWNeedsOnlyRankReflectorsInItsLargerFactor() throws {
        var g = Random(seed: 12)
        for (m, n) in [(3, 8), (8, 3)] {
            let rank = Swift.min(m, n)
            let w = Self.matrix(m, n, sigma: 0.9, 1.1, &g)
            let layer = try SVDLinear<Double>(inFeatures: n, outFeatures: m, options: .init(reflectorsU: rank, reflectorsV: rank, sigmaStar: 1, r: 0.2), rng: &g)
            try layer.assign(w)
            #expect(try Self.relativeError(layer.matrix(), w) < 1e-12, "\(m)×\(n)")
            let few = try SVDLinear<Double>(inFeatures: n, outFeatures: m, options: .init(reflectorsU: rank - 1, reflectorsV: rank - 1, sigmaStar: 1, r: 0.2), rng: &g)
            #expect { try few.assign(w) } throws: { "\($0)".contains("\(rank) or more reach all of it") }
        }
    }

    @Test func singularValuesOutsideTheBandAreClippedOrRefused() throws {
        var g = Random(seed: 2)
        let w = Self.matrix(4, 4, sigma: 0.5, 3, &g)
        let s = try LinearAlgebra.singularValues(w)
        let layer = try SVDLinear<Double>(inFeatures: 4, outFeatures: 4, options: .init(sigmaStar: 1, r: 0.1), rng: &g)
        #expect { try layer.assign(w, strict: true) } throws: { "\($0)".contains("strict: ") && "\($0)".contains("outside [0.9, 1.1]") }
        let report = try layer.assign(w)
        let outside = s.filter { $0 < 0.9 || $0 > 1.1 }
        let distance = { (x: Double) in abs(x - Swift.min(Swift.max(x, 0.9), 1.1)) }
        let worst = try #require(s.max { distance($0) < distance($1) })
        #expect(report.clipped == outside.count && abs((report.worst?.sigma ?? 0) - worst) < 1e-12, "\(report) \(s)")
        // Clipped σ, the same singular vectors: W' = U clip(Σ) Vᵀ.
        let clipped = layer.singularValues()
        #expect(zip(clipped, s.map { Swift.min(Swift.max($0, 0.9), 1.1) }).allSatisfy { abs($0 - $1) < 1e-12 })
        let p = layer.p.scalars
        #expect(p.allSatisfy { $0.isFinite })
        // Within rounding of the band (relative 1e-10 for float64) σ goes onto its edge silently,
        // even when strict; just beyond that it is clipped with a report, or refused.
        let q = Self.matrix(4, 4, sigma: 1, 1, &g)
        let fixed = try SVDLinear<Double>(inFeatures: 4, outFeatures: 4, options: .init(sigmaStar: 1, r: 0), rng: &g)
        let nearly = q.copy(); nearly.scale(by: 1 + 1e-12)
        #expect(try fixed.assign(nearly, strict: true).clipped == 0)
        #expect(fixed.singularValues().allSatisfy { $0 == 1 })
        let beyond = q.copy(); beyond.scale(by: 1 + 1e-8)
        #expect { try fixed.assign(beyond, strict: true) } throws: { "\($0)".contains("4 singular values were outside [1.0, 1.0]") }
        #expect(try fixed.assign(beyond).clipped == 4)
    }

    @Test func anOrthogonalWGoesIntoAnOrthogonalCellExactly() throws {
        var g = Random(seed: 4)
        for n in [6, 5] {
            for k in [n, n - 1] {
                let cell = try OrthogonalTransition<Float>(size: n, reflectors: k, rng: &g)
                let det = k % 2 == 0 ? 1 : -1
                let w: Tensor<Float> = g.orthogonal(n, determinant: det)
                try cell.assign(w)
                #expect(try Self.relativeError(cell.build().w, w) < 1e-6, "n \(n) k \(k)")
                let wrong: Tensor<Float> = g.orthogonal(n, determinant: -det)
                #expect { try cell.assign(wrong) } throws: { "\($0)".contains("multiply to det") }
            }
        }
        let cell = try OrthogonalTransition<Double>(size: 4, reflectors: 4, rng: &g)
        #expect { try cell.assign(Self.matrix(4, 4, sigma: 0.5, 2, &g)) } throws: { "\($0)".contains("W is not orthogonal") }
    }
}
