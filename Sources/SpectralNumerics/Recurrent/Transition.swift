/// The recurrent matrix W (n×n) of a cell h_t = φ(W h_{t−1} + M x_t + b), however it is kept.
/// W does not change within a forward pass, so it is built once per pass (`build`), and ∂W, summed
/// over all steps, goes back through the parameterization once per backward pass (`accumulate`).
public protocol Transition<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar
    associatedtype Built
    var size: Int { get }
    /// W and whatever its backward needs.
    func build() throws -> (w: Tensor<Scalar>, built: Built)
    /// Adds the parameter gradients for ∂L/∂W.
    func accumulate(gradW: Tensor<Scalar>, _ built: Built) throws
    /// The numbers `built` keeps for `accumulate` beyond W (its reflector products' tapes, and the
    /// factors an SVD layer built explicitly).
    func tapeNumbers(_ built: Built) -> Int
    var parameters: [Parameter<Scalar>] { get }
    /// The singular values of W, descending.
    func singularValues() throws -> [Scalar]
    /// Keeps the parameterization well conditioned after an optimizer step (reflector rows to unit
    /// norm); a no-op where there is nothing to do.
    func renormalize()
    /// The per-step reflector path, for transitions made of reflectors (nil for a dense W).
    func stepper() -> ReflectorStepper<Scalar>?
}

/// Spectral-RNN's W = U Σ Vᵀ with σ in [σ* − r, σ* + r] (an `SVDLinear` without bias).
public final class SpectralTransition<T: TensorScalar>: Transition {
    public let layer: SVDLinear<T>
    public var size: Int { layer.inFeatures }

    public init(size n: Int, reflectors k: Int, sigmaStar: Double, r: Double, rng: inout Random) throws {
        layer = try SVDLinear(inFeatures: n, outFeatures: n,
                              options: .init(reflectorsU: k, reflectorsV: k, sigmaStar: sigmaStar, r: r, bias: false), rng: &rng)
    }
    public func build() throws -> (w: Tensor<T>, built: SVDLinear<T>.Built) { try layer.build() }
    public func accumulate(gradW: Tensor<T>, _ built: SVDLinear<T>.Built) throws {
        try layer.accumulate(gradMatrix: gradW, built: built)
    }
    public func tapeNumbers(_ built: SVDLinear<T>.Built) -> Int { built.tapeNumbers }
    public var parameters: [Parameter<T>] { layer.parameters }
    public func singularValues() throws -> [T] { layer.singularValues() }
    public func renormalize() { layer.renormalize() }
}

/// oRNN's W = H(u₁)⋯H(u_k): orthogonal, Σ = I.
public final class OrthogonalTransition<T: TensorScalar>: Transition {
    public let u: Tensor<T>, gradU: Tensor<T>
    public var method: Householder.Method = .wy
    public var size: Int { u.cols }
    private let tapes = WYTapePool<T>(layout: .columns)

    public init(size n: Int, reflectors k: Int, rng: inout Random) throws {
        guard n >= 1, (1 ... n).contains(k) else {
            throw TensorError.value("an orthogonal transition of size \(n) takes 1…\(n) reflectors, got \(k)")
        }
        u = SVDLinear<T>.glorotReflectors(k, n, &rng)
        gradU = Tensor(zeros: u.shape)
    }
    /// W and the tape of its product (nil for the reflector-wise method: its backward pass recovers
    /// the inputs from W).
    public struct Built {
        let w: Tensor<T>, tape: WYTape<T>?
    }
    public func build() throws -> (w: Tensor<T>, built: Built) {
        let tape = tapes.tape(for: method)
        let w = Householder.identityProduct(u, layout: .columns, method: method, recording: tape)
        return (w, Built(w: w, tape: tape))
    }
    public func accumulate(gradW: Tensor<T>, _ built: Built) throws {
        if let tape = built.tape {
            tape.backward(VectorBatch(gradW.copy(), .columns), gradU)
        } else {
            try gradU.add(try Householder.matrixBackward(u, matrix: built.w, gradMatrix: gradW, method: method))
        }
    }
    public func tapeNumbers(_ built: Built) -> Int { built.tape?.numbers ?? 0 }
    public var parameters: [Parameter<T>] { [("u", u, gradU)] }
    public func singularValues() throws -> [T] { [T](repeating: 1, count: size) }
    public func renormalize() { Householder.normalizeRows(u) }
}

/// The plain RNN's dense W, with the usual initializations.
public final class DenseTransition<T: TensorScalar>: Transition {
    public enum Initialization: String, Sendable, CaseIterable {
        /// N(0, 1/n): the classic vanilla RNN.
        case gaussian
        /// W = I (IRNN, Le et al. 2015).
        case identity
        /// A random orthogonal matrix.
        case orthogonal
    }
    public let w: Tensor<T>, gradW: Tensor<T>
    public var size: Int { w.rows }

    public init(size n: Int, initialization: Initialization, rng: inout Random) throws {
        guard n >= 1 else { throw TensorError.value("a transition needs size ≥ 1") }
        switch initialization {
        case .gaussian: w = rng.normalTensor([n, n], std: T(1 / Double(n).squareRoot()))
        case .identity: w = Tensor.identity(n)
        case .orthogonal: w = rng.orthogonal(n)
        }
        gradW = Tensor(zeros: w.shape)
    }
    public func build() throws -> (w: Tensor<T>, built: Void) { (w, ()) }
    public func accumulate(gradW g: Tensor<T>, _ built: Void) throws { try gradW.add(g) }
    public func tapeNumbers(_ built: Void) -> Int { 0 }
    public var parameters: [Parameter<T>] { [("w", w, gradW)] }
    public func singularValues() throws -> [T] { try LinearAlgebra.singularValues(w) }
    public func renormalize() {}
}
