import Testing
@testable import SpectralNumerics

/// The dense baseline's initializations draw what their papers (and torch.nn.Linear) say.
@Suite struct DenseLinearTests {
    /// Mean and variance of a tensor's entries.
    func moments(_ t: Tensor<Double>) -> (mean: Double, variance: Double) {
        let n = Double(t.count)
        let mean = (0 ..< t.count).reduce(0) { $0 + t.data[$1] } / n
        return (mean, (0 ..< t.count).reduce(0) { $0 + (t.data[$1] - mean) * (t.data[$1] - mean) } / n)
    }

    /// 512×256 = 131 072 draws: a variance's relative standard error is about 0.4% (normal) and 0.25%
    /// (uniform), so 3% is more than 7 of them, and a wrong scale (factor 2 or 3) is far outside.
    @Test func eachInitializationDrawsItsDistribution() throws {
        var g = rng(7)
        let fanIn = 256, fanOut = 512
        func layer(_ i: DenseLinear<Double>.Initialization) throws -> DenseLinear<Double> {
            try DenseLinear<Double>(inFeatures: fanIn, outFeatures: fanOut, initialization: i, rng: &g)
        }
        func expectVariance(_ t: Tensor<Double>, _ expected: Double, _ label: String) {
            let m = moments(t)
            #expect(abs(m.variance / expected - 1) < 0.03 && abs(m.mean) < 3 * (expected / Double(t.count)).squareRoot(), "\(label): \(m)")
        }
        let kaiming = try layer(.kaiming)
        expectVariance(kaiming.weight, 2 / Double(fanIn), "kaiming")
        #expect(kaiming.bias!.scalars.allSatisfy { $0 == 0 })

        let glorot = try layer(.glorot), a = (6 / Double(fanIn + fanOut)).squareRoot()
        expectVariance(glorot.weight, a * a / 3, "glorot")
        #expect(glorot.weight.scalars.allSatisfy { abs($0) <= a } && glorot.bias!.scalars.allSatisfy { $0 == 0 })

        // torch.nn.Linear.reset_parameters: weight and bias both U(−1/√in, 1/√in).
        let torch = try layer(.torch), t = 1 / Double(fanIn).squareRoot()
        expectVariance(torch.weight, t * t / 3, "torch weight")
        #expect(torch.weight.scalars.allSatisfy { abs($0) <= t } && torch.bias!.scalars.allSatisfy { abs($0) <= t })
        #expect(Set(torch.bias!.scalars).count == fanOut, "a drawn bias, not zeros")

        // haar: orthonormal columns (out ≥ in), so WᵀW = I.
        let haar = try layer(.haar)
        let wtw = try haar.weight.matmul(haar.weight, transposeSelf: true)
        let drift = (0 ..< fanIn).flatMap { i in (0 ..< fanIn).map { j in abs(wtw[i, j] - (i == j ? 1 : 0)) } }.max()!
        #expect(drift < 1e-12, "‖WᵀW − I‖_max = \(drift)")
    }
}
