/// Model files: one safetensors file that holds a model's parameters under their own names
/// ("recurrent.u", "layer2.bias") and, in its string metadata, everything needed to rebuild the
/// model — what it is, its sizes and options, the element type, and which format and software
/// wrote it. Checkpoints carry the same description, so a checkpoint rebuilds its model too.
///
/// The description is a flat map of strings (safetensors' metadata is one), readable from Python:
///     format = "spectral-lab model", format_version = "1", spectral_lab_version, dtype,
///     model = "rnn":        cell, input, hidden, output, readout, stateful,
///                           activation (spectral, orthogonal, rnn), reflectors (spectral,
///                           orthogonal), sigma_star and r (spectral), recurrence (spectral, orthogonal)
///     model = "mlp":        sizes ("784,128,10"), activation, reflectors, sigma_star, r, bias
///     model = "dense_mlp":  sizes, activation, bias (the same MLP of dense layers)
///     model = "svd_linear": in, out, reflectors_u, reflectors_v, sigma_star, r, bias
public enum ModelFile {
    public static let format = "spectral-lab model"
    /// The newest format this build reads and the one it writes.
    public static let formatVersion = 1
    /// The keys of a description that say what the model is (not how it runs: recurrence and
    /// stateful may change between a checkpoint and its resume).
    static let runtimeKeys: Set<String> = ["format", "format_version", "spectral_lab_version", "recurrence", "stateful", "step"]

    /// A model of either precision, as a file rebuilds it.
    public enum Loaded {
        case float(any Trainable<Float>)
        case double(any Trainable<Double>)
    }

    // MARK: Describing a model

    /// The description of `model` (without the format keys).
    public static func describe<T: TensorScalar>(_ model: any Trainable<T>) throws -> [String: String] {
        var d = ["dtype": T.dtypeName]
        switch model {
        case let m as RecurrentNetwork<T>:
            d.merge(["model": "rnn", "cell": m.cellName, "input": "\(m.inputSize)", "hidden": "\(m.hiddenSize)",
                     "output": "\(m.outputSize)", "readout": m.readout.mode.rawValue, "stateful": "\(m.carriesState)",
                     "activation": m.activation.rawValue]) { $1 }
            switch m.transition {
            case let s as SpectralTransition<T>:
                d.merge(["reflectors": "\(s.layer.u.rows)", "sigma_star": "\(Double(s.layer.sigmaStar))", "r": "\(Double(s.layer.r))",
                         "recurrence": m.recurrence.rawValue]) { $1 }
            case let o as OrthogonalTransition<T>:
                d.merge(["reflectors": "\(o.u.rows)", "recurrence": m.recurrence.rawValue]) { $1 }
            default: break
            }
        case let m as GatedNetwork<T>:
            d.merge(["model": "rnn", "cell": m.cellName, "input": "\(m.inputSize)", "hidden": "\(m.hiddenSize)",
                     "output": "\(m.outputSize)", "readout": m.readout.mode.rawValue, "stateful": "\(m.carriesState)"]) { $1 }
        case let m as MLP<T>:
            d.merge(["sizes": m.sizes.map(String.init).joined(separator: ","), "activation": m.activation.rawValue,
                     "bias": "\(m.layers[0].bias != nil)"]) { $1 }
            if let layers = m.svdLayers {
                // One reflector count k for every layer, capped at each side: the largest in use.
                let k = layers.map { Swift.max($0.u.rows, $0.v.rows) }.max() ?? 0
                d.merge(["model": "mlp", "reflectors": "\(k)", "sigma_star": "\(Double(layers[0].sigmaStar))",
                         "r": "\(Double(layers[0].r))"]) { $1 }
            } else {
                d["model"] = "dense_mlp"
            }
        case let l as SVDLinear<T>:
            d.merge(["model": "svd_linear", "in": "\(l.inFeatures)", "out": "\(l.outFeatures)", "reflectors_u": "\(l.u.rows)",
                     "reflectors_v": "\(l.v.rows)", "sigma_star": "\(Double(l.sigmaStar))", "r": "\(Double(l.r))",
                     "bias": "\(l.bias != nil)"]) { $1 }
        default:
            throw TensorError.value("a \(type(of: model)) cannot be written as a model file")
        }
        return d
    }

    /// What a description says in a few words, for errors: "a spectral rnn (input 2, hidden 128, …)".
    static func summary(_ d: [String: String]) -> String {
        let what = d["model"] == "rnn" ? "\(d["cell"] ?? "?") rnn" : d["model"] ?? "?"
        let keys = d.keys.filter { !runtimeKeys.contains($0) && $0 != "model" && $0 != "cell" }.sorted()
        return "a \(what) (\(keys.map { "\($0) \(d[$0]!)" }.joined(separator: ", ")))"
    }

