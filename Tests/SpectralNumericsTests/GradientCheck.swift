import SpectralNumerics
import Testing

/// Central finite differences in Double: the reference every backward pass is checked against.
enum GradientCheck {
    /// ∂f/∂x for every entry of x (x is perturbed in place and restored).
    static func numerical(_ x: Tensor<Double>, h: Double = 1e-6, _ f: () throws -> Double) rethrows -> Tensor<Double> {
        let g = Tensor<Double>(zeros: x.shape)
        for i in 0 ..< x.count {
            let saved = x.data[i]
            x.data[i] = saved + h
            let plus = try f()
            x.data[i] = saved - h
            let minus = try f()
            x.data[i] = saved
            g.data[i] = (plus - minus) / (2 * h)
        }
        return g
    }

    /// ‖a − b‖ / max(‖a‖, ‖b‖): the relative error the tests bound by 1e-6.
    static func relativeError(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Double {
        let scale = max(a.norm(), b.norm())
        guard scale > 0 else { return 0 }
        return (try! a.subtracting(b)).norm() / scale
    }

    /// Expects each parameter's gradient to match central differences of f to a relative error of
    /// 1e-6. A parameter whose true gradient is exactly zero (a one-coordinate reflector, always −1)
    /// must instead have both gradients vanish: a relative error between two roundings means nothing.
    static func expectParameters(_ parameters: [Parameter<Double>], _ what: String,
                                 sourceLocation: SourceLocation = #_sourceLocation, _ f: () throws -> Double) throws {
        for p in parameters {
            let numeric = try numerical(p.value, f)
            let err = relativeError(p.grad, numeric)
            #expect(err <= 1e-6 || (p.grad.norm() < 1e-12 && numeric.norm() < 1e-8), "\(p.name): \(err), \(what)",
                    sourceLocation: sourceLocation)
        }
    }

    /// Σ R ⊙ Y: a linear loss whose gradient with respect to Y is R.
    static func loss(_ y: Tensor<Double>, _ r: Tensor<Double>) -> Double { try! y.dot(r) }
}

/// A fixed-seed generator for the tests.
func rng(_ seed: UInt64) -> Random { Random(seed: seed) }
