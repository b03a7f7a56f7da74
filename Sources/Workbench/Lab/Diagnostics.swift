import LuaBridge
import SpectralNumerics

// lab.diagnostics: gradient profiles over time, spectra, gradient norms.
extension LuaModels {
    // MARK: lab.diagnostics

    static func diagnosticsModule() -> LuaModule {
        var m = LuaModule("diagnostics")
        m.function("grad_norms", "lab.diagnostics.grad_norms(model, batch): ‖∂L/∂h_t‖ for t = 1…T (an MLP: ‖∂L/∂h_k‖ for its hidden layers k = 1…depth) at the model's current parameters on a batch {x=, y=, loss=, ignore=} (as task:batch() gives), with field first_last_ratio (gradients are left untouched)", options: batchOptions("lab.diagnostics.grad_norms"), at: 2) { args, batch in
            guard case .object(let xo) = batch["x"] else { throw LuaError.argument(index: 2, message: "batch.x must be a tensor") }
            /// One forward and backward on the batch, the parameters' gradients put back afterwards.
            func probe<M: Trainable>(_ model: M, _ pass: (Tensor<M.Scalar>) throws -> [M.Scalar]) throws -> [LuaValue] {
                guard let x = xo as? Tensor<M.Scalar> else { throw LuaError.argument(index: 2, message: "batch.x must be a \(M.Scalar.dtypeName) tensor") }
                let saved = model.parameters.map { $0.grad.copy() }
                defer { for (p, g) in zip(model.parameters, saved) { try? p.grad.assign(g) } }
                return [gradNormTable(try pass(x))]
            }
            func run<M: SequenceModel & Trainable>(_ model: M) throws -> [LuaValue] {
                try probe(model) { x in
                    let stateful = model.carriesState
                    model.carriesState = false          // a probe: it must not move a stream's carried state
                    defer { model.carriesState = stateful }
                    _ = try model.backward(LuaModels.batchLoss(model.forward(x), batch, argument: 2).grad)
                    return model.hiddenGradientNorms
                }
            }
            func run<T>(_ mlp: MLP<T>) throws -> [LuaValue] {
                try probe(mlp) { x in
                    _ = try mlp.backward(LuaModels.batchLoss(mlp.forward(x), batch, argument: 2).grad)
                    return mlp.hiddenGradientNorms
                }
            }
            if let m = try? args.object(1, MLP<Float>.self) { return try run(m) }
            if let m = try? args.object(1, MLP<Double>.self) { return try run(m) }
            guard let model = args.sequenceModel(1) as? any SequenceModel & Trainable else { throw LuaError.type(1, expected: "recurrent model or MLP", got: args.typeName(1)) }
            return try run(model)
        }
        m.function("spectrum", "lab.diagnostics.spectrum(model): {singular_values=, spectral_norm=, condition_number=, orthogonality_drift=‖WᵀW − I‖_F} of the recurrent matrix (exact from σ for SVD cells, LAPACK for dense ones); an MLP: of all its layers' matrices together (drift summed over them)") { args in
            func table(_ sv: [Double]) -> [LuaValue] {
                var t: LuaTable = ["singular_values": .table(LuaTable(array: sv.map { .number($0) }))]
                if let hi = sv.first, let lo = sv.last {
                    t["spectral_norm"] = .number(hi)
                    t["condition_number"] = .number(lo == 0 ? .infinity : hi / lo)
                }
                // ‖WᵀW − I‖_F = √Σ(σᵢ² − 1)²: read off the singular values.
                t["orthogonality_drift"] = .number(sv.reduce(0) { $0 + ($1 * $1 - 1) * ($1 * $1 - 1) }.squareRoot())
                return [.table(t)]
            }
            func layers<T>(_ m: MLP<T>) throws -> [Double] {
                try m.layers.flatMap { l in
                    try (l as? SVDLinear<T>)?.singularValues() ?? LinearAlgebra.singularValues(l.matrix())
                }.map(Double.init).sorted(by: >)
            }
            if let m = try? args.object(1, MLP<Float>.self) { return table(try layers(m)) }
            if let m = try? args.object(1, MLP<Double>.self) { return table(try layers(m)) }
            guard let model = args.sequenceModel(1) else { throw LuaError.type(1, expected: "recurrent model or MLP", got: args.typeName(1)) }
            func run<M: SequenceModel>(_ m: M) throws -> [LuaValue] { table(try m.recurrentSingularValues().map(Double.init)) }
            return try run(model)
        }
        m.function("gradient_norms", "lab.diagnostics.gradient_norms(model): {name = ‖gradient‖} for every parameter, and total") { args in
            guard let model = args.trainable(1) else { throw LuaError.type(1, expected: "model or layer", got: args.typeName(1)) }
            func run<M: Trainable>(_ m: M) -> [LuaValue] {
                var t = LuaTable(array: [])
                var total = 0.0
                for p in m.parameters {
                    let n = Double(p.grad.norm())
                    t[p.name] = .number(n)
                    total += n * n
                }
                t["total"] = .number(total.squareRoot())
                return [.table(t)]
            }
            return run(model)
        }
        return m
    }
}
