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

    static let fromTorchOptions = LuaOptions("lab.models.from_torch", [
        .init("cell", .choice(["rnn", "lstm", "gru"]), required: true, help: "the module the state_dict is of: nn.RNN (rnn), nn.LSTM, nn.GRU"),
        .init("readout", .choice(["last", "all"]), default: "last", help: "the Linear readout reads the last step or every step"),
        .init("activation", .choice(["tanh", "relu"]), defaultText: "the file's (from export_torch)", help: "nn.RNN's nonlinearity (a state_dict does not record it)",
              only: ("cell", ["rnn"])),
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
            let options = TorchStateDict.ImportOptions(
                cell: try o.choice("cell", Cell.self), readout: try o.choice("readout"),
                activation: o.isGiven("activation") ? try o.choice("activation", Activation.self) : nil,
                recurrentPrefix: try o.string("prefix"), readoutPrefix: try o.string("readout_prefix"))
            let fileDType = file.tensors.first.map { $0.tensor.dtypeName } ?? Float.dtypeName
            let dtype = try DType(lua: o.isGiven("dtype") ? o.string("dtype") : fileDType)
            func make<T: TensorScalar>(_: T.Type) throws -> LuaValue {
                do {
                    let model = try TorchStateDict.model(T.self, from: tensors, metadata: file.metadata, options: options)
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
