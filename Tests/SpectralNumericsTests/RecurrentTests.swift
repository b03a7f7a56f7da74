import Foundation
import SpectralNumerics
import Testing

@Suite struct RecurrentTests {
    /// The cells with a W, built by the library's own factory (SpectralNumerics.Cell): the spectral
    /// one with n/2 reflectors and with n (W built the two ways, `SVDLinear.buildsU`), the dense one
    /// with each of its initializations.
    enum Cell: String, CaseIterable { case spectral, spectralAllReflectors, orthogonal, rnnGaussian, rnnIdentity, rnnOrthogonal }

    static func transition<T: TensorScalar>(_ cell: Cell, _ n: Int, _ rng: inout Random, r: Double = 0.3) throws -> any Transition<T> {
        let (kind, options): (SpectralNumerics.Cell, SpectralNumerics.Cell.Options) = switch cell {
        case .spectral: (.spectral, .init(reflectors: max(1, n / 2), r: r))
        case .spectralAllReflectors: (.spectral, .init(reflectors: n, r: r))
        case .orthogonal: (.orthogonal, .init(reflectors: n))
        case .rnnGaussian: (.rnn, .init(reflectors: 0, initialization: .gaussian))
        case .rnnIdentity: (.rnn, .init(reflectors: 0, initialization: .identity))
        case .rnnOrthogonal: (.rnn, .init(reflectors: 0, initialization: .orthogonal))
        }
        return try kind.transition(hidden: n, options: options, rng: &rng)!
    }

    @Test(arguments: Cell.allCases)
    func bpttMatchesFiniteDifferences(cell: Cell) throws {
        var g = rng(20)
        // Batch 3 runs as one part; batch 33 as two (16 and 17 rows, BatchParallel) on two BLAS
        // threads, each part summing its own ∂W, ∂M and ∂b. An input of 2 takes NarrowInput's loops,
        // one of 11 the GEMMs.
        let shapes = [(batch: 3, input: 2), (batch: 33, input: 2), (batch: 33, input: 11)]
        for (activation, (batch, input)) in Activation.allCases.flatMap({ a in shapes.map { (a, $0) } }) {
            for readout in RecurrentNetwork<Double>.Readout.allCases {
                let net = try RecurrentNetwork<Double>(input: input, hidden: 5, output: 3,
                                                       transition: Self.transition(cell, 5, &g),
                                                       activation: activation, readout: readout, rng: &g)
                // Move σ off σ* and the biases off zero so that every term is exercised.
                for p in net.parameters where p.name == "recurrent.p" || p.name.hasSuffix("bias") {
                    for i in 0 ..< p.value.count { p.value.data[i] = 0.5 * g.normal() }
                }
                let x: Tensor<Double> = g.normalTensor([4, batch, input])      // T = 4 steps
                let y = try net.forward(x)
                let w: Tensor<Double> = g.normalTensor(y.shape)
                func f() throws -> Double { GradientCheck.loss(try net.forward(x), w) }
                net.zeroGrad()
                _ = try net.forward(x)
                let gx = try net.backward(w)
                let what = "\(cell) \(activation) readout=\(readout) batch=\(batch) input=\(input)"
                #expect(GradientCheck.relativeError(gx, try GradientCheck.numerical(x, f)) <= 1e-6, "input, \(what)")
                try GradientCheck.expectParameters(net.parameters, what, f)
                #expect(net.hiddenGradientNorms.count == 4)
            }
        }
    }

