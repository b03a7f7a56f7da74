import LuaBridge

/// lab.print_table: the comparison table a recipe prints at its end (one row per cell, say). In Lua
/// because it only formats Lua values.
enum Reporting {
    static let docs: [(String, String)] = [
        ("lab.print_table", "lab.print_table(rows, columns [, title]): prints the tables in rows as aligned columns (columns: a list of keys; numbers with 4 significant digits, missing values as –)"),
    ]

    static func install(in state: LuaState) throws {
        try EmbeddedLua.run("lab/print_table.lua", in: state)
        for (name, doc) in docs { state.document(function: name, doc) }
    }
}
