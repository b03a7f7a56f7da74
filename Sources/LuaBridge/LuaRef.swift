import CLua
import LuaShim

/// A Lua value kept alive in the registry for Swift: a function to call back later (a schedule, a
/// logging hook), or any value Swift cannot copy. Released when the last Swift reference goes away.
public final class LuaRef {
    let ref: Int32
    /// The Lua type name ("function", "userdata", ...).
    public let typeName: String
    /// The value's identity in Lua (lua_topointer), for equality.
    let identity: UnsafeRawPointer?
    private weak var state: LuaState?

    init(at index: Int32, on L: OpaquePointer) {
        typeName = String(cString: lua_typename(L, lua_type(L, index)))
        identity = lua_topointer(L, index)
        state = LuaState.from(L)
        lua_pushvalue(L, index)
        ref = luaL_ref(L, slab_registryindex())
    }

    deinit {
        if let state { luaL_unref(state.L, slab_registryindex(), ref) }
    }

    func belongs(to L: OpaquePointer) -> Bool {
        state != nil && state === LuaState.from(L)
    }
}
