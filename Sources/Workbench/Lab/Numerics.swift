import Foundation
import LuaBridge
import SpectralNumerics

/// lab.tensor, lab.householder, lab.svd and lab.seed: the numerical core, declared for Lua.
enum LuaNumerics {
    /// math.random and math.randomseed on the session's generator (Lua 5.4's semantics), so that every
    /// random number a script draws comes from one generator whose state a checkpoint can save.
    static func replaceMathRandom(in session: LabSession) throws {
        try session.state.replace("random", in: "math") { [unowned session] args in
            switch args.count {
            case 0: return [.number(session.random.uniform())]
            case 1, 2:
                let lo = args.count == 2 ? Int64(try args.integer(1)) : 1
                let hi = Int64(try args.integer(args.count))
                if args.count == 1 && hi == 0 { return [.integer(Int(session.random.integer(in: Int64.min ... Int64.max)))] }
                guard lo <= hi else { throw LuaError.argument(index: args.count, message: "interval is empty") }
                return [.integer(Int(session.random.integer(in: lo ... hi)))]
            default:
                throw LuaError.runtime("wrong number of arguments")
            }
        }
        try session.state.replace("randomseed", in: "math") { [unowned session] args in
            let seed: UInt64
            if args.isNil(1) {
                var ts = timespec()
                clock_gettime(CLOCK_REALTIME, &ts)
                seed = UInt64(ts.tv_sec) &* 1_000_000_007 &+ UInt64(ts.tv_nsec)
            } else if let i = try? args.integer(1) {
                seed = UInt64(bitPattern: Int64(i))
            } else {
                seed = try args.number(1).bitPattern
            }
            session.random = Random(seed: seed)
            return []
        }
    }

    static func install(into lab: inout LuaModule, session: LabSession) {
        lab.function("seed", "lab.seed(n): reseeds the one generator behind math.random, lab.tensor.rand/randn and layer initialization") { [unowned session] args in
            let n = try args.integer(1)
            guard n >= 0 else { throw LuaError.argument(index: 1, message: "a seed ≥ 0 expected, got \(n)") }
            session.random = Random(seed: UInt64(n))
            return []
        }
        session.state.document(topic: "tensor", title: "tensor methods (lab.FloatTensor and lab.DoubleTensor)", floatTensorClass)
        session.state.document(topic: "svd.linear", title: "SVD layer methods (lab.svd.linear)", floatSVDLinearClass)
        lab.module(tensorModule(session))
        lab.module(householderModule())
        lab.module(svdModule(session))
    }

    // MARK: lab.tensor

    static func tensorModule(_ session: LabSession) -> LuaModule {
        var m = LuaModule("tensor")
        /// A constructor taking (d1, d2, ... [, dtype]) or ({d1, d2, ...} [, dtype]).
        func constructor(_ name: String, _ doc: String, _ make: @escaping ([Int], DType) throws -> LuaValue) {
            m.function(name, doc) { args in
                let (shape, dtype) = try args.shapeAndDType(from: 1)
                return [try make(shape, dtype)]
            }
        }
        constructor("zeros", "lab.tensor.zeros(d1, d2, ... [, dtype]): a tensor of zeros (dtype float32 or float64; default float32)") { s, d in
            d == .float32 ? .object(Tensor<Float>(zeros: s)) : .object(Tensor<Double>(zeros: s))
        }
        constructor("ones", "lab.tensor.ones(d1, d2, ... [, dtype]): a tensor of ones") { s, d in
            d == .float32 ? .object(Tensor<Float>(s, repeating: 1)) : .object(Tensor<Double>(s, repeating: 1))
        }
        constructor("rand", "lab.tensor.rand(d1, d2, ... [, dtype]): uniform in [0, 1), from the seeded generator") { [unowned session] s, d in
            d == .float32 ? .object(session.random.uniformTensor(s) as Tensor<Float>) : .object(session.random.uniformTensor(s) as Tensor<Double>)
        }
        constructor("randn", "lab.tensor.randn(d1, d2, ... [, dtype]): standard normal, from the seeded generator") { [unowned session] s, d in
            d == .float32 ? .object(session.random.normalTensor(s) as Tensor<Float>) : .object(session.random.normalTensor(s) as Tensor<Double>)
        }
        m.function("eye", "lab.tensor.eye(n [, m] [, dtype]): the identity (n×m)") { args in
            let n = try args.size(at: 1, "n")
            let cols = args.typeName(2) == "number" ? try args.size(at: 2, "m") : n
            let d = try args.dtype(at: args.typeName(2) == "number" ? 3 : 2)
            try args.reserveTensor([n, cols], d)
            return [d == .float32 ? .object(Tensor<Float>.identity(n, cols)) : .object(Tensor<Double>.identity(n, cols))]
        }
        m.function("from", "lab.tensor.from(t [, dtype]): a tensor from nested tables of numbers (shape inferred)") { args in
            let d = try args.dtype(at: 2)
            let (shape, values) = try args.numberArray(1) { n in
                // The values as Double, then the tensor: both live at once.
                try Memory.reserve([n], elementSize: 8 + d.size, for: "a \(n)-element \(d.rawValue) tensor", state: args.state)
            }
            guard shape.count <= Safetensors.maxRank else {
                throw LuaError.argument(index: 1, message: "at most \(Safetensors.maxRank) dimensions, got \(shape.count)")
            }
            return [d == .float32 ? .object(try Tensor<Float>(shape, values.map(Float.init))) : .object(try Tensor<Double>(shape, values))]
        }
        return m
    }

