import Benchmark
import BenchmarkWorkloads
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

    // The adding shape of `spectral-lab bench train`, the same step.
    let adding = TrainBenchmark.shapes.first { $0.name == "adding" }!
    for cell in TrainBenchmark.cells {
        var rng = Random(seed: 1)
        let (x, labels) = TrainBenchmark.batch(adding, rng: &rng)
        let step = try! TrainBenchmark.step(of: TrainBenchmark.model(cell, adding), at: adding, input: x, labels: labels)
        Benchmark("train.step.adding.\(cell.name) n=\(adding.hidden) k=\(adding.reflectors) B=\(adding.batch) T=\(adding.steps)") { benchmark in
            for _ in benchmark.scaledIterations { try step() }
        }
    }
}
