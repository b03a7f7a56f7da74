/// A JSON string literal for any Swift string, used by every JSON writer in the project
/// (checkpoint headers, metrics lines, run records). Swift strings hold no lone surrogates, so plain
/// UTF-8 is always valid JSON: only quotes, backslashes and control characters need escapes.
public func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
