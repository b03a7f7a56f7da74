import Numerics

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

    /// sgemm GFLOP/s for (rows×n)·(n×n)ᵀ: the GEMM a layer with W built runs on a batch.
    public static func sgemmGflops(rows: Int, n: Int, stopwatch: Stopwatch) -> Double {
        var rng = Random(seed: 1)
        let x: Tensor<Float> = rng.normalTensor([rows, n]), w: Tensor<Float> = rng.normalTensor([n, n])
        let y = Tensor<Float>(zeros: [rows, n])
        let t = stopwatch.median { Float.gemm(false, true, rows, n, n, 1, x.data, n, w.data, n, 0, y.data, n) }
        return 2 * Double(rows) * Double(n * n) / t / 1e9
    }

    public func run(progress: (Row) -> Void) throws {
        var rng = Random(seed: 1)
        for n in sizes {
            let gemm = HouseholderBenchmark.sgemmGflops(rows: batch, n: n, stopwatch: stopwatch)
            for k in Array(Set([n, Swift.max(1, n / 4)])).sorted(by: >) {
                let v: Tensor<Float> = rng.normalTensor([k, n])
                let x: Tensor<Float> = rng.normalTensor([batch, n])
                let g: Tensor<Float> = rng.normalTensor([batch, n])
                // The reflector-wise algorithm's flop count, used for both methods so rates compare:
                // 4·B·len per reflector forward (gemv + ger); 14·B·len backward (recover the input,
                // three gemv, two transposed gemv, one ger).
                let touched = Double(batch) * Double((0 ..< k).reduce(0) { $0 + (n - $1) })
                for (name, method) in [("reflectorwise", Householder.Method.reflectorwise), ("compact WY", .compactWY(blockSize: blockSize))] {
                    var y = x
                    let fwd = try stopwatch.median { y = try Householder.apply(v, to: x, method: method) }
                    let bwd = try stopwatch.median { _ = try Householder.backward(v, output: y, gradOutput: g, method: method) }
                    progress(Row(n: n, k: k, method: name, forwardSeconds: fwd, backwardSeconds: bwd,
                                 forwardFlops: 4 * touched, backwardFlops: 14 * touched, sgemmGflops: gemm))
                }
            }
        }
    }
}
