import Foundation

/// Character-level language modelling with truncated BPTT: a split is cut into `batchSize`
/// contiguous streams, and each batch is the next `sequenceLength` characters of every stream
/// (inputs one-hot over the vocabulary and the unknown character, targets the characters that
/// follow, T·B labels in time-major order). The state a model carries from one batch to the next
/// continues the streams; a batch that starts them over says `reset`.
public final class CharLMTask: SequenceTask {
    public let corpus: CharCorpus
    public let sequenceLength: Int, batchSize: Int
    private var epoch: UInt64 = 0, cursor = 0

    public init(corpus: CharCorpus, sequenceLength: Int, batchSize: Int) throws {
        guard sequenceLength >= 1, batchSize >= 1 else { throw TaskError("char_lm: seq_len and batch must be at least 1") }
        for (name, split) in [("training", corpus.train), ("validation", corpus.validation), ("test", corpus.test)] {
            guard (split.count - 1) / batchSize >= sequenceLength else {
                throw TaskError("char_lm: the \(name) split (\(split.count) characters) is too short for \(batchSize) streams of at least seq_len = \(sequenceLength)")
            }
        }
        self.corpus = corpus
        self.sequenceLength = sequenceLength
        self.batchSize = batchSize
    }

    public var name: String { "char_lm" }
    public var length: Int { sequenceLength }
    public var inputSize: Int { corpus.classes }
    public var outputSize: Int { corpus.classes }
    public var readout: TaskReadout { .all }
    public var loss: TaskLoss { .crossEntropy(ignore: nil) }
    /// A uniform guess over the training vocabulary, in nats.
    public var baseline: Double? { log(Double(corpus.vocabulary.count)) }
    public var continuesStreams: Bool { true }
    public var batchesPerEpoch: Int? { Self.batchCount(corpus.train.count, batchSize, sequenceLength) }
    public var description: String {
        "char_lm(\(corpus.source): \(corpus.train.count)/\(corpus.validation.count)/\(corpus.test.count) characters, vocabulary \(corpus.vocabulary.count), unknown in valid/test \(corpus.unknown.validation)/\(corpus.unknown.test), seq_len=\(sequenceLength), batch=\(batchSize))"
    }

    static func batchCount(_ characters: Int, _ streams: Int, _ steps: Int) -> Int { (characters - 1) / streams / steps }

    public func nextBatch<T: TensorScalar>(_: T.Type) -> TaskBatch<T> {
        if cursor >= batchesPerEpoch! {
            epoch += 1
            cursor = 0
        }
        defer { cursor += 1 }
        return Self.batch(T.self, corpus.train, index: cursor, batchSize, sequenceLength, corpus.classes)
    }

    public func validationBatches<T: TensorScalar>(_: T.Type) -> [TaskBatch<T>] { all(T.self, corpus.validation) }

    public func testBatches<T: TensorScalar>(_: T.Type) -> [TaskBatch<T>]? { all(T.self, corpus.test) }

    private func all<T: TensorScalar>(_: T.Type, _ split: [Int32]) -> [TaskBatch<T>] {
        (0 ..< Self.batchCount(split.count, batchSize, sequenceLength)).map {
            Self.batch(T.self, split, index: $0, batchSize, sequenceLength, corpus.classes)
        }
    }

    public func restore(state: [String: UInt64]) throws {
        _ = try position(state, "cursor", limit: batchesPerEpoch ?? 0)
        self.state = state
    }

    public var state: [String: UInt64] {
        get { ["epoch": epoch, "cursor": UInt64(cursor)] }
        set {
            if let e = newValue["epoch"], let c = newValue["cursor"] {
                epoch = e
                cursor = Int(c)
            }
        }
    }

    /// Batch `index` of a split: stream j covers characters j·L ..< (j + 1)·L + 1 (L = (count − 1)/B),
    /// the batch its steps index·T ..< (index + 1)·T.
    static func batch<T: TensorScalar>(_: T.Type, _ split: [Int32], index: Int, _ b: Int, _ steps: Int, _ classes: Int) -> TaskBatch<T> {
        let streamLength = (split.count - 1) / b
        let x = Tensor<T>(zeros: [steps, b, classes]), y = Tensor<T>(zeros: [steps * b])
        for j in 0 ..< b {
            let start = j * streamLength + index * steps
            for t in 0 ..< steps {
                x.data[(t * b + j) * classes + Int(split[start + t])] = 1
                y.data[t * b + j] = T(Int(split[start + t + 1]) + 1)
            }
        }
        return TaskBatch(x: x, y: y, reset: index == 0)
    }
}
