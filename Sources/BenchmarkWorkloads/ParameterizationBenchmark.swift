import SpectralNumerics

/// What the SVD parameterization costs per training step of an n×n recurrent transition: building
/// W = U Σ Vᵀ from its reflectors and σ, and sending ∂L/∂W back to them, in compact WY form, against
/// the machine's sgemm of two n×n matrices (2n³ flops) measured in the same rounds.
public struct ParameterizationBenchmark {
    public var sizes = [128, 256, 512, 1024]
    /// Reflectors per compact WY block.
    public var blockSize = 64
    public var stopwatch = Stopwatch()

    public init() {}

    public struct Row {
        public let n: Int, k: Int
        public let buildSeconds: Double, backwardSeconds: Double, sgemmSeconds: Double
        /// The costs in units of one n×n×n sgemm: what the parameterization adds to a step, in the
        /// currency of the recurrence itself.
        public var buildGemms: Double { buildSeconds / sgemmSeconds }
        public var backwardGemms: Double { backwardSeconds / sgemmSeconds }
    }

    public func run(progress: (Row) -> Void) throws {
        for n in sizes {
            for k in Array(Set([n, Swift.max(1, n / 4)])).sorted(by: >) {
                var rng = Random(seed: 1)
                let layer = try SVDLinear<Float>(inFeatures: n, outFeatures: n,
                                                 options: .init(reflectorsU: k, reflectorsV: k, bias: false), rng: &rng)
                layer.method = .compactWY(blockSize: blockSize)
                let gw: Tensor<Float> = rng.normalTensor([n, n])
                let a: Tensor<Float> = rng.normalTensor([n, n]), c = Tensor<Float>(zeros: [n, n])
                let built = try layer.build().built
                let t = try stopwatch.medians([
                    { _ = try layer.build() },
                    { try layer.accumulate(gradMatrix: gw, built: built) },
                    { Float.gemm(false, true, n, n, n, 1, a.data, n, a.data, n, 0, c.data, n) },
                ])
                progress(Row(n: n, k: k, buildSeconds: t[0], backwardSeconds: t[1], sgemmSeconds: t[2]))
            }
        }
    }
}
