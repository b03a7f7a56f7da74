/// Elementwise nonlinearities of the recurrent cells: ReLU (the authors' default for Spectral-RNN),
/// tanh, leaky ReLU max(x/10, x) (oRNN's choice), and the identity.
public enum Activation: String, Sendable, CaseIterable {
    case relu, tanh, leakyRelu = "leaky_relu", identity

    public func apply<T: TensorScalar>(_ x: T) -> T {
        switch self {
        case .relu: return x > 0 || x.isNaN ? x : 0   // NaN stays NaN: a diverged run must show, not vanish
        case .tanh: return T.tanh(x)
        case .leakyRelu: return x > 0 ? x : x / 10
        case .identity: return x
        }
    }

    /// φ'(pre), given the pre-activation and the output h = φ(pre).
    public func derivative<T: TensorScalar>(pre: T, out: T) -> T {
        switch self {
        case .relu: return pre > 0 ? 1 : 0
        case .tanh: return 1 - out * out
        case .leakyRelu: return pre > 0 ? 1 : T(0.1)
        case .identity: return 1
        }
    }

    /// out[i] = φ(pre[i]) over a buffer (out may be pre), vectorized for Float.
    public func apply<T: TensorScalar>(_ pre: UnsafePointer<T>, into out: UnsafeMutablePointer<T>, count: Int) {
        T.activate(self, pre, into: out, count: count)
    }

    /// delta[i] = grad[i]·φ'(pre[i]) over a buffer, from the outputs out[i] = φ(pre[i]) alone: every
    /// φ here is monotone with φ(x) > 0 exactly when x > 0, so the tape need not keep the
    /// pre-activations. delta may be grad itself (each entry reads only its own grad and out).
    public func backward<T: TensorScalar>(_ grad: UnsafePointer<T>, out: UnsafePointer<T>,
                                          into delta: UnsafeMutablePointer<T>, count: Int) {
        T.activationBackward(self, grad, out: out, into: delta, count: count)
    }
}
