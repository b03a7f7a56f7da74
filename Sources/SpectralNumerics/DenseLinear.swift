/// A dense linear layer, y = W x + b for every row x of a B×in batch, W (out×in) a parameter of
/// its own: what an SVD layer is compared against in an MLP of the same shape.
///
/// Forward and backward (G = ∂L/∂Y, B×out; X the B×in input):
///     Y = X Wᵀ + 1 bᵀ          ∂W += Gᵀ X,  ∂b += Gᵀ 1,  ∂X = G W
public final class DenseLinear<T: TensorScalar> {
    /// How W starts; the bias starts at zero, except with `torch`.
    public enum Initialization: String, Sendable, CaseIterable {
        /// He et al. 2015, for ReLU networks: N(0, 2/in), so that a ReLU layer keeps the second
        /// moment of its input.
        case kaiming
        /// Glorot & Bengio 2010: U(−a, a), a = √(6/(in + out)).
        case glorot
        /// torch.nn.Linear's default (kaiming_uniform_ with a = √5): W and b drawn from U(−1/√in, 1/√in).
        case torch
        /// Saxe et al. 2014: a Haar-random matrix with orthonormal rows or columns (every σ = 1),
        /// as an SVD layer's haar initialization with σ* = 1.
        case haar
    }

    public let inFeatures: Int, outFeatures: Int
    public let weight: Tensor<T>, gradWeight: Tensor<T>
    public let bias: Tensor<T>?, gradBias: Tensor<T>?
    private var input: Tensor<T>?   // the last forward's X, for backward

    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true, initialization: Initialization, rng: inout Random) throws {
        guard inFeatures >= 1, outFeatures >= 1 else {
            throw TensorError.value("a dense linear layer needs in ≥ 1 and out ≥ 1, got in=\(inFeatures) out=\(outFeatures)")
        }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let torchBound = T(1 / Double(inFeatures).squareRoot())
        switch initialization {
        case .kaiming: weight = rng.normalTensor([outFeatures, inFeatures], std: T((2 / Double(inFeatures)).squareRoot()))
        case .glorot: weight = rng.glorotUniform(outFeatures, inFeatures)
        case .torch: weight = rng.uniformTensor([outFeatures, inFeatures], -torchBound, torchBound)
        case .haar:
            weight = try MatrixInitialization.haar.orthogonal(rows: outFeatures, cols: inFeatures, determinant: 1, rng: &rng)!.converted()
        }
        gradWeight = Tensor(zeros: weight.shape)
        (self.bias, gradBias) = bias ? (Tensor(zeros: [outFeatures]), Tensor(zeros: [outFeatures])) : (nil, nil)
        if initialization == .torch, let b = self.bias { try b.assign(rng.uniformTensor([outFeatures], -torchBound, torchBound)) }
    }

    public func forward(_ x: Tensor<T>) throws -> Tensor<T> {
        guard x.rank == 2, x.cols == inFeatures else {
            throw TensorError.shape("dense linear \(inFeatures)→\(outFeatures) expects a B×\(inFeatures) batch, got \(x.shapeDescription)")
        }
        let y = try x.matmul(weight, transposeOther: true)
        if let bias { Tensor.addRows(bias, to: y.data, rows: y.rows) }
        input = x.copy()
        return y
    }

    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let x = input else { throw TensorError.value("backward called before forward") }
        guard gradOutput.shape == [x.rows, outFeatures] else {
            throw TensorError.shape("gradient must be \(x.rows)×\(outFeatures) (the last forward's output), got \(gradOutput.shapeDescription)")
        }
        T.gemm(true, false, outFeatures, inFeatures, x.rows, 1, gradOutput.data, outFeatures, x.data, inFeatures, 1, gradWeight.data, inFeatures)
        if let gradBias { Tensor.addColumnSums(of: gradOutput.data, rows: x.rows, into: gradBias) }
        return try gradOutput.matmul(weight)
    }

    public func zeroGrad() { gradWeight.fill(0); gradBias?.fill(0) }
    /// Nothing to renormalize: W is its own parameter.
    public func renormalize() {}
    public func matrix() throws -> Tensor<T> { weight.copy() }

    public var parameters: [Parameter<T>] {
        [("weight", weight, gradWeight)] + (bias.map { [("bias", $0, gradBias!)] } ?? [])
    }
}

/// What an MLP's layer is: an SVD layer or a dense one.
public protocol AffineLayer<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar
    var inFeatures: Int { get }
    var outFeatures: Int { get }
    var bias: Tensor<Scalar>? { get }
    var parameters: [Parameter<Scalar>] { get }
    func forward(_ x: Tensor<Scalar>) throws -> Tensor<Scalar>
    func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar>
    func zeroGrad()
    func renormalize()
    /// W (out×in) as the layer computes it.
    func matrix() throws -> Tensor<Scalar>
}
extension DenseLinear: AffineLayer {}
extension SVDLinear: AffineLayer {}
