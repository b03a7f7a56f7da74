import Foundation
import LuaBridge

/// What a sandboxed run may touch: code you did not write (a recipe from the search path, or any
/// script under --sandbox) reads files only under `readable` and writes only in its run directory;
/// it cannot start programs, end the process, or load native code (lua/run/sandbox.lua withholds
/// those calls; lab.save, lab.load and lab.tasks check their paths here). docs/plugins.md.
struct Sandbox {
    /// Where the run writes (and reads).
    let runDirectory: String
    /// Folders (or files) it may read, resolved.
    let readable: [String]
    /// Why the run is sandboxed, for the messages ("the recipe comes from ~/.spectral-lab/plugins").
    let reason: String

    /// The data the Debian packages the recipes use install, and Lua's own module folders.
    static let systemReadable = ["/usr/share/datasets", "/usr/share/games/fortunes", "/usr/share/lua", "/usr/local/share/lua"]

    init(runDirectory: String, readable: [String], reason: String) {
        self.runDirectory = Sandbox.resolve(runDirectory)
        self.readable = ([runDirectory] + readable + Sandbox.systemReadable).map(Sandbox.resolve)
        self.reason = reason
    }

    /// The path the system would open: absolute, with symbolic links and `..` resolved as the
    /// kernel resolves them (realpath, never by editing the text: `link/../x` is the parent of the
    /// link's target), of the file or, for one not made yet, of its folder plus its name.
    static func resolve(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        if let real = realpath(absolute, nil) {
            defer { free(real) }
            return String(cString: real)
        }
        var parts = absolute.split(separator: "/").map(String.init)
        // Not there: nothing can be opened through a missing folder, nor made named . or ..
        guard let name = parts.popLast(), name != ".", name != ".." else { return absolute }
        return (parts.isEmpty ? "" : resolve("/" + parts.joined(separator: "/"))) + "/" + name
    }

    /// Whether a resolved path is `root` or lies under it.
    static func isInside(_ path: String, _ root: String) -> Bool {
        path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    func check(read path: String, by call: String) throws {
        let p = Sandbox.resolve(path)
        guard readable.contains(where: { Sandbox.isInside(p, $0) }) else {
            throw refusal("\(call) cannot read \(p): a sandboxed run reads only its run directory, its own folder, "
                + "the Debian data sets and paths given with --set")
        }
    }

    func check(write path: String, by call: String) throws {
        let p = Sandbox.resolve(path)
        guard Sandbox.isInside(p, runDirectory) else {
            throw refusal("\(call) cannot write \(p): a sandboxed run writes only in its run directory (lab.run_dir(\"name\"))")
        }
    }

    func refusal(_ what: String) -> LuaError {
        LuaError.runtime("\(what). It runs sandboxed because \(reason); to let it, run with --trust, "
            + "or trust its folder in ~/.spectral-lab/config (a line: trust /path/to/folder)")
    }
}

extension LabSession {
    /// Installs the sandbox's Lua side: the withheld calls and the checked file functions.
    func enterSandbox(_ sandbox: Sandbox) throws {
        self.sandbox = sandbox
        let check = state.function { [unowned self] args in
            let (kind, path, call) = (try args.string(1), try args.string(2), try args.string(3))
            guard let s = self.sandbox else { return [] }
            if kind == "read" { try s.check(read: path, by: call) } else { try s.check(write: path, by: call) }
            return []
        }
        let refuse = state.function { [unowned self] args in
            throw self.sandbox?.refusal("\(try args.string(1)) is not allowed in the sandbox") ?? LuaError.runtime("no sandbox")
        }
        guard case .ref(let install) = try EmbeddedLua.run("run/sandbox.lua", in: state).first else {
            throw LuaError.runtime("run/sandbox.lua did not load")
        }
        _ = try LuaState.call(install, [check, refuse], on: state.L)
    }

    /// lab functions that open files call these (no-ops outside a sandbox).
    func checkRead(_ path: String, by call: String) throws { try sandbox?.check(read: path, by: call) }
    func checkWrite(_ path: String, by call: String) throws { try sandbox?.check(write: path, by: call) }
}