    /// The per-pass buffers (states, deltas, the readout's gradient, the WY tapes) are reused from one
    /// pass to the next and not cleared: a pass after another must give bitwise what a fresh network
    /// gives, on every path.
    @Test(arguments: Cell.allCases)
    func reusedBuffersLeaveNoTrace(cell: Cell) throws {
        for readout in RecurrentNetwork<Double>.Readout.allCases {
            for recurrence in RecurrentNetwork<Double>.Recurrence.allCases {
                var g1 = rng(27), g2 = rng(27), data = rng(28)
                let used = try RecurrentNetwork<Double>(input: 2, hidden: 6, output: 3, transition: Self.transition(cell, 6, &g1),
                                                        activation: .tanh, readout: readout, rng: &g1)
                let fresh = try RecurrentNetwork<Double>(input: 2, hidden: 6, output: 3, transition: Self.transition(cell, 6, &g2),
                                                         activation: .tanh, readout: readout, rng: &g2)
                used.recurrence = recurrence
                fresh.recurrence = recurrence
                let earlier: Tensor<Double> = data.normalTensor([5, 4, 2]), x: Tensor<Double> = data.normalTensor([5, 4, 2])
                let w: Tensor<Double> = data.normalTensor(readout == .last ? [4, 3] : [5, 4, 3])
                _ = try used.forward(earlier)
                _ = try used.backward(w.map { 100 * $0 })
                used.zeroGrad()
                #expect(try used.forward(x).maxAbsDifference(try fresh.forward(x)) == 0)
                #expect(try used.backward(w).maxAbsDifference(try fresh.backward(w)) == 0)
                for (a, b) in zip(used.parameters, fresh.parameters) {
                    #expect(try a.grad.maxAbsDifference(b.grad) == 0, "\(cell) \(readout) \(recurrence) \(a.name)")
                }
            }
        }
    }

    @Test func parameterCountsExcludeMaskedReflectorEntries() throws {
        var g = rng(23)
        // hidden 5, 2 reflectors each for U and V (1 masked entry each), input 3, output 2.
        let net = try RecurrentNetwork<Double>(input: 3, hidden: 5, output: 2,
                                               transition: SpectralTransition<Double>(size: 5, reflectors: 2, sigmaStar: 1, r: 0.1, rng: &g),
                                               activation: .relu, readout: .last, rng: &g)
        let recurrent = (2 * 5 - 1) + (2 * 5 - 1) + 5          // u, v, p
        #expect(net.parameterCount == recurrent + 5 * 3 + 5 + 2 * 5 + 2)
    }

