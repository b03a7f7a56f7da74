import LuaBridge
import SpectralNumerics

// Model files for Lua: model:save(path) and model:export_torch(path) on every model and layer,
// lab.models.load(path) and lab.models.from_torch(path, {...}).

extension LuaArgs {
    /// The session running this state (its sandbox decides what a method may write).
    var session: LabSession {
        get throws {
            guard let s = state.host as? LabSession else { throw LuaError.runtime("no workbench session runs this Lua state") }
            return s
        }
    }
}

enum LuaModelFiles {
    static let saveDoc = "save(path): writes the parameters and the model's description (cell, sizes, options, dtype) to one safetensors file, atomically; lab.models.load(path) rebuilds it"

    /// The `save` method of a model or layer class.
    static func declareSave<M: Trainable & LuaObject>(_ c: LuaClass<M>, _ receiver: String) {
        c.method("save", "\(receiver):\(saveDoc)") { m, args in
            let path = try args.string(2)
            try args.session.checkWrite(path, by: "\(receiver):save")
            do { try ModelFile.save(m, to: path, software: Lab.version) } catch { throw LuaError.runtime("\(receiver):save: \(error)") }
            return []
        }
    }

    /// The `export_torch` method of a model or layer class.
    static func declareExportTorch<M: Trainable & LuaObject>(_ c: LuaClass<M>, _ receiver: String) {
        c.method("export_torch", "\(receiver):export_torch(path): writes a safetensors file in the state_dict layout of the equivalent PyTorch module (nn.RNN with W materialized, nn.LSTM, nn.GRU, each with a Linear readout; nn.Linear; nn.Sequential): docs/interop.md") { m, args in
            let path = try args.string(2)
            try args.session.checkWrite(path, by: "\(receiver):export_torch")
            let warning: String?
            do { warning = try TorchStateDict.save(m, to: path) } catch { throw LuaError.runtime("\(receiver):export_torch: \(error)") }
            if let warning { Console.error("spectral-lab: warning: \(receiver):export_torch: \(warning)") }
            return []
        }
    }

    static func assignOptions(_ receiver: String) -> LuaOptions {
        LuaOptions("\(receiver):assign", [
            .init("strict", .boolean, default: false, help: "refuse singular values outside [sigma_star − r, sigma_star + r] instead of clipping them into it"),
        ])
    }

    /// The `assign` method: the layer's matrix (a model's recurrent W) set to a given one,
    /// factored into the reflectors and Σ (SVDLinear.assign); a clip is warned of.
    static func declareAssign<M: Trainable & LuaObject>(_ c: LuaClass<M>, _ receiver: String, doc: String,
                                                      _ assign: @escaping @Sendable (M, Tensor<M.Scalar>, Bool) throws -> (AssignReport, band: ClosedRange<Double>)) {
        let declaration = assignOptions(receiver)
        c.method("assign", "\(receiver):assign(W [, {strict = false}]): \(doc)") { m, args in
            let w = try args.tensor(2, M.Scalar.self)
            let strict = try args.options(3, declaration).bool("strict")
            do {
                let (report, band) = try assign(m, w, strict)
                if let why = report.describe(band: band) { Console.error("spectral-lab: warning: \(receiver):assign: \(why)") }
            } catch let e as TensorError { throw LuaError.runtime("\(receiver):assign: \(e)") }
            return []
        }
    }

    static let fromTorchOptions = LuaOptions("lab.models.from_torch", [
        .init("cell", .choice(LuaModels.cells), required: true, help: "the model to make: rnn, lstm, gru from nn.RNN, nn.LSTM, nn.GRU; spectral or orthogonal from an nn.RNN, its W factored (model:assign)"),
        .init("readout", .choice(["last", "all"]), default: "last", help: "the Linear readout reads the last step or every step"),
        .init("activation", .choice(["tanh", "relu"]), defaultText: "the file's (from export_torch)", help: "nn.RNN's nonlinearity (a state_dict does not record it)",
              only: ("cell", ["rnn", "spectral", "orthogonal"])),
        .init("reflectors", .integer(1 ... LuaModels.maxWidth), defaultText: "hidden", help: "reflectors per factor W is factored into",
              only: ("cell", ["spectral", "orthogonal"])),
        .init("sigma_star", .number(0, .greatestFiniteMagnitude, exclusiveLow: true), default: 1, help: "centre of the singular-value band", only: ("cell", ["spectral"])),
        .init("r", .number(0, .greatestFiniteMagnitude), default: 0.01, help: "half-width of the band; W's singular values outside it are clipped (with a warning)", only: ("cell", ["spectral"])),
        .init("strict", .boolean, default: false, help: "refuse singular values outside the band instead of clipping them", only: ("cell", ["spectral"])),
        .init("prefix", .string, default: "", help: "the recurrent module's key prefix (\"rnn.\" for a module kept as self.rnn)"),
        .init("readout_prefix", .string, default: "readout.", help: "the Linear readout's key prefix"),
        .init("dtype", .choice(["float32", "float64", "float", "double"]), defaultText: "the file's", help: "element type of the model"),
    ])

