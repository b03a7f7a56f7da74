import LuaBridge
import SpectralNumerics

// Model files for Lua: model:save(path) on every model and layer, lab.models.load(path).

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

    static func install(into m: inout LuaModule, session: LabSession) {
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

    private static func luaObject<T>(_ model: any Trainable<T>) throws -> any LuaObject {
        guard let object = model as? any LuaObject else { throw LuaError.runtime("lab.models.load: a \(type(of: model)) has no Lua class") }
        return object
    }
}
