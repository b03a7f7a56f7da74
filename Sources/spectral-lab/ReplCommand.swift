import ArgumentParser
import Foundation
import Workbench

extension SpectralLab {
    struct Repl: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Explore interactively in Lua, with `lab` loaded.",
            discussion: """
                Expressions print their values (tables expanded); a trailing `;` keeps a value quiet; \
                an unfinished statement continues on the next line (prompt `>>`). `help()` lists the \
                lab functions and `?name` shows one. On a terminal: line editing, tab completion of \
                names, history in ~/.spectral-lab/history. Ctrl-C stops a running command, Ctrl-D exits.

                From a pipe (`echo 'print(1+1)' | spectral-lab repl`) lines are read plainly; the exit \
                status is 1 when any of them failed.

                Anything logged with lab.log goes to a run directory made on first use.
                """
        )

        @Option(help: "Seed for the session's random numbers.")
        var seed: Int = 1

        @Option(name: .customShort("i"), help: ArgumentHelp("Run this script first and keep its globals (as `th -i`).", valueName: "script.lua"))
        var script: String?

        func validate() throws {
            guard seed >= 0 else { throw ValidationError("--seed takes an integer ≥ 0, got \(seed)") }
        }

        func run() throws {
            StatusLine.attachIfTerminal()   // lab.train's progress line
            let session = try LabSession(mode: .interactive(runsBase: "runs"), seed: seed, searchPath: .standard())
            let repl = Workbench.Repl(session: session, interactive: isatty(0) != 0 && isatty(1) != 0)
            if let script, !FileManager.default.fileExists(atPath: script) {
                throw ValidationError("no such script: \(script)")
            }
            let scriptFailed = script.map { !repl.runScript($0) } ?? false
            let code = repl.run()
            if scriptFailed && isatty(0) == 0 { throw ExitCode(1) }
            if code != 0 { throw ExitCode(code) }
        }
    }
}
