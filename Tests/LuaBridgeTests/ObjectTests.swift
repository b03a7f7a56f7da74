import Testing
import LuaBridge

// Serialized: the lifetime tests read process-wide instance counters (of Tracked, used nowhere else).
@Suite(.serialized) struct ObjectTests {
    @Test func methodsPropertiesOperatorsAndTostring() throws {
        let s = try makeState()
        let r = try s.run("""
            local c = t.counter(2)
            c:add(3)
            local d = c + t.counter(10)
            return c.count, tostring(c), d.count, #d, c == c, c == d, c.nothing
            """)
        #expect(r == [5, "Counter(5)", 15, 15, true, false, .nil])
    }

    @Test func objectsComeBackToSwiftAsThemselves() throws {
        let s = try makeState()
        let r = try s.run("local c = t.counter(7); return c, t.echo(c) == c")
        guard case .object(let o) = r[0], let c = o as? Counter else { Issue.record("got \(r[0])"); return }
        #expect(c.count == 7)
        #expect(r[1] == true)
    }

    @Test func manyObjectsAreCollectedAndFinalizedOnce() throws {
        let before = deinitCounters.load(ordering: .relaxed)
        do {
            let s = try makeState()
            try s.run("""
                for i = 1, 20000 do local o = t.tracked(); o:touch() end
                keep = t.tracked()
                """)
            s.collectGarbage()
            s.collectGarbage()
            #expect(liveCounters.load(ordering: .relaxed) == 1)     // only `keep`
            // Calling __gc by hand and collecting again must not release twice.
            try s.run("getmetatable(keep).__gc(keep); getmetatable(keep).__gc(keep)")
            #expect(liveCounters.load(ordering: .relaxed) == 0)
            let r = try s.run("return pcall(function() return keep:touch() end)")
            #expect(r[0] == false)
            try s.run("keep = nil")
            s.collectGarbage()
        }
        #expect(liveCounters.load(ordering: .relaxed) == 0)
        #expect(deinitCounters.load(ordering: .relaxed) - before == 20001)
    }

    @Test func closingTheStateReleasesEverything() throws {
        do {
            let s = try makeState()
            try s.run("held = {}; for i = 1, 100 do held[i] = t.tracked() end")
            #expect(liveCounters.load(ordering: .relaxed) == 100)
        }
        #expect(liveCounters.load(ordering: .relaxed) == 0)
    }
}
