/// The adding problem (Hochreiter & Schmidhuber 1997) generated as the Spectral-RNN authors generate
/// it (their data/Adding_task/generate_data.py): each step's input is (value ~ U(0, 1), marker); one
/// marker sits at a uniform step of the first half, 0..<T/2, the other at a uniform step of the
/// second half, T/2..<T; the target is the sum of the two marked values. Always answering 1, the
/// mean of that sum, scores its variance: 1/12 + 1/12 = 1/6.
public final class AddingTask: GeneratedTask {
    public let length: Int, batchSize: Int
    var generator: GeneratedStreams

    public init(length: Int, batchSize: Int, seed: UInt64) throws {
        guard length >= 2 else { throw TaskError("adding: T must be at least 2 (one marker in each half), got \(length)") }
        guard batchSize >= 1 else { throw TaskError("adding: batch must be at least 1, got \(batchSize)") }
        self.length = length
        self.batchSize = batchSize
        generator = GeneratedStreams(seed: seed)
    }

    public var name: String { "adding" }
    public var inputSize: Int { 2 }
    public var outputSize: Int { 1 }
    public var readout: TaskReadout { .last }
    public var loss: TaskLoss { .meanSquaredError }
    public var baseline: Double? { 1.0 / 6.0 }
    public var description: String { "adding(T=\(length), batch=\(batchSize))" }

    func generate<T: TensorScalar>(_ r: inout Random) -> TaskBatch<T> {
        let steps = length, b = batchSize
        let x = Tensor<T>(zeros: [steps, b, 2]), y = Tensor<T>(zeros: [b, 1])
        let half = steps / 2
        for j in 0 ..< b {
            var sum = 0.0
            for t in 0 ..< steps { x.data[(t * b + j) * 2] = T(r.uniform()) }
            for t in [r.below(half), half + r.below(steps - half)] {
                x.data[(t * b + j) * 2 + 1] = 1
                sum += Double(x.data[(t * b + j) * 2])
            }
            y.data[j] = T(sum)
        }
        return TaskBatch(x: x, y: y, reset: false)
    }
}
