import Testing
import LuaBridge

@Suite struct ValueTests {
    @Test func numbersKeepTheirSubtype() throws {
        let s = try makeState()
        let r = try s.run("return 3, 3.0, -7, 2^53, math.mininteger, 0.1")
        #expect(r == [.integer(3), .number(3.0), .integer(-7), .number(9007199254740992), .integer(Int.min), .number(0.1)])
        if case .integer = r[0] {} else { Issue.record("3 came back as \(r[0])") }
        if case .number = r[1] {} else { Issue.record("3.0 came back as \(r[1])") }
        try s.setGlobal("x", .integer(Int.max))
        try s.setGlobal("y", .number(-0.5))
        #expect(try s.run("return math.type(x), x == math.maxinteger, math.type(y), y") ==
                ["integer", true, "float", -0.5])
    }

    @Test func stringsWithNulBytesRoundTrip() throws {
        let s = try makeState()
        try s.setGlobal("z", .string("a\u{0}b\u{0}"))
        #expect(try s.run("return #z, z == 'a\\0b\\0'") == [4, true])
        #expect(try s.run("return t.echo('x\\0y')") == [.string("x\u{0}y")])
        #expect(try s.run("return t.len('\\0\\0\\0'), t.len('\\xff\\xfe')") == [3, 2])
        #expect(try s.run("return t.echo('héllo ✓')") == ["héllo ✓"])
    }

    @Test func nestedTablesBothWays() throws {
        let s = try makeState()
        let value: LuaValue = ["name": "run", "sizes": [1, 2, 3], "deep": ["a": ["b": [true, false]]], "r": 0.01]
        try s.setGlobal("v", value)
        #expect(try s.run("return v.sizes[3], v.deep.a.b[2], #v.sizes, v.r, v.name") == [3, false, 3, 0.01, "run"])
        #expect(try s.global("v") == value)
        let mixed = try s.run("return {10, 20, [5] = 50, x = 'y', [2.5] = 'f', [true] = 't'}")[0].table!
        #expect(mixed.array == [10, 20])
        #expect(mixed.fields == [.integer(5): 50, .string("x"): "y", .number(2.5): "f", .boolean(true): "t"])
        #expect(try s.run("return t.echo({1, {2, {3}}})") == [[1, [2, [3]]]])
    }

    @Test func settingAFieldToNilRemovesIt() {
        var t: LuaTable = ["a": 1, "b": 2]
        t["a"] = .nil
        #expect(t.fields.count == 1 && t["a"].isNil && t.fields[.string("a")] == nil)
    }

    @Test func nilsAndMultipleResults() throws {
        let s = try makeState()
        #expect(try s.run("return select('#', t.echo(nil, nil, 1))") == [3])
        #expect(try s.run("return t.echo()") == [])
        #expect(try s.run("return t.answer, t.sub.twice(4)") == [42, 8.0])
    }

    @Test func cyclicTablesAreErrorsNotCrashes() throws {
        let s = try makeState()
        let r = try s.run("local a = {}; a.self = a; return pcall(t.echo, a)")
        #expect(r[0] == false)
        #expect(r[1].string?.contains("cyclic") == true)
        let deep = try s.run("local a = {}; for i = 1, 500 do a = {a} end; return pcall(t.echo, a)")
        #expect(deep[0] == false)
    }

    @Test func functionsTravelAsReferences() throws {
        let s = try makeState()
        #expect(try s.run("return t.call(function(a, b) return a * b, 'done' end, 6, 7)") == [42, "done"])
        let r = try s.run("local f = function() end; return t.echo(f) == f")
        #expect(r == [true])
    }
}
