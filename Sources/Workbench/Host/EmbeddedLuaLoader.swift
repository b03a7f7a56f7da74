import LuaBridge
import LuaShim

extension EmbeddedLua {
    /// Runs one of the embedded files (chunk name "@lab/train.lua", so tracebacks say where).
    @discardableResult
    static func run(_ name: String, in state: LuaState) throws -> [LuaValue] {
        guard let code = files[name] else { throw LuaError.runtime("no embedded Lua file \(name)") }
        // Errors raised in the Swift functions it calls are reported at the script's line.
        slab_mark_own_chunk(state.L, "@" + name)
        return try state.run(code, chunkName: "@" + name)
    }
}
