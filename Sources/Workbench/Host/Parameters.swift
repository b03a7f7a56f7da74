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

    init(defaults: LuaTable, help: LuaTable) throws {
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
    }

    var names: [String] { defaults.namedFields.map(\.name) }

    /// The defaults with the overrides applied, every value type-checked.
    func resolve(_ overrides: [ParameterOverride], in state: LuaState) throws -> LuaTable {
        var resolved = defaults
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
            resolved[o.key] = try ParameterSet.parse(o.text, like: d, name: o.key, in: state)
        }
        return resolved
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
            let items = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
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
    private static func listElement(_ defaults: LuaTable, or empty: LuaValue) -> LuaValue {
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
