import CLua
import LuaShim

// Options tables declared once, the way Torch's cwrap and Lua's luaL_Reg declare functions: each
// option's name, kind, default, allowed range and one line of help. The checks, the error messages
// and the help text all come from the declaration, so they cannot drift apart, and no user value is
// ever read with a silent fallback.
//
//     static let rnn = LuaOptions("lab.models.rnn", [
//         .init("hidden", .integer(1 ... 65536), help: "hidden units n"),
//         .init("r", .number(0, 1), default: 0.01, help: "σ stays in [σ* − r, σ* + r]", only: ("cell", ["spectral"])),
//     ])
//     let o = try args.options(1, rnn)      // every key checked; defaults filled in
//     let hidden = try o.int("hidden")

/// What an option accepts.
public indirect enum LuaOptionKind: Sendable {
    /// An integer (a float with an exact integer value counts, as for Lua's math.tointeger) in range.
    case integer(ClosedRange<Int>)
    /// A finite number in [low, high] (or (low, high] when `exclusiveLow`): NaN and ±inf are refused.
    case number(Double, Double, exclusiveLow: Bool = false)
    case boolean
    case string
    /// One of a set of names.
    case choice([String])
    /// A sequence of values of one kind, with a number of elements in `count`.
    case list(LuaOptionKind, count: ClosedRange<Int>)
    /// A table whose string keys map to strings, numbers or booleans (tags, metadata).
    case record
    case function
    /// Any table (kept as a reference: its identity and metatable survive).
    case table
    /// A Swift object whose Lua class name starts with one of these prefixes ("lab.FloatTensor", …),
    /// described as `what` in messages.
    case object(String, prefixes: [String])
    /// A value the function checks itself (a model, a task: a Swift object or a Lua table), named
    /// `what` in help; only nil is refused.
    case value(String)
    /// Like `.value`, but copied into Swift whole (labels as a table or a tensor, say).
    case data(String)

    /// How help and messages name what is expected.
    public var expected: String {
        switch self {
        case .integer: return "integer"
        case .number: return "number"
        case .boolean: return "boolean"
        case .string, .choice: return "string"
        case .list(let k, _): return "list of \(k.expected)s"
        case .record: return "table"
        case .function: return "function"
        case .table: return "table"
        case .object(let what, _), .value(let what), .data(let what): return what
        }
    }

    /// The allowed values, for help and range errors ("" when the kind says it all).
    public var range: String {
        switch self {
        case .integer(let r):
            if r.upperBound == Int.max { return "≥ \(r.lowerBound)" }
            return "\(r.lowerBound)…\(r.upperBound)"
        case let .number(lo, hi, open):
            let low = lo == -.greatestFiniteMagnitude ? nil : "\(open ? ">" : "≥") \(format(lo))"
            let high = hi == .greatestFiniteMagnitude ? nil : "≤ \(format(hi))"
            return [low, high].compactMap { $0 }.joined(separator: ", ")
        case .choice(let names): return names.map { "\"\($0)\"" }.joined(separator: " | ")
        case .list(let k, let n):
            let count = n.lowerBound == n.upperBound ? "\(n.lowerBound)" : n.upperBound == Int.max ? "≥ \(n.lowerBound)" : "\(n.lowerBound)…\(n.upperBound)"
            let each = k.range
            return "\(count) entries" + (each.isEmpty ? "" : ", each \(each)")
        default: return ""
        }
    }
}

private func format(_ x: Double) -> String {
    if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
    return "\(x)"
}

/// One declared option. Sendable: a default is plain data (a number, string, boolean or list).
public struct LuaOption: @unchecked Sendable {
    public let name: String
    public let kind: LuaOptionKind
    /// The value when the option is absent; nil with `required` false means "none".
    public let defaultValue: LuaValue
    /// How help shows the default when it is computed ("hidden/4"), or nil to show `defaultValue`.
    public let defaultText: String?
    public let required: Bool
    public let help: String
    /// The option only makes sense when another (a choice) has one of these values: ("cell", ["spectral"]).
    public let only: (option: String, values: [String])?

    public init(_ name: String, _ kind: LuaOptionKind, default value: LuaValue = .nil, defaultText: String? = nil,
                required: Bool = false, help: String, only: (String, [String])? = nil) {
        self.name = name
        self.kind = kind
        defaultValue = value
        self.defaultText = defaultText
        self.required = required
        self.help = help
        self.only = only.map { (option: $0.0, values: $0.1) }
    }

