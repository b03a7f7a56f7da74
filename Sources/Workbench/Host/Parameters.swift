import Foundation
import LuaBridge

/// One `--set key=value` from the command line.
public struct ParameterOverride: Equatable, Sendable {
    public let key: String
    public let text: String

    /// Parses "key=value"; the value may be empty or contain further '=' signs.
    public init(parsing argument: String) throws {
        guard let eq = argument.firstIndex(of: "="), eq != argument.startIndex else {
            throw ParameterError("--set expects key=value, got '\(argument)'")
        }
        key = String(argument[..<eq])
        text = String(argument[argument.index(after: eq)...])
    }
}

public struct ParameterError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// A script's declared parameters: `lab.params{ T = 200, lr = 1e-3, model = "spectral" }`.
/// The defaults fix each parameter's type; `--set` values are read as Lua literals of that type.
struct ParameterSet {
    let defaults: LuaTable
    let help: [String: String]
    /// What each parameter may hold beyond its type (lab.params' third argument).
    let rules: [String: ParameterRule]

    init(defaults: LuaTable, help: LuaTable, allowed: LuaTable = [:]) throws {
        guard defaults.array.isEmpty else {
            throw ParameterError("lab.params expects a table of name = default pairs, not a list")
        }
        for (key, value) in defaults.fields {
            guard case .string(let name) = key else {
                throw ParameterError("lab.params: parameter names are strings, got \(key.value.typeName) key")
            }
            try ParameterSet.checkDefault(name, value)
        }
        self.defaults = defaults
        self.help = Dictionary(uniqueKeysWithValues: help.namedFields.compactMap { f in f.value.string.map { (f.name, $0) } })
        var rules: [String: ParameterRule] = [:]
        for (key, spec) in allowed.entries {
            guard case .string(let name) = key, let example = Optional(defaults[name]), !example.isNil else {
                throw ParameterError("lab.params: allowed values given for \(LuaOptions.show(key.value)), which is not a declared parameter")
            }
            guard let spec = spec.table else {
                throw ParameterError("lab.params: the allowed values of '\(name)' are a table ({\"a\", \"b\"}, {min = 1}, …), got \(spec.typeName)")
            }
            let rule = try ParameterRule(spec, like: example, name: name)
            if let other = rule.insteadOf, defaults[other].isNil {
                throw ParameterError("lab.params: '\(name)' is declared instead_of '\(other)', which is not a declared parameter")
            }
            if let only = rule.only {
                guard only.name != name, case let d = defaults[only.name], !d.isNil else {
                    throw ParameterError("lab.params: '\(name)' is declared only for '\(only.name)', which is not another declared parameter")
                }
                guard only.values.allSatisfy({ ($0.double != nil && d.double != nil) || ParameterSet.kind($0) == ParameterSet.kind(d) }) else {
                    throw ParameterError("lab.params: '\(name)' is declared only for \(only.name) = \(only.text), which '\(only.name)' (default \(JSON.encode(d))) cannot be")
                }
            }
            if let problem = rule.kind?.problem(with: example) {
                throw ParameterError("lab.params: the default of '\(name)' is not among its allowed values: \(problem)")
            }
            rules[name] = rule
        }
        self.rules = rules
    }

    var names: [String] { defaults.namedFields.map(\.name) }

    /// The defaults with the overrides applied, every value checked against its type and rule.
    func resolve(_ overrides: [ParameterOverride], in state: LuaState) throws -> LuaTable {
        try apply(overrides, to: defaults, in: state)
    }

    /// `base` (the defaults, or a resumed run's parameters) with the overrides applied. A parameter
    /// declared `instead_of` another gives way when only the other is set (--set steps=20 on a
    /// recipe that trains by epochs: epochs becomes 0); both set, the first nonzero, is an error.
    /// A parameter declared `only` for some values of another is an error to set when the other has none of them.
    func apply(_ overrides: [ParameterOverride], to base: LuaTable, in state: LuaState) throws -> LuaTable {
        var resolved = base
        for o in overrides {
            guard case let d = defaults[o.key], !d.isNil else {
                var message = "unknown parameter '\(o.key)' in --set \(o.key)=\(o.text)"
                if let close = names.min(by: { LuaOptions.editDistance($0, o.key) < LuaOptions.editDistance($1, o.key) }),
                   LuaOptions.editDistance(close, o.key) <= 2 {
                    message += " (did you mean '\(close)'?)"
                }
                message += "; known parameters: " + names.joined(separator: ", ")
                throw ParameterError(message)
            }
            let value = try ParameterSet.parse(o.text, like: d, name: o.key, in: state)
            if let problem = rules[o.key]?.kind?.problem(with: value) {
                throw ParameterError("--set \(o.key)=\(o.text): parameter '\(o.key)' \(problem)")
            }
            resolved[o.key] = value
        }
        let given = Set(overrides.map(\.key))
        for (name, rule) in rules.sorted(by: { $0.key < $1.key }) {
            guard let other = rule.insteadOf, given.contains(other) else { continue }
            if !given.contains(name) {
                resolved[name] = defaults[name].int != nil ? .integer(0) : .number(0)
            } else if resolved[name].double != 0 {
                throw ParameterError("--set \(other)= and --set \(name)=: '\(name)' is used instead of '\(other)' "
                    + "when it is not 0; give one of them (or \(name)=0)")
            }
        }
        for o in overrides {
            guard let only = rules[o.key]?.only, !only.values.contains(resolved[only.name]) else { continue }
            throw ParameterError("--set \(o.key)=\(o.text): parameter '\(o.key)' applies only when \(only.name) = \(only.text) "
                + "(here \(only.name) = \(JSON.encode(resolved[only.name])))")
        }
        return resolved
    }