    // MARK: lab.householder

    /// The options every lab.householder function takes, declared under the function's own name.
    static func householderOptions(_ function: String) -> LuaOptions {
        LuaOptions("lab.householder.\(function)", [
            .init("transpose", .boolean, default: false, help: "apply Qᵀ instead of Q"),
            .init("layout", .choice(["rows", "columns"]), default: "rows", help: "the vectors are X's rows or its columns"),
            .init("method", .choice(["wy", "reflectorwise"]), default: "wy", help: "compact WY blocks (BLAS-3) or one reflector at a time"),
            .init("block", .integer(1 ... 4096), default: 64, help: "reflectors per compact WY block", only: ("method", ["wy"])),
        ])
    }

    struct HouseholderOptions {
        var transpose: Bool
        var layout: Householder.Layout
        var method: Householder.Method

        init(_ o: LuaOptionValues) throws {
            transpose = try o.bool("transpose")
            layout = try o.string("layout") == "rows" ? .rows : .columns
            method = try o.string("method") == "wy" ? .compactWY(blockSize: o.int("block")) : .reflectorwise
        }
    }

    static func householderModule() -> LuaModule {
        var m = LuaModule("householder")
        /// A function of tensors at 1…index−1 and the options table at `index`, for both dtypes.
        func function(_ name: String, _ doc: String, at index: Int,
                      _ body: @escaping (LuaArgs, HouseholderOptions, any TensorScalar.Type) throws -> [LuaValue]) {
            m.function(name, doc, options: householderOptions(name), at: index) { args, o in
                try body(args, HouseholderOptions(o), args.requireTensor(1) == .float32 ? Float.self : Double.self)
            }
        }
        function("apply", "lab.householder.apply(V, X [, options]): Q x for every vector x of X (Q = H(v₁)⋯H(v_k), reflectors the rows of V)", at: 3) { args, o, type in
            func run<T: TensorScalar>(_: T.Type) throws -> [LuaValue] {
                [.object(try Householder.apply(args.tensor(1, T.self), to: args.tensor(2, T.self), transpose: o.transpose, layout: o.layout, method: o.method))]
            }
            return try run(type)
        }
        function("apply_transpose", "lab.householder.apply_transpose(V, X [, options]): Qᵀ x for every vector x of X", at: 3) { args, o, type in
            func run<T: TensorScalar>(_: T.Type) throws -> [LuaValue] {
                [.object(try Householder.apply(args.tensor(1, T.self), to: args.tensor(2, T.self), transpose: true, layout: o.layout, method: o.method))]
            }
            return try run(type)
        }
        function("backward", "lab.householder.backward(V, Y, dY [, options]): for Y = apply(V, X, options), returns dX, dV", at: 4) { args, o, type in
            func run<T: TensorScalar>(_: T.Type) throws -> [LuaValue] {
                let (gx, gv) = try Householder.backward(args.tensor(1, T.self), output: args.tensor(2, T.self), gradOutput: args.tensor(3, T.self),
                                                        transpose: o.transpose, layout: o.layout, method: o.method)
                return [.object(gx), .object(gv)]
            }
            return try run(type)
        }
        function("matrix", "lab.householder.matrix(V [, options]): the n×n matrix Q = H(v₁)⋯H(v_k)", at: 2) { args, o, type in
            func run<T: TensorScalar>(_: T.Type) throws -> [LuaValue] {
                [.object(try Householder.matrix(args.tensor(1, T.self), method: o.method))]
            }
            return try run(type)
        }
        function("matrix_backward", "lab.householder.matrix_backward(V, Q, dQ [, options]): dV for Q = matrix(V)", at: 4) { args, o, type in
            func run<T: TensorScalar>(_: T.Type) throws -> [LuaValue] {
                [.object(try Householder.matrixBackward(args.tensor(1, T.self), matrix: args.tensor(2, T.self), gradMatrix: args.tensor(3, T.self), method: o.method))]
            }
            return try run(type)
        }
        return m
    }

