import Foundation

/// How an optimizer turns gradients into updates (the same for either precision).
public enum OptimizerRule: Sendable, Equatable {
    /// v ← μv + g; p ← p − lr·(g + μv) (Nesterov) or p − lr·v. μ = 0: plain SGD.
    case sgd(momentum: Double, nesterov: Bool)
    /// s ← αs + (1−α)g²; p ← p − lr·g/(√s + ε)
    case rmsprop(alpha: Double, epsilon: Double)
    /// Kingma & Ba, with bias correction.
    case adam(beta1: Double, beta2: Double, epsilon: Double)
}

/// Optimizers in the manner of Torch's optim: a configuration (learning rate and friends) and a
/// state per parameter tensor (kept by the tensor's identity), updating the parameters in place.
public final class Optimizer<T: TensorScalar> {
    public typealias Rule = OptimizerRule

    public let rule: Rule
    public var learningRate: Double
    /// L2 weight decay: g ← g + λp before the update.
    public var weightDecay: Double
    public private(set) var steps = 0
    private var state: [ObjectIdentifier: (Tensor<T>, Tensor<T>)] = [:]

    public init(_ rule: Rule, learningRate: Double, weightDecay: Double = 0) throws {
        guard learningRate >= 0, learningRate.isFinite else { throw TensorError.value("learning rate must be ≥ 0, got \(learningRate)") }
        guard weightDecay >= 0 else { throw TensorError.value("weight decay must be ≥ 0, got \(weightDecay)") }
        switch rule {
        case .sgd(let m, let nesterov):
            guard m >= 0 && m < 1 else { throw TensorError.value("momentum must be in [0, 1), got \(m)") }
            guard !nesterov || m > 0 else { throw TensorError.value("Nesterov momentum needs momentum > 0") }
        case .rmsprop(let a, let e):
            guard a >= 0 && a < 1, e > 0 else { throw TensorError.value("rmsprop needs 0 ≤ alpha < 1 and epsilon > 0") }
        case .adam(let b1, let b2, let e):
            guard b1 >= 0 && b1 < 1, b2 >= 0 && b2 < 1, e > 0 else { throw TensorError.value("adam needs betas in [0, 1) and epsilon > 0") }
        }
        self.rule = rule
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }

    /// One update of every parameter from its gradient.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(_ parameters: [Parameter<T>]) {
        steps += 1
        let lr = T(learningRate), wd = T(weightDecay)
        // Adam's bias corrections, once per step (not per element).
        var correction1: T = 1, correction2: T = 1
        if case let .adam(beta1, beta2, _) = rule {
            correction1 = T(1 - pow(beta1, Double(steps)))
            correction2 = T(1 - pow(beta2, Double(steps)))
        }
        for (_, p, grad) in parameters {
            let key = ObjectIdentifier(p)
            let (a, b) = state[key] ?? (Tensor(zeros: p.shape), Tensor(zeros: p.shape))
            state[key] = (a, b)
            // One plain loop per rule, its constants hoisted: the compiler vectorizes these (a
            // switch per element kept Adam scalar, about 4 ns an element).
            let (pd, gd, ad, bd) = (p.data, grad.data, a.data, b.data)
            switch rule {
            case let .sgd(momentum, nesterov):
                let mu = T(momentum)
                if momentum == 0 {
                    for i in 0 ..< p.count { pd[i] -= lr * (gd[i] + wd * pd[i]) }
                } else {
                    for i in 0 ..< p.count {
                        let g = gd[i] + wd * pd[i]
                        let v = mu * ad[i] + g
                        ad[i] = v
                        pd[i] -= lr * (nesterov ? g + mu * v : v)
                    }
                }
            case let .rmsprop(alpha, epsilon):
                let (al, eps) = (T(alpha), T(epsilon))
                for i in 0 ..< p.count {
                    let g = gd[i] + wd * pd[i]
                    let s = al * ad[i] + (1 - al) * g * g
                    ad[i] = s
                    pd[i] -= lr * g / (s.squareRoot() + eps)
                }
            case let .adam(beta1, beta2, epsilon):
                // p ← p − lr·m̂/(√v̂ + ε) with m̂ = m/c₁, v̂ = v/c₂, written as (lr/c₁)·m/(√v/√c₂ + ε).
                let (b1, b2, eps) = (T(beta1), T(beta2), T(epsilon))
                let stepSize = lr / correction1, rootCorrection2 = correction2.squareRoot()
                for i in 0 ..< p.count {
                    let g = gd[i] + wd * pd[i]
                    let m = b1 * ad[i] + (1 - b1) * g
                    let v = b2 * bd[i] + (1 - b2) * g * g
                    ad[i] = m
                    bd[i] = v
                    pd[i] -= stepSize * m / (v.squareRoot() / rootCorrection2 + eps)
                }
            }
        }
    }

    /// The per-parameter state as named tensors ("name.m", "name.v": first and second buffers),
    /// for checkpoints; `steps` separately.
    public func exportState(_ parameters: [Parameter<T>]) -> [(name: String, tensor: Tensor<T>)] {
        parameters.flatMap { p -> [(name: String, tensor: Tensor<T>)] in
            guard let (a, b) = state[ObjectIdentifier(p.value)] else { return [] }
            return [("\(p.name).m", a), ("\(p.name).v", b)]
        }
    }

    /// Restores what exportState wrote, matching by parameter name; every buffer must be present.
    public func importState(_ tensors: [String: Tensor<T>], steps: Int,
                            for parameters: [Parameter<T>]) throws {
        var restored: [ObjectIdentifier: (Tensor<T>, Tensor<T>)] = [:]
        if steps > 0 {
            for p in parameters {
                guard let a = tensors["\(p.name).m"], let b = tensors["\(p.name).v"], a.shape == p.value.shape, b.shape == p.value.shape else {
                    throw TensorError.value("the checkpoint has no optimizer state of shape \(p.value.shapeDescription) for '\(p.name)'")
                }
                restored[ObjectIdentifier(p.value)] = (a.copy(), b.copy())
            }
        }
        state = restored
        self.steps = steps
    }

    /// Scales all gradients together so that their global norm is at most `maxNorm`; returns the
    /// norm before clipping.
    @discardableResult
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func clipGradientNorm(_ parameters: [Parameter<T>], maxNorm: T) -> T {
        let norm = parameters.reduce(T(0)) { $0 + T.dot($1.grad.count, $1.grad.data, 1, $1.grad.data, 1) }.squareRoot()
        if norm > maxNorm, norm > 0 { for p in parameters { p.grad.scale(by: maxNorm / norm) } }
        return norm
    }
}