    /// "hidden = integer 1…65536 (required): hidden units n"
    public var helpLine: String {
        var s = "\(name) = \(kind.expected)"
        let r = kind.range
        if !r.isEmpty { s += " \(r)" }
        if required { s += " (required)" }
        else if let d = defaultText { s += " (default \(d))" }
        else if !defaultValue.isNil { s += " (default \(LuaOptions.show(defaultValue)))" }
        if let only { s += " [\(only.option) \(only.values.joined(separator: ", ")) only]" }
        return s + ": " + help
    }
}

/// The options a function takes in one table.
public struct LuaOptions: Sendable {
    /// The function's qualified name, as messages name it ("lab.models.rnn").
    public let function: String
    public let options: [LuaOption]

    public init(_ function: String, _ options: [LuaOption]) {
        self.function = function
        self.options = options
    }

    public func option(_ name: String) -> LuaOption? { options.first { $0.name == name } }

    /// Every option, one per line, for help().
    public var help: String { options.map { "  " + $0.helpLine }.joined(separator: "\n") }

    func error(_ name: String, _ message: String) -> LuaError {
        .runtime("bad option '\(name)' to '\(function)' (\(message))")
    }

    public static func show(_ v: LuaValue) -> String {
        switch v {
        case .string(let s): return "\"\(s)\""
        case .integer(let i): return String(i)
        case .number(let d): return d.isNaN ? "nan" : d.isInfinite ? (d > 0 ? "inf" : "-inf") : "\(d)"
        case .boolean(let b): return String(b)
        case .table(let t): return "{" + t.array.map(show).joined(separator: ", ") + "}"
        default: return v.typeName
        }
    }

    /// What is wrong with a value, in the words inside "bad option 'x' to 'f' (…)".
    struct Problem: Error { let detail: String; init(_ detail: String) { self.detail = detail } }

    /// ", did you mean 'hidden'?" for a near miss (edit distance ≤ 2), else "".
    public static func suggestion(_ word: String, _ names: [String]) -> String {
        let best = names.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= 2, best.1 < word.count else { return "" }
        return "; did you mean '\(best.0)'?"
    }

    /// Levenshtein distance, ignoring case, for "did you mean" suggestions.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        var row = Array(0 ... b.count)
        for i in 1 ... max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let old = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = old
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}

extension LuaOptionKind {
    /// What is wrong with `v` for this kind, in the words of "must be ≥ 1, got 0", or nil when it
    /// is allowed.
    public func problem(with v: LuaValue) -> String? {
        do { _ = try check(v, typeName: v.typeName); return nil } catch { return error.detail }
    }

    /// Checks one value against a kind and its range; returns it in its canonical form (integers
    /// as .integer).
    func check(_ v: LuaValue, typeName: String) throws(LuaOptions.Problem) -> LuaValue {
        let kind = self
        switch kind {
        case .integer(let r):
            guard case .integer = v.kindOfNumber else {
                if v.double != nil { throw LuaOptions.Problem("integer expected, got \(LuaOptions.show(v))") }
                throw LuaOptions.Problem("integer expected, got \(typeName)")
            }
            let i = v.int!
            guard r.contains(i) else { throw LuaOptions.Problem("must be \(kind.range), got \(i)") }
            return .integer(i)
        case let .number(lo, hi, open):
            guard let d = v.double else { throw LuaOptions.Problem("number expected, got \(typeName)") }
            guard d.isFinite, open ? d > lo : d >= lo, d <= hi else {
                throw LuaOptions.Problem("must be a finite number \(kind.range), got \(LuaOptions.show(v))")
            }
            return v
        case .boolean:
            guard v.bool != nil else { throw LuaOptions.Problem("boolean expected, got \(typeName)") }
            return v
        case .string:
            guard v.string != nil else { throw LuaOptions.Problem("string expected, got \(typeName)") }
            return v
        case .choice(let names):
            guard let s = v.string else { throw LuaOptions.Problem("string expected, got \(typeName)") }
            guard names.contains(s) else {
                throw LuaOptions.Problem("must be one of \(kind.range), got \"\(s)\"\(LuaOptions.suggestion(s, names))")
            }
            return v
        case .list(let k, let count):
            guard let t = v.table else { throw LuaOptions.Problem("\(kind.expected) expected, got \(typeName)") }
            guard t.fields.isEmpty else { throw LuaOptions.Problem("a list expected (keys 1…n only)") }
            guard count.contains(t.array.count) else {
                throw LuaOptions.Problem("must have \(kind.range), got \(t.array.count)")
            }
            var checked: [LuaValue] = []
            for (i, e) in t.array.enumerated() {
                do { checked.append(try k.check(e, typeName: e.typeName)) } catch {
                    throw LuaOptions.Problem("entry \(i + 1): \(error.detail)")
                }
            }
            return .table(LuaTable(array: checked))
        case .record:
            guard let t = v.table else { throw LuaOptions.Problem("table expected, got \(typeName)") }
            guard t.array.isEmpty, t.fields.count == t.namedFields.count else { throw LuaOptions.Problem("name = value pairs expected") }
            for (k, e) in t.namedFields {
                switch e {
                case .string, .integer, .number, .boolean: continue
                default: throw LuaOptions.Problem("field '\(k)' is a \(e.typeName) (strings, numbers and booleans only)")
                }
            }
            return v
        case .function:
            guard case .ref(let r) = v, r.typeName == "function" else { throw LuaOptions.Problem("function expected, got \(typeName)") }
            return v
        case .table:
            guard typeName == "table" else { throw LuaOptions.Problem("table expected, got \(typeName)") }
            return v
        case let .object(what, prefixes):
            guard case .object(let obj) = v, prefixes.contains(where: { obj.luaClassName.hasPrefix($0) }) else {
                throw LuaOptions.Problem("\(what) expected, got \(typeName)")
            }
            return v
        case .value, .data:
            return v
        }
    }
}

