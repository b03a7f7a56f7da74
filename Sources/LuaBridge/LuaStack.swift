import CLua
import LuaShim

// Moving values between Swift and the Lua stack. Every call here is one that cannot raise a Lua error
// (other than running out of memory): no metamethods, no lua_tolstring on numbers, no NaN or nil keys.

/// Tables deeper than this are refused when copied into Swift (it also catches cycles).
let maxTableDepth = 100
/// Values copied into Swift from one table at most. A subtable that appears n times is copied n
/// times, so a few tables that refer to each other can stand for billions of nodes: refused.
let maxTableNodes = 1 << 18

extension LuaState {
    /// Pushes a Swift value. Throws (having pushed nothing usable) for a table with a NaN key.
    static func push(_ value: LuaValue, on L: OpaquePointer) throws {
        guard lua_checkstack(L, 3) != 0 else { throw LuaError.runtime("Lua stack overflow") }
        switch value {
        case .nil: lua_pushnil(L)
        case .boolean(let b): lua_pushboolean(L, b ? 1 : 0)
        case .integer(let i): lua_pushinteger(L, lua_Integer(i))
        case .number(let d): lua_pushnumber(L, d)
        case .string(let s):
            var s = s
            s.withUTF8 { buf in _ = lua_pushlstring(L, buf.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, buf.count) }
        case .table(let t):
            lua_createtable(L, Int32(clamping: t.array.count), Int32(clamping: t.fields.count))
            for (i, v) in t.array.enumerated() {
                try push(v, on: L)
                lua_rawseti(L, -2, lua_Integer(i + 1))
            }
            for (k, v) in t.fields {
                if case .number(let d) = k, d.isNaN { throw LuaError.runtime("table key is NaN") }
                try push(k.value, on: L)
                try push(v, on: L)
                lua_rawset(L, -3)
            }
        case .object(let o):
            pushObject(o, on: L)
        case .ref(let r):
            guard r.belongs(to: L) else { throw LuaError.runtime("a Lua value from another Lua state") }
            lua_rawgeti(L, slab_registryindex(), lua_Integer(r.ref))
        }
    }

    /// Reads the value at `index` (tables are copied, deeply).
    static func value(at index: Int32, on L: OpaquePointer) throws -> LuaValue {
        var visiting = Set<UnsafeRawPointer>()
        var budget = maxTableNodes
        return try value(at: lua_absindex(L, index), on: L, depth: 0, visiting: &visiting, budget: &budget)
    }

    private static func value(at index: Int32, on L: OpaquePointer, depth: Int,
                              visiting: inout Set<UnsafeRawPointer>, budget: inout Int) throws -> LuaValue {
        budget -= 1
        guard budget >= 0 else {
            throw LuaError.runtime("table is too large to copy into Swift (more than \(maxTableNodes) values, counting a subtable each time it appears)")
        }
        switch lua_type(L, index) {
        case LUA_TNONE, LUA_TNIL: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return .integer(Int(lua_tointegerx(L, index, nil))) }
            return .number(lua_tonumberx(L, index, nil))
        case LUA_TSTRING: return .string(string(at: index, on: L))
        case LUA_TTABLE:
            guard let p = lua_topointer(L, index) else { return .nil }
            guard depth < maxTableDepth, !visiting.contains(p) else {
                throw LuaError.runtime("table is cyclic or nested deeper than \(maxTableDepth) levels")
            }
            visiting.insert(p)
            defer { visiting.remove(p) }
            return .table(try table(at: index, on: L, depth: depth, visiting: &visiting, budget: &budget))
        case LUA_TUSERDATA:
            if let o = object(at: index, on: L) { return .object(o) }
            return .ref(LuaRef(at: index, on: L))
        default:
            return .ref(LuaRef(at: index, on: L))
        }
    }

    private static func table(at index: Int32, on L: OpaquePointer, depth: Int,
                              visiting: inout Set<UnsafeRawPointer>, budget: inout Int) throws -> LuaTable {
        guard lua_checkstack(L, 4) != 0 else { throw LuaError.runtime("Lua stack overflow") }
        var raw: [(LuaKey, LuaValue)] = []
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            let key: LuaKey
            switch lua_type(L, -2) {
            case LUA_TBOOLEAN: key = .boolean(lua_toboolean(L, -2) != 0)
            case LUA_TSTRING: key = .string(string(at: -2, on: L))
            case LUA_TNUMBER:
                key = lua_isinteger(L, -2) != 0 ? .integer(Int(lua_tointegerx(L, -2, nil)))
                    : .number(lua_tonumberx(L, -2, nil))
            default:
                let name = String(cString: lua_typename(L, lua_type(L, -2)))
                slab_pop(L, 2)
                throw LuaError.runtime("table has a key of type \(name), which cannot be copied into Swift")
            }
            let v: LuaValue
            do { v = try value(at: lua_gettop(L), on: L, depth: depth + 1, visiting: &visiting, budget: &budget) } catch {
                slab_pop(L, 2)
                throw error
            }
            raw.append((key, v))
            slab_pop(L, 1)
        }
        return LuaTable(entries: raw)
    }

    /// The bytes of the string at index (call only when lua_type is LUA_TSTRING).
    static func bytes(at index: Int32, on L: OpaquePointer) -> [UInt8] {
        var n = 0
        guard let p = lua_tolstring(L, index, &n) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }

    static func string(at index: Int32, on L: OpaquePointer) -> String {
        var n = 0
        guard let p = lua_tolstring(L, index, &n) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)
    }

    /// Lua's name for the type at index, with __name for userdata (as luaL_typeerror does).
    static func typeName(at index: Int32, on L: OpaquePointer) -> String {
        let t = lua_type(L, index)
        if t == LUA_TNONE { return "no value" }
        if t == LUA_TUSERDATA, lua_getmetatable(L, index) != 0 {
            lua_pushstring(L, "__name")
            let isString = lua_rawget(L, -2) == LUA_TSTRING
            let name = isString ? string(at: -1, on: L) : nil
            slab_pop(L, 2)
            if let name { return name }
        }
        return String(cString: lua_typename(L, t))
    }
}
