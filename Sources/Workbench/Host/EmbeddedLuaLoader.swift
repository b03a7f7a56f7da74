import LuaBridge

extension EmbeddedLua {
    /// Runs one of the embedded files (chunk name "@lab/train.lua", so messages say where).
    @discardableResult
    static func run(_ name: String, in state: LuaState) throws -> [LuaValue] {
        guard let code = files[name] else { throw LuaError.runtime("no embedded Lua file \(name)") }
        return try state.run(code, chunkName: "@" + name)
    }
}
