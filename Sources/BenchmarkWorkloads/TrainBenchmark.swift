import SpectralNumerics

/// One training step (forward over T, full BPTT, Adam update, renormalization) of a recurrent
/// network, for the paper's shapes and each cell, against sgemm at the recurrence's size.
public struct TrainBenchmark {
    public struct Shape: Sendable {
        public let name: String
        public let hidden: Int, reflectors: Int, batch: Int, steps: Int, input: Int, output: Int
    }

    /// pixel-MNIST, the adding task, and a wide full-reflector network (issue 4's table).
    public static let shapes = [
        Shape(name: "pixel", hidden: 128, reflectors: 16, batch: 128, steps: 784, input: 1, output: 10),
        Shape(name: "adding", hidden: 128, reflectors: 16, batch: 128, steps: 200, input: 2, output: 1),
        Shape(name: "wide", hidden: 512, reflectors: 512, batch: 64, steps: 200, input: 1, output: 10),
    ]
    public static let cells: [Cell] = [.rnn, .spectral, .orthogonal]

    public var stopwatch = Stopwatch()
    public init() {}

    public struct Row {
        public let shape: Shape, cell: String, seconds: Double, sgemmGflops: Double
        /// The plain RNN's dominant flops, used for every cell so rates compare: 2·T·B·n² forward
        /// (h W ᵀ per step) and 4·T·B·n² backward (δ W per step, and ∂W).
        public var flops: Double { 6 * Double(shape.steps * shape.batch) * Double(shape.hidden * shape.hidden) }
        public var gflops: Double { flops / seconds / 1e9 }
    }

    /// One training step of `cell` at `shape` on the batch x (targets: zeros for one output, else
    /// `labels`), as a closure to time.
    public static func step(of cell: Cell, at shape: Shape, input x: Tensor<Float>, labels: [Int]) throws -> () throws -> Void {
        var rng = Random(seed: 1)
        let net = try cell.model(Float.self, input: shape.input, hidden: shape.hidden, output: shape.output, readout: .last,
                                 options: .init(reflectors: shape.reflectors), rng: &rng)
        // Learning rate 0: the whole update is computed and applied, but the parameters stay at
        // their initialization, so every timed step does the same work on the same values. (At 1e-3
        // on one repeated batch a plain RNN blows up within a few steps, and its timing then depends
        // on how many steps came before.)
        let opt = try Optimizer<Float>(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8), learningRate: 0)
        return {
            let y = try net.forward(x)
            let grad = shape.output == 1 ? try Loss.meanSquaredError(y, Tensor(zeros: y.shape)).grad
                                         : try Loss.crossEntropy(y, labels: labels).grad
            net.zeroGrad()
            _ = try net.backward(grad)
            opt.step(net.parameters)
            net.renormalize()
        }
    }

    /// A batch of `shape`: uniform inputs and labels 0, 1, … cycling through the classes.
    public static func batch(_ shape: Shape, rng: inout Random) -> (x: Tensor<Float>, labels: [Int]) {
        (rng.uniformTensor([shape.steps, shape.batch, shape.input]), (0 ..< shape.batch).map { $0 % shape.output })
    }

    public func run(shapes: [Shape] = TrainBenchmark.shapes, cells: [Cell] = TrainBenchmark.cells,
                    progress: (Row) -> Void) throws {
        for shape in shapes {
            let n = shape.hidden
            var rng = Random(seed: 1)
            let (x, labels) = TrainBenchmark.batch(shape, rng: &rng)
            // One training step per cell, and the reference sgemm, timed round-robin.
            var works: [() throws -> Void] = try cells.map { try TrainBenchmark.step(of: $0, at: shape, input: x, labels: labels) }
            let a: Tensor<Float> = rng.normalTensor([shape.batch, n]), w: Tensor<Float> = rng.normalTensor([n, n])
            let c = Tensor<Float>(zeros: [shape.batch, n])
            let gemmRepeats = 20
            works.append { for _ in 0 ..< gemmRepeats { Float.gemm(false, true, shape.batch, n, n, 1, a.data, n, w.data, n, 0, c.data, n) } }
            let times = try stopwatch.medians(works)
            let gemm = 2 * Double(shape.batch) * Double(n * n) * Double(gemmRepeats) / times.last! / 1e9
            for (cell, seconds) in zip(cells, times) {
                progress(Row(shape: shape, cell: cell.rawValue, seconds: seconds, sgemmGflops: gemm))
            }
        }
    }
}