    /// Nil when `model` is what the description `d` describes; otherwise why not.
    public static func mismatch<T: TensorScalar>(_ model: any Trainable<T>, _ d: [String: String]) throws -> String? {
        let mine = try describe(model).filter { !runtimeKeys.contains($0.key) }
        let theirs = d.filter { !runtimeKeys.contains($0.key) }
        return mine == theirs ? nil : "it holds \(summary(theirs)), not \(summary(mine))"
    }

    // MARK: Writing

    /// The metadata of a model file (or checkpoint) for `model`.
    public static func metadata<T: TensorScalar>(_ model: any Trainable<T>, software: String) throws -> [String: String] {
        try describe(model).merging(["format": format, "format_version": "\(formatVersion)", "spectral_lab_version": software]) { $1 }
    }

    /// Writes the model's parameters and description to `path` (atomically).
    public static func save<T: TensorScalar>(_ model: any Trainable<T>, to path: String, software: String) throws {
        try Safetensors.save(model.parameters.map { ($0.name, AnyTensor($0.value)) }, metadata: metadata(model, software: software), to: path)
    }

    // MARK: Reading

    /// Rebuilds the model a model file (or a checkpoint: `prefix` "model/") describes and sets its
    /// parameters. Every parameter must be there with its shape and element type, and nothing else.
    /// `reserve` is given the model's matrix shapes and dtype before it is built (to price it: a
    /// description can ask for far more than the file holds).
    public static func load(_ path: String, reserve: (_ widths: [(Int, Int)], _ dtype: String) throws -> Void = { _, _ in }) throws -> Loaded {
        let file = try Safetensors.load(path)
        let d = file.metadata
        let fail = { (why: String) in TensorError.value("\(path): \(why)") }
        let prefix: String
        switch d["format"] {
        case format: prefix = ""
        case "spectral-lab checkpoint":
            guard d["model"] != nil else { throw fail("a checkpoint from before checkpoints described their model: it holds parameters only (read them with lab.load)") }
            prefix = "model/"
        case let other?: throw fail("not a spectral-lab model file (its format is \(jsonString(other)))")
        case nil: throw fail("not a spectral-lab model file (a safetensors file without a \"format\" in its metadata: read its tensors with lab.load)")
        }
        guard let versionText = d["format_version"], let version = Int(versionText), version >= 1 else {
            throw fail("model file without a valid format_version (got \(d["format_version"].map(jsonString) ?? "none"))")
        }
        guard version <= formatVersion else {
            throw fail("written in model-file format \(version) by spectral-lab \(d["spectral_lab_version"] ?? "?"); this build reads format \(formatVersion) and older: update spectral-lab")
        }
        let tensors = file.tensors.filter { $0.name.hasPrefix(prefix) }
        guard let dtype = d["dtype"], dtype == Float.dtypeName || dtype == Double.dtypeName else {
            throw fail("dtype must be float32 or float64, got \(d["dtype"].map(jsonString) ?? "none")")
        }
        do { try reserve(try Fields(d: d).widths(), dtype) } catch let e as DescriptionError { throw fail(e.message) }
        return dtype == Float.dtypeName ? .float(try rebuild(d, tensors, prefix: prefix, Float.self, fail))
                                        : .double(try rebuild(d, tensors, prefix: prefix, Double.self, fail))
    }

    private static func rebuild<T: TensorScalar>(_ d: [String: String], _ tensors: [(name: String, tensor: AnyTensor)], prefix: String,
                                                 _: T.Type, _ fail: (String) -> TensorError) throws -> any Trainable<T> {
        let model: any Trainable<T>
        do { model = try build(Fields(d: d), T.self) } catch let e as DescriptionError { throw fail(e.message) }
        var byName = Dictionary(tensors.map { (String($0.name.dropFirst(prefix.count)), $0.tensor) }) { a, _ in a }
        for p in model.parameters {
            guard let stored = byName.removeValue(forKey: p.name) else { throw fail("no tensor \(jsonString(prefix + p.name)) for \(summary(d))") }
            guard let t = stored.tensor(T.self) else { throw fail("\(jsonString(prefix + p.name)) is \(stored.dtypeName), the file says \(T.dtypeName)") }
            guard t.shape == p.value.shape else {
                throw fail("\(jsonString(prefix + p.name)) is \(Tensor<T>.describe(t.shape)), \(summary(d)) has it \(p.value.shapeDescription)")
            }
            try p.value.assign(t)
        }
        if prefix.isEmpty, let extra = byName.keys.sorted().first {
            throw fail("tensor \(jsonString(extra)) is not a parameter of \(summary(d)): the file was written by another model")
        }
        return model
    }

    struct DescriptionError: Error { let message: String }

