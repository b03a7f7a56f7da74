import LuaBridge

public enum Lab {
    public static let version = "0.1.0"
    /// The linked Lua library's release, e.g. "Lua 5.4.4".
    public static let luaRelease = LuaState.release
}
