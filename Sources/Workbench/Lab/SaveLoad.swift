import LuaBridge
import SpectralNumerics

/// lab.save and lab.load: tensors to and from safetensors files (what PyTorch and numpy users read
/// with the `safetensors` package).
enum LuaCheckpoint {
    static func install(into lab: inout LuaModule, session: LabSession) {
        lab.function("save", "lab.save(path, {name = tensor, ...} [, {key = \"value\"}]): writes the tensors (and string metadata) to a safetensors file, atomically") { [unowned session] args in
            let path = try args.string(1)
            try session.checkWrite(path, by: "lab.save")
            let entries = try args.table(2)
            guard entries.array.isEmpty else { throw LuaError.argument(index: 2, message: "a table of name = tensor pairs expected, not a list") }
            var tensors: [(name: String, tensor: AnyTensor)] = []
            for (name, value) in entries.namedFields {
                switch value {
                case .object(let o as Tensor<Float>): tensors.append((name, .float(o)))
                case .object(let o as Tensor<Double>): tensors.append((name, .double(o)))
                default: throw LuaError.argument(index: 2, message: "'\(name)' is a \(value.typeName), not a tensor")
                }
            }
            if entries.fields.count != entries.namedFields.count {
                throw LuaError.argument(index: 2, message: "tensor names must be strings")
            }
            var metadata: [String: String] = [:]
            for (key, value) in try args.table(3, default: [:]).namedFields {
                guard let s = value.string else { throw LuaError.argument(index: 3, message: "metadata '\(key)' must be a string") }
                metadata[key] = s
            }
            do { try Safetensors.save(tensors, metadata: metadata, to: path) } catch {
                throw LuaError.runtime("lab.save: \(error)")
            }
            return []
        }
        lab.function("load", "lab.load(path): the tensors of a safetensors file as {name = tensor, ...}, and its metadata table") { [unowned session] args in
            let path = try args.string(1)
            try session.checkRead(path, by: "lab.load")
            let loaded: (tensors: [(name: String, tensor: AnyTensor)], metadata: [String: String])
            do { loaded = try Safetensors.load(path) } catch { throw LuaError.runtime("lab.load: \(error)") }
            var t = LuaTable(array: [])
            for (name, tensor) in loaded.tensors {
                switch tensor {
                case .float(let f): t[name] = .object(f)
                case .double(let d): t[name] = .object(d)
                }
            }
            var m = LuaTable(array: [])
            for (k, v) in loaded.metadata { m[k] = .string(v) }
            return [.table(t), .table(m)]
        }
    }
}
