@preconcurrency import CEdit
import Foundation
import LuaBridge

/// Where the REPL's lines come from.
protocol LineReader {
    /// The next line without its newline; nil at end of input. `prompt` is shown only on a terminal.
    mutating func read(prompt: String) -> LineReaderResult
}

enum LineReaderResult {
    case line(String)
    /// Ctrl-C at the prompt: drop the line being typed.
    case interrupted
    case end
}

/// Plain lines from a pipe or file (`echo 'print(1)' | spectral-lab repl`): no prompt, no editing.
struct PlainLineReader: LineReader {
    mutating func read(prompt: String) -> LineReaderResult {
        readLine(strippingNewline: true).map { .line($0) } ?? .end
    }
}

/// libedit on a terminal: editing, history kept in ~/.spectral-lab/history, tab completion of
/// globals, `table.field` and `object:method` names.
struct EditLineReader: LineReader {
    private let historyFile: String?

    init(complete: @escaping (String) -> [String]) {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? ""
        let dir = "\(home)/.spectral-lab"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        historyFile = home.isEmpty ? nil : "\(dir)/history"
        rl_readline_name = UnsafePointer(strdup("spectral-lab"))
        using_history()
        stifle_history(2000)
        if let historyFile { read_history(historyFile) }
        Completion.source = complete
        rl_completion_entry_function = Completion.generator
        rl_completion_append_character = 0
    }

    mutating func read(prompt: String) -> LineReaderResult {
        guard let p = readline(prompt) else {
            return LuaState.interruptPending ? .interrupted : .end
        }
        defer { free(p) }
        let line = String(cString: p)
        if !line.trimmingCharacters(in: .whitespaces).isEmpty {
            add_history(line)
            if let historyFile { write_history(historyFile) }   // every line: a crash loses none
        }
        return .line(line)
    }
}

/// libedit calls a C function pointer for completions: it reaches the REPL through this global.
private enum Completion {
    nonisolated(unsafe) static var source: ((String) -> [String])?
    nonisolated(unsafe) static var matches: [String] = []

    static let generator: @convention(c) (UnsafePointer<CChar>?, Int32) -> UnsafeMutablePointer<CChar>? = { text, state in
        if state == 0 { matches = source?(text.map { String(cString: $0) } ?? "") ?? [] }
        let i = Int(state)
        return i < matches.count ? strdup(matches[i]) : nil
    }
}
