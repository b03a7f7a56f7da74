import Foundation
import SpectralNumerics
import Testing

/// Mean squared error and softmax cross-entropy: values by hand, gradients by central differences.
@Suite struct LossTests {
    @Test func lossesMatchFiniteDifferences() throws {
        var g = rng(21)
        let y: Tensor<Double> = g.normalTensor([4, 3]), target: Tensor<Double> = g.normalTensor([4, 3])
        let (mse, gm) = try Loss.meanSquaredError(y, target)
        #expect(abs(mse - (try y.subtracting(target)).map { $0 * $0 }.mean()) < 1e-15)
        #expect(GradientCheck.relativeError(gm, try GradientCheck.numerical(y) { try Loss.meanSquaredError(y, target).loss }) <= 1e-6)

        let logits: Tensor<Double> = g.normalTensor([2, 3, 5])     // T×B×C
        let labels = [0, 4, -1, 2, 2, 1]
        let (xent, gx, _, counted) = try Loss.crossEntropy(logits, labels: labels)
        #expect(counted == 5)
        #expect(GradientCheck.relativeError(gx, try GradientCheck.numerical(logits) { try Loss.crossEntropy(logits, labels: labels).loss }) <= 1e-6)
        // By hand for one row: −log softmax.
        let one = try Tensor<Double>([1, 3], [1, 2, 3])
        let expected = -log(exp(3.0) / (exp(1.0) + exp(2.0) + exp(3.0)))
        let r = try Loss.crossEntropy(one, labels: [2])
        #expect(abs(r.loss - expected) < 1e-15 && r.correct == 1)
        // Stable for huge logits.
        let huge = try Tensor<Double>([1, 2], [1000, -1000])
        #expect(try Loss.crossEntropy(huge, labels: [1]).loss == 2000)
        #expect(abs(Loss.bitsPerCharacter(log(2.0)) - 1) < 1e-15)
        _ = xent
        #expect(throws: TensorError.self) { try Loss.crossEntropy(one, labels: [3]) }
    }
}
