import CLua
import LuaShim

/// The arguments of one call from Lua into a Swift function, with checks that fail the way Lua's
/// own do: `bad argument #2 to 'f' (number expected, got string)`. Indices are 1-based, as in Lua;
/// for a method, argument 1 is the object.
public struct LuaArgs {
    public let L: OpaquePointer
    public let count: Int

    init(_ L: OpaquePointer) {
        self.L = L
        count = Int(lua_gettop(L))
    }

    /// The state this call runs in.
    public var state: LuaState { LuaState.from(L)! }

    public func isNil(_ i: Int) -> Bool { slab_isnoneornil(L, Int32(i)) != 0 }

    public func typeName(_ i: Int) -> String { LuaState.typeName(at: Int32(i), on: L) }

    /// Any value, tables copied deeply.
    public func value(_ i: Int) throws -> LuaValue {
        do { return try LuaState.value(at: Int32(i), on: L) } catch let LuaError.runtime(m) {
            throw LuaError.argument(index: i, message: m)
        }
    }

    public func number(_ i: Int) throws -> Double {
        var ok: Int32 = 0
        let d = lua_tonumberx(L, Int32(i), &ok)
        // Like luaL_checknumber, numeric strings convert; unlike it, we never touch the stack slot.
        guard ok != 0 else { throw LuaError.type(i, expected: "number", got: typeName(i)) }
        return d
    }

    public func integer(_ i: Int) throws -> Int {
        var ok: Int32 = 0
        let n = lua_tointegerx(L, Int32(i), &ok)
        guard ok != 0 else {
            if lua_type(L, Int32(i)) == LUA_TNUMBER {
                throw LuaError.argument(index: i, message: "number has no integer representation")
            }
            throw LuaError.type(i, expected: "number", got: typeName(i))
        }
        return Int(n)
    }

    public func boolean(_ i: Int) throws -> Bool {
        guard lua_type(L, Int32(i)) == LUA_TBOOLEAN else {
            throw LuaError.type(i, expected: "boolean", got: typeName(i))
        }
        return lua_toboolean(L, Int32(i)) != 0
    }

    /// A string argument. Numbers are not converted: lua_tolstring would change the stack slot.
    public func string(_ i: Int) throws -> String {
        guard lua_type(L, Int32(i)) == LUA_TSTRING else {
            throw LuaError.type(i, expected: "string", got: typeName(i))
        }
        return LuaState.string(at: Int32(i), on: L)
    }

    /// The raw bytes of a string argument (Lua strings need not be UTF-8).
    public func bytes(_ i: Int) throws -> [UInt8] {
        guard lua_type(L, Int32(i)) == LUA_TSTRING else {
            throw LuaError.type(i, expected: "string", got: typeName(i))
        }
        return LuaState.bytes(at: Int32(i), on: L)
    }

    public func table(_ i: Int) throws -> LuaTable {
        guard lua_type(L, Int32(i)) == LUA_TTABLE else {
            throw LuaError.type(i, expected: "table", got: typeName(i))
        }
        return try value(i).table!
    }

    public func function(_ i: Int) throws -> LuaRef {
        guard lua_type(L, Int32(i)) == LUA_TFUNCTION else {
            throw LuaError.type(i, expected: "function", got: typeName(i))
        }
        return LuaRef(at: Int32(i), on: L)
    }

    /// A Swift object of class T (checked against T's Lua class name).
    public func object<T: LuaObject>(_ i: Int, _ type: T.Type = T.self) throws -> T {
        if let p = slab_to_object(L, Int32(i), T.luaClass.name),
           let o = Unmanaged<AnyObject>.fromOpaque(p).takeUnretainedValue() as? T {
            return o
        }
        throw LuaError.type(i, expected: T.luaClass.name, got: typeName(i))
    }

    // Optional arguments: nil or absent gives the default.
    public func number(_ i: Int, default d: Double) throws -> Double { isNil(i) ? d : try number(i) }
    public func integer(_ i: Int, default d: Int) throws -> Int { isNil(i) ? d : try integer(i) }
    public func string(_ i: Int, default d: String) throws -> String { isNil(i) ? d : try string(i) }
    public func boolean(_ i: Int, default d: Bool) throws -> Bool { isNil(i) ? d : try boolean(i) }
    public func table(_ i: Int, default d: LuaTable) throws -> LuaTable { isNil(i) ? d : try table(i) }

    /// "file:line" of the Lua code that called this Swift function (empty when not known).
    public var callerPosition: String { position(level: 1) }

    /// "file:line" of the code `level` calls up (1: the caller of this Swift function, 2: its caller).
    public func position(level: Int) -> String {
        luaL_where(L, Int32(level))
        defer { slab_pop(L, 1) }
        let s = LuaState.string(at: -1, on: L)
        return s.hasSuffix(": ") ? String(s.dropLast(2)) : s
    }

    /// Calls a Lua function with some of this call's own arguments as they are (not copied through
    /// Swift, so tables keep their identity and metatables).
    public func call(_ function: LuaRef, forwarding range: ClosedRange<Int>) throws -> [LuaValue] {
        try LuaState.call(function, forwarding: range.map(Int32.init), on: L)
    }

    /// Calls a Lua function from inside this Swift function (on this call's thread).
    public func call(_ function: LuaRef, _ arguments: LuaValue...) throws -> [LuaValue] {
        try LuaState.call(function, arguments, on: L)
    }
}
