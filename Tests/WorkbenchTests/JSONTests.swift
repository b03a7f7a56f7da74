import Foundation
import LuaBridge
import SpectralNumerics
import Testing
@testable import Workbench

/// Resume reads back the numbers a run saved: every double must come back bit for bit.
@Suite struct JSONTests {
    @Test func everyDoubleRoundTripsBitForBit() throws {
        var rng = Random(seed: 7)
        var inexact: [Double] = []
        // 10^6 doubles: random bit patterns (every exponent), a quarter of them subnormal, and the edges.
        var values: [Double] = [0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude,
                                .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1, 0.1, 1e23, 5e-324, 2.2250738585072009e-308]
        for k in 0 ..< 1_000_000 - values.count {
            var bits = rng.next()
            if k % 4 == 0 { bits &= 0x800F_FFFF_FFFF_FFFF }   // exponent 0: subnormal
            let d = Double(bitPattern: bits)
            values.append(d.isFinite ? d : Double(bitPattern: bits & 0x7FEF_FFFF_FFFF_FFFF))
        }
        // One array per 10 000, as a checkpoint holds them.
        for start in stride(from: 0, to: values.count, by: 10_000) {
            let chunk = values[start ..< start + 10_000]
            let text = JSON.encode(.table(LuaTable(array: chunk.map { .number($0) })))
            guard case .table(let t) = try JSONReader.parse(text) else { Issue.record("not an array"); return }
            for (d, v) in zip(chunk, t.array) where v.double?.bitPattern != d.bitPattern { inexact.append(d) }
        }
        #expect(inexact.isEmpty, "\(inexact.count) inexact, e.g. \(inexact.prefix(3))")
    }

    @Test func integersStayIntegersAndTextIsChecked() throws {
        let v = try JSONReader.parse(#" {"a": 3, "b": -3.0, "c": 9223372036854775807, "d": 1e2, "e": "\u00e9\ud83d\ude00\n", "f": [true, null], "g": null} "#)
        #expect(v.table?["a"] == .integer(3))
        #expect(v.table?["b"] == .number(-3))
        #expect(v.table?["c"] == .integer(.max))
        #expect(v.table?["d"] == .number(100))
        #expect(v.table?["e"] == .string("é😀\n"))
        #expect(v.table?["f"].table?.array.count == 2)
        #expect(v.table?["g"] == .nil)
        // Past Int64: a double, not a trap.
        #expect(try JSONReader.parse("18446744073709551615") == .number(18446744073709551615))
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\ud800\"", "\"a\u{1}\"", "{\"a\":1,\"a\":2}",
                    "tru", "1 2", String(repeating: "[", count: 600) + String(repeating: "]", count: 600)] {
            #expect(throws: RunDirectoryError.self, "\(bad)") { try JSONReader.parse(bad) }
        }
    }
}
