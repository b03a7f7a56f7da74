import LuaBridge

/// How the REPL and lab.inspect show values: tables expanded (sequence first, then keys in order),
/// nested tables indented when a line would be too long, cycles and depth cut off, anything with a
/// __tostring shown through it. Written in Lua because it inspects Lua values as they are
/// (metatables included), which a copy into Swift would lose; Swift runs it under pcall.
enum Inspector {
    /// Loads the two Lua functions into a state: (inspect, show).
    static func load(into state: LuaState) throws -> (inspect: LuaRef, show: LuaRef) {
        let r = try EmbeddedLua.run("repl/inspect.lua", in: state)
        guard case .ref(let inspect) = r[0], case .ref(let show) = r[1] else {
            throw LuaError.runtime("inspector did not load")
        }
        return (inspect, show)
    }
}
