import Foundation
import SpectralNumerics

/// One training step (forward over T, full BPTT, Adam update, renormalization) of a recurrent
/// network, for the paper's shapes and each cell, beside sgemm at the recurrence's size and at
/// n = 1024 (the roofline); each step's peak resident memory against what it must hold; and an
/// evaluation pass (no tape) over pixel Fashion-MNIST's test set.
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

    /// A cell as the bench names it: "rnn" is the relu RNN (the spectral cell's activation),
    /// "rnn-tanh" torch.nn.RNN's default.
    public struct BenchCell: Sendable {
        public let name: String, cell: Cell, activation: Activation
    }
    public static let cells = [
        BenchCell(name: "rnn", cell: .rnn, activation: .relu), BenchCell(name: "spectral", cell: .spectral, activation: .relu),
        BenchCell(name: "orthogonal", cell: .orthogonal, activation: .relu), BenchCell(name: "rnn-tanh", cell: .rnn, activation: .tanh),
        BenchCell(name: "lstm", cell: .lstm, activation: .relu), BenchCell(name: "gru", cell: .gru, activation: .relu),
    ]

    public var stopwatch = Stopwatch()
    public init() {}

    public struct Row {
        public let shape: Shape, cell: String, seconds: Double, sgemmGflops: Double, rooflineGflops: Double
        /// The step's peak resident memory above what the process held before the model existed,
        /// and what it must hold (`needed`), in bytes; nil where /proc is not there.
        public let peakBytes: Int?, neededBytes: Int
        /// The plain RNN's dominant flops, used for every cell so rates compare: 2·T·B·n² forward
        /// (h W ᵀ per step) and 4·T·B·n² backward (δ W per step, and ∂W).
        public var flops: Double { 6 * Double(shape.steps * shape.batch) * Double(shape.hidden * shape.hidden) }
        public var gflops: Double { flops / seconds / 1e9 }
    }

    /// What a step of `cell` must hold, in numbers: the tape its backward reads (the states h_0…h_T;
    /// an LSTM's cells too and its four gates per step, a GRU's three gates and u_n; for the spectral
    /// and orthogonal cells also the tape of W's reflector products, `parameterizationTape`, as the
    /// model reports it), ∂L/∂h over the T steps, the input and ∂x, and each parameter four times
    /// (value, gradient, Adam's two moments).
    public static func neededNumbers(_ cell: Cell, _ s: Shape, parameters: Int, parameterizationTape: Int = 0) -> Int {
        let plane = s.batch * s.hidden, t = s.steps
        let tape = switch cell {
        case .lstm: 2 * (t + 1) * plane + 4 * t * plane
        case .gru: (t + 1) * plane + 4 * t * plane
        default: (t + 1) * plane
        }
        return tape + parameterizationTape + t * plane + 2 * t * s.batch * s.input + 4 * parameters
    }

    public static func model(_ c: BenchCell, _ shape: Shape) throws -> any SequenceModel<Float> {
        var rng = Random(seed: 1)
        return try c.cell.model(Float.self, input: shape.input, hidden: shape.hidden, output: shape.output, readout: .last,
                                options: .init(reflectors: shape.reflectors, activation: c.activation), rng: &rng)
    }

    /// One training step of `net` at `shape` on the batch x (targets: zeros for one output, else
    /// `labels`), as a closure to time.
    public static func step(of net: any SequenceModel<Float>, at shape: Shape, input x: Tensor<Float>, labels: [Int]) throws -> () throws -> Void {
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

    /// sgemm (B×n)·(n×n)ᵀ, repeated: the recurrence's own GEMM. Returns the work and its flops.
    static func sgemm(batch: Int, n: Int, repeats: Int, rng: inout Random) -> (() -> Void, Double) {
        let a: Tensor<Float> = rng.normalTensor([batch, n]), w: Tensor<Float> = rng.normalTensor([n, n])
        let c = Tensor<Float>(zeros: [batch, n])
        return ({ for _ in 0 ..< repeats { Float.gemm(false, true, batch, n, n, 1, a.data, n, w.data, n, 0, c.data, n) } },
                2 * Double(batch) * Double(n * n) * Double(repeats))
    }

    public func run(shapes: [Shape] = TrainBenchmark.shapes, cells: [BenchCell] = TrainBenchmark.cells,
                    progress: (Row) -> Void) throws {
        ResidentMemory.returnLargeBlocksToTheSystem()
        for shape in shapes {
            var rng = Random(seed: 1)
            let (x, labels) = TrainBenchmark.batch(shape, rng: &rng)
            // Each cell's model and step, its memory measured over one step after a warm-up (the
            // first step allocates the reused buffers), before the next cell's model exists.
            let (own, ownFlops) = TrainBenchmark.sgemm(batch: shape.batch, n: shape.hidden, repeats: 20, rng: &rng)
            let (roof, roofFlops) = TrainBenchmark.sgemm(batch: 1024, n: 1024, repeats: 2, rng: &rng)
            own()   // BLAS's own buffers and threads come with its first calls: not the first cell's memory
            roof()
            var works: [() throws -> Void] = [], peaks: [Int?] = [], needed: [Int] = []
            for c in cells {
                let before = ResidentMemory.current
                let net = try TrainBenchmark.model(c, shape)
                let step = try TrainBenchmark.step(of: net, at: shape, input: x, labels: labels)
                try step()
                ResidentMemory.resetPeak()
                try step()
                peaks.append(before.flatMap { b in ResidentMemory.peak.map { $0 - b } })
                let wTape = (net as? RecurrentNetwork<Float>)?.parameterizationTapeNumbers ?? 0
                needed.append(4 * TrainBenchmark.neededNumbers(c.cell, shape, parameters: net.parameters.reduce(0) { $0 + $1.value.count },
                                                               parameterizationTape: wTape))
                works.append(step)
            }
            // The cells, the recurrence's sgemm and the roofline sgemm (n = 1024), round-robin.
            let times = try stopwatch.medians(works + [own, roof])
            let (ownRate, roofRate) = (ownFlops / times[cells.count] / 1e9, roofFlops / times[cells.count + 1] / 1e9)
            for (i, c) in cells.enumerated() {
                progress(Row(shape: shape, cell: c.name, seconds: times[i], sgemmGflops: ownRate, rooflineGflops: roofRate,
                             peakBytes: peaks[i], neededBytes: needed[i]))
            }
        }
    }

    public struct EvaluationRow {
        public let cell: String, images: Int, seconds: Double
    }

    /// One pass of `predict` (no tape) over pixel Fashion-MNIST's test set for each cell, at the
    /// pixel shape with its initial parameters, in batches of `batch`.
    public func evaluate(directory: String, cells: [BenchCell], batch: Int, progress: (EvaluationRow) -> Void) throws {
        let task = try PixelMNIST(directory: directory, batchSize: 128, evalBatchSize: batch, seed: 1)
        let batches = task.testBatches(Float.self) ?? []
        let shape = TrainBenchmark.shapes[0]
        for c in cells {
            let net = try TrainBenchmark.model(c, shape)
            _ = try net.predict(batches[0].x)   // warm-up: the buffers
            var images = 0
            let start = Date()
            for b in batches { images += try net.predict(b.x).shape[0] }
            progress(EvaluationRow(cell: c.name, images: images, seconds: Date().timeIntervalSince(start)))
        }
    }
}
