import LuaBridge
import SpectralNumerics

// lab.optim: optimizers (LuaOptimizer below), their declared options, gradient clipping.
extension LuaModels {
    // MARK: lab.optim

    static let finiteNonNegative = LuaOptionKind.number(0, .greatestFiniteMagnitude)
    static let positive = LuaOptionKind.number(0, .greatestFiniteMagnitude, exclusiveLow: true)
    static let probability = LuaOptionKind.number(0, 1)
    /// What every optimizer takes; then each rule's own.
    static func optimizerOptions(_ name: String, lr: Double, _ own: [LuaOption]) -> LuaOptions {
        LuaOptions("lab.optim.\(name)", [
            .init("lr", finiteNonNegative, default: .number(lr), help: "learning rate"),
            .init("weight_decay", finiteNonNegative, default: 0, help: "L2 penalty added to the gradient"),
            .init("clip", finiteNonNegative, default: 0, help: "clip the gradients' global norm to this before each step (0: none)"),
            .init("renormalize", .boolean, default: true, help: "reflector rows back to unit norm after each step"),
        ] + own)
    }
    static let epsilon = LuaOption("epsilon", positive, default: 1e-8, help: "added to the denominator")
    static let sgdOptions = optimizerOptions("sgd", lr: 0.01, [
        .init("momentum", .number(0, 1, exclusiveLow: false), default: 0, help: "heavy-ball momentum in [0, 1)"),
        .init("nesterov", .boolean, default: false, help: "Nesterov momentum (needs momentum > 0)"),
    ])
    static let rmspropOptions = optimizerOptions("rmsprop", lr: 0.01, [
        .init("alpha", probability, default: 0.99, help: "decay of the squared-gradient average"), epsilon,
    ])
    static let adamOptions = optimizerOptions("adam", lr: 1e-3, [
        .init("beta1", probability, default: 0.9, help: "decay of the gradient average, in [0, 1)"),
        .init("beta2", probability, default: 0.999, help: "decay of the squared-gradient average, in [0, 1)"), epsilon,
    ])

    static func optimModule() -> LuaModule {
        var m = LuaModule("optim")
        func constructor(_ name: String, _ doc: String, _ declaration: LuaOptions, _ rule: @escaping (LuaOptionValues) throws -> OptimizerRule) {
            m.function(name, doc, options: declaration) { _, o in [.object(try LuaOptimizer(rule: rule(o), options: o))] }
        }
        m.function("clip_grad_norm", "lab.optim.clip_grad_norm(model, max): scales the model's gradients so their global norm is at most max; returns the norm before") { args in
            let maxNorm = try args.number(2)
            guard maxNorm > 0, maxNorm.isFinite else { throw LuaError.argument(index: 2, message: "max must be a finite number > 0, got \(maxNorm)") }
            func clip<M: Trainable>(_ m: M) -> [LuaValue] {
                [.number(Double(Optimizer<M.Scalar>.clipGradientNorm(m.parameters, maxNorm: M.Scalar(maxNorm))))]
            }
            guard let m = args.trainable(1) else { throw LuaError.type(1, expected: "model or layer", got: args.typeName(1)) }
            return clip(m)
        }
        func below1(_ o: LuaOptionValues, _ names: String...) throws {
            for n in names where try o.double(n) >= 1 {
                throw LuaError.runtime("bad option '\(n)' to '\(o.declaration.function)' (must be < 1, got \(try o.double(n)))")
            }
        }
        constructor("sgd", "lab.optim.sgd{lr=0.01, ...}: stochastic gradient descent", sgdOptions) { o in
            try below1(o, "momentum")
            if try o.bool("nesterov"), try o.double("momentum") == 0 {
                throw LuaError.runtime("bad option 'nesterov' to 'lab.optim.sgd' (Nesterov momentum needs momentum > 0)")
            }
            return .sgd(momentum: try o.double("momentum"), nesterov: try o.bool("nesterov"))
        }
        constructor("rmsprop", "lab.optim.rmsprop{lr=0.01, ...}: RMSProp", rmspropOptions) { o in
            try below1(o, "alpha")
            return .rmsprop(alpha: try o.double("alpha"), epsilon: try o.double("epsilon"))
        }
        constructor("adam", "lab.optim.adam{lr=1e-3, ...}: Adam", adamOptions) { o in
            try below1(o, "beta1", "beta2")
            return .adam(beta1: try o.double("beta1"), beta2: try o.double("beta2"), epsilon: try o.double("epsilon"))
        }
        return m
    }
}

