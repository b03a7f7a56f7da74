/// The paper's per-step path: y = W h applied at every step through W's reflectors (O(n·k) per
/// vector) instead of building W once per pass. Pays when k ≪ n and the batch is small; it is the
/// reference the built-W path is checked against. W = U Σ Vᵀ (spectral) or U (orthogonal: no V, Σ = I).
public struct ReflectorStepper<T: TensorScalar> {
    let u: Tensor<T>, gradU: Tensor<T>
    let v: Tensor<T>?, gradV: Tensor<T>?
    let sigma: [T]?
    let addSigmaGradient: ([T]) -> Void
    let method: Householder.Method

    /// y = W h for every row of h; also returns a = Vᵀh (rows), which the backward needs.
    func forward(_ h: Tensor<T>) throws -> (y: Tensor<T>, a: Tensor<T>) {
        guard let v, let sigma else {
            return (try Householder.apply(u, to: h, method: method), h)
        }
        let a = try Householder.apply(v, to: h, transpose: true, method: method)
        let scaled = a.copy()
        for b in 0 ..< a.rows { for i in 0 ..< a.cols { scaled[b, i] *= sigma[i] } }
        return (try Householder.apply(u, to: scaled, method: method), a)
    }

    /// For y = W h: adds the reflector (and σ) gradients for ∂L/∂y = delta and returns ∂L/∂h = delta·W.
    func backward(delta: Tensor<T>, y: Tensor<T>, a: Tensor<T>) throws -> Tensor<T> {
        let (gs, gu) = try Householder.backward(u, output: y, gradOutput: delta, method: method)
        try gradU.add(gu)
        guard let v, let gradV, let sigma else { return gs }
        var gsigma = [T](repeating: 0, count: sigma.count)
        let ga = gs.copy()
        for b in 0 ..< gs.rows {
            for i in 0 ..< gs.cols {
                gsigma[i] += gs[b, i] * a[b, i]
                ga[b, i] *= sigma[i]
            }
        }
        addSigmaGradient(gsigma)
        let (gh, gv) = try Householder.backward(v, output: a, gradOutput: ga, transpose: true, method: method)
        try gradV.add(gv)
        return gh
    }
}

extension SpectralTransition {
    public func stepper() -> ReflectorStepper<T>? {
        ReflectorStepper(u: layer.u, gradU: layer.gradU, v: layer.v, gradV: layer.gradV, sigma: layer.sigma(),
                         addSigmaGradient: { [layer] in layer.addSigmaGradient($0) }, method: layer.method)
    }
}

extension OrthogonalTransition {
    public func stepper() -> ReflectorStepper<T>? {
        ReflectorStepper(u: u, gradU: gradU, v: nil, gradV: nil, sigma: nil, addSigmaGradient: { _ in }, method: method)
    }
}

extension DenseTransition {
    public func stepper() -> ReflectorStepper<T>? { nil }
}
