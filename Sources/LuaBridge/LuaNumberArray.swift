import CLua
import LuaShim

extension LuaArgs {
    /// The nested table of numbers at argument i (a number alone is rank 0) as a row-major shape and
    /// its values, read straight from the Lua table rather than copied as LuaValue (which a
    /// million-entry matrix would make slow, and a table budget would refuse). The shape is that of
    /// the first element at each depth; `reserve` gets the element count, overflow-checked, before
    /// anything is stored, so a caller can price it. A subtable that appears twice is read twice,
    /// as the shape says. Errors name the element: "element[2][1] is a string, not a number".
    public func numberArray(_ i: Int, reserve: (Int) throws -> Void) throws -> (shape: [Int], values: [Double]) {
        let index = Int32(i)
        func fail(_ message: String) -> LuaError { .argument(index: i, message: message) }
        guard lua_checkstack(L, Int32(maxTableDepth) + 4) != 0 else { throw fail("Lua stack overflow") }
        guard lua_type(L, index) == LUA_TTABLE || lua_type(L, index) == LUA_TNUMBER else {
            throw LuaError.type(i, expected: "number or table of numbers", got: typeName(i))
        }
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }

        // The shape: follow element 1 down to a number.
        var shape: [Int] = []
        lua_pushvalue(L, index)
        while lua_type(L, -1) == LUA_TTABLE {
            guard shape.count < maxTableDepth else { throw fail("table nested deeper than \(maxTableDepth) levels") }
            let n = Int(lua_rawlen(L, -1))
            shape.append(n)
            if n == 0 { break }
            lua_rawgeti(L, -1, 1)
        }
        lua_settop(L, top)
        var count = 1
        for n in shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw fail("table of shape \(shape.map(String.init).joined(separator: "×")) has too many elements") }
            count = p
        }
        try reserve(count)

        var values: [Double] = []
        values.reserveCapacity(count)
        var path: [Int] = []
        func element() -> String { path.isEmpty ? "the table" : "element" + path.map { "[\($0)]" }.joined() }
        // The value on top of the stack, at depth `depth` of the shape; pops it.
        func read(depth: Int) throws {
            defer { slab_pop(L, 1) }
            if depth == shape.count {
                guard lua_type(L, -1) == LUA_TNUMBER else {
                    throw fail(lua_type(L, -1) == LUA_TTABLE
                        ? "ragged input: \(element()) is a table, expected a number"
                        : "\(element()) is a \(LuaState.typeName(at: -1, on: L)), not a number")
                }
                values.append(lua_tonumberx(L, -1, nil))
                return
            }
            guard lua_type(L, -1) == LUA_TTABLE else {
                throw fail("ragged input: \(element()) is a \(LuaState.typeName(at: -1, on: L)), expected a table of \(shape[depth])")
            }
            let n = Int(lua_rawlen(L, -1))
            guard n == shape[depth] else { throw fail("ragged input: \(element()) has \(n) elements, expected \(shape[depth])") }
            // Keys besides 1…n (a field, a hole) mean this is not a sequence.
            var keys = 0
            lua_pushnil(L)
            while lua_next(L, -2) != 0 {
                slab_pop(L, 1)
                keys += 1
            }
            guard keys == n else { throw fail("\(element()) has non-sequence keys") }
            for k in stride(from: 1, through: n, by: 1) {
                path.append(k)
                lua_rawgeti(L, -1, lua_Integer(k))
                try read(depth: depth + 1)
                path.removeLast()
            }
        }
        lua_pushvalue(L, index)
        try read(depth: 0)
        return (shape, values)
    }
}
