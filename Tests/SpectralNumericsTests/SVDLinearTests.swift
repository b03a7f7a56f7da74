import Foundation
import SpectralNumerics
import Testing

@Suite struct SVDLinearTests {
    typealias Layer = SVDLinear<Double>

    /// Layers with random parameters (p not at 0, so σ varies and ∂p is exercised).
    func layer(_ n: Int, _ m: Int, ku: Int? = nil, kv: Int? = nil, r: Double = 0.3, bias: Bool = true,
               seed: UInt64 = 1) throws -> Layer {
        var g = rng(seed)
        let l = try Layer(inFeatures: n, outFeatures: m,
                          options: .init(reflectorsU: ku, reflectorsV: kv, sigmaStar: 1, r: r, bias: bias), rng: &g)
        for i in 0 ..< l.p.count { l.p.data[i] = g.normal() }
        if let b = l.bias { for i in 0 ..< b.count { b.data[i] = g.normal() } }
        return l
    }

    @Test(arguments: [SVDLinear<Double>.Mode.materialized, .factored])
    func gradientsMatchFiniteDifferences(mode: SVDLinear<Double>.Mode) throws {
        var g = rng(7)
        var builds = Set<Bool>()      // which ways of building W the materialized layers took
        // square, wide, tall, few reflectors, one input, no bias
        for (n, m, ku, kv, bias) in [(5, 5, nil, nil, true), (4, 7, nil, 2, true), (7, 3, 2, 5, true), (9, 4, nil, nil, true),
                                     (6, 6, 1, 3, false), (1, 4, nil, nil, true), (3, 1, nil, nil, true)] {
            for method in [Householder.Method.reflectorwise, .compactWY(blockSize: 2)] {
                let l = try layer(n, m, ku: ku, kv: kv, bias: bias, seed: UInt64(n * 10 + m))
                l.mode = mode
                l.method = method
                if mode == .materialized { builds.insert(l.buildsU) }
                let x: Tensor<Double> = g.normalTensor([3, n])
                let w: Tensor<Double> = g.normalTensor([3, m])
                func f() throws -> Double { GradientCheck.loss(try l.forward(x), w) }
                _ = try l.forward(x)
                l.zeroGrad()
                let gx = try l.backward(w)
                let what = "in=\(n) out=\(m) ku=\(ku ?? m) kv=\(kv ?? n) \(mode) \(method)"
                #expect(GradientCheck.relativeError(gx, try GradientCheck.numerical(x, f)) <= 1e-6, "input, \(what)")
                try GradientCheck.expectParameters(l.parameters, what, f)
            }
        }
        if mode == .materialized { #expect(builds == [false, true], "U built explicitly and not") }
    }

    @Test func bothModesGiveTheSameOutputsAndGradients() throws {
        var g = rng(8)
        let a = try layer(9, 6, ku: 3, kv: 4), b = try layer(9, 6, ku: 3, kv: 4)
        a.mode = .materialized
        b.mode = .factored
        let x: Tensor<Double> = g.normalTensor([5, 9])
        let w: Tensor<Double> = g.normalTensor([5, 6])
        #expect(try a.forward(x).maxAbsDifference(try b.forward(x)) < 1e-12)
        #expect(try a.backward(w).maxAbsDifference(try b.backward(w)) < 1e-12)
        for (pa, pb) in zip(a.parameters, b.parameters) {
            #expect(try pa.grad.maxAbsDifference(pb.grad) < 1e-12, "\(pa.name)")
        }
    }

    @Test(arguments: [(8, 8), (12, 5), (5, 12), (64, 64), (33, 17)])
    func singularValuesOfWAreTheParameterizedSigmas(shape: (Int, Int)) throws {
        var g = rng(9)
        let l = try SVDLinear<Float>(inFeatures: shape.0, outFeatures: shape.1,
                                     options: .init(sigmaStar: 1, r: 0.5), rng: &g)
        for i in 0 ..< l.p.count { l.p.data[i] = Float(3 * g.normal()) }
        let f = try l.factors()
        let lapack = try LinearAlgebra.singularValues(f.w)
        let ours = l.singularValues()
        #expect(lapack.count == ours.count)
        #expect(zip(lapack, ours).allSatisfy { abs($0 - $1) <= 1e-5 }, "\(lapack) vs \(ours)")
        #expect(ours.allSatisfy { $0 >= 0.5 && $0 <= 1.5 })
        #expect(try LinearAlgebra.orthogonalityError(f.u) <= 1e-5)
        #expect(try LinearAlgebra.orthogonalityError(f.v) <= 1e-5)
        #expect(l.spectralNorm() == ours.first)
        #expect(abs(l.conditionNumber() - ours.first! / ours.last!) < 1e-6)
    }

    /// Both ways of building W (U's reflectors applied to Σ̃Vᵀ, or U built and multiplied, chosen by
    /// flop count) give the W of the factors.
    @Test func buildGivesTheWOfTheFactors() throws {
        for (n, m, ku, kv, buildsU) in [(6, 6, 6, 6, true), (9, 4, 4, 9, true), (7, 4, 2, 5, false), (3, 8, 8, 1, false)] {
            let l = try layer(n, m, ku: ku, kv: kv)
            #expect(l.buildsU == buildsU, "in=\(n) out=\(m) ku=\(ku) kv=\(kv)")
            let f = try l.factors()
            #expect(try l.build().w.maxAbsDifference(f.w) < 1e-13)
        }
    }

    /// The memory a build records for its backward pass is reused by later builds, but never while
    /// an earlier build is still held: its gradients stay those of its own parameters.
    @Test func aHeldBuildOutlivesLaterBuilds() throws {
        var g = rng(11)
        let l = try layer(9, 7, ku: 6, kv: 9)
        l.method = .compactWY(blockSize: 2)
        let gw: Tensor<Double> = g.normalTensor([7, 9])
        let held = try l.build().built
        l.zeroGrad()
        try l.accumulate(gradMatrix: gw, built: held)
        let expected = l.parameters.map { $0.grad.copy() }
        var kept: [SVDLinear<Double>.Built] = []
        for _ in 0 ..< 5 {   // other reflectors, passes held (more than the pool keeps) and passes dropped
            for t in [l.u, l.v] { for i in 0 ..< t.count { t.data[i] = g.normal() } }
            kept.append(try l.build().built)
            _ = try l.build()
        }
        l.zeroGrad()
        try l.accumulate(gradMatrix: gw, built: held)
        for (p, e) in zip(l.parameters, expected) {
            #expect(try p.grad.maxAbsDifference(e) == 0, "\(p.name)")
        }
        #expect(kept.count == 5)
    }

    @Test func renormalizingLeavesWUnchanged() throws {
        let l = try layer(6, 4)
        let before = try l.matrix()
        l.renormalize()
        #expect(try l.matrix().maxAbsDifference(before) < 1e-13)
        for i in 0 ..< l.u.rows {
            let norm = (i ..< l.u.cols).reduce(0.0) { $0 + l.u[i, $1] * l.u[i, $1] }
            #expect(abs(norm - 1) < 1e-13)
        }
    }

    @Test func initializationFollowsTheAuthors() throws {
        var g = rng(10)
        let l = try SVDLinear<Float>(inFeatures: 16, outFeatures: 16, rng: &g)
        #expect(l.sigma().allSatisfy { $0 == 1 })            // p = 0 → σ = σ*
        #expect(l.u.shape == [16, 16] && l.v.shape == [16, 16])
        #expect((0 ..< 16).allSatisfy { i in (0 ..< i).allSatisfy { l.u[i, $0] == 0 } })
        let limit = Float((6.0 / 32).squareRoot())
        #expect(l.u.scalars.allSatisfy { abs($0) <= limit })
        #expect(l.r == 0.01 && l.sigmaStar == 1)
        #expect(throws: TensorError.self) { try SVDLinear<Float>(inFeatures: 4, outFeatures: 4, options: .init(r: 2), rng: &g) }
        #expect(throws: TensorError.self) { try SVDLinear<Float>(inFeatures: 4, outFeatures: 4, options: .init(reflectorsU: 5), rng: &g) }
        #expect(throws: TensorError.self) { try SVDLinear<Float>(inFeatures: 0, outFeatures: 4, rng: &g) }
    }

    /// Fits W to a target by Adam on ½‖W − target‖², renormalizing the reflectors after each step.
    func fit(_ l: Layer, to target: Tensor<Double>, steps: Int, lr: Double) throws -> Double {
        let m = l.parameters.map { Tensor<Double>(zeros: $0.value.shape) }
        let s = m.map { Tensor<Double>(zeros: $0.shape) }
        for step in 1 ... steps {
            l.zeroGrad()
            let (w, built) = try l.build()
            try l.accumulate(gradMatrix: try w.subtracting(target), built: built)
            for (k, param) in l.parameters.enumerated() where param.name != "bias" {
                for i in 0 ..< param.value.count {
                    let gi = param.grad.data[i]
                    m[k].data[i] = 0.9 * m[k].data[i] + 0.1 * gi
                    s[k].data[i] = 0.999 * s[k].data[i] + 0.001 * gi * gi
                    let mh = m[k].data[i] / (1 - pow(0.9, Double(step))), sh = s[k].data[i] / (1 - pow(0.999, Double(step)))
                    param.value.data[i] -= lr * mh / (sh.squareRoot() + 1e-12)
                }
            }
            l.renormalize()
        }
        _ = m; _ = s
        return try l.matrix().subtracting(target).norm()
    }

    @Test func nReflectorsReachAnOrthogonalTarget() throws {
        var g = rng(11)
        let n = 6
        let target: Tensor<Double> = g.orthogonal(n, determinant: 1)   // det W > 0 when kU = kV (see docs)
        let l = try Layer(inFeatures: n, outFeatures: n, options: .init(r: 0), rng: &g)
        let distance = try fit(l, to: target, steps: 3000, lr: 0.01)
        #expect(distance < 1e-3, "‖W − Q‖ = \(distance)")
        // A determinant −1 target needs an odd total number of reflectors: kV = n − 1.
        let flipped: Tensor<Double> = g.orthogonal(n, determinant: -1)
        let odd = try Layer(inFeatures: n, outFeatures: n, options: .init(reflectorsV: n - 1, r: 0), rng: &g)
        let d2 = try fit(odd, to: flipped, steps: 3000, lr: 0.01)
        #expect(d2 < 1e-3, "‖W − Q‖ = \(d2) (det −1)")
    }

    @Test func withRLargeEnoughAFullRankTargetIsReached() throws {
        var g = rng(12)
        let n = 5
        let q1: Tensor<Double> = g.orthogonal(n, determinant: 1), q2: Tensor<Double> = g.orthogonal(n, determinant: 1)
        let sv = [1.6, 1.3, 1.0, 0.7, 0.4]
        let scaled = Tensor<Double>(zeros: [n, n])
        for i in 0 ..< n { for j in 0 ..< n { scaled[i, j] = q1[i, j] * sv[j] } }
        let target = try scaled.matmul(q2, transposeOther: true)
        let l = try Layer(inFeatures: n, outFeatures: n, options: .init(sigmaStar: 1, r: 0.9), rng: &g)
        let distance = try fit(l, to: target, steps: 4000, lr: 0.01)
        #expect(distance < 1e-3, "‖W − target‖ = \(distance)")
        #expect(zip(l.singularValues(), sv).allSatisfy { abs($0 - $1) < 1e-3 })
    }
}

@Suite struct MLPTests {
    /// ∂x and every parameter's gradient against central differences, on a batch of 5 (input 4, output 2).
    func expectGradientsMatch(_ mlp: MLP<Double>, _ label: String, _ g: inout Random) throws {
        let x: Tensor<Double> = g.normalTensor([5, 4]), w: Tensor<Double> = g.normalTensor([5, 2])
        func f() throws -> Double { GradientCheck.loss(try mlp.forward(x), w) }
        _ = try mlp.forward(x)
        mlp.zeroGrad()
        let gx = try mlp.backward(w)
        #expect(GradientCheck.relativeError(gx, try GradientCheck.numerical(x, f)) <= 1e-6, "input, \(label)")
        try GradientCheck.expectParameters(mlp.parameters, label, f)
    }