    @Test func activationsPropagateNaN() {
        for a in Activation.allCases { #expect(a.apply(Double.nan).isNaN, "\(a)") }
    }

    /// The per-step reflector path and the built-W path give the same outputs and gradients, and the
    /// per-step path alone matches finite differences.
    @Test(arguments: [Cell.spectral, .spectralAllReflectors, .orthogonal])
    func perStepPathMatchesTheBuiltMatrixPath(cell: Cell) throws {
        for readout in RecurrentNetwork<Double>.Readout.allCases {
            var g1 = rng(24), g2 = rng(24)
            let built = try RecurrentNetwork<Double>(input: 2, hidden: 6, output: 2, transition: Self.transition(cell, 6, &g1),
                                                     activation: .tanh, readout: readout, rng: &g1)
            let stepped = try RecurrentNetwork<Double>(input: 2, hidden: 6, output: 2, transition: Self.transition(cell, 6, &g2),
                                                       activation: .tanh, readout: readout, rng: &g2)
            stepped.recurrence = .perStep
            #expect(stepped.recurrence == .perStep)
            for (a, b) in zip(built.parameters, stepped.parameters) where a.name == "recurrent.p" {
                for i in 0 ..< a.value.count { a.value.data[i] = Double(i) - 2; b.value.data[i] = Double(i) - 2 }
            }
            var g = rng(25)
            let x: Tensor<Double> = g.normalTensor([5, 3, 2])
            let w: Tensor<Double> = g.normalTensor(readout == .last ? [3, 2] : [5, 3, 2])
            #expect(try built.forward(x).maxAbsDifference(try stepped.forward(x)) < 1e-12)
            built.zeroGrad(); stepped.zeroGrad()
            let gxa = try built.backward(w), gxb = try stepped.backward(w)
            #expect(try gxa.maxAbsDifference(gxb) < 1e-12)
            for (a, b) in zip(built.parameters, stepped.parameters) {
                #expect(GradientCheck.relativeError(a.grad, b.grad) < 1e-10 || (a.grad.norm() < 1e-12 && b.grad.norm() < 1e-12), "\(cell) \(a.name)")
            }
            func f() throws -> Double { GradientCheck.loss(try stepped.forward(x), w) }
            try GradientCheck.expectParameters(stepped.parameters.filter { $0.name.hasPrefix("recurrent.") }, "\(cell) per-step", f)
        }
        // A dense W has no reflectors: the per-step request falls back to the built matrix.
        var g = rng(26)
        let dense = try RecurrentNetwork<Double>(input: 1, hidden: 3, output: 1, transition: Self.transition(.rnnGaussian, 3, &g),
                                                 activation: .relu, readout: .last, rng: &g)
        dense.recurrence = .perStep
        #expect(dense.recurrence == .materialized)
    }

    /// Each cell learns a small memory task reliably (fixed seed): the sum of the first input over
    /// T = 6 steps, read out at the end, in float32 with Adam.
    @Test(arguments: Cell.allCases)
    func eachCellLearnsASmallTask(cell: Cell) throws {
        var g = rng(22)
        let net = try RecurrentNetwork<Float>(input: 1, hidden: 16, output: 1,
                                              transition: Self.transition(cell, 16, &g, r: 0.1),
                                              activation: cell == .orthogonal ? .leakyRelu : .relu, readout: .last, rng: &g)
        let opt = try Optimizer<Float>(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8), learningRate: 0.01)
        func batch() -> (Tensor<Float>, Tensor<Float>) {
            let x: Tensor<Float> = g.uniformTensor([6, 32, 1])
            let y = Tensor<Float>(zeros: [32, 1])
            for t in 0 ..< 6 { for b in 0 ..< 32 { y.data[b] += x.data[t * 32 + b] } }
            return (x, y)
        }
        var first: Float = 0, last: Float = 0
        for step in 0 ..< 400 {
            let (x, y) = batch()
            let (loss, grad) = try Loss.meanSquaredError(try net.forward(x), y)
            net.zeroGrad()
            _ = try net.backward(grad)
            opt.step(net.parameters)
            net.renormalize()
            if step == 0 { first = loss }
            last = loss
        }
        // Predicting the mean (3) scores the variance of the sum, 6/12 = 0.5.
        #expect(last < 0.05, "\(cell): loss \(first) → \(last)")
    }
}

@Suite struct GatedNetworkTests {
    @Test(arguments: [GatedNetwork<Double>.Kind.lstm, .gru])
    func bpttMatchesFiniteDifferences(kind: GatedNetwork<Double>.Kind) throws {
        var g = rng(30)
        // Batch 3 as one part, batch 33 as two (BatchParallel).
        for (readout, batch) in ReadoutLayer<Double>.Mode.allCases.flatMap({ r in [3, 33].map { (r, $0) } }) {
            let net = try GatedNetwork<Double>(kind, input: 2, hidden: 4, output: 3, readout: readout, rng: &g)
            let x: Tensor<Double> = g.normalTensor([5, batch, 2])
            let y = try net.forward(x)
            let w: Tensor<Double> = g.normalTensor(y.shape)
            func f() throws -> Double { GradientCheck.loss(try net.forward(x), w) }
            net.zeroGrad()
            _ = try net.forward(x)
            let gx = try net.backward(w)
            #expect(GradientCheck.relativeError(gx, try GradientCheck.numerical(x, f)) <= 1e-6, "input, \(kind) \(readout) batch \(batch)")
            try GradientCheck.expectParameters(net.parameters, "\(kind) \(readout) batch \(batch)", f)
            #expect(net.hiddenGradientNorms.count == 5)
        }
    }

