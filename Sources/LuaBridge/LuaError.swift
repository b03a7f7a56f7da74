/// Errors crossing the boundary between Swift and Lua.
public enum LuaError: Error, Equatable, CustomStringConvertible {
    /// Detected by Swift code that Lua called; raised in Lua as "file:line: message".
    case runtime(String)
    /// A bad argument; raised as Lua's "bad argument #index to 'name' (message)".
    case argument(index: Int, message: String)
    /// An error from Lua code, message (and traceback) complete: passed on unchanged.
    case lua(String)
    /// A chunk that does not compile: "chunkname:line: message".
    case syntax(String)

    public var description: String {
        switch self {
        case .runtime(let m), .lua(let m), .syntax(let m): return m
        case let .argument(i, m): return "bad argument #\(i) (\(m))"
        }
    }

    /// The "expected X, got Y" wording of Lua's own type errors.
    public static func type(_ index: Int, expected: String, got: String) -> LuaError {
        .argument(index: index, message: "\(expected) expected, got \(got)")
    }
}

/// The message of a stop request (Ctrl-C, SIGTERM, SIGHUP) raised in Lua code.
public let interruptedMessage = "interrupted!"
