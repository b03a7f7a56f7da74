import StepKernels
import Testing
@testable import SpectralNumerics

/// The recurrence's step products (StepMatrix: W packed once, StepGEMM's kernel for Float) against
/// sums in Double, at sizes that leave every kind of edge tile (rows not a multiple of 6, columns
/// not of 16), both β, both orientations.
@Suite struct StepMatrixTests {
    static let sizes = [1, 5, 16, 17, 40, 128]
    static let rows = [1, 2, 5, 6, 7, 13, 64]

    /// c = β·c + a·op(W) in Double, and the bound Σ|terms|·(k + 2)·ε of a float dot product of k terms.
    func reference(_ a: Tensor<Float>, _ w: Tensor<Float>, transposed: Bool, beta: Float, _ c: Tensor<Float>) -> (Tensor<Double>, Tensor<Double>) {
        let (m, n) = (a.rows, w.rows)
        let want = Tensor<Double>(zeros: [m, n]), bound = Tensor<Double>(zeros: [m, n])
        for i in 0 ..< m {
            for j in 0 ..< n {
                var s = beta == 0 ? 0 : Double(c[i, j]), mag = Swift.abs(s)
                for k in 0 ..< n {
                    let t = Double(a[i, k]) * Double(transposed ? w[j, k] : w[k, j])
                    s += t
                    mag += Swift.abs(t)
                }
                want[i, j] = s
                bound[i, j] = mag * Double(n + 2) * Double(Float.ulpOfOne)
            }
        }
        return (want, bound)
    }

    @Test(arguments: [true, false])
    func matchesTheSumsInDoubleAtEveryEdge(transposed: Bool) throws {
        var g = Random(seed: 11)
        var worst = 0.0
        for n in Self.sizes {
            let w: Tensor<Float> = g.normalTensor([n, n])
            let step = StepMatrix(w, transposed: transposed)
            for m in Self.rows {
                let a: Tensor<Float> = g.normalTensor([m, n])
                for beta: Float in [0, 1] {
                    let c: Tensor<Float> = g.normalTensor([m, n])
                    let (want, bound) = reference(a, w, transposed: transposed, beta: beta, c)
                    // With β = 0 the old values are never read: NaN there must not show.
                    if beta == 0 { c.fill(.nan) }
                    try BatchParallel.forEachPart(batch: 1) { _, _ in step.multiply(a.data, rows: m, beta: beta, into: c.data) }
                    for i in 0 ..< m * n {
                        let e = Swift.abs(Double(c.data[i]) - want.data[i])
                        #expect(e <= bound.data[i], "n \(n), m \(m), β \(beta), entry \(i): \(c.data[i]) against \(want.data[i])")
                        worst = Swift.max(worst, e / Swift.max(bound.data[i], .leastNormalMagnitude))
                    }
                }
            }
        }
        #expect(worst > 0, "some rounding should show against Double")
    }

    /// The kernel's entries are one chain of FMAs over k whatever the rows around them: a part's
    /// rows get exactly the values the whole batch's would (what OpenBLAS does not promise).
    @Test func aRowIsTheSameBitsWhateverRowsComeWithIt() throws {
        try #require(sg_available() != 0, "AVX2 and FMA")
        var g = Random(seed: 5)
        for n in [17, 128] {
            let w: Tensor<Float> = g.normalTensor([n, n]), a: Tensor<Float> = g.normalTensor([33, n])
            for transposed in [true, false] {
                let step = StepMatrix(w, transposed: transposed)
                let whole = Tensor<Float>(zeros: [33, n]), split = Tensor<Float>(zeros: [33, n])
                try BatchParallel.forEachPart(batch: 1) { _, _ in
                    step.multiply(a.data, rows: 33, beta: 0, into: whole.data)
                    step.multiply(a.data, rows: 16, beta: 0, into: split.data)
                    step.multiply(a.data + 16 * n, rows: 17, beta: 0, into: split.data + 16 * n)
                }
                #expect(Array(UnsafeBufferPointer(start: whole.data, count: 33 * n)) == Array(UnsafeBufferPointer(start: split.data, count: 33 * n)))
            }
        }
    }

    /// Double (the gradient checks' precision) takes BLAS and matches too. (The parts' calls run
    /// inside a pass of parts, here of one part.)
    @Test func doubleGoesThroughBLAS() throws {
        var g = Random(seed: 3)
        let w: Tensor<Double> = g.normalTensor([17, 17]), a: Tensor<Double> = g.normalTensor([7, 17])
        let c = Tensor<Double>(zeros: [7, 17])
        try BatchParallel.forEachPart(batch: 1) { _, _ in StepMatrix(w, transposed: true).multiply(a.data, rows: 7, beta: 0, into: c.data) }
        for i in 0 ..< 7 { for j in 0 ..< 17 {
            let want = (0 ..< 17).reduce(0.0) { $0 + a[i, $1] * w[j, $1] }
            #expect(Swift.abs(c[i, j] - want) <= 1e-12 * 17)
        } }
    }
}
