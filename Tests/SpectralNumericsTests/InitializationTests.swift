import Foundation
import Testing
@testable import SpectralNumerics

/// The orthogonal-RNN initializations: each Q has the structure its paper gives, and a layer or
/// cell initialized with it has W = σ*·Q (the orthogonal cell: Q) to rounding.
@Suite struct InitializationTests {
    @Test(arguments: [6, 7])
    func eachInitializationHasItsStructure(n: Int) throws {
        var g = Random(seed: UInt64(n))
        for det in [1, -1] {
            for i in MatrixInitialization.allCases where i != .glorot && !(i == .identity && det < 0) {
                let q = try #require(try i.orthogonal(rows: n, cols: n, determinant: det, rng: &g))
                #expect(try LinearAlgebra.orthogonalityError(q) < 1e-14, "\(i)")
                if i != .identity { #expect(LinearAlgebra.determinantSign(q) == det, "\(i) det") }
                guard i == .henaff || i == .cayley else { continue }
                // 2×2 rotation blocks on the diagonal, nothing outside them (the last column's sign aside).
                for r in 0 ..< n { for c in 0 ..< n where r / 2 != c / 2 || (n % 2 == 1 && (r == n - 1) != (c == n - 1)) {
                    #expect(q[r, c] == 0, "\(i) (\(r), \(c))")
                } }
                for b in 0 ..< n / 2 {
                    let (cos, sin) = (q[2 * b, 2 * b], q[2 * b + 1, 2 * b])
                    #expect(abs(cos * cos + sin * sin - 1) < 1e-14)
                    // Cayley's angles are in [0, π/2]: cos ≥ 0 and sin ≥ 0 in every block.
                    if i == .cayley { #expect(cos >= 0 && sin >= 0, "cayley block \(b): \(cos), \(sin)") }
                }
            }
        }
        // Henaff's angles cover [−π, π]: over many blocks both signs of cos and sin appear.
        let wide = try #require(try MatrixInitialization.henaff.orthogonal(rows: 200, cols: 200, determinant: 1, rng: &g))
        let blocks = (0 ..< 100).map { (wide[2 * $0, 2 * $0], wide[2 * $0 + 1, 2 * $0]) }
        #expect(blocks.contains { $0.0 < 0 } && blocks.contains { $0.0 > 0 } && blocks.contains { $0.1 < 0 } && blocks.contains { $0.1 > 0 })
    }

    @Test func layersAndCellsTakeTheirQ() throws {
        for i in [MatrixInitialization.haar, .henaff, .cayley, .identity] {
            // The same generator state makes the same Q: the layer's W is σ*·Q.
            var g1 = Random(seed: 3)
            let layer = try SVDLinear<Double>(inFeatures: 6, outFeatures: 6, options: .init(sigmaStar: 1.5, r: 0.2), rng: &g1)
            var g3 = g1
            try layer.initialize(i, rng: &g1)
            let q = try #require(try i.orthogonal(rows: 6, cols: 6, determinant: 1, rng: &g3))
            q.scale(by: 1.5)
            #expect(try layer.matrix().maxAbsDifference(q) < 1e-13, "\(i)")
            #expect(layer.p.scalars.allSatisfy { abs($0) < 1e-10 }, "\(i): p stays at 0")

            let cell = try OrthogonalTransition<Float>(size: 6, reflectors: 6, rng: &g1)
            try cell.initialize(i, rng: &g1)
            #expect(try LinearAlgebra.orthogonalityError(cell.build().w) < 1e-6)
        }
        var g = Random(seed: 1)
        // A band of width 0 (r = 0) takes σ*·Q in float32, whose σ miss σ* by rounding (~1e-7):
        // those are moved onto the band, where an exact comparison refused them as "clipped".
        for (i, sigmaStar) in [(MatrixInitialization.henaff, 1.0), (.haar, 1.0), (.cayley, 1.1), (.henaff, 1.1)] {
            let fixed = try SVDLinear<Float>(inFeatures: 128, outFeatures: 128, options: .init(sigmaStar: sigmaStar, r: 0), rng: &g)
            try fixed.initialize(i, rng: &g)
            let s = fixed.singularValues()
            #expect(s.allSatisfy { abs(Double($0) - sigmaStar) < 1e-6 }, "\(i) σ* \(sigmaStar): \(s.min()!)…\(s.max()!)")
        }
        let tall = try SVDLinear<Float>(inFeatures: 3, outFeatures: 7, options: .init(), rng: &g)
        try tall.initialize(.haar, rng: &g)
        #expect(try tall.matrix().matmul(tall.matrix(), transposeSelf: true).maxAbsDifference(Tensor.identity(3)) < 1e-5)
        #expect { try tall.initialize(.henaff, rng: &g) } throws: { "\($0)".contains("makes square matrices") }
    }
}