    /// One line saying what values `name` takes ("≥ 1", "one of …"), or nil when its type says it all.
    func allowedText(_ name: String) -> String? {
        guard let rule = rules[name] else { return nil }
        var parts: [String] = []
        if let r = rule.kind?.range, !r.isEmpty { parts.append(r) }
        if let other = rule.insteadOf { parts.append("instead of \(other) when not 0") }
        if let only = rule.only { parts.append("only when \(only.name) = \(only.text)") }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    private static func checkDefault(_ name: String, _ value: LuaValue) throws {
        switch value {
        case .boolean, .integer, .number, .string: return
        case .table(let t) where t.fields.isEmpty && t.array.allSatisfy({ ![.table, .object, .ref].contains(kind($0)) }):
            let kinds = Set(t.array.map(kind))
            if kinds.count <= 1 || kinds == [.integer, .number] { return }
            throw ParameterError("lab.params: list parameter '\(name)' mixes types; use one type per list")
        default:
            throw ParameterError("lab.params: parameter '\(name)' has a default of type \(value.typeName); "
                + "parameters are numbers, booleans, strings or lists of them")
        }
    }

    private enum Kind { case boolean, integer, number, string, table, object, ref, none }
    private static func kind(_ v: LuaValue) -> Kind {
        switch v {
        case .boolean: return .boolean
        case .integer: return .integer
        case .number: return .number
        case .string: return .string
        case .table: return .table
        case .object: return .object
        case .ref: return .ref
        case .nil: return .none
        }
    }

    /// Reads `text` as a value of the same type as `example`.
    static func parse(_ text: String, like example: LuaValue, name: String, in state: LuaState) throws -> LuaValue {
        func fail(_ expected: String) -> ParameterError {
            ParameterError("--set \(name)=\(text): parameter '\(name)' expects \(expected) "
                + "(its default is \(JSON.encode(example))), got '\(text)'")
        }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch example {
        case .integer:
            guard let n = state.number(from: trimmed) else { throw fail("an integer") }
            guard let i = n.int else { throw fail("an integer") }
            return .integer(i)
        case .number:
            guard let n = state.number(from: trimmed), let d = n.double else { throw fail("a number") }
            return .number(d)
        case .boolean:
            switch trimmed {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            default: throw fail("a boolean (true or false)")
            }
        case .string:
            return .string(unquote(text))
        case .table(let t):
            let element = listElement(t, or: .string(""))
            if trimmed.isEmpty { return .table([:]) }
            let items = text.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            do {
                return .table(LuaTable(array: try items.map { try parse($0, like: element, name: name, in: state) }))
            } catch {
                throw fail("a comma-separated list of \(element.typeName)s")
            }
        default:
            throw fail("a value")
        }
    }

    /// A value read back from params.json as the type of `example`: JSON has no ±Infinity or NaN
    /// (JSON.number writes them as strings) and writes 3.0 and 3 alike for a float; anything else
    /// of the wrong type is an error naming the parameter, not a silent change of type.
    static func restore(_ saved: LuaValue, like example: LuaValue, name: String) throws -> LuaValue {
        func fail() -> ParameterError {
            ParameterError("params.json: parameter '\(name)' holds \(JSON.encode(saved)), not a value like its default \(JSON.encode(example))")
        }
        switch (example, saved) {
        case (.integer, .integer), (.boolean, .boolean), (.string, .string), (.number, .number): return saved
        case (.number, .integer(let i)): return .number(Double(i))
        case (.number, .string(let s)):
            switch s {
            case "Infinity": return .number(.infinity)
            case "-Infinity": return .number(-.infinity)
            case "NaN": return .number(.nan)
            default: throw fail()
            }
        case (.table(let t), .table(let u)) where u.fields.isEmpty:
            let element = listElement(t, or: u.array.first ?? .string(""))
            return .table(LuaTable(array: try u.array.map { try restore($0, like: element, name: name) }))
        default: throw fail()
        }
    }

    /// What each item of a list parameter is like: a number if any default item is a float (so
    /// {1, 2.5} takes 3.5), else the first default item, else `empty` for an empty default.
    static func listElement(_ defaults: LuaTable, or empty: LuaValue) -> LuaValue {
        defaults.array.contains { if case .number = $0 { return true } else { return false } }
            ? .number(0) : (defaults.array.first ?? empty)
    }

    /// 'text' or "text" as text; anything else as it is.
    private static func unquote(_ s: String) -> String {
        if s.count >= 2, let f = s.first, f == s.last, f == "\"" || f == "'" {
            return String(s.dropFirst().dropLast())
        }
        return s
    }
}

/// What one parameter may hold beyond its type, from lab.params' third argument: a list of allowed
/// values (for a string, or each item of a list of strings), `min`, `max` or `above` (exclusive) for
/// a number or each item of a list of numbers, `min_items` for a list; `instead_of = "steps"` for a
/// number that, when not 0, decides in place of another parameter (epochs instead of steps);
/// `only = { permuted = true }` (or a list of values) for one that means something only then, so that
/// setting it otherwise is an error rather than a setting silently without effect.
struct ParameterRule {
    /// The check, as a declared option's kind (so ranges read as in help): nil when only instead_of.
    let kind: LuaOptionKind?
    let insteadOf: String?
    let only: (name: String, values: [LuaValue], text: String)?

