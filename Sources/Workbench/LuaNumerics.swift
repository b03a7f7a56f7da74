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
            session.random = Random(seed: UInt64(bitPattern: Int64(n)))
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
            let n = try args.integer(1)
            let cols = args.typeName(2) == "number" ? try args.integer(2) : n
            let dtypeIndex = args.typeName(2) == "number" ? 3 : 2
            let d = args.isNil(dtypeIndex) ? DType.float32 : try DType(lua: args.string(dtypeIndex))
            guard n >= 0, cols >= 0 else { throw LuaError.runtime("eye: negative size") }
            do { try Tensor<Float>.checkShape([n, cols]) } catch { throw LuaError.runtime("\(error)") }
            return [d == .float32 ? .object(Tensor<Float>.identity(n, cols)) : .object(Tensor<Double>.identity(n, cols))]
        }
        m.function("from", "lab.tensor.from(t [, dtype]): a tensor from nested tables of numbers (shape inferred)") { args in
            let value = try args.value(1)
            let d = args.isNil(2) ? DType.float32 : try DType(lua: args.string(2))
            let (shape, values) = try flatten(value)
            return [d == .float32 ? .object(try Tensor<Float>(shape, values.map(Float.init))) : .object(try Tensor<Double>(shape, values))]
        }
        return m
    }

    /// Nested tables → shape and row-major values; ragged or non-numeric input names the position.
    static func flatten(_ value: LuaValue, path: String = "") throws -> ([Int], [Double]) {
        switch value {
        case .integer, .number: return ([], [value.double!])
        case .table(let t):
            guard t.fields.isEmpty else { throw LuaError.runtime("lab.tensor.from: table\(path) has non-sequence keys") }
            var shape: [Int]?
            var values: [Double] = []
            for (i, element) in t.array.enumerated() {
                let (s, v) = try flatten(element, path: "\(path)[\(i + 1)]")
                if let shape, shape != s {
                    throw LuaError.runtime("lab.tensor.from: ragged input: element\(path)[\(i + 1)] has shape \(Tensor<Float>.describe(s)), expected \(Tensor<Float>.describe(shape))")
                }
                shape = s
                values += v
            }
            return ([t.array.count] + (shape ?? []), values)
        default:
            throw LuaError.runtime("lab.tensor.from: element\(path) is a \(value.typeName), not a number")
        }
    }

    // MARK: lab.householder

    struct HouseholderOptions {
        var transpose = false
        var layout = Householder.Layout.rows
        var method = Householder.Method.wy

        init(_ args: LuaArgs, _ i: Int) throws {
            let t = try args.table(i, default: [:])
            try checkKeys(t, ["transpose", "layout", "method", "block"], i)
            if let b = t["transpose"].bool { transpose = b }
            switch t["layout"].string {
            case nil, "rows": layout = .rows
            case "columns": layout = .columns
            case let other?: throw LuaError.argument(index: i, message: "layout must be \"rows\" or \"columns\", got \"\(other)\"")
            }
            let block = t["block"].int ?? 64
            guard block >= 1 else { throw LuaError.argument(index: i, message: "block must be ≥ 1") }
            switch t["method"].string {
            case nil, "wy": method = .compactWY(blockSize: block)
            case "reflectorwise": method = .reflectorwise
            case let other?: throw LuaError.argument(index: i, message: "method must be \"wy\" or \"reflectorwise\", got \"\(other)\"")
            }
        }
    }

    static func householderModule() -> LuaModule {
        var m = LuaModule("householder")
        m.function("apply", "lab.householder.apply(V, X [, {transpose=, layout=\"rows\"|\"columns\", method=\"wy\"|\"reflectorwise\", block=64}]): Q x for every vector x of X (Q = H(v₁)⋯H(v_k), reflectors the rows of V)") { args in
            try apply(args, forceTranspose: false)
        }
        m.function("apply_transpose", "lab.householder.apply_transpose(V, X [, options]): Qᵀ x for every vector x of X") { args in
            try apply(args, forceTranspose: true)
        }
        m.function("backward", "lab.householder.backward(V, Y, dY [, options]): for Y = apply(V, X, options), returns dX, dV") { args in
            func run<T: TensorScalar>(_: T.Type) throws -> [LuaValue] {
                let o = try HouseholderOptions(args, 4)
                let (gx, gv) = try Householder.backward(args.tensor(1, T.self), output: args.tensor(2, T.self), gradOutput: args.tensor(3, T.self),
                                                        transpose: o.transpose, layout: o.layout, method: o.method)
                return [.object(gx), .object(gv)]
            }
            return try args.requireTensor(1) == .float32 ? run(Float.self) : run(Double.self)
        }
        m.function("matrix", "lab.householder.matrix(V [, options]): the n×n matrix Q = H(v₁)⋯H(v_k)") { args in
            func run<T: TensorScalar>(_: T.Type) throws -> [LuaValue] {
                [.object(try Householder.matrix(args.tensor(1, T.self), method: HouseholderOptions(args, 2).method))]
            }
            return try args.requireTensor(1) == .float32 ? run(Float.self) : run(Double.self)
        }
        m.function("matrix_backward", "lab.householder.matrix_backward(V, Q, dQ [, options]): dV for Q = matrix(V)") { args in
            func run<T: TensorScalar>(_: T.Type) throws -> [LuaValue] {
                [.object(try Householder.matrixBackward(args.tensor(1, T.self), matrix: args.tensor(2, T.self), gradMatrix: args.tensor(3, T.self),
                                                        method: HouseholderOptions(args, 4).method))]
            }
            return try args.requireTensor(1) == .float32 ? run(Float.self) : run(Double.self)
        }
        return m
    }

    private static func apply(_ args: LuaArgs, forceTranspose: Bool) throws -> [LuaValue] {
        func run<T: TensorScalar>(_: T.Type) throws -> [LuaValue] {
            let o = try HouseholderOptions(args, 3)
            return [.object(try Householder.apply(args.tensor(1, T.self), to: args.tensor(2, T.self),
                                                  transpose: forceTranspose || o.transpose, layout: o.layout, method: o.method))]
        }
        return try args.requireTensor(1) == .float32 ? run(Float.self) : run(Double.self)
    }

    /// Unknown option names are errors (a typo must not be silently ignored).
    static func checkKeys(_ t: LuaTable, _ known: [String], _ i: Int) throws {
        for key in t.namedFields.map(\.name) where !known.contains(key) {
            throw LuaError.argument(index: i, message: "unknown option '\(key)' (options: \(known.joined(separator: ", ")))")
        }
        if !t.array.isEmpty { throw LuaError.argument(index: i, message: "options are name = value pairs") }
    }

    // MARK: lab.svd

    static func svdModule(_ session: LabSession) -> LuaModule {
        var m = LuaModule("svd")
        m.function("linear", "lab.svd.linear(in, out [, {reflectors=, reflectors_u=, reflectors_v=, sigma_star=1, r=0.01, bias=true, dtype=\"float32\", mode=\"automatic\", method=\"wy\"}]): a linear layer with W = U(Σ|0)Vᵀ, singular values in [σ*−r, σ*+r]") { [unowned session] args in
            let nIn = try args.integer(1), nOut = try args.integer(2)
            let t = try args.table(3, default: [:])
            try checkKeys(t, ["reflectors", "reflectors_u", "reflectors_v", "sigma_star", "r", "bias", "dtype", "mode", "method"], 3)
            func int(_ key: String) throws -> Int? {
                if t[key].isNil { return nil }
                guard let i = t[key].int else { throw LuaError.argument(index: 3, message: "\(key) must be an integer") }
                return i
            }
            func number(_ key: String, _ d: Double) throws -> Double {
                if t[key].isNil { return d }
                guard let x = t[key].double else { throw LuaError.argument(index: 3, message: "\(key) must be a number") }
                return x
            }
            var options = SVDLinear<Float>.Options()
            options.reflectorsU = try int("reflectors_u") ?? int("reflectors")
            options.reflectorsV = try int("reflectors_v") ?? int("reflectors")
            if let k = options.reflectorsU { options.reflectorsU = Swift.min(k, nOut) }   // "reflectors = n" caps per side
            if let k = options.reflectorsV { options.reflectorsV = Swift.min(k, nIn) }
            options.sigmaStar = try number("sigma_star", 1)
            options.r = try number("r", 0.01)
            options.bias = t["bias"].bool ?? true
            let dtype = try DType(lua: t["dtype"].string ?? "float32")
            let mode = try t["mode"].string.map { name -> SVDLinear<Float>.Mode in
                guard let m = SVDLinear<Float>.Mode(rawValue: name) else {
                    throw LuaError.argument(index: 3, message: "mode must be automatic, materialized or factored")
                }
                return m
            } ?? .automatic
            let method: Householder.Method
            switch t["method"].string {
            case nil, "wy": method = .wy
            case "reflectorwise": method = .reflectorwise
            case let other?: throw LuaError.argument(index: 3, message: "method must be \"wy\" or \"reflectorwise\", got \"\(other)\"")
            }
            func make<T: TensorScalar>(_: T.Type) throws -> LuaValue {
                let layer: SVDLinear<T>
                do {
                    layer = try SVDLinear<T>(inFeatures: nIn, outFeatures: nOut,
                                             options: .init(reflectorsU: options.reflectorsU, reflectorsV: options.reflectorsV,
                                                            sigmaStar: options.sigmaStar, r: options.r, bias: options.bias),
                                             rng: &session.random)
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
