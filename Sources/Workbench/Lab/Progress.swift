import LuaBridge

/// lab.progress: the one line a training shows in place on a terminal (Host/StatusLine.swift). The
/// terminal half is here; what the line says (lab.progress.line, lab.progress.duration) is in
/// lua/lab/progress.lua, since it only formats Lua values.
enum Progress {
    static func module() -> LuaModule {
        var m = LuaModule("progress")
        m.function("terminal_width", "lab.progress.terminal_width(): the terminal's width in columns when stdout is a terminal, else nil (then nothing is shown in place)") { _ in
            [StatusLine.shared.map { .integer($0.width) } ?? .nil]
        }
        m.function("show", "lab.progress.show([line]): shows line in place at the bottom of the terminal (cut to its width), or erases it (no line); nothing when stdout is not a terminal") { args in
            let line = args.isNil(1) ? nil : try args.string(1)   // checked on a terminal or not
            StatusLine.shared?.set(line)
            return []
        }
        return m
    }

    static let docs: [(String, String)] = [
        ("lab.progress.line", "lab.progress.line{name=, step=, total=, loss=, eval=, eval_name=, rate=, width=}: the progress line lab.train shows: name, a bar, step/total, the latest loss and held-out metric, steps/s and the time left"),
        ("lab.progress.duration", "lab.progress.duration(seconds): a time as people read it: 42s, 1m20s, 2h05m, 3d04h"),
    ]

    static func install(in state: LuaState) throws {
        try EmbeddedLua.run("lab/progress.lua", in: state)
        for (name, doc) in docs { state.document(function: name, doc) }
    }
}
