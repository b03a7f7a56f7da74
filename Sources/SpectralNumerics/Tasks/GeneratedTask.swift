/// A task whose sequences are drawn fresh from a generator (adding, copy): no epochs, no test split,
/// and held-out batches drawn from a stream of their own, the same at every call.
protocol GeneratedTask: SequenceTask {
    var generator: GeneratedStreams { get set }
    /// One batch drawn from `random`.
    func generate<T: TensorScalar>(_ random: inout Random) -> TaskBatch<T>
}

/// The training stream and the seed of the held-out one, both from the task's seed.
struct GeneratedStreams {
    var training: Random
    let validationSeed: UInt64
    static let validationBatchCount = 10

    init(seed: UInt64) {
        var seeder = Random(seed: seed)
        training = Random(seed: seeder.next())
        validationSeed = seeder.next()
    }
}

extension GeneratedTask {
    public var continuesStreams: Bool { false }
    public var batchesPerEpoch: Int? { nil }

    public func nextBatch<T: TensorScalar>(_: T.Type) -> TaskBatch<T> { generate(&generator.training) }

    public func validationBatches<T: TensorScalar>(_: T.Type) -> [TaskBatch<T>] {
        var r = Random(seed: generator.validationSeed)
        return (0 ..< GeneratedStreams.validationBatchCount).map { _ in generate(&r) }
    }

    public func testBatches<T: TensorScalar>(_: T.Type) -> [TaskBatch<T>]? { nil }

    public var state: [String: UInt64] {
        get { generator.training.taskState() }
        set { generator.training.restore(newValue) }
    }
}
