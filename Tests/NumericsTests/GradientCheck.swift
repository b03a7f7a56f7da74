import Numerics

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

    /// Σ R ⊙ Y: a linear loss whose gradient with respect to Y is R.
    static func loss(_ y: Tensor<Double>, _ r: Tensor<Double>) -> Double { try! y.dot(r) }
}

/// A fixed-seed generator for the tests.
func rng(_ seed: UInt64) -> Random { Random(seed: seed) }
