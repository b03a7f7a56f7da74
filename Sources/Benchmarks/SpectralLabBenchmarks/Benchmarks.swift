import Benchmark
import SpectralNumerics

// `swift package benchmark` (ordo-one/benchmark): the kernels and one training step, with
// wall-clock percentiles and allocation counts, for comparisons across commits
// (`swift package benchmark baseline update` / `compare`). `spectral-lab bench` prints the
// GFLOP/s tables.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(2))

    for (n, k) in [(256, 256), (512, 512), (512, 128)] {
        var rng = Random(seed: 1)
        let v: Tensor<Float> = rng.normalTensor([k, n])
        let x: Tensor<Float> = rng.normalTensor([128, n])
        let g: Tensor<Float> = rng.normalTensor([128, n])
        for (name, method) in [("reflectorwise", Householder.Method.reflectorwise), ("compactWY", .wy)] {
            let y = try! Householder.apply(v, to: x, method: method)
            Benchmark("householder.apply.\(name) n=\(n) k=\(k) B=128") { benchmark in
                for _ in benchmark.scaledIterations { blackHole(try Householder.apply(v, to: x, method: method)) }
            }
            Benchmark("householder.backward.\(name) n=\(n) k=\(k) B=128") { benchmark in
                for _ in benchmark.scaledIterations { blackHole(try Householder.backward(v, output: y, gradOutput: g, method: method)) }
            }
        }
    }

    for cell in [Cell.rnn, .spectral, .orthogonal] {
        var rng = Random(seed: 1)
        let n = 128
        let net = try! cell.model(Float.self, input: 2, hidden: n, output: 1, readout: .last, options: .init(reflectors: 16), rng: &rng)
        let opt = try! Optimizer<Float>(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8), learningRate: 0)   // parameters stay put: same work on the same values every iteration
        let x: Tensor<Float> = rng.uniformTensor([200, 128, 2])
        let target = Tensor<Float>(zeros: [128, 1])
        Benchmark("train.step.adding.\(cell) n=128 k=16 B=128 T=200") { benchmark in
            for _ in benchmark.scaledIterations {
                let (_, grad) = try Loss.meanSquaredError(try net.forward(x), target)
                net.zeroGrad()
                blackHole(try net.backward(grad))
                opt.step(net.parameters)
                net.renormalize()
            }
        }
    }
}