    @Test func gradientsMatchFiniteDifferences() throws {
        var g = rng(40)
        for activation in Activation.allCases {
            let mlp = try MLP<Double>(sizes: [4, 6, 3, 2], activation: activation,
                                              options: .init(reflectorsU: 3, sigmaStar: 1, r: 0.4), rng: &g)
            for p in mlp.parameters where p.name.hasSuffix(".p") || p.name.hasSuffix("bias") {
                for i in 0 ..< p.value.count { p.value.data[i] = g.normal() }
            }
            try expectGradientsMatch(mlp, "\(activation)", &g)
        }
    }

    /// The dense baseline, each initialization: ∂x, ∂W and ∂b against central differences.
    @Test func denseLayersGradientsMatchFiniteDifferences() throws {
        var g = rng(41)
        for (k, initialization) in DenseLinear<Double>.Initialization.allCases.enumerated() {
            let activation = Activation.allCases[k % Activation.allCases.count]
            let mlp = try MLP<Double>(sizes: [4, 6, 3, 2], activation: activation, dense: initialization, rng: &g)
            #expect(mlp.parameters.map(\.name) == ["layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias", "layer3.weight", "layer3.bias"])
            for p in mlp.parameters where p.name.hasSuffix("bias") { for i in 0 ..< p.value.count { p.value.data[i] = g.normal() } }
            try expectGradientsMatch(mlp, "\(activation) \(initialization)", &g)
        }
    }