    init(_ spec: LuaTable, like example: LuaValue, name: String) throws {
        func fail(_ m: String) -> ParameterError { ParameterError("lab.params: allowed values of '\(name)': \(m)") }
        let keys: Set<String> = ["min", "max", "above", "min_items", "instead_of", "only"]
        for (key, _) in spec.fields {
            guard case .string(let k) = key, keys.contains(k) else {
                throw fail("unknown key \(LuaOptions.show(key.value)) (a list of values, or min, max, above, min_items, instead_of, only)")
            }
        }
        func number(_ k: String) throws -> Double? {
            let v = spec[k]
            if v.isNil { return nil }
            guard let d = v.double, d.isFinite else { throw fail("\(k) must be a finite number, got \(LuaOptions.show(v))") }
            return d
        }
        let values = try spec.array.map { v -> String in
            guard let s = v.string else { throw fail("allowed values are strings, got \(v.typeName)") }
            return s
        }
        let low = try number("above") ?? number("min"), high = try number("max")
        if !spec["above"].isNil, !spec["min"].isNil { throw fail("give min or above, not both") }
        let minItems = try number("min_items")
        if case let o = spec["instead_of"], !o.isNil {
            guard let other = o.string else { throw fail("instead_of names a parameter, got \(o.typeName)") }
            guard example.double != nil else { throw fail("instead_of applies to a number parameter") }
            insteadOf = other
        } else {
            insteadOf = nil
        }
        if case let o = spec["only"], !o.isNil {
            guard let t = o.table, t.array.isEmpty, t.fields.count == 1, let field = t.namedFields.first else {
                throw fail("only is { parameter = value } or { parameter = { value, … } }, got \(LuaOptions.show(o))")
            }
            let values = field.value.table.map(\.array) ?? [field.value]
            guard !values.isEmpty, values.allSatisfy({ $0.string != nil || $0.double != nil || $0.bool != nil }) else {
                throw fail("only's values are strings, numbers or booleans, got \(LuaOptions.show(field.value))")
            }
            only = (field.name, values, values.map { JSON.encode($0) }.joined(separator: " or "))
        } else {
            only = nil
        }

        // The rule for one value like `item` (the parameter itself, or each item of a list).
        func single(_ item: LuaValue) throws -> LuaOptionKind? {
            switch item {
            case .string:
                guard low == nil, high == nil else { throw fail("min, max and above apply to numbers") }
                return values.isEmpty ? nil : .choice(values)
            case .integer, .number:
                guard values.isEmpty else { throw fail("a list of allowed values applies to strings; give min, max or above") }
                if low == nil, high == nil { return nil }
                if case .integer = item {
                    guard spec["above"].isNil else { throw fail("above applies to a float; give min for an integer") }
                    func integer(_ d: Double) throws -> Int {
                        guard let i = Int(exactly: d) else { throw fail("min and max of an integer are integers, got \(d)") }
                        return i
                    }
                    let lo = try low.map(integer) ?? Int.min, hi = try high.map(integer) ?? Int.max
                    guard lo <= hi else { throw fail("min is over max") }
                    return .integer(lo ... hi)
                }
                return .number(low ?? -.greatestFiniteMagnitude, high ?? .greatestFiniteMagnitude, exclusiveLow: !spec["above"].isNil)
            default:
                guard values.isEmpty, low == nil, high == nil else { throw fail("a boolean takes no allowed values") }
                return nil
            }
        }
        if case .table(let t) = example {
            let each = try single(ParameterSet.listElement(t, or: values.isEmpty ? .number(0) : .string("")))
            let count = try minItems.map { m -> Int in
                guard let i = Int(exactly: m), i >= 0 else { throw fail("min_items must be an integer ≥ 0") }
                return i
            } ?? 0
            kind = each == nil && count == 0 ? nil : .list(each ?? .value("value"), count: count ... Int.max)
        } else {
            guard minItems == nil else { throw fail("min_items applies to a list") }
            kind = try single(example)
        }
    }
}
