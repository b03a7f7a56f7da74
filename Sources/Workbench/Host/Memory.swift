import Foundation
import LuaBridge
import LuaShim

/// Memory a script asks for, checked before it is taken: an allocation that fails inside Swift
/// aborts the process, so every size a script controls is priced first (with overflow checks) and
/// the memory tried once; a refusal is a Lua error naming what was asked for.
enum Memory {
    /// The largest single block a script may ask for (one tensor, say).
    static let limit = 1 << 34

    /// n₁·n₂·…·size in bytes, or an error when the product overflows or passes the limit.
    static func bytes(_ counts: [Int], elementSize: Int, for what: @autoclosure () -> String) throws -> Int {
        guard let n = product([elementSize] + counts), n <= limit else {
            throw LuaError.runtime("\(what()) is too large (over \(describe(limit)), the limit for one block of memory)")
        }
        return n
    }

    /// n₁·n₂·… (negative factors count as 0), or nil when it overflows.
    static func product(_ factors: [Int]) -> Int? {
        var n = 1
        for f in factors {
            let (p, overflow) = n.multipliedReportingOverflow(by: Swift.max(f, 0))
            if overflow { return nil }
            n = p
        }
        return n
    }

    /// Tries to take `bytes` now (and gives them back): when that fails, collects Lua's garbage
    /// (dead tensors) and tries once more; then fails with "not enough memory for …".
    static func reserve(_ bytes: Int, for what: @autoclosure () -> String, state: LuaState?) throws {
        guard bytes > 1 << 20 else { return }
        if probe(bytes) { return }
        state?.collectGarbage()
        if probe(bytes) { return }
        throw LuaError.runtime("not enough memory for \(what()) (\(describe(bytes)))")
    }

    /// `reserve` of `bytes(counts, elementSize:)`: what every tensor, table and activation a script
    /// asks for goes through. `what` is built only for a message (tensor arithmetic calls this).
    static func reserve(_ counts: [Int], elementSize: Int, for what: @autoclosure () -> String, state: LuaState?) throws {
        try reserve(bytes(counts, elementSize: elementSize, for: what()), for: what(), state: state)
    }

    private static func probe(_ bytes: Int) -> Bool { slab_memory_available(bytes) != 0 }

    /// "64 GiB", "3.5 MiB".
    static func describe(_ bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var x = Double(bytes), u = 0
        while x >= 1024 && u < units.count - 1 { x /= 1024; u += 1 }
        if u == 0 { return "\(bytes) bytes" }
        return String(format: x >= 10 || x == x.rounded() ? "%.0f" : "%.1f", x) + " " + units[u]
    }
}