extension LuaValue {
    /// .integer for an integer or a float with an exact integer value, .number for other floats.
    var kindOfNumber: LuaValue {
        switch self {
        case .integer: return self
        case .number(let d): return Int(exactly: d).map { .integer($0) } ?? self
        default: return .nil
        }
    }
}

/// The checked options of one call: every declared option, given or defaulted.
public struct LuaOptionValues {
    public let declaration: LuaOptions
    public let values: [String: LuaValue]
    /// The names the caller gave (not defaulted).
    public let given: Set<String>

    init(_ declaration: LuaOptions, _ values: [String: LuaValue], given: Set<String>) {
        self.declaration = declaration
        self.values = values
        self.given = given
    }

    public subscript(name: String) -> LuaValue { values[name] ?? .nil }

    public func isGiven(_ name: String) -> Bool { given.contains(name) }

    private func read<V>(_ name: String, _ what: String, _ get: (LuaValue) -> V?) throws -> V {
        guard declaration.option(name) != nil else {
            throw LuaError.runtime("\(declaration.function): option '\(name)' is not declared (a bug in spectral-lab)")
        }
        guard let v = get(self[name]) else {
            throw LuaError.runtime("\(declaration.function): option '\(name)' has no value (\(what) expected)")
        }
        return v
    }

    public func int(_ name: String) throws -> Int { try read(name, "integer") { $0.int } }
    public func double(_ name: String) throws -> Double { try read(name, "number") { $0.double } }
    public func bool(_ name: String) throws -> Bool { try read(name, "boolean") { $0.bool } }
    public func string(_ name: String) throws -> String { try read(name, "string") { $0.string } }
    public func table(_ name: String) throws -> LuaTable { try read(name, "table") { $0.table } }
    /// An option declared without a default: nil when absent.
    public func optionalInt(_ name: String) throws -> Int? { self[name].isNil ? nil : try int(name) }
    public func optionalDouble(_ name: String) throws -> Double? { self[name].isNil ? nil : try double(name) }
    /// A choice option as an enum of the same raw names.
    public func choice<E: RawRepresentable>(_ name: String, _: E.Type = E.self) throws -> E where E.RawValue == String {
        let s = try string(name)
        guard let e = E(rawValue: s) else { throw LuaError.runtime("\(declaration.function): option '\(name)': no case \"\(s)\"") }
        return e
    }
}

