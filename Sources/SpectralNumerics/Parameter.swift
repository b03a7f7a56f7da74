/// One trainable tensor of a layer or model: its name ("recurrent.u", "layer2.bias"), its value and
/// the gradient that backward passes accumulate into (same shape). Optimizers update `value` in place.
public typealias Parameter<T: TensorScalar> = (name: String, value: Tensor<T>, grad: Tensor<T>)

/// What an optimizer can step: anything with parameters, gradients and a renormalization (reflector
/// rows back to unit norm after an update; a no-op where there are none).
public protocol Trainable<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar
    var parameters: [Parameter<Scalar>] { get }
    func renormalize()
}
extension RecurrentNetwork: Trainable {}
extension GatedNetwork: Trainable {}
extension SVDLinear: Trainable {}
extension MLP: Trainable {}
