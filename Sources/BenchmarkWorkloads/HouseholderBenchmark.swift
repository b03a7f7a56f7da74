import SpectralNumerics

/// Applying a product of k reflectors of length n to an n×B batch (Float), forward and backward,
/// reflector by reflector and in compact WY form, against the machine's sgemm at the same size.
public struct HouseholderBenchmark {
    public var sizes = [64, 128, 256, 512, 1024]
    public var batch = 128
    /// Reflectors per compact WY block.
    public var blockSize = 64
    public var stopwatch = Stopwatch()

    public init() {}

    public struct Row {
        public let n: Int, k: Int, method: String
        public let forwardSeconds: Double, backwardSeconds: Double
        public let forwardFlops: Double, backwardFlops: Double
        public let sgemmGflops: Double
        public var forwardGflops: Double { forwardFlops / forwardSeconds / 1e9 }
        public var backwardGflops: Double { backwardFlops / backwardSeconds / 1e9 }
    }

    public func run(progress: (Row) -> Void) throws {
        var rng = Random(seed: 1)
        for n in sizes {
            for k in Array(Set([n, Swift.max(1, n / 4)])).sorted(by: >) {
                let v: Tensor<Float> = rng.normalTensor([k, n])
                let x: Tensor<Float> = rng.normalTensor([batch, n])
                let g: Tensor<Float> = rng.normalTensor([batch, n])
                let w: Tensor<Float> = rng.normalTensor([n, n]), c = Tensor<Float>(zeros: [batch, n])
                // The reflector-wise algorithm's flop count, used for both methods so rates compare:
                // 4·B·len per reflector forward (gemv + ger); 14·B·len backward (recover the input,
                // three gemv, two transposed gemv, one ger).
                let touched = Double(batch) * Double((0 ..< k).reduce(0) { $0 + (n - $1) })
                let methods: [(String, Householder.Method)] = [("reflectorwise", .reflectorwise), ("compact WY", .compactWY(blockSize: blockSize))]
                let outputs = try methods.map { try Householder.apply(v, to: x, method: $0.1) }
                // Every timing of this (n, k) round-robin with the reference sgemm: fair ratios on a busy machine.
                var works: [() throws -> Void] = []
                for (i, (_, method)) in methods.enumerated() {
                    works.append { _ = try Householder.apply(v, to: x, method: method) }
                    works.append { _ = try Householder.backward(v, output: outputs[i], gradOutput: g, method: method) }
                }
                works.append { Float.gemm(false, true, batch, n, n, 1, x.data, n, w.data, n, 0, c.data, n) }
                let t = try stopwatch.medians(works)
                let gemm = 2 * Double(batch) * Double(n * n) / t[t.count - 1] / 1e9
                for (i, (name, _)) in methods.enumerated() {
                    progress(Row(n: n, k: k, method: name, forwardSeconds: t[2 * i], backwardSeconds: t[2 * i + 1],
                                 forwardFlops: 4 * touched, backwardFlops: 14 * touched, sgemmGflops: gemm))
                }
            }
        }
    }
}
