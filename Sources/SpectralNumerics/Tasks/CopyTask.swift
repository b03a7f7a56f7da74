import Foundation

/// The copying memory task (Arjovsky, Shah & Bengio 2016): `length` symbols drawn from 1…symbols,
/// then T − 1 blanks, a delimiter, and `length` more blanks (T + 2·length steps); the target is blank
/// everywhere but the last `length` steps, which must reproduce the symbols. Inputs are one-hot over
/// blank, the symbols and the delimiter; the outputs are classes blank (label 1) and the symbols
/// (labels 2…symbols + 1), one per step.
///
/// The loss covers every step (as in the papers): remembering nothing — blanks, then a uniform guess
/// — scores length·log(symbols)/(T + 2·length). With `answerOnly` only the answer steps count (the
/// others carry the ignored label 0) and that baseline is log(symbols).
public final class CopyTask: GeneratedTask {
    public let blanks: Int, symbols: Int, copyLength: Int, batchSize: Int, answerOnly: Bool
    var generator: GeneratedStreams

    public init(blanks: Int, symbols: Int = 8, length: Int = 10, batchSize: Int, answerOnly: Bool = false, seed: UInt64) throws {
        guard blanks >= 1 else { throw TaskError("copy: T must be at least 1, got \(blanks)") }
        guard symbols >= 1 else { throw TaskError("copy: symbols must be at least 1, got \(symbols)") }
        guard length >= 1 else { throw TaskError("copy: length must be at least 1, got \(length)") }
        guard batchSize >= 1 else { throw TaskError("copy: batch must be at least 1, got \(batchSize)") }
        self.blanks = blanks
        self.symbols = symbols
        copyLength = length
        self.batchSize = batchSize
        self.answerOnly = answerOnly
        generator = GeneratedStreams(seed: seed)
    }

    public var name: String { "copy" }
    public var length: Int { blanks + 2 * copyLength }
    /// Blank, the symbols, the delimiter.
    public var inputSize: Int { symbols + 2 }
    public var outputSize: Int { symbols + 1 }
    public var readout: TaskReadout { .all }
    public var loss: TaskLoss { .crossEntropy(ignore: answerOnly ? 0 : nil) }
    public var baseline: Double? {
        answerOnly ? log(Double(symbols)) : Double(copyLength) * log(Double(symbols)) / Double(length)
    }
    public var description: String {
        "copy(T=\(blanks), \(copyLength) of \(symbols) symbols, batch=\(batchSize)\(answerOnly ? ", answer steps only" : ""))"
    }

    func generate<T: TensorScalar>(_ r: inout Random) -> TaskBatch<T> {
        let steps = length, b = batchSize, v = inputSize
        let x = Tensor<T>(zeros: [steps, b, v]), y = Tensor<T>(zeros: [steps * b])
        let delimiter = symbols + 1, answerStart = blanks + copyLength
        for j in 0 ..< b {
            var input = [Int](repeating: 0, count: steps)          // input class per step, 0 = blank
            var target = [Int](repeating: 0, count: steps)         // target class per step, 0 = blank
            for t in 0 ..< copyLength {
                let s = 1 + r.below(symbols)
                input[t] = s
                target[answerStart + t] = s
            }
            input[blanks + copyLength - 1] = delimiter
            for t in 0 ..< steps {
                x.data[(t * b + j) * v + input[t]] = 1
                let counted = !answerOnly || t >= answerStart
                y.data[t * b + j] = counted ? T(target[t] + 1) : 0
            }
        }
        return TaskBatch(x: x, y: y, reset: false)
    }
}
