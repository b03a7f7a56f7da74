// A Lua value as Swift sees it. Plain data (nil, booleans, numbers, strings, tables) is copied;
// Swift objects travel as themselves; anything else (functions, foreign userdata, coroutines) is
// held by a registry reference so Swift can pass it back or call it later.

public enum LuaValue {
    case `nil`
    case boolean(Bool)
    case integer(Int)      // Lua 5.4's integer subtype
    case number(Double)    // Lua 5.4's float subtype
    case string(String)    // Lua strings that are not valid UTF-8 are decoded with replacement characters
    case table(LuaTable)
    case object(any LuaObject)
    case ref(LuaRef)

    /// The name Lua's `type()` gives this value.
    public var typeName: String {
        switch self {
        case .nil: return "nil"
        case .boolean: return "boolean"
        case .integer, .number: return "number"
        case .string: return "string"
        case .table: return "table"
        case .object: return "userdata"
        case .ref(let r): return r.typeName
        }
    }

    public var isNil: Bool { if case .nil = self { return true } else { return false } }

    /// The number, for both subtypes.
    public var double: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }

    /// The integer, also for a float with an exact integer value (as Lua's math.tointeger).
    public var int: Int? {
        switch self {
        case .integer(let i): return i
        case .number(let d): return Int(exactly: d)
        default: return nil
        }
    }

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var bool: Bool? { if case .boolean(let b) = self { return b } else { return nil } }
    public var table: LuaTable? { if case .table(let t) = self { return t } else { return nil } }
}

extension LuaValue: Equatable {
    public static func == (a: LuaValue, b: LuaValue) -> Bool {
        switch (a, b) {
        case (.nil, .nil): return true
        case let (.boolean(x), .boolean(y)): return x == y
        case let (.integer(x), .integer(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.integer(x), .number(y)), let (.number(y), .integer(x)): return Double(x) == y
        case let (.string(x), .string(y)): return x == y
        case let (.table(x), .table(y)): return x == y
        case let (.object(x), .object(y)): return x === y
        case let (.ref(x), .ref(y)): return x.identity == y.identity
        default: return false
        }
    }
}

extension LuaValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .nil }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: LuaValue...) { self = .table(LuaTable(array: elements)) }
    public init(dictionaryLiteral elements: (String, LuaValue)...) {
        var t = LuaTable(array: [], fields: [:])
        for (k, v) in elements { t[k] = v }
        self = .table(t)
    }
}

/// Keys a table can have as data (Lua forbids nil and NaN keys).
public enum LuaKey: Hashable, Comparable {
    case boolean(Bool)
    case integer(Int)
    case number(Double)
    case string(String)

    public var value: LuaValue {
        switch self {
        case .boolean(let b): return .boolean(b)
        case .integer(let i): return .integer(i)
        case .number(let d): return .number(d)
        case .string(let s): return .string(s)
        }
    }

    /// Order for stable output: numbers, then strings, then booleans.
    public static func < (a: LuaKey, b: LuaKey) -> Bool {
        func rank(_ k: LuaKey) -> Int {
            switch k { case .integer, .number: return 0; case .string: return 1; case .boolean: return 2 }
        }
        switch (a, b) {
        case let (.string(x), .string(y)): return x < y
        case let (.boolean(x), .boolean(y)): return !x && y
        default:
            if rank(a) != rank(b) { return rank(a) < rank(b) }
            return (a.value.double ?? 0) < (b.value.double ?? 0)
        }
    }
}

/// A Lua table copied into Swift: the sequence part 1...n as an array, every other key in `fields`.
public struct LuaTable: Equatable {
    public var array: [LuaValue]
    public var fields: [LuaKey: LuaValue]

    public init(array: [LuaValue], fields: [LuaKey: LuaValue] = [:]) {
        self.array = array
        self.fields = fields
    }

    /// A table from its entries as lua_next gives them: keys 1…n make the sequence, the rest `fields`.
    init(entries: [(LuaKey, LuaValue)]) {
        var fields = Dictionary(entries, uniquingKeysWith: { a, _ in a })
        var array: [LuaValue] = []
        while let v = fields.removeValue(forKey: .integer(array.count + 1)) { array.append(v) }
        self.init(array: array, fields: fields)
    }

    public var isEmpty: Bool { array.isEmpty && fields.isEmpty }

    public subscript(key: String) -> LuaValue {
        get { fields[.string(key)] ?? .nil }
        // Not `newValue.isNil ? nil : newValue`: that `nil` would be LuaValue.nil (a stored null).
        set {
            if newValue.isNil { fields.removeValue(forKey: .string(key)) } else { fields[.string(key)] = newValue }
        }
    }

    /// Every entry, the sequence first, then the other keys in a stable order.
    public var entries: [(key: LuaKey, value: LuaValue)] {
        array.enumerated().map { (LuaKey.integer($0.offset + 1), $0.element) }
            + fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The string-keyed fields in name order.
    public var namedFields: [(name: String, value: LuaValue)] {
        fields.compactMap { k, v in if case .string(let s) = k { return (s, v) } else { return nil } }
            .sorted { $0.name < $1.name }
    }
}

extension LuaTable: ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral {
    public init(dictionaryLiteral elements: (String, LuaValue)...) {
        self.init(array: [], fields: [:])
        for (k, v) in elements { self[k] = v }
    }
    public init(arrayLiteral elements: LuaValue...) { self.init(array: elements) }
}
