/// A task a sequence model trains on: batches of x (T×B×input, time first) and targets — values
/// (B×output, for MSE) or 1-based class labels (for cross-entropy: B of them with a readout from the
/// last step, T·B in time-major order with a readout from every step), held in a tensor of the
/// model's precision.
public protocol SequenceTask: AnyObject, CustomStringConvertible {
    var name: String { get }
    var inputSize: Int { get }
    var outputSize: Int { get }
    /// Steps per sequence.
    var length: Int { get }
    var readout: TaskReadout { get }
    var loss: TaskLoss { get }
    /// The loss of the trivial solution the paper compares against, where there is one.
    var baseline: Double? { get }
    /// True when consecutive batches continue the same streams (truncated BPTT).
    var continuesStreams: Bool { get }
    /// The next training batch.
    func nextBatch<T: TensorScalar>(_: T.Type) -> TaskBatch<T>
    /// Held-out batches, the same at every call.
    func validationBatches<T: TensorScalar>(_: T.Type) -> [TaskBatch<T>]
    /// The test split's batches, for tasks with one.
    func testBatches<T: TensorScalar>(_: T.Type) -> [TaskBatch<T>]?
    var batchesPerEpoch: Int? { get }
    /// Where the task's stream of training batches is (its generator, epoch, position): saved with a
    /// checkpoint so that a resumed run sees the same batches as an uninterrupted one.
    var state: [String: UInt64] { get set }
    /// Sets `state` from a checkpoint, after checking it (a cursor past the epoch is an error, not
    /// a trap later).
    func restore(state: [String: UInt64]) throws
}

extension SequenceTask {
    public func restore(state: [String: UInt64]) throws { self.state = state }

    /// A checkpoint's stream position, checked: at most `limit`.
    func position(_ state: [String: UInt64], _ key: String, limit: Int) throws -> Int {
        guard let v = state[key] else { throw TaskError("the task state has no '\(key)'") }
        guard v <= UInt64(limit) else { throw TaskError("the task state's \(key) \(v) is past the end of an epoch (\(limit)): not this task's state") }
        return Int(v)
    }
}

public enum TaskReadout: String, Sendable { case last, all }

public enum TaskLoss: Equatable, Sendable {
    case meanSquaredError
    /// Labels equal to `ignore` (1-based; 0 is never a class) do not count.
    case crossEntropy(ignore: Int?)
}

public struct TaskBatch<T: TensorScalar> {
    public let x: Tensor<T>
    public let y: Tensor<T>
    /// The batch starts new streams: a stateful model must forget its carried state first.
    public let reset: Bool
}

extension Random {
    /// The generator's state as named words, for a task's `state`.
    func taskState(_ prefix: String = "random") -> [String: UInt64] {
        let s = state
        var out: [String: UInt64] = [:]
        for (i, w) in s.words.enumerated() { out["\(prefix)\(i)"] = w }
        if let spare = s.spareNormal { out["\(prefix)_spare"] = spare.bitPattern }
        return out
    }

    /// Restores `taskState`; a state without the generator's words leaves it as it is.
    mutating func restore(_ s: [String: UInt64], _ prefix: String = "random") {
        let words = (0 ..< 4).compactMap { s["\(prefix)\($0)"] }
        guard words.count == 4 else { return }
        state = (words, s["\(prefix)_spare"].map { Double(bitPattern: $0) })
    }

    /// A uniform integer in 0..<n.
    mutating func below(_ n: Int) -> Int { Int(integer(in: 0 ... Int64(n - 1))) }
}

public struct TaskError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