    /// hiddenGradientNorms[k − 1] is ‖∂L/∂h_k‖: h_k perturbed by central differences through the
    /// layers above it (a copy of the MLP from h_k on gives the same loss).
    @Test func hiddenGradientNormsAreTheGradientsOfEachHiddenLayer() throws {
        var g = rng(42)
        for kind in MLP<Double>.Layers.allCases {
            let sizes = [3, 5, 4, 4, 2]
            let mlp = kind == .svd ? try MLP<Double>(sizes: sizes, activation: .tanh, options: .init(sigmaStar: 1, r: 0.5), rng: &g)
                                   : try MLP<Double>(sizes: sizes, activation: .tanh, dense: .glorot, rng: &g)
            let x: Tensor<Double> = g.normalTensor([6, 3]), w: Tensor<Double> = g.normalTensor([6, 2])
            _ = try mlp.forward(x)
            _ = try mlp.backward(w)
            let norms = mlp.hiddenGradientNorms
            #expect(norms.count == 3)
            for k in 1 ... 3 {
                // h_k from the input, then the loss from h_k through layers k+1…
                var h = x
                for l in 0 ..< k { h = try mlp.layers[l].forward(h).map { Activation.tanh.apply($0) } }
                func loss() throws -> Double {
                    var y = h
                    for l in k ..< mlp.layers.count {
                        y = try mlp.layers[l].forward(y)
                        if l < mlp.layers.count - 1 { y = y.map { Activation.tanh.apply($0) } }
                    }
                    return GradientCheck.loss(y, w)
                }
                let numerical = try GradientCheck.numerical(h, loss)
                #expect(abs(numerical.norm() - norms[k - 1]) <= 1e-7 * norms[k - 1], "\(kind) h_\(k): \(numerical.norm()) against \(norms[k - 1])")
            }
        }
    }
}
