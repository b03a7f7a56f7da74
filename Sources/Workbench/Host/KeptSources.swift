import Foundation
import LuaBridge

/// A run directory's source/: the script as it ran and every Lua module it required from outside
/// the system's Lua directories, which `--resume` runs instead of the originals (they may have been
/// edited or moved since). run.json's `modules` says where each came from.
extension RunDirectory {
    static let keptModules = "source/modules"

    /// Copies the module `name`, loaded from `path`, into source/modules/ as `require` names it
    /// there (a.b → a/b.lua, or a/b/init.lua).
    func keep(module name: String, from path: String) throws {
        let full = URL(fileURLWithPath: path).standardizedFileURL.path
        let kept = file(RunDirectory.keptModules)
        guard !full.hasPrefix("/usr/"), !full.hasPrefix(kept + "/") else { return }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" } }) else {
            Console.error("spectral-lab: warning: module '\(name)' is not kept in source/ (a name of letters, digits, _ and - between dots can be); a resume loads it from \(full)")
            return
        }
        let target = kept + "/" + parts.joined(separator: "/") + (full.hasSuffix("/init.lua") ? "/init.lua" : ".lua")
        guard !FileManager.default.fileExists(atPath: target) else { return }
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: target).deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: full, toPath: target)
        var modules = recorded("modules").table ?? LuaTable(array: [])
        modules.fields[.string(name)] = .string(full)
        try updateRecord(["modules": .table(modules)])
    }
}

extension RunDirectory {
    /// The script as the run was first started from it (a resume runs the copy in source/, but
    /// its folder is the original's), or nil for a built-in recipe, which has no folder.
    func originalScript(running file: String) -> String? {
        recorded("builtin").isNil ? recorded("script_path").string ?? file : nil
    }
}

extension LabSession {
    /// Puts the script's folder and the search path on `require`'s path, and makes it keep what
    /// it loads in the run directory; a resumed run loads its copies
    /// (package.path cannot name a folder holding ';' or '?': such a run loads the originals).
    func keepSources(in dir: RunDirectory, script: String, resuming: Bool) throws {
        let kept = dir.file(RunDirectory.keptModules)
        let keep = state.function { [unowned dir] args in
            try dir.keep(module: args.string(1), from: args.string(2))
            return []
        }
        guard case .ref(let install) = try EmbeddedLua.run("run/keep_sources.lua", in: state).first else {
            throw LuaError.runtime("run/keep_sources.lua did not load")
        }
        let usable = resuming && !kept.contains(";") && !kept.contains("?")
        let folder = dir.originalScript(running: script).map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        _ = try LuaState.call(install, [keep, .string(searchPath.modulePath(scriptFolder: folder)), usable ? .string(kept) : .nil], on: state.L)
    }
}
