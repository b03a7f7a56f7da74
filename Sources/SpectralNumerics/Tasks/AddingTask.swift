/// The adding problem (Hochreiter & Schmidhuber 1997) generated as the Spectral-RNN authors generate
/// it (their data/Adding_task/generate_data.py): each step's input is (value ~ U(0, 1), marker); one
/// marker sits at a uniform step of the first half, 0..<T/2, the other at a uniform step of the
/// second half, T/2..<T; the target is the sum of the two marked values. Always answering 1, the
/// mean of that sum, scores its variance: 1/12 + 1/12 = 1/6.
public final class AddingTask: SequenceTask {
    public let length: Int, batchSize: Int
    private var random: Random
    /// The held-out set is drawn from its own stream, the same at every call.
    private let validationSeed: UInt64
    public static let validationBatchCount = 10

    public init(length: Int, batchSize: Int, seed: UInt64) throws {
        guard length >= 2 else { throw TaskError("adding: T must be at least 2 (one marker in each half), got \(length)") }
        guard batchSize >= 1 else { throw TaskError("adding: batch must be at least 1, got \(batchSize)") }
        self.length = length
        self.batchSize = batchSize
        var seeder = Random(seed: seed)
        random = Random(seed: seeder.next())
        validationSeed = seeder.next()
    }

    public var name: String { "adding" }
    public var inputSize: Int { 2 }
    public var outputSize: Int { 1 }
    public var readout: TaskReadout { .last }
    public var loss: TaskLoss { .meanSquaredError }
    public var baseline: Double? { 1.0 / 6.0 }
    public var continuesStreams: Bool { false }
    public var batchesPerEpoch: Int? { nil }
    public var description: String { "adding(T=\(length), batch=\(batchSize))" }

    public func nextBatch<T: TensorScalar>(_: T.Type) -> TaskBatch<T> { Self.batch(length, batchSize, &random) }

    public func validationBatches<T: TensorScalar>(_: T.Type) -> [TaskBatch<T>] {
        var r = Random(seed: validationSeed)
        return (0 ..< Self.validationBatchCount).map { _ in Self.batch(length, batchSize, &r) }
    }

    public func testBatches<T: TensorScalar>(_: T.Type) -> [TaskBatch<T>]? { nil }

    public var state: [String: UInt64] {
        get { random.taskState() }
        set { random.restore(newValue) }
    }

    static func batch<T: TensorScalar>(_ steps: Int, _ b: Int, _ r: inout Random) -> TaskBatch<T> {
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