    static func install(into m: inout LuaModule, session: LabSession) {
        m.function("from_torch", "lab.models.from_torch(path, {cell=, ...}): an rnn, lstm or gru model from a PyTorch state_dict saved with safetensors.torch.save_file (one layer, time first, a Linear readout): the same outputs", options: fromTorchOptions, at: 2) { [unowned session] args, o in
            let path = try args.string(1)
            try session.checkRead(path, by: "lab.models.from_torch")
            let file: (tensors: [(name: String, tensor: AnyTensor)], metadata: [String: String])
            do { file = try Safetensors.load(path) } catch { throw LuaError.runtime("lab.models.from_torch: \(error)") }
            let tensors = Dictionary(file.tensors.map { ($0.name, $0.tensor) }) { a, _ in a }
            var options = TorchStateDict.ImportOptions(
                cell: try o.choice("cell", Cell.self), readout: try o.choice("readout"),
                activation: o.isGiven("activation") ? try o.choice("activation", Activation.self) : nil,
                recurrentPrefix: try o.string("prefix"), readoutPrefix: try o.string("readout_prefix"))
            options.reflectors = try o.optionalInt("reflectors")
            if options.cell == .spectral {
                try LuaModels.checkBand(o)
                (options.sigmaStar, options.r, options.strict) = (try o.double("sigma_star"), try o.double("r"), try o.bool("strict"))
            }
            let fileDType = file.tensors.first.map { $0.tensor.dtypeName } ?? Float.dtypeName
            let dtype = try DType(lua: o.isGiven("dtype") ? o.string("dtype") : fileDType)
            func make<T: TensorScalar>(_: T.Type) throws -> LuaValue {
                do {
                    let (model, clipping) = try TorchStateDict.model(T.self, from: tensors, metadata: file.metadata, options: options)
                    if let why = clipping.describe(band: (options.sigmaStar - options.r) ... (options.sigmaStar + options.r)) {
                        Console.error("spectral-lab: warning: lab.models.from_torch: \(why)")
                    }
                    return .object(try luaObject(model))
                } catch let e as TensorError { throw LuaError.runtime("lab.models.from_torch: \(path): \(e)") }
            }
            return [dtype == .float32 ? try make(Float.self) : try make(Double.self)]
        }
        m.function("load", "lab.models.load(path): the model or layer a file from model:save (or a checkpoint) holds, rebuilt with its parameters") { [unowned session] args in
            let path = try args.string(1)
            try session.checkRead(path, by: "lab.models.load")
            let loaded: ModelFile.Loaded
            do {
                loaded = try ModelFile.load(path) { widths, dtype in
                    // The description is priced before anything is built (it may ask for more than the file holds).
                    try LuaModels.reserveModel(widths, dtype: DType(lua: dtype), what: "the model in \(path)", session: session)
                }
            } catch let e as TensorError { throw LuaError.runtime("lab.models.load: \(e)") }
            catch let e as SafetensorsError { throw LuaError.runtime("lab.models.load: \(e)") }
            switch loaded {
            case .float(let model): return [.object(try luaObject(model))]
            case .double(let model): return [.object(try luaObject(model))]
            }
        }
    }

    private static func luaObject(_ model: AnyObject) throws -> any LuaObject {
        guard let object = model as? any LuaObject else { throw LuaError.runtime("lab.models.load: a \(type(of: model)) has no Lua class") }
        return object
    }
}
