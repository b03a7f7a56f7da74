/// A multilayer perceptron, sizes [in, h₁, …, out], φ between layers and none after the last, of
/// SVD layers (the paper's point that the parameterization serves any layer) or of dense layers of
/// the same shapes (the baseline it is compared against).
///
/// With h₀ = x, h_k = φ(L_k(h_{k−1})) for the hidden layers and y = L_last(h_last), backward keeps
/// ‖∂L/∂h_k‖ for every hidden layer: the depth analogue of a recurrent network's profile over time.
public final class MLP<T: TensorScalar> {
    public enum Layers: String, Sendable, CaseIterable { case svd, dense }

    public let layers: [any AffineLayer<T>]
    public let kind: Layers
    public let activation: Activation
    /// Each layer's output from the last forward, after φ for the hidden ones (h_k): φ' is read off
    /// h_k alone (Activation.backward), so the pre-activations need not be kept.
    private var outputs: [Tensor<T>] = []
    /// ‖∂L/∂h_k‖ (Frobenius over the batch) for k = 1…depth from the last backward.
    public private(set) var hiddenGradientNorms: [T] = []

    /// An MLP of SVD layers: every layer takes `options`, its reflector counts capped at its sides.
    public convenience init(sizes: [Int], activation: Activation, options: SVDLinear<T>.Options, rng: inout Random) throws {
        try Self.check(sizes)
        let layers = try zip(sizes, sizes.dropFirst()).map { n, m in
            var o = options
            o.reflectorsU = options.reflectorsU.map { Swift.min($0, m) }
            o.reflectorsV = options.reflectorsV.map { Swift.min($0, n) }
            return try SVDLinear<T>(inFeatures: n, outFeatures: m, options: o, rng: &rng)
        }
        self.init(layers, kind: .svd, activation: activation)
    }

    /// An MLP of dense layers, each W drawn by `initialization`.
    public convenience init(sizes: [Int], activation: Activation, dense initialization: DenseLinear<T>.Initialization,
                            bias: Bool = true, rng: inout Random) throws {
        try Self.check(sizes)
        let layers = try zip(sizes, sizes.dropFirst()).map { n, m in
            try DenseLinear<T>(inFeatures: n, outFeatures: m, bias: bias, initialization: initialization, rng: &rng)
        }
        self.init(layers, kind: .dense, activation: activation)
    }

    private init(_ layers: [any AffineLayer<T>], kind: Layers, activation: Activation) {
        self.layers = layers
        self.kind = kind
        self.activation = activation
    }

    private static func check(_ sizes: [Int]) throws {
        guard sizes.count >= 2, sizes.allSatisfy({ $0 >= 1 }) else {
            throw TensorError.value("an MLP needs at least an input and an output size, all ≥ 1, got \(sizes)")
        }
    }

    public var inputSize: Int { layers[0].inFeatures }
    public var outputSize: Int { layers[layers.count - 1].outFeatures }
    public var sizes: [Int] { [inputSize] + layers.map(\.outFeatures) }
    /// The SVD layers, when the MLP is made of them.
    public var svdLayers: [SVDLinear<T>]? { kind == .svd ? layers.map { $0 as! SVDLinear<T> } : nil }

    public func forward(_ x: Tensor<T>) throws -> Tensor<T> {
        var h = x
        outputs = []
        for (k, layer) in layers.enumerated() {
            h = try layer.forward(h)   // a new tensor: φ can overwrite it
            if k < layers.count - 1 { activation.apply(h.data, into: h.data, count: h.count) }
            outputs.append(h)
        }
        return h
    }

    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard outputs.count == layers.count else { throw TensorError.value("backward called before forward") }
        var g = gradOutput
        var norms = [T](repeating: 0, count: layers.count - 1)
        for k in stride(from: layers.count - 1, through: 0, by: -1) {
            if k < layers.count - 1 {
                // g is ∂L/∂h_{k+1}, the layer above's new tensor; through φ, in place, to the
                // layer's pre-activation output.
                norms[k] = g.norm()
                activation.backward(g.data, out: outputs[k].data, into: g.data, count: g.count)
            }
            g = try layers[k].backward(g)
        }
        hiddenGradientNorms = norms
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
