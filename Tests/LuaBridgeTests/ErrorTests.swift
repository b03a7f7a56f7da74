import Testing
import LuaBridge

@Suite struct ErrorTests {
    @Test func argumentErrorsReadLikeLuasOwn() throws {
        let s = try makeState()
        let r = try s.run("""
            local ok, err = pcall(function()
              return t.add(1, "x")
            end)
            return ok, err
            """, chunkName: "=test")
        #expect(r[0] == false)
        #expect(r[1] == "test:2: bad argument #2 to 'add' (number expected, got string)")
        let missing = try s.run("return pcall(t.add, 1)")
        #expect(missing[1] == "bad argument #2 to 't.add' (number expected, got no value)")
        let notInt = try s.run("return select(2, pcall(t.counter, 1.5))")
        #expect(notInt[0] == "bad argument #1 to 't.counter' (number has no integer representation)")
    }

    @Test func methodArgumentsAreNumberedAsLuaDoes() throws {
        let s = try makeState()
        let r = try s.run("""
            local c = t.counter(1)
            local ok, err = pcall(function() return c:add("x") end)
            local ok2, err2 = pcall(function() return c.add(42, 1) end)
            return err, err2
            """, chunkName: "=m")
        #expect(r[0] == "m:2: bad argument #1 to 'add' (number expected, got string)")
        #expect(r[1] == "m:3: bad argument #1 to 'add' (test.Counter expected, got number)")
    }

    @Test func runtimeErrorsCarryTheCallersPosition() throws {
        let s = try makeState()
        let r = try s.run("""
            local ok, err = pcall(function()

              t.fail("boom")
            end)
            return err
            """, chunkName: "@script.lua")
        #expect(r == ["script.lua:3: boom"])
    }

    @Test func errorsInLuaCallbacksPassThroughSwiftUnchanged() throws {
        let s = try makeState()
        let r = try s.run("""
            return pcall(t.call, function() error("inner failure") end)
            """, chunkName: "=cb")
        #expect(r[0] == false)
        #expect(r[1].string?.hasPrefix("cb:1: inner failure") == true)
        // A table error object is turned into text by the traceback handler, not lost.
        let t = try s.run("return pcall(t.call, function() error(setmetatable({}, {__tostring = function() return 'custom' end})) end)")
        #expect(t[1] == "custom")
    }

    @Test func uncaughtErrorsComeBackToSwiftWithATraceback() throws {
        let s = try makeState()
        #expect(throws: LuaError.self) { try s.run("t.fail('x')") }
        do {
            try s.run("local function f() t.fail('deep') end\nf()", chunkName: "@e.lua")
            Issue.record("no error")
        } catch let LuaError.lua(message) {
            #expect(message.hasPrefix("e.lua:1: deep"))
            #expect(message.contains("stack traceback:"))
        }
        do {
            try s.run("x = = 1", chunkName: "=bad")
            Issue.record("no error")
        } catch let LuaError.syntax(message) {
            #expect(message.hasPrefix("bad:1:"))
        }
    }
}