    @Test(arguments: [GatedNetwork<Float>.Kind.lstm, .gru])
    func learnsASmallTask(kind: GatedNetwork<Float>.Kind) throws {
        var g = rng(31)
        let net = try GatedNetwork<Float>(kind, input: 1, hidden: 16, output: 1, readout: .last, rng: &g)
        let opt = try Optimizer<Float>(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8), learningRate: 0.01)
        var last: Float = 1
        for _ in 0 ..< 400 {
            let x: Tensor<Float> = g.uniformTensor([6, 32, 1])
            let y = Tensor<Float>(zeros: [32, 1])
            for t in 0 ..< 6 { for b in 0 ..< 32 { y.data[b] += x.data[t * 32 + b] } }
            let (loss, grad) = try Loss.meanSquaredError(try net.forward(x), y)
            net.zeroGrad()
            _ = try net.backward(grad)
            opt.step(net.parameters)
            last = loss
        }
        #expect(last < 0.05, "\(kind): final loss \(last)")
    }
}

@Suite struct TruncatedBPTTTests {
    /// With a given initial state (a carried one), the gradients are those of the chunk's loss
    /// with that state held fixed: checked against finite differences for every model.
    @Test func gradientsWithACarriedStateMatchFiniteDifferences() throws {
        var g = rng(50)
        let models: [any SequenceModel<Double>] = [
            try RecurrentNetwork<Double>(input: 2, hidden: 4, output: 2, transition: SpectralTransition<Double>(size: 4, reflectors: 2, sigmaStar: 1, r: 0.3, rng: &g),
                                         activation: .tanh, readout: .all, rng: &g),
            try GatedNetwork<Double>(.lstm, input: 2, hidden: 4, output: 2, readout: .all, rng: &g),
            try GatedNetwork<Double>(.gru, input: 2, hidden: 4, output: 2, readout: .all, rng: &g),
        ]
        for model in models {
            let x: Tensor<Double> = g.normalTensor([3, 2, 2]), h0: Tensor<Double> = g.normalTensor([2, 4]), c0: Tensor<Double> = g.normalTensor([2, 4])
            let w: Tensor<Double> = g.normalTensor([3, 2, 2])
            func run() throws -> Tensor<Double> {
                if let m = model as? RecurrentNetwork<Double> { return try m.forward(x, initialState: h0) }
                return try (model as! GatedNetwork<Double>).forward(x, initialState: h0, initialCell: c0)
            }
            func f() throws -> Double { GradientCheck.loss(try run(), w) }
            model.zeroGrad()
            _ = try run()
            let gx = try model.backward(w)
            #expect(GradientCheck.relativeError(gx, try GradientCheck.numerical(x, f)) <= 1e-6, "\(model.cellName) input")
            try GradientCheck.expectParameters(model.parameters, model.cellName, f)
        }
    }

    /// A stateful model run on two halves of a sequence gives the outputs of one run on the whole.
    @Test func carryingTheStateContinuesTheSequence() throws {
        var g = rng(51)
        for kind in ["rnn", "lstm", "gru"] {
            var g2 = rng(52)
            func make(_ r: inout Random) throws -> any SequenceModel<Double> {
                kind == "rnn"
                    ? try RecurrentNetwork<Double>(input: 1, hidden: 3, output: 1, transition: DenseTransition<Double>(size: 3, initialization: .orthogonal, rng: &r),
                                                   activation: .tanh, readout: .all, rng: &r)
                    : try GatedNetwork<Double>(kind == "lstm" ? .lstm : .gru, input: 1, hidden: 3, output: 1, readout: .all, rng: &r)
            }
            let whole = try make(&g2)
            var g3 = rng(52)
            let halves = try make(&g3)
            halves.carriesState = true
            let x: Tensor<Double> = g.normalTensor([6, 2, 1])
            let all = try whole.forward(x)
            let first = try halves.forward(try Tensor([3, 2, 1], Array(x.scalars[0 ..< 6])))
            let second = try halves.forward(try Tensor([3, 2, 1], Array(x.scalars[6 ..< 12])))
            #expect(all.scalars == first.scalars + second.scalars, "\(kind)")
            halves.resetState()
            #expect(try halves.forward(try Tensor([3, 2, 1], Array(x.scalars[0 ..< 6]))).scalars == first.scalars)
        }
    }
}