    // MARK: lab.svd

    static let svdLinearOptions = LuaOptions("lab.svd.linear", [
        .init("reflectors", .integer(1 ... LuaModels.maxWidth), defaultText: "all", help: "reflectors per factor (capped at each side's size)"),
        .init("reflectors_u", .integer(1 ... LuaModels.maxWidth), defaultText: "reflectors", help: "reflectors of U (≤ out)"),
        .init("reflectors_v", .integer(1 ... LuaModels.maxWidth), defaultText: "reflectors", help: "reflectors of V (≤ in)"),
        .init("sigma_star", LuaModels.positive, default: 1, help: "centre of the singular-value band"),
        .init("r", LuaModels.finiteNonNegative, default: 0.01, help: "singular values stay in [sigma_star − r, sigma_star + r]; r ≤ sigma_star"),
        .init("bias", .boolean, default: true, help: "a bias vector"),
        .init("init", .choice(MatrixInitialization.allCases.map(\.rawValue)), default: "glorot",
              help: "W = σ*·Q for Q haar (rectangular: orthonormal columns or rows), henaff, cayley (square), identity; glorot: the authors' reflectors"),
        LuaModels.dtypeOption,
        .init("mode", .choice(["automatic", "materialized", "factored"]), default: "automatic", help: "build W, or apply U, Σ and V in turn"),
        .init("method", .choice(["wy", "reflectorwise"]), default: "wy", help: "compact WY blocks or one reflector at a time"),
    ])

    static func svdModule(_ session: LabSession) -> LuaModule {
        var m = LuaModule("svd")
        m.function("linear", "lab.svd.linear(in, out [, options]): a linear layer with W = U(Σ|0)Vᵀ, singular values in [σ*−r, σ*+r]", options: svdLinearOptions, at: 3) { [unowned session] args, o in
            let nIn = try args.integer(1), nOut = try args.integer(2)
            for (i, n) in [(1, nIn), (2, nOut)] where !(1 ... LuaModels.maxWidth).contains(n) {
                throw LuaError.argument(index: i, message: "a size between 1 and \(LuaModels.maxWidth) expected, got \(n)")
            }
            try LuaModels.checkBand(o)
            let both = try o.optionalInt("reflectors")
            for (side, n) in [("reflectors_u", nOut), ("reflectors_v", nIn)] {
                if let k = try o.optionalInt(side), k > n {
                    throw LuaError.runtime("bad option '\(side)' to 'lab.svd.linear' (must be ≤ \(n), the size of its side, got \(k))")
                }
            }
            if let k = both, k > Swift.max(nIn, nOut) {
                throw LuaError.runtime("bad option 'reflectors' to 'lab.svd.linear' (must be ≤ \(Swift.max(nIn, nOut)), the larger side, got \(k))")
            }
            var options = SVDLinear<Float>.Options()
            // "reflectors = n" caps per side.
            options.reflectorsU = try o.optionalInt("reflectors_u") ?? both.map { Swift.min($0, nOut) }
            options.reflectorsV = try o.optionalInt("reflectors_v") ?? both.map { Swift.min($0, nIn) }
            options.sigmaStar = try o.double("sigma_star")
            options.r = try o.double("r")
            options.bias = try o.bool("bias")
            let dtype = try DType(lua: o.string("dtype"))
            let mode = try o.choice("mode", SVDLinear<Float>.Mode.self)
            let method: Householder.Method = try o.string("method") == "wy" ? .wy : .reflectorwise
            try LuaModels.reserveModel([(nIn, nIn), (nOut, nOut)], dtype: dtype, what: "a \(nIn)→\(nOut) SVD layer", session: session)
            func make<T: TensorScalar>(_: T.Type) throws -> LuaValue {
                let layer: SVDLinear<T>
                do {
                    layer = try SVDLinear<T>(inFeatures: nIn, outFeatures: nOut,
                                             options: .init(reflectorsU: options.reflectorsU, reflectorsV: options.reflectorsV,
                                                            sigmaStar: options.sigmaStar, r: options.r, bias: options.bias),
                                             rng: &session.random)
                    let initialization = try o.choice("init", MatrixInitialization.self)
                    if initialization != .glorot { try layer.initialize(initialization, rng: &session.random) }
                } catch { throw LuaError.runtime("lab.svd.linear: \(error)") }
                layer.mode = SVDLinear<T>.Mode(rawValue: mode.rawValue)!
                layer.method = method
                return .object(layer)
            }
            return [dtype == .float32 ? try make(Float.self) : try make(Double.self)]
        }
        return m
    }
}
