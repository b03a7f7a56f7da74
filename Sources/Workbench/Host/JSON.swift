import Foundation
import LuaBridge
import SpectralNumerics

/// JSON text for Lua values: metrics lines and the run's params.json / run.json.
///
/// Choices, documented in README.md: integers stay integers and floats print in their shortest
/// round-trip form; NaN and ±Inf (not JSON) become the strings "NaN", "Infinity", "-Infinity" so a
/// diverged loss is recorded, not lost; a table with only a sequence is an array (an empty table is
/// []), otherwise an object whose keys are sorted (step, epoch, loss, accuracy first); Swift objects and functions are
/// written as "<type name>".
enum JSON {
    static func encode(_ value: LuaValue, pretty: Bool = false) -> String {
        var out = ""
        write(value, into: &out, indent: pretty ? 0 : nil)
        return out
    }

    private static func write(_ value: LuaValue, into out: inout String, indent: Int?) {
        switch value {
        case .nil: out += "null"
        case .boolean(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .number(let d): out += number(d)
        case .string(let s): out += jsonString(s)
        case .object(let o): out += jsonString("<\(o.luaClassName)>")
        case .ref(let r): out += jsonString("<\(r.typeName)>")
        case .table(let t):
            if t.fields.isEmpty {
                writeContainer(t.array.map { (nil, $0) }, open: "[", close: "]", into: &out, indent: indent)
            } else {
                let items = t.entries.map { (keyString($0.key), $0.value) }.sorted { metricOrder($0.0, $1.0) }
                writeContainer(items, open: "{", close: "}", into: &out, indent: indent)
            }
        }
    }

    private static func writeContainer(_ items: [(String?, LuaValue)], open: String, close: String,
                                       into out: inout String, indent: Int?) {
        out += open
        for (i, (key, v)) in items.enumerated() {
            if i > 0 { out += "," }
            if let indent { out += "\n" + String(repeating: "  ", count: indent + 1) }
            if let key { out += jsonString(key) + (indent == nil ? ":" : ": ") }
            write(v, into: &out, indent: indent.map { $0 + 1 })
        }
        if let indent, !items.isEmpty { out += "\n" + String(repeating: "  ", count: indent) }
        out += close
    }

    /// How metric names are ordered in JSON objects and progress lines: these first, then by name.
    static let leadingKeys = ["task", "cell", "step", "epoch", "loss", "accuracy", "eval_loss", "eval_accuracy"]
    static func metricOrder(_ a: String, _ b: String) -> Bool {
        let ia = leadingKeys.firstIndex(of: a) ?? leadingKeys.count, ib = leadingKeys.firstIndex(of: b) ?? leadingKeys.count
        return ia != ib ? ia < ib : a < b
    }

    static func keyString(_ k: LuaKey) -> String {
        switch k {
        case .string(let s): return s
        case .integer(let i): return String(i)
        case .number(let d): return number(d)
        case .boolean(let b): return b ? "true" : "false"
        }
    }

    /// A JSON file's top-level object as a Lua table, numbers exact (JSONReader).
    static func table(contentsOf path: String) throws -> LuaTable {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw RunDirectoryError("cannot read \(path): \(error.localizedDescription)")
        }
        let value: LuaValue
        do { value = try JSONReader.parse(text) } catch { throw RunDirectoryError("\(path): \(error)") }
        guard case .table(let t) = value, t.array.isEmpty else { throw RunDirectoryError("\(path) is not a JSON object") }
        return t
    }

    static func number(_ d: Double) -> String {
        if d.isNaN { return "\"NaN\"" }
        if d.isInfinite { return d > 0 ? "\"Infinity\"" : "\"-Infinity\"" }
        return "\(d)"   // shortest representation that reads back to the same Double
    }
}