/// What a forward's build of W keeps for the backward pass, as `bench train` counts it: the
/// compact WY tapes of the reflector products (each block's Yᵀ, T and YᵀY, input window, Z and A),
/// nothing for a dense W.
@Suite struct ParameterizationTapeTests {
    @Test func reflectorCellsReportTheirTapesADenseWNone() throws {
        for (cell, expectTape) in [(SpectralNumerics.Cell.spectral, true), (.orthogonal, true), (.rnn, false)] {
            var g = rng(61)
            let net = try #require(try cell.model(Float.self, input: 2, hidden: 64, output: 3, readout: .last,
                                                  options: .init(reflectors: 64), rng: &g) as? RecurrentNetwork<Float>)
            _ = try net.forward(g.normalTensor([3, 4, 2]))
            // At least one n×n window per factor (the first block's input is the whole identity).
            let factors = cell == .spectral ? 2 : 1
            #expect(expectTape ? net.parameterizationTapeNumbers >= factors * 64 * 64 : net.parameterizationTapeNumbers == 0, "\(cell): \(net.parameterizationTapeNumbers)")
        }
    }
}

/// model.predict, the evaluation pass without a tape: forward's outputs to the bit (across several
/// of its chunks, with a partial last one), its carried state the same, and the last forward's tape
/// left as it was for a backward after it.
@Suite struct PredictTests {
    @Test(arguments: SpectralNumerics.Cell.allCases)
    func predictIsForwardWithoutTheTape(cell: SpectralNumerics.Cell) throws {
        for readout in ReadoutLayer<Float>.Mode.allCases {
            var g1 = rng(41), g2 = rng(41), data = rng(42)
            let options = SpectralNumerics.Cell.Options(reflectors: 8, r: 0.3, activation: .tanh)
            let net = try cell.model(Float.self, input: 2, hidden: 32, output: 3, readout: readout, options: options, rng: &g1)
            let twin = try cell.model(Float.self, input: 2, hidden: 32, output: 3, readout: readout, options: options, rng: &g2)
            // 32 × 2048 numbers a plane: chunks of 16 steps (RecurrentNetwork.chunkSteps), so 40
            // steps are 16 + 16 + 8.
            let x: Tensor<Float> = data.normalTensor([40, 2048, 2]), other: Tensor<Float> = data.normalTensor([40, 2048, 2])
            let w: Tensor<Float> = data.normalTensor(readout == .last ? [2048, 3] : [40, 2048, 3])
            let y = try net.forward(x)
            #expect(try net.predict(other).maxAbsDifference(try twin.forward(other)) == 0, "\(cell) \(readout): outputs")
            // net's tape is still x's: its backward is twin's after a forward over x.
            _ = try twin.forward(x)
            #expect(try net.backward(w).maxAbsDifference(try twin.backward(w)) == 0, "\(cell) \(readout): ∂x after predict")
            for (a, b) in zip(net.parameters, twin.parameters) {
                #expect(try a.grad.maxAbsDifference(b.grad) == 0, "\(cell) \(readout) \(a.name)")
            }
            #expect(try net.predict(x).maxAbsDifference(y) == 0)
            // A stateful model carries predict's final state as forward's.
            net.carriesState = true
            twin.carriesState = true
            net.resetState()
            twin.resetState()
            _ = try net.predict(x)
            _ = try twin.forward(x)
            for (a, b) in zip(net.carriedState ?? [], twin.carriedState ?? []) { #expect(try a.maxAbsDifference(b) == 0) }
            #expect(try net.predict(other).maxAbsDifference(try twin.forward(other)) == 0, "\(cell) \(readout): from a carried state")
        }
    }
}
