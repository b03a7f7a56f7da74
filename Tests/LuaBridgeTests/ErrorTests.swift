import Foundation
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

/// Bytecode can crash Lua: load, loadfile, dofile and require take text chunks only.
@Suite struct TextChunksTests {
    @Test func binaryChunksAreRefusedEverywhere() throws {
        let s = try makeState()
        let path = NSTemporaryDirectory() + "chunk-\(UUID().uuidString).luac"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try s.run("""
            local bytes = string.dump(function() return 1 end)
            local f = assert(io.open("\(path)", "wb")); f:write(bytes); f:close()
            local a = select(2, load(bytes, "m", "b"))
            local b = select(2, load(bytes))
            local c = select(2, loadfile("\(path)", "b"))
            local d = select(2, pcall(dofile, "\(path)"))
            package.path = "\(NSTemporaryDirectory())?.luac"
            local e = select(2, pcall(require, "\(URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)"))
            return a, b, c, d, e, load("return 1 + 1")()
            """)
        for i in 0 ..< 5 { #expect(r[i].string?.contains("attempt to load a binary chunk (mode is 't')") == true, "\(i): \(r[i])") }
        #expect(r[5] == 2)
    }
}

/// Lua's allocator fails only where a failure can be raised safely: in Lua code under a protected
/// call. A Swift function that goes over the limit finishes, and the error is raised after it returns.
@Suite struct HeapLimitTests {
    @Test func luaCodeOverTheLimitGetsNotEnoughMemory() throws {
        let s = try makeState()
        s.collectGarbage()
        s.heapLimit = s.heapUsed + (4 << 20)
        let r = try s.run("""
            return pcall(function() local t = {} for i = 1, 1e8 do t[i] = i end end)
            """)
        #expect(r[0] == false)
        #expect(r[1].string?.contains("not enough memory") == true)
        s.heapLimit = nil
        s.collectGarbage()
        #expect(try s.run("return 1 + 1") == [2])
    }

    @Test func aSwiftFunctionOverTheLimitFinishesThenTheCallerGetsTheError() throws {
        let s = try makeState()
        s.collectGarbage()
        s.heapLimit = s.heapUsed + (4 << 20)
        let small = try s.run("return #t.list(1000)")
        #expect(small == [1000])
        let r = try s.run("return pcall(t.list, 1000000)", chunkName: "@heap.lua")
        #expect(r[0] == false)
        #expect(r[1] == "not enough memory")
        let placed = try s.run("""
            local ok, err = pcall(function()
              return t.list(1000000)
            end)
            return err
            """, chunkName: "@heap.lua")
        #expect(placed == ["heap.lua:2: not enough memory"])
        s.heapLimit = nil
        s.collectGarbage()
        #expect(try s.run("return #t.list(1000000)") == [1000000])
    }
}
