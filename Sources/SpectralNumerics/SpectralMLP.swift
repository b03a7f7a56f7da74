/// A multilayer perceptron whose every weight matrix is SVD-parameterized (the paper's point that
/// the parameterization serves any layer): sizes [in, h₁, …, out], φ between layers, none after the last.
public final class SpectralMLP<T: TensorScalar> {
    public let layers: [SVDLinear<T>]
    public let activation: Activation
    private var outputs: [Tensor<T>] = []   // each layer's pre-activation output, for backward

    public init(sizes: [Int], activation: Activation, options: SVDLinear<T>.Options, rng: inout Random) throws {
        guard sizes.count >= 2, sizes.allSatisfy({ $0 >= 1 }) else {
            throw TensorError.value("an MLP needs at least an input and an output size, all ≥ 1, got \(sizes)")
        }
        layers = try zip(sizes, sizes.dropFirst()).map { n, m in
            var o = options
            o.reflectorsU = options.reflectorsU.map { Swift.min($0, m) }
            o.reflectorsV = options.reflectorsV.map { Swift.min($0, n) }
            return try SVDLinear(inFeatures: n, outFeatures: m, options: o, rng: &rng)
        }
        self.activation = activation
    }

    public var inputSize: Int { layers[0].inFeatures }
    public var outputSize: Int { layers[layers.count - 1].outFeatures }

    public func forward(_ x: Tensor<T>) throws -> Tensor<T> {
        var h = x
        outputs = []
        for (k, layer) in layers.enumerated() {
            let y = try layer.forward(h)
            outputs.append(y)
            h = k == layers.count - 1 ? y : y.map { activation.apply($0) }
        }
        return h
    }

    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard outputs.count == layers.count else { throw TensorError.value("backward called before forward") }
        var g = gradOutput
        for k in stride(from: layers.count - 1, through: 0, by: -1) {
            if k < layers.count - 1 {
                let pre = outputs[k]
                let gk = Tensor<T>(zeros: g.shape)
                for i in 0 ..< g.count {
                    gk.data[i] = g.data[i] * activation.derivative(pre: pre.data[i], out: activation.apply(pre.data[i]))
                }
                g = gk
            }
            g = try layers[k].backward(g)
        }
        return g
    }

    public var parameters: [Parameter<T>] {
        layers.enumerated().flatMap { k, l in l.parameters.map { ("layer\(k + 1).\($0.name)", $0.value, $0.grad) } }
    }
    /// Trainable numbers (masked reflector entries excluded).
    public var parameterCount: Int { trainableCount(parameters) }
    public func zeroGrad() { for l in layers { l.zeroGrad() } }
    public func renormalize() { for l in layers { l.renormalize() } }
}
