import LuaBridge
import Synchronization

/// Live and finalized instance counts, to prove that Lua's collector releases every object once.
let liveCounters = Atomic<Int>(0)
let deinitCounters = Atomic<Int>(0)

/// Used only by the serialized lifetime tests, so that parallel suites cannot disturb the counts.
final class Tracked: LuaObject {
    init() { liveCounters.add(1, ordering: .relaxed) }
    deinit {
        liveCounters.subtract(1, ordering: .relaxed)
        deinitCounters.add(1, ordering: .relaxed)
    }
    static let luaClass = LuaClass<Tracked>("test.Tracked") { c in
        c.method("touch", "touch(): nothing") { _, _ in [] }
    }
}

final class Counter: LuaObject {
    var count: Int
    init(_ count: Int) { self.count = count }

    static let luaClass = LuaClass<Counter>("test.Counter") { c in
        c.method("add", "add(n): adds n and returns the count") { this, args in
            this.count += try args.integer(2)
            return [.integer(this.count)]
        }
        c.property("count") { .integer($0.count) }
        c.tostring { "Counter(\($0.count))" }
        c.meta(.add) { args in
            [.object(Counter(try args.object(1, Counter.self).count + args.object(2, Counter.self).count))]
        }
        c.meta(.len) { args in [.integer(try args.object(1, Counter.self).count)] }
    }
}

/// A state with a `t` module of small functions that exercise the bridge.
func makeState() throws -> LuaState {
    let state = LuaState()
    var t = LuaModule("t")
    t.function("add", "t.add(a, b): a + b") { args in [.number(try args.number(1) + args.number(2))] }
    t.function("echo", "t.echo(...): its arguments, copied through Swift") { args in
        try (0 ..< args.count).map { try args.value($0 + 1) }
    }
    t.function("fail", "t.fail(msg): raises msg from Swift") { args in throw LuaError.runtime(try args.string(1)) }
    t.function("counter", "t.counter(n): a new Counter") { args in [.object(Counter(try args.integer(1, default: 0)))] }
    t.function("call", "t.call(f, ...): calls f from Swift") { args in
        let f = try args.function(1)
        return try LuaState.call(f, (1 ..< args.count).map { try args.value($0 + 1) }, on: args.L)
    }
    t.function("tracked", "t.tracked(): a new Tracked") { _ in [.object(Tracked())] }
    t.function("list", "t.list(n): the table {1, ..., n}, built in Swift") { args in
        [.table(LuaTable(array: (1 ... max(1, try args.integer(1))).map { .integer($0) }))]
    }
    t.function("len", "t.len(s): byte length of s") { args in [.integer(try args.bytes(1).count)] }
    t.value("answer", 42)
    var sub = LuaModule("sub")
    sub.function("twice", "t.sub.twice(x)") { args in [.number(2 * (try args.number(1)))] }
    t.module(sub)
    try state.register(t)
    return state
}