/// An optimizer as Lua holds it: one configuration, for models of either precision (the typed
/// optimizer is made on the first step).
final class LuaOptimizer: LuaObject {
    let rule: OptimizerRule
    var learningRate: Double
    let weightDecay: Double
    let clip: Double?
    let renormalize: Bool
    private var float: Optimizer<Float>?
    private var double: Optimizer<Double>?

    init(rule: OptimizerRule, options o: LuaOptionValues) throws {
        self.rule = rule
        learningRate = try o.double("lr")
        weightDecay = try o.double("weight_decay")
        let clip = try o.double("clip")
        self.clip = clip > 0 ? clip : nil
        renormalize = try o.bool("renormalize")
        do { _ = try Optimizer<Double>(rule, learningRate: learningRate, weightDecay: weightDecay) }   // validates
        catch { throw LuaError.runtime("\(o.declaration.function): \(error)") }
    }

    /// A learning rate a script sets: finite and ≥ 0.
    static func checkedLearningRate(_ lr: Double) throws -> Double {
        guard lr >= 0, lr.isFinite else { throw LuaError.runtime("the learning rate must be a finite number ≥ 0, got \(lr)") }
        return lr
    }

    private func typed<T: TensorScalar>(_: T.Type) throws -> Optimizer<T> {
        if T.self == Float.self {
            if float == nil { float = try Optimizer<Float>(rule, learningRate: learningRate, weightDecay: weightDecay) }
            return float as! Optimizer<T>
        }
        if double == nil { double = try Optimizer<Double>(rule, learningRate: learningRate, weightDecay: weightDecay) }
        return double as! Optimizer<T>
    }

    /// Updates taken so far (by whichever precision's optimizer ran).
    var steps: Int { float?.steps ?? double?.steps ?? 0 }

    func exportState<T: TensorScalar>(_ params: [Parameter<T>]) -> [(name: String, tensor: AnyTensor)] {
        guard let opt = (T.self == Float.self ? float as Any? : double as Any?) as? Optimizer<T> else { return [] }
        return opt.exportState(params).map { ($0.name, AnyTensor($0.tensor)) }
    }

    func importState<T: TensorScalar>(_ state: [String: Tensor<T>], steps: Int,
                                      for params: [Parameter<T>]) throws {
        try typed(T.self).importState(state, steps: steps, for: params)
    }

    /// Clip (if configured), update, renormalize (if configured). Returns the gradient norm before clipping.
    func step<M: Trainable>(_ model: M) throws -> Double {
        let opt = try typed(M.Scalar.self)
        opt.learningRate = learningRate
        let params = model.parameters
        let norm = Optimizer<M.Scalar>.clipGradientNorm(params, maxNorm: clip.map { M.Scalar($0) } ?? .infinity)
        opt.step(params)
        if renormalize { model.renormalize() }
        return Double(norm)
    }

    static let luaClass = LuaClass<LuaOptimizer>("lab.Optimizer") { c in
        c.property("lr") { .number($0.learningRate) }
        c.method("set_lr", "opt:set_lr(lr): changes the learning rate (also: opt.lr = lr)") { o, args in
            o.learningRate = try checkedLearningRate(args.number(2))
            return []
        }
        c.meta(.newindex) { args in
            let o = try args.object(1, LuaOptimizer.self)
            guard (try? args.string(2)) == "lr" else { throw LuaError.runtime("an optimizer has no settable field '\(args.typeName(2) == "string" ? try args.string(2) : "?")' (only lr)") }
            o.learningRate = try checkedLearningRate(args.number(3))
            return []
        }
        c.method("step", "opt:step(model): one update from the model's gradients (clipped to clip, reflectors renormalized after); returns the gradient norm") { o, args in
            guard let m = args.trainable(2) else { throw LuaError.type(2, expected: "model or layer", got: args.typeName(2)) }
            return [.number(try o.step(m))]
        }
        c.tostring { o in "Optimizer(\(o.rule), lr = \(o.learningRate)\(o.clip.map { ", clip = \($0)" } ?? ""))" }
    }
}
