import Foundation
import SpectralNumerics
import Testing

/// SGD (momentum, Nesterov), Adam, RMSprop, weight decay and clipping against values computed by hand.
@Suite struct OptimizerTests {
    @Test func optimizerUpdatesMatchHandComputedValues() throws {
        func one(_ p: Double, _ g: Double) -> [Parameter<Double>] {
            [("p", try! Tensor([1], [p]), try! Tensor([1], [g]))]
        }
        // SGD with momentum 0.9, two steps of gradient 1 from p = 1, lr 0.1: v = 1, 1.9.
        let sgd = try Optimizer<Double>(.sgd(momentum: 0.9, nesterov: false), learningRate: 0.1)
        let ps = one(1, 1)
        sgd.step(ps); sgd.step(ps)
        #expect(abs(ps[0].value.data[0] - (1 - 0.1 - 0.19)) < 1e-15)
        // Nesterov: p −= lr (g + μv): 1 − 0.1(1 + 0.9) = 0.81.
        let nag = try Optimizer<Double>(.sgd(momentum: 0.9, nesterov: true), learningRate: 0.1)
        let pn = one(1, 1)
        nag.step(pn)
        #expect(abs(pn[0].value.data[0] - 0.81) < 1e-15)
        // Adam's first step moves by lr (bias-corrected m/√v = g/|g|).
        let adam = try Optimizer<Double>(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8), learningRate: 0.01)
        let pa = one(1, 3)
        adam.step(pa)
        #expect(abs(pa[0].value.data[0] - (1 - 0.01 * 3 / (3 + 1e-8))) < 1e-12)
        // RMSProp: s = 0.01·g², p −= lr g/√s = lr/0.1.
        let rms = try Optimizer<Double>(.rmsprop(alpha: 0.99, epsilon: 1e-8), learningRate: 0.001)
        let pr = one(1, 2)
        rms.step(pr)
        #expect(abs(pr[0].value.data[0] - (1 - 0.001 * 2 / ((0.01 * 4).squareRoot() + 1e-8))) < 1e-12)
        // Weight decay adds λp to the gradient.
        let wd = try Optimizer<Double>(.sgd(momentum: 0, nesterov: false), learningRate: 0.1, weightDecay: 0.5)
        let pw = one(2, 0)
        wd.step(pw)
        #expect(abs(pw[0].value.data[0] - (2 - 0.1 * 1)) < 1e-15)
        // Clipping by the global norm.
        let two: [Parameter<Double>] =
            [("a", try Tensor([1], [0]), try Tensor([1], [3])), ("b", try Tensor([1], [0]), try Tensor([1], [4]))]
        #expect(Optimizer<Double>.clipGradientNorm(two, maxNorm: 1) == 5)
        #expect(abs(two[0].grad.data[0] - 0.6) < 1e-15 && abs(two[1].grad.data[0] - 0.8) < 1e-15)
        #expect(throws: TensorError.self) { try Optimizer<Double>(.sgd(momentum: 1.5, nesterov: false), learningRate: 0.1) }
    }
}
