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

    /// out[i] = φ(pre[i]) over a buffer, with the switch outside the loop so the loop vectorizes.
    public func apply<T: TensorScalar>(_ pre: UnsafePointer<T>, into out: UnsafeMutablePointer<T>, count: Int) {
        switch self {
        // 0 ≥ x is false for NaN, so NaN passes as in the scalar form; written without isNaN, whose
        // bit test kept this loop scalar (8% of a pixel step in perf).
        case .relu: for i in 0 ..< count { let x = pre[i]; out[i] = 0 >= x ? 0 : x }
        case .tanh: T.tanh(pre, into: out, count: count)
        case .leakyRelu: for i in 0 ..< count { let x = pre[i]; out[i] = x > 0 ? x : x / 10 }
        case .identity: out.update(from: pre, count: count)
        }
    }

    /// delta[i] = grad[i]·φ'(pre[i]) over a buffer, from the outputs out[i] = φ(pre[i]) alone: every
    /// φ here is monotone with φ(x) > 0 exactly when x > 0, so the tape need not keep the
    /// pre-activations. delta may be grad itself (each entry reads only its own grad and out).
    public func backward<T: TensorScalar>(_ grad: UnsafePointer<T>, out: UnsafePointer<T>,
                                          into delta: UnsafeMutablePointer<T>, count: Int) {
        switch self {
        // Both loads before the select: a load under the condition kept the relu loop scalar.
        case .relu: for i in 0 ..< count { let g = grad[i], o = out[i]; delta[i] = o > 0 ? g : 0 }
        case .tanh: for i in 0 ..< count { delta[i] = grad[i] * (1 - out[i] * out[i]) }
        case .leakyRelu: for i in 0 ..< count { let g = grad[i], o = out[i]; delta[i] = o > 0 ? g : g / 10 }
        case .identity: if UnsafePointer(delta) != grad { delta.update(from: grad, count: count) }
        }
    }
}
