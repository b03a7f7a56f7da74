import LuaBridge
import SpectralNumerics

/// JSON text (RFC 8259) read back as Lua values, exactly: a number without a fraction or exponent
/// that fits in 64 bits is an integer, any other number the Double nearest to its decimal text
/// (Swift's `Double(String)` rounds correctly, so every double JSON.number wrote comes back bit for
/// bit; Foundation's JSONSerialization does not: it returned 436 of 2000 random doubles inexact).
/// Resume reads checkpoints, parameters and metrics through this, so a resumed run continues from
/// the very numbers it saved. Duplicate keys and nesting deeper than 512 are errors.
struct JSONReader {
    private let bytes: [UInt8]
    private var i = 0
    private var depth = 0

    static func parse(_ text: String) throws -> LuaValue {
        var r = JSONReader(bytes: Array(text.utf8))
        r.space()
        let v = try r.value()
        r.space()
        guard r.i == r.bytes.count else { throw r.error("text after the value") }
        return v
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func error(_ what: String) -> RunDirectoryError { RunDirectoryError("invalid JSON at byte \(i + 1): \(what)") }

    private var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func space() {
        while let c = peek, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 }
    }

    private mutating func literal(_ word: String, _ v: LuaValue) throws -> LuaValue {
        let w = Array(word.utf8)
        guard bytes.count - i >= w.count, Array(bytes[i ..< i + w.count]) == w else { throw error("unexpected character") }
        i += w.count
        return v
    }

    private mutating func value() throws -> LuaValue {
        switch peek {
        case UInt8(ascii: "{")?: return try object()
        case UInt8(ascii: "[")?: return try array()
        case UInt8(ascii: "\"")?: return .string(try string())
        case UInt8(ascii: "t")?: return try literal("true", .boolean(true))
        case UInt8(ascii: "f")?: return try literal("false", .boolean(false))
        case UInt8(ascii: "n")?: return try literal("null", .nil)
        case let c? where c == UInt8(ascii: "-") || (0x30 ... 0x39).contains(c): return try number()
        case nil: throw error("unexpected end")
        default: throw error("unexpected character")
        }
    }

    private mutating func nest() throws {
        depth += 1
        guard depth <= 512 else { throw error("nested deeper than 512") }
    }

    private mutating func object() throws -> LuaValue {
        try nest()
        defer { depth -= 1 }
        i += 1
        var t = LuaTable(array: [])
        space()
        if peek == UInt8(ascii: "}") { i += 1; return .table(t) }
        while true {
            space()
            guard peek == UInt8(ascii: "\"") else { throw error("a key (a string) expected") }
            let key = try string()
            space()
            guard peek == UInt8(ascii: ":") else { throw error("':' expected") }
            i += 1
            space()
            guard t.fields[.string(key)] == nil else { throw error("duplicate key \(jsonString(key))") }
            let v = try value()
            // null members are absent, as a Lua table has no nil fields.
            if !v.isNil { t.fields[.string(key)] = v }
            space()
            switch peek {
            case UInt8(ascii: ",")?: i += 1
            case UInt8(ascii: "}")?: i += 1; return .table(t)
            default: throw error("',' or '}' expected")
            }
        }
    }

    private mutating func array() throws -> LuaValue {
        try nest()
        defer { depth -= 1 }
        i += 1
        var items: [LuaValue] = []
        space()
        if peek == UInt8(ascii: "]") { i += 1; return .table(LuaTable(array: items)) }
        while true {
            space()
            items.append(try value())
            space()
            switch peek {
            case UInt8(ascii: ",")?: i += 1
            case UInt8(ascii: "]")?: i += 1; return .table(LuaTable(array: items))
            default: throw error("',' or ']' expected")
            }
        }
    }

    private mutating func number() throws -> LuaValue {
        let start = i
        var integral = true
        if peek == UInt8(ascii: "-") { i += 1 }
        func digits() -> Int {
            let s = i
            while let c = peek, (0x30 ... 0x39).contains(c) { i += 1 }
            return i - s
        }
        let whole = digits()
        guard whole > 0 else { throw error("a digit expected") }
        guard whole == 1 || bytes[i - whole] != 0x30 else { throw error("a leading zero") }
        if peek == UInt8(ascii: ".") {
            i += 1
            integral = false
            guard digits() > 0 else { throw error("a digit expected after '.'") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            i += 1
            integral = false
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw error("a digit expected in the exponent") }
        }
        let text = String(decoding: bytes[start ..< i], as: UTF8.self)
        if integral, let n = Int(text) { return .integer(n) }
        guard let d = Double(text) else { throw error("number \(text)") }
        return .number(d)
    }

    private mutating func hex4() throws -> UInt32 {
        guard bytes.count - i >= 4, let v = UInt32(String(decoding: bytes[i ..< i + 4], as: UTF8.self), radix: 16) else {
            throw error("four hex digits expected after \\u")
        }
        i += 4
        return v
    }

    private mutating func string() throws -> String {
        i += 1
        var out = [UInt8]()
        while true {
            guard let c = peek else { throw error("unterminated string") }
            i += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else { throw error("a string that is not UTF-8") }
                return s
            case UInt8(ascii: "\\"):
                guard let e = peek else { throw error("unterminated string") }
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var v = try hex4()
                    if (0xD800 ..< 0xDC00).contains(v) {   // a surrogate pair
                        guard peek == UInt8(ascii: "\\"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "u") else {
                            throw error("a lone surrogate")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00 ..< 0xE000).contains(low) else { throw error("a lone surrogate") }
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(v) else { throw error("a lone surrogate") }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw error("unknown escape")
                }
            case 0 ..< 0x20: throw error("a control character in a string")
            default: out.append(c)
            }
        }
    }
}
