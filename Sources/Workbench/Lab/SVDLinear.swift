import LuaBridge
import SpectralNumerics

// The SVD-parameterized layer in Lua: lab.svd.linear(in, out, {...}) returns one of these.

extension SVDLinear: LuaObject {
    public static var luaClass: LuaClass<SVDLinear<T>> {
        T.self == Float.self ? floatSVDLinearClass as! LuaClass<SVDLinear<T>> : doubleSVDLinearClass as! LuaClass<SVDLinear<T>>
    }
}

let floatSVDLinearClass = LuaClass<SVDLinear<Float>>("lab.SVDLinear<float32>", declareSVDLinearClass)
let doubleSVDLinearClass = LuaClass<SVDLinear<Double>>("lab.SVDLinear<float64>", declareSVDLinearClass)

func numbers<T: TensorScalar>(_ xs: [T]) -> LuaValue {
    .table(LuaTable(array: xs.map { .number(Double($0)) }))
}

private func declareSVDLinearClass<T: TensorScalar>(_ c: LuaClass<SVDLinear<T>>) {
    c.nativeSize { l in l.parameters.reduce(0) { $0 + 2 * $1.value.byteCount } }
    c.tostring { l in
        "SVDLinear(\(l.inFeatures) → \(l.outFeatures), reflectors U \(l.u.rows) V \(l.v.rows), σ* = \(l.sigmaStar), r = \(l.r), \(l.bias == nil ? "no bias" : "bias"), \(T.dtypeName))"
    }
    declareAffineLayerMethods(c, parameterNames: "u=, v=, p=, bias=")
    c.method("factors", "layer:factors(): U (out×out), σ (a table, parameter order), V (in×in)") { l, _ in
        let f = try l.factors()
        return [.object(f.u), numbers(f.sigma), .object(f.v)]
    }
    c.method("sigma", "layer:sigma(): the singular values in parameter order") { l, _ in [numbers(l.sigma())] }
    LuaModelFiles.declareSave(c, "layer")
    LuaModelFiles.declareExportTorch(c, "layer")
    LuaModelFiles.declareAssign(c, "layer", doc: "sets u, v and p so that layer:matrix() is W (out × in): its SVD by LAPACK, U and V as the layer's reflectors (within their reach: the error says why not), σ clipped into the band with a warning (an error when strict)") { l, w, strict in
        (try l.assign(w, strict: strict), Double(l.sigmaStar - l.r) ... Double(l.sigmaStar + l.r))
    }
    c.method("singular_values", "layer:singular_values(): the singular values, descending (from σ, no SVD)") { l, _ in
        [numbers(l.singularValues())]
    }
    c.method("spectral_norm", "layer:spectral_norm(): ‖W‖₂ = max σ") { l, _ in [.number(Double(l.spectralNorm()))] }
    c.method("condition_number", "layer:condition_number(): max σ / min σ") { l, _ in [.number(Double(l.conditionNumber()))] }
    c.method("renormalize", "layer:renormalize(): scales the reflector rows to unit norm (W unchanged); after each optimizer step") { l, _ in
        l.renormalize()
        return []
    }
}
