import LuaBridge
import SpectralNumerics

// The dense layer in Lua, as a dense MLP's mlp:layer(k) gives it, and what both layer kinds share.

extension DenseLinear: LuaObject {
    public static var luaClass: LuaClass<DenseLinear<T>> {
        T.self == Float.self ? floatDenseLinearClass as! LuaClass<DenseLinear<T>> : doubleDenseLinearClass as! LuaClass<DenseLinear<T>>
    }
}

let floatDenseLinearClass = LuaClass<DenseLinear<Float>>("lab.DenseLinear<float32>", declareDenseLinearClass)
let doubleDenseLinearClass = LuaClass<DenseLinear<Double>>("lab.DenseLinear<float64>", declareDenseLinearClass)

private func declareDenseLinearClass<T: TensorScalar>(_ c: LuaClass<DenseLinear<T>>) {
    c.nativeSize { l in l.parameters.reduce(0) { $0 + 2 * $1.value.byteCount } }
    c.tostring { l in "DenseLinear(\(l.inFeatures) → \(l.outFeatures), \(l.bias == nil ? "no bias" : "bias"), \(T.dtypeName))" }
    declareAffineLayerMethods(c, parameterNames: "weight=, bias=")
    c.method("singular_values", "layer:singular_values(): the singular values of W, descending (LAPACK)") { l, _ in
        [numbers(try LinearAlgebra.singularValues(l.weight))]
    }
}

/// What an SVD layer and a dense one both answer in Lua: shape, forward, backward, parameters.
func declareAffineLayerMethods<L: AffineLayer & LuaObject>(_ c: LuaClass<L>, parameterNames: String) {
    typealias T = L.Scalar
    c.property("in_features") { .integer($0.inFeatures) }
    c.property("out_features") { .integer($0.outFeatures) }
    c.property("dtype") { _ in .string(T.dtypeName) }
    c.method("forward", "layer:forward(x): y = W x + b for every row of x (B×in) → B×out") { l, args in
        let x = try args.tensor(2, T.self)
        try args.reserveActivations(rows: x.shape.first ?? 1, widths: [l.outFeatures], T.self, of: "the layer's forward")
        return [.object(try l.forward(x))]
    }
    c.method("backward", "layer:backward(dy): for the last forward, adds the parameter gradients and returns dx") { l, args in
        [.object(try l.backward(args.tensor(2, T.self)))]
    }
    c.method("parameters", "layer:parameters(): {\(parameterNames)}: the layer's own tensors (update them in place)") { l, _ in
        [parameterTable(l.parameters, grads: false)]
    }
    c.method("gradients", "layer:gradients(): {\(parameterNames)}: the accumulated gradients (same shapes)") { l, _ in
        [parameterTable(l.parameters, grads: true)]
    }
    c.method("zero_grad", "layer:zero_grad(): sets the gradients to zero") { l, _ in
        l.zeroGrad()
        return []
    }
    c.method("matrix", "layer:matrix(): W (out×in)") { l, _ in [.object(try l.matrix())] }
}
