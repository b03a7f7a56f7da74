import Foundation
@testable import SpectralNumerics
import Testing

/// The generated tasks (adding, copy): the layout of every sequence, the baselines the paper
/// quotes measured on the data itself, and streams that are reproducible and resumable.
@Suite struct GeneratedTaskTests {
    // MARK: Adding

    @Test(arguments: [10, 11]) func addingSequencesHaveOneMarkerPerHalfAndTheirSumAsTarget(steps: Int) throws {
        let task = try AddingTask(length: steps, batchSize: 64, seed: 7)
        let b = task.nextBatch(Double.self)
        #expect(b.x.shape == [steps, 64, 2])
        #expect(b.y.shape == [64, 1])
        let half = steps / 2
        for j in 0 ..< 64 {
            var marked: [Int] = [], sum = 0.0
            for t in 0 ..< steps {
                let value = b.x.at(t, j, 0), marker = b.x.at(t, j, 1)
                #expect(value >= 0 && value < 1)
                #expect(marker == 0 || marker == 1)
                if marker == 1 {
                    marked.append(t)
                    sum += value
                }
            }
            #expect(marked.count == 2)
            #expect(marked.first.map { $0 < half } == true && marked.last.map { $0 >= half } == true, "markers at \(marked)")
            #expect(b.y[j, 0] == sum)
        }
    }

    /// Answering 1 scores the variance of the sum of two U(0,1) values, 1/6 (standard error of the
    /// estimate over 12 800 sums: about 0.002).
    @Test func addingBaselineIsTheMSEOfAlwaysAnsweringOne() throws {
        let task = try AddingTask(length: 20, batchSize: 128, seed: 3)
        var total = 0.0, count = 0
        for _ in 0 ..< 100 {
            let y = task.nextBatch(Double.self).y
            for v in y.scalars { total += (v - 1) * (v - 1); count += 1 }
        }
        #expect(abs(total / Double(count) - 1.0 / 6.0) < 0.01, "MSE of answering 1: \(total / Double(count))")
        #expect(task.baseline == 1.0 / 6.0)
    }

    @Test func generatedStreamsAreReproducibleResumableAndApartFromValidation() throws {
        let tasks: [() throws -> any SequenceTask] = [
            { try AddingTask(length: 8, batchSize: 4, seed: 11) },
            { try CopyTask(blanks: 5, symbols: 4, length: 3, batchSize: 4, seed: 11) },
        ]
        for make in tasks {
            let a = try make(), b = try make()
            let first = (0 ..< 3).map { _ in a.nextBatch(Double.self).x.scalars }
            #expect(first == (0 ..< 3).map { _ in b.nextBatch(Double.self).x.scalars }, "\(a): same seed, same batches")
            #expect(first[0] != first[1])
            let saved = a.state
            let next = (0 ..< 2).map { _ in a.nextBatch(Double.self).x.scalars }
            a.state = saved
            #expect((0 ..< 2).map { _ in a.nextBatch(Double.self).x.scalars } == next, "\(a): restored state, same batches")
            let v1 = a.validationBatches(Double.self).map(\.x.scalars), v2 = a.validationBatches(Double.self).map(\.x.scalars)
            #expect(v1.count == 10 && v1 == v2, "\(a): validation is fixed")
            #expect(!v1.contains(first[0]))
            #expect(a.testBatches(Double.self) == nil)
        }
        let other = try AddingTask(length: 8, batchSize: 4, seed: 12)
        #expect(other.nextBatch(Double.self).x.scalars != (try AddingTask(length: 8, batchSize: 4, seed: 11)).nextBatch(Double.self).x.scalars)
    }

    @Test func generatorOptionErrorsNameTheOption() {
        #expect(throws: TaskError.self) { try AddingTask(length: 1, batchSize: 4, seed: 1) }
        #expect((try? AddingTask(length: 10, batchSize: 0, seed: 1)) == nil)
        for (make, word) in [({ try CopyTask(blanks: 0, batchSize: 2, seed: 1) }, "T"),
                             ({ try CopyTask(blanks: 5, symbols: 0, batchSize: 2, seed: 1) }, "symbols"),
                             ({ try CopyTask(blanks: 5, length: 0, batchSize: 2, seed: 1) }, "length")] as [(() throws -> CopyTask, String)] {
            do {
                _ = try make()
                Issue.record("no error for a bad \(word)")
            } catch {
                #expect("\(error)".hasPrefix("copy: \(word) must be"), "\(error)")
            }
        }
    }

    // MARK: Copy

    /// Symbols, T − 1 blanks, the delimiter, blanks; targets blank until the answer, which repeats
    /// the symbols. Labels are classes + 1 (blank = 1).
    @Test(arguments: [false, true]) func copySequencesHoldTheSymbolsTheDelimiterAndTheAnswer(answerOnly: Bool) throws {
        let (blanks, symbols, length, batch) = (7, 5, 4, 16)
        let task = try CopyTask(blanks: blanks, symbols: symbols, length: length, batchSize: batch, answerOnly: answerOnly, seed: 2)
        #expect(task.length == blanks + 2 * length)
        #expect(task.inputSize == symbols + 2 && task.outputSize == symbols + 1)
        #expect(task.loss == .crossEntropy(ignore: answerOnly ? 0 : nil))
        let b = task.nextBatch(Double.self)
        #expect(b.x.shape == [task.length, batch, symbols + 2])
        #expect(b.y.shape == [task.length * batch])
        for j in 0 ..< batch {
            var input: [Int] = []
            for t in 0 ..< task.length {
                let row = (0 ..< symbols + 2).map { b.x.at(t, j, $0) }
                #expect(row.reduce(0, +) == 1 && row.allSatisfy { $0 == 0 || $0 == 1 }, "one-hot at t=\(t)")
                input.append(row.firstIndex(of: 1)!)
            }
            let copied = Array(input[0 ..< length])
            #expect(copied.allSatisfy { (1 ... symbols).contains($0) })
            var expected = copied + Array(repeating: 0, count: blanks + length)
            expected[blanks + length - 1] = symbols + 1
            #expect(input == expected)
            let labels = (0 ..< task.length).map { Int(b.y.data[$0 * batch + j]) }
            let answer = copied.map { $0 + 1 }
            let before = Array(repeating: answerOnly ? 0 : 1, count: blanks + length)
            #expect(labels == before + answer)
        }
    }

    /// The memoryless predictor (blank with certainty before the answer, a uniform guess over the
    /// symbols in it) scored on the generated labels gives the baseline the task reports.
    @Test(arguments: [(100, false), (200, false), (30, true)]) func copyBaselineIsTheMemorylessLoss(blanks: Int, answerOnly: Bool) throws {
        let task = try CopyTask(blanks: blanks, symbols: 8, length: 10, batchSize: 8, answerOnly: answerOnly, seed: 4)
        let y = task.nextBatch(Double.self).y
        var loss = 0.0, counted = 0
        for (i, label) in y.scalars.enumerated() where label != 0 {
            let t = i / 8
            loss += t < blanks + 10 ? (label == 1 ? 0 : .infinity) : log(8)
            counted += 1
        }
        let expected = answerOnly ? log(8.0) : 10 * log(8.0) / Double(blanks + 20)
        #expect(abs(loss / Double(counted) - expected) < 1e-12)
        #expect(abs(task.baseline! - expected) < 1e-12)
    }
}

extension Tensor {
    /// Element (t, j, k) of a T×B×n batch tensor.
    func at(_ t: Int, _ j: Int, _ k: Int) -> T { data[(t * shape[1] + j) * shape[2] + k] }
}
