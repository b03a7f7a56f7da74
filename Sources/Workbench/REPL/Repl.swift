import Foundation
import LuaBridge

/// The interactive loop, with lua.c's rules: a line is first tried as an expression ("return " ..
/// line) and its values printed; otherwise as a statement; a syntax error at <eof> means the input
/// is incomplete and the next line continues it (prompt ">>"). A trailing ";" suppresses printing;
/// `?name` shows help. Ctrl-C stops the running command and returns to the prompt; Ctrl-D exits.
public final class Repl {
    private let session: LabSession
    private var reader: LineReader
    private let interactive: Bool
    private var completer: LuaRef?

    /// `interactive`: stdin is a terminal (prompts, banner, libedit); otherwise lines are read plainly.
    public init(session: LabSession, interactive: Bool) {
        self.session = session
        self.interactive = interactive
        reader = PlainLineReader()
        if interactive {
            completer = try? Repl.loadCompleter(into: session.state)
            let state = session.state
            let completer = completer
            reader = EditLineReader { text in
                guard let completer else { return [] }
                state.clearInterrupt()
                let r = try? LuaState.call(completer, [.string(text)], on: state.L)
                return r?.first?.table?.array.compactMap(\.string) ?? []
            }
        }
    }

    /// Runs a script in the REPL's state first (`repl -i script.lua`, as `th -i`): its globals stay
    /// for the session. False when it failed (the error is printed; the REPL starts all the same).
    public func runScript(_ path: String) -> Bool {
        session.state.catchInterrupts()
        defer { LuaState.releaseInterrupts() }
        do { try session.state.run(file: path, displayName: displayPath(path)); return true } catch {
            Console.error("\(error)")
            return false
        }
    }

    /// Runs until end of input. Returns 0, or 1 when reading from a pipe and some input failed.
    public func run() -> Int32 {
        if interactive {
            print("spectral-lab \(Lab.version) (\(Lab.luaRelease)). help() lists the lab functions; Ctrl-D exits.")
        }
        session.state.catchInterrupts()
        defer { LuaState.releaseInterrupts() }
        var failed = false
        while true {
            session.state.clearInterrupt()
            switch reader.read(prompt: "> ") {
            case .end:
                if interactive { print() }
                return failed && !interactive ? 1 : 0
            case .interrupted:
                print()
                continue
            case .line(let first):
                if !evaluate(first) { failed = true }
            }
        }
    }

    /// Reads the rest of an incomplete chunk, runs it, prints results or the error. False on error.
    private func evaluate(_ first: String) -> Bool {
        let trimmed = first.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return true }
        if trimmed.hasPrefix("?") {
            return execute("help(\"\(trimmed.dropFirst().trimmingCharacters(in: .whitespaces))\")")
        }
        var chunk = Repl.globalizingLocal(first)
        let quiet = trimmed.hasSuffix(";")
        while true {
            // An expression? (lua.c: "return " .. line, first line only)
            if chunk == Repl.globalizingLocal(first), (try? session.state.load("return " + chunk, chunkName: "=stdin")) != nil {
                return run(printing: !quiet)
            }
            do {
                try session.state.load(chunk, chunkName: "=stdin")
                return run(printing: !quiet)   // a statement chunk may `return` values too
            } catch let LuaError.syntax(message) where message.hasSuffix("<eof>") {
                switch reader.read(prompt: ">> ") {
                case .line(let more): chunk += "\n" + more
                case .interrupted: print(); return true
                case .end: Console.error(message); return false
                }
            } catch {
                Console.error("\(error)")
                return false
            }
        }
    }

    /// `local x = 1` on a line of its own would end with the line (each line is a chunk): as Torch's
    /// trepl does, a line that starts with `local` declares globals instead, so x is there next line.
    static func globalizingLocal(_ line: String) -> String {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        guard trimmed.hasPrefix("local "), let rest = Optional(trimmed.dropFirst(6).drop { $0 == " " }),
              let c = rest.first, c.isLetter || c == "_",
              !(rest.prefix { $0 != "=" }.contains("<")) else { return line }   // `local x <const>` stays local
        return String(rest)   // "local function f" → "function f"; "local a, b = …" → "a, b = …"
    }

    private func execute(_ code: String) -> Bool {
        do { try session.state.load(code, chunkName: "=stdin") } catch {
            Console.error("\(error)")
            return false
        }
        return run(printing: false)
    }

    /// Calls the loaded chunk; prints its values tab-separated through the inspector.
    private func run(printing: Bool) -> Bool {
        do {
            let shown = try session.state.callRendering(with: session.inspector.show, keepFirstAs: "_")
            if printing && !shown.isEmpty { print(shown.joined(separator: "\t")) }
            return true
        } catch {
            Console.error("\(error)")
            return false
        }
    }

    /// Completion candidates for a partial name: globals, `a.b.c` fields, `obj:method`s.
    private static func loadCompleter(into state: LuaState) throws -> LuaRef {
        let r = try EmbeddedLua.run("repl/complete.lua", in: state)
        guard case .ref(let f) = r.first else { throw LuaError.runtime("completer did not load") }
        return f
    }
}