    /// A description's fields, read strictly: a missing or malformed one is an error naming it.
    struct Fields {
        let d: [String: String]
        func value(_ key: String) throws -> String {
            guard let v = d[key] else { throw DescriptionError(message: "the description has no \(jsonString(key)) (\(d["model"] ?? "?") model)") }
            return v
        }
        func int(_ key: String, _ range: ClosedRange<Int> = 1 ... 1 << 20) throws -> Int {
            guard let n = Int(try value(key)), range.contains(n) else {
                throw DescriptionError(message: "\(key) must be an integer in \(range.lowerBound)…\(range.upperBound), got \(jsonString(try value(key)))")
            }
            return n
        }
        func double(_ key: String) throws -> Double {
            guard let x = Double(try value(key)), x.isFinite else { throw DescriptionError(message: "\(key) must be a finite number, got \(jsonString(try value(key)))") }
            return x
        }
        func bool(_ key: String) throws -> Bool {
            switch try value(key) {
            case "true": return true
            case "false": return false
            default: throw DescriptionError(message: "\(key) must be true or false, got \(jsonString(try value(key)))")
            }
        }
        func choice<E: RawRepresentable<String> & CaseIterable>(_ key: String, _: E.Type) throws -> E {
            guard let e = E(rawValue: try value(key)) else {
                throw DescriptionError(message: "\(key) must be one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), got \(jsonString(try value(key)))")
            }
            return e
        }
        func sizes() throws -> [Int] {
            let text = try value("sizes")
            let sizes = text.split(separator: ",", omittingEmptySubsequences: false).compactMap { Int($0) }.filter { (1 ... 1 << 20).contains($0) }
            guard sizes.count >= 2, sizes.count == text.split(separator: ",", omittingEmptySubsequences: false).count else {
                throw DescriptionError(message: "sizes must be two or more comma-separated integers in 1…\(1 << 20), got \(jsonString(text))")
            }
            return sizes
        }
        /// The (rows, columns) of the model's matrices, to price it before it is built.
        func widths() throws -> [(Int, Int)] {
            switch try value("model") {
            case "rnn":
                let (n, input, output) = (try int("hidden"), try int("input"), try int("output"))
                return [(n, n), (n, input), (n, output)]
            case "mlp", "dense_mlp":
                let sizes = try self.sizes()
                return Array(zip(sizes, sizes.dropFirst()))
            case "svd_linear": return [(try int("in"), try int("out"))]
            case let other: throw DescriptionError(message: "model must be rnn, mlp, dense_mlp or svd_linear, got \(jsonString(other))")
            }
        }
    }

    /// The model a description describes, freshly initialized.
    static func build<T: TensorScalar>(_ f: Fields, _: T.Type) throws -> any Trainable<T> {
        var rng = Random(seed: 0)   // every parameter is then overwritten from the file
        do {
            switch try f.value("model") {
            case "rnn":
                let cell = try f.choice("cell", Cell.self)
                let gated = cell == .lstm || cell == .gru
                let options = Cell.Options(reflectors: cell == .spectral || cell == .orthogonal ? try f.int("reflectors") : 1,
                                           sigmaStar: cell == .spectral ? try f.double("sigma_star") : 1,
                                           r: cell == .spectral ? try f.double("r") : 0.01,
                                           activation: gated ? .relu : try f.choice("activation", Activation.self))
                let model = try cell.model(T.self, input: f.int("input"), hidden: f.int("hidden"), output: f.int("output"),
                                           readout: f.choice("readout", ReadoutLayer<T>.Mode.self), options: options, rng: &rng)
                model.carriesState = try f.bool("stateful")
                if let m = model as? RecurrentNetwork<T>, cell != .rnn { m.recurrence = try f.choice("recurrence", RecurrentNetwork<T>.Recurrence.self) }
                guard let trainable = model as? any Trainable<T> else { throw DescriptionError(message: "a \(cell) model is not trainable") }
                return trainable
            case "mlp":
                let k = try f.int("reflectors", 0 ... 1 << 20)
                return try MLP<T>(sizes: f.sizes(), activation: f.choice("activation", Activation.self),
                                          options: .init(reflectorsU: k, reflectorsV: k, sigmaStar: f.double("sigma_star"), r: f.double("r"), bias: f.bool("bias")),
                                          rng: &rng)
            case "dense_mlp":
                return try MLP<T>(sizes: f.sizes(), activation: f.choice("activation", Activation.self), dense: .glorot, bias: f.bool("bias"), rng: &rng)
            case "svd_linear":
                return try SVDLinear<T>(inFeatures: f.int("in"), outFeatures: f.int("out"),
                                        options: .init(reflectorsU: f.int("reflectors_u", 0 ... 1 << 20), reflectorsV: f.int("reflectors_v", 0 ... 1 << 20),
                                                       sigmaStar: f.double("sigma_star"), r: f.double("r"), bias: f.bool("bias")),
                                        rng: &rng)
            case let other:
                throw DescriptionError(message: "model must be rnn, mlp, dense_mlp or svd_linear, got \(jsonString(other))")
            }
        } catch let e as TensorError {
            throw DescriptionError(message: "its description does not make a model: \(e)")
        }
    }
}