extension LuaOptions {
    /// Checks a table of options already copied into Swift (keys, kinds, ranges, options that do not
    /// apply) and fills in the defaults.
    public func read(_ t: LuaTable, typeNames: [String: String] = [:]) throws -> LuaOptionValues {
        if let k = t.array.indices.first {
            throw LuaError.runtime("bad option #\(k + 1) to '\(function)' (options are name = value pairs)")
        }
        var values: [String: LuaValue] = [:]
        var given = Set<String>()
        let names = options.map(\.name)
        // Unknown names first: a misspelt key explains more than a bad value next to it.
        for (key, _) in t.entries {
            guard case .string(let name) = key else {
                throw LuaError.runtime("bad option \(LuaOptions.show(key.value)) to '\(function)' (option names are strings)")
            }
            guard option(name) != nil else {
                throw LuaError.runtime("unknown option '\(name)' to '\(function)'\(LuaOptions.suggestion(name, names)) (options: \(names.joined(separator: ", ")))")
            }
        }
        for o in options {
            guard let v = t.fields[.string(o.name)] else { continue }
            do { values[o.name] = try o.kind.check(v, typeName: typeNames[o.name] ?? v.typeName) } catch {
                throw self.error(o.name, error.detail)
            }
            given.insert(o.name)
        }
        for o in options where values[o.name] == nil {
            if o.required { let range = o.kind.range.isEmpty ? "" : " " + o.kind.range
                throw LuaError.runtime("missing option '\(o.name)' to '\(function)' (\(o.kind.expected)\(range): \(o.help))") }
            if !o.defaultValue.isNil { values[o.name] = o.defaultValue }
        }
        for o in options where given.contains(o.name) {
            guard let only = o.only, let v = values[only.option] else { continue }
            let other = v.string ?? LuaOptions.show(v)   // a choice's name, or true/false
            if only.values.contains(other) { continue }
            throw LuaError.runtime("option '\(o.name)' does not apply to \(only.option) '\(other)' in '\(function)' (only to \(only.values.joined(separator: ", ")))")
        }
        return LuaOptionValues(self, values, given: given)
    }
}

extension LuaArgs {
    /// The options table at argument i (absent or nil: every default), checked against `declaration`.
    /// Values are copied shallowly: a table given for a `.table` or `.value` option stays a reference
    /// (its identity and metatable kept); lists and records are copied.
    public func options(_ i: Int, _ declaration: LuaOptions) throws -> LuaOptionValues {
        if isNil(i) { return try declaration.read([:]) }
        guard lua_type(L, Int32(i)) == LUA_TTABLE else {
            throw LuaError.argument(index: i, message: "table of options expected, got \(typeName(i))")
        }
        let (table, typeNames) = try shallowTable(i, deep: Set(declaration.options.compactMap { o -> String? in
            switch o.kind { case .list, .record, .data: return o.name; default: return nil }
        }))
        return try declaration.read(table, typeNames: typeNames)
    }

    /// The table at i with nested tables as references, except under the string keys in `deep`;
    /// also Lua's type name of every string-keyed value (for messages).
    func shallowTable(_ i: Int, deep: Set<String>) throws -> (LuaTable, [String: String]) {
        let index = lua_absindex(L, Int32(i))
        guard lua_checkstack(L, 4) != 0 else { throw LuaError.runtime("Lua stack overflow") }
        var typeNames: [String: String] = [:]
        var entries: [(LuaKey, LuaValue)] = []
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            let key: LuaKey
            switch lua_type(L, -2) {
            case LUA_TSTRING: key = .string(LuaState.string(at: -2, on: L))
            case LUA_TNUMBER:
                key = lua_isinteger(L, -2) != 0 ? .integer(Int(lua_tointegerx(L, -2, nil))) : .number(lua_tonumberx(L, -2, nil))
            case LUA_TBOOLEAN: key = .boolean(lua_toboolean(L, -2) != 0)
            default:
                let name = String(cString: lua_typename(L, lua_type(L, -2)))
                slab_pop(L, 2)
                throw LuaError.runtime("an options table has a key of type \(name)")
            }
            let v: LuaValue
            do {
                if case .string(let s) = key { typeNames[s] = LuaState.typeName(at: -1, on: L) }
                if lua_type(L, -1) == LUA_TTABLE, case .string(let s) = key, !deep.contains(s) {
                    v = .ref(LuaRef(at: -1, on: L))
                } else {
                    v = try LuaState.value(at: -1, on: L)
                }
            } catch {
                slab_pop(L, 2)
                if case .string(let s) = key, case LuaError.runtime(let m) = error {
                    throw LuaError.runtime("bad option '\(s)' (\(m))")
                }
                throw error
            }
            entries.append((key, v))
            slab_pop(L, 1)
        }
        return (LuaTable(entries: entries), typeNames)
    }
}
