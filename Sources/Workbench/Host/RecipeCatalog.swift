import Foundation
import LuaBridge

/// Where recipes are found, first match wins (so a user's own copy overrides a shipped one):
/// every directory in SPECTRAL_LAB_PATH (colon-separated), then ~/.spectral-lab/plugins, then the
/// recipes built into the binary (plugins/*.lua of the checkout it was built from). Nothing is
/// found by searching upward from the binary: what ships with it is compiled in.
public struct RecipeSearchPath: Sendable {
    public let directories: [String]
    /// Whether the built-in recipes come last.
    public let builtins: Bool

    public init(directories: [String], builtins: Bool = false) {
        self.directories = directories
        self.builtins = builtins
    }

    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> RecipeSearchPath {
        var dirs: [String] = []
        if let path = environment["SPECTRAL_LAB_PATH"] {
            dirs += path.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        if let home = environment["HOME"], !home.isEmpty { dirs.append("\(home)/.spectral-lab/plugins") }
        var seen = Set<String>()
        return RecipeSearchPath(directories: dirs.filter { seen.insert(canonical($0)).inserted }, builtins: true)
    }

    /// Where `require` looks before package.path: the script's own folder, then every directory
    /// of the search path (so a plugin folder NAME there gives `require "NAME.module"`). Folders
    /// whose names would break package.path (holding ';' or '?') are left out.
    func modulePath(scriptFolder: String?) -> String {
        ((scriptFolder.map { [$0] } ?? []) + directories).filter { !$0.contains(";") && !$0.contains("?") }
            .flatMap { ["\($0)/?.lua", "\($0)/?/init.lua"] }.joined(separator: ";")
    }

    static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
    }
}

/// A recipe as `spectral-lab recipes` shows it.
public struct RecipeInfo {
    public internal(set) var name: String
    public let path: String
    public var description: String
    public var parameters: [(name: String, value: LuaValue, help: String?, allowed: String?)]
    /// Why the recipe could not be read (it is still listed, with this).
    public var problem: String?
    /// Another recipe of the same name, found earlier on the path: `run NAME` is then an error
    /// naming both (each runs by its path).
    public var sameName: String?
    /// A Lua module beside the recipes (it declares nothing and returns a value): not listed.
    var isModule = false
    /// A recipe built into the binary: its file name (`path` reads `builtin:NAME`).
    public internal(set) var builtin: String?
    /// For a plugin's plugin.lua: the table it returned (Plugin.swift reads it).
    var manifest: LuaValue = .nil
    /// For each set of --set values it was asked to check (a sweep's points): nil when the
    /// declaration takes them, else the error a run given them would stop with.
    public var checkProblems: [String?] = []

    static let builtinPrefix = "builtin:"

    /// The recipe's text.
    public var source: String? {
        if let builtin { return EmbeddedLua.recipes[builtin] }
        return try? String(contentsOfFile: path, encoding: .utf8)
    }

    init(path: String, problem: String? = nil) {
        name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        self.path = path
        if path.hasPrefix(RecipeInfo.builtinPrefix) { builtin = String(path.dropFirst(RecipeInfo.builtinPrefix.count)) }
        description = ""
        parameters = []
        self.problem = problem
    }

    /// What a describing process prints: the declaration as JSON, parameters in their declared order.
    public var recordJSON: String { JSON.encode(record) }

    var record: LuaValue {
        var t: LuaTable = ["name": .string(name), "description": .string(description)]
        t["parameters"] = .table(LuaTable(array: parameters.map { p in
            var entry: LuaTable = ["name": .string(p.name), "default": p.value]
            if let h = p.help { entry["help"] = .string(h) }
            if let a = p.allowed { entry["allowed"] = .string(a) }
            return .table(entry)
        }))
        if let problem { t["problem"] = .string(problem) }
        if isModule { t["module"] = true }
        if !manifest.isNil { t["manifest"] = manifest }
        if !checkProblems.isEmpty { t["checks"] = .table(LuaTable(array: checkProblems.map { $0.map(LuaValue.string) ?? false })) }
        return .table(t)
    }

    /// What the describing process of `path` wrote to `output`, or why it gave nothing.
    init(reading output: String, of path: String, exit process: Process) {
        self.init(path: path)
        guard process.terminationReason == .exit, process.terminationStatus == 0,
              let t = try? JSON.table(contentsOf: output), let name = t["name"].string, let description = t["description"].string,
              !name.isEmpty || !t["manifest"].isNil else {
            problem = process.terminationReason == .uncaughtSignal
                ? "describing it ended with signal \(process.terminationStatus)"
                : "describing it gave no declaration (exit \(process.terminationStatus))"
            return
        }
        self.name = name
        self.description = description
        problem = t["problem"].string
        isModule = t["module"].bool == true
        manifest = t["manifest"]
        checkProblems = (t["checks"].table?.array ?? []).map(\.string)
        parameters = (t["parameters"].table?.array ?? []).compactMap { v in
            guard let p = v.table, let n = p["name"].string else { return nil }
            return (n, p["default"], p["help"].string, p["allowed"].string)
        }
    }

    var luaValue: LuaValue {
        var params: LuaTable = [:]
        for p in parameters {
            var entry: LuaTable = ["default": p.value]
            if let h = p.help { entry["help"] = .string(h) }
            if let a = p.allowed { entry["allowed"] = .string(a) }
            params[p.name] = .table(entry)
        }
        var t: LuaTable = ["name": .string(name), "path": .string(path),
                           "description": .string(description), "params": .table(params)]
        if builtin != nil { t["builtin"] = true }
        if let problem { t["problem"] = .string(problem) }
        if let sameName { t["same_name"] = .string(sameName) }
        return .table(t)
    }
}

public struct RecipeCatalog {
    public let searchPath: RecipeSearchPath
    /// The program that describes one recipe in a process of its own (`describe-recipe PATH`):
    /// this one, normally.
    public var describer: String

    public init(searchPath: RecipeSearchPath, describer: String = RecipeCatalog.thisExecutable) {
        self.searchPath = searchPath
        self.describer = describer
    }

    public static var thisExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The file name of the built-in recipe a path names (`builtin:adding.lua`), if it is one.
    public static func builtin(path: String) -> String? {
        guard path.hasPrefix(RecipeInfo.builtinPrefix) else { return nil }
        let name = String(path.dropFirst(RecipeInfo.builtinPrefix.count))
        return EmbeddedLua.recipes[name] == nil ? nil : name
    }

    /// How long one recipe may take to be described, wall clock, before it is stopped and listed
    /// with that problem.
    public static let describeSeconds = 1.0

    /// Every recipe on the path, in path order, then by name: each directory's .lua files, then
    /// the recipes its plugins' manifests name; the built-in ones last.
    public func recipes() -> [RecipeInfo] {
        let plugins = self.plugins().filter { $0.problem == nil }
        let paths = searchPath.directories.flatMap { dir in
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".lua") }.sorted().map { "\(dir)/\($0)" }
                + plugins.filter { URL(fileURLWithPath: $0.folder).deletingLastPathComponent().path == dir }.flatMap(\.recipePaths)
        } + (searchPath.builtins ? EmbeddedLua.recipes.keys.sorted().map { RecipeInfo.builtinPrefix + $0 } : [])
        var found: [String: String] = [:]   // name → path of the one in force
        return describe(paths).filter { !$0.isModule }.map { info in
            var info = info
            if let first = found[info.name] { info.sameName = first } else { found[info.name] = info.path }
            return info
        }
    }

    /// Describes one recipe or script, checking each set of --set values against its declaration
    /// (a sweep's points, before any of them runs).
    public func describe(_ path: String, checking checks: [[String]]) -> RecipeInfo {
        describe([path], checking: checks)[0]
    }

    /// The recipe of a name (the name it declares, or its file name without .lua). Two recipes of
    /// one name are an error that lists both: run one by its path.
    public func find(_ name: String, in recipes: [RecipeInfo]? = nil) throws -> RecipeInfo? {
        let wanted = name.hasSuffix(".lua") ? String(name.dropLast(4)) : name
        let all = recipes ?? self.recipes()
        let named = all.filter { $0.name == wanted }
        let matches = named.isEmpty ? all.filter { fileStem($0.path) == wanted } : named
        guard matches.count <= 1 else {
            throw RecipeError("\(matches.count) recipes are named '\(wanted)': \(matches.map(\.path).joined(separator: ", ")); "
                + "run one by its path (spectral-lab run \(matches[0].path)), or rename one")
        }
        return matches.first
    }

    private func fileStem(_ path: String) -> String {
        URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    }

    /// Describes each recipe in a process of its own (`describer describe-recipe PATH`), as many
    /// at once as there are cores, each stopped after `describeSeconds`: a recipe that loops,
    /// allocates or blocks is listed with its problem, and the others are unaffected.
    func describe(_ paths: [String], checking checks: [[String]] = []) -> [RecipeInfo] {
        var results = [RecipeInfo?](repeating: nil, count: paths.count)
        var running: [(index: Int, process: Process, output: String, deadline: Date)] = []
        var next = 0
        let scratch = NSTemporaryDirectory() + "/spectral-lab-describe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let checksFile = "\(scratch)/checks.json"
        if !checks.isEmpty {
            try? JSON.encode(.table(LuaTable(array: checks.map { .table(LuaTable(array: $0.map(LuaValue.string))) }))).write(toFile: checksFile, atomically: true, encoding: .utf8)
        }
        let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
        while next < paths.count || !running.isEmpty {
            while running.count < width, next < paths.count {
                let output = "\(scratch)/\(next).json"
                let process = Process()
                process.executableURL = URL(fileURLWithPath: describer)
                process.arguments = ["describe-recipe", paths[next]] + (checks.isEmpty ? [] : ["--checks", checksFile])   // builtin:NAME for a built-in one
                process.standardInput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                if FileManager.default.createFile(atPath: output, contents: nil), let out = FileHandle(forWritingAtPath: output) {
                    process.standardOutput = out
                    do {
                        try process.run()
                        running.append((next, process, output, Date().addingTimeInterval(RecipeCatalog.describeSeconds)))
                    } catch { results[next] = RecipeInfo(path: paths[next], problem: "cannot start \(describer) to describe it: \(error)") }
                    try? out.close()
                } else {
                    results[next] = RecipeInfo(path: paths[next], problem: "cannot write \(output)")
                }
                next += 1
            }
            usleep(2_000)
            running.removeAll { r in
                if r.process.isRunning {
                    guard Date() > r.deadline else { return false }
                    kill(r.process.processIdentifier, SIGKILL)
                    r.process.waitUntilExit()
                    results[r.index] = RecipeInfo(path: paths[r.index], problem: String(format: "stopped after %.0f s: a recipe must reach lab.params without doing any work", RecipeCatalog.describeSeconds))
                    return true
                }
                results[r.index] = RecipeInfo(reading: r.output, of: paths[r.index], exit: r.process)
                return true
            }
        }
        return results.map { $0! }
    }

    /// Reads a recipe in this process: its chunk runs in the describing sandbox
    /// (lua/describe/sandbox.lua: no io, os, load or debug; of lab only lab.recipe, lab.params and
    /// lab.experiment.params) with budgets on instructions and on the Lua heap, up to its lab.params
    /// call, and what it declared is read off. `spectral-lab describe-recipe` runs this.
    public static func describeHere(path: String, checking checks: [[ParameterOverride]] = []) -> RecipeInfo {
        var info = RecipeInfo(path: path)
        if let name = info.builtin, EmbeddedLua.recipes[name] == nil {
            info.problem = "no built-in recipe \(name)"
            return info
        }
        do {
            let session = try LabSession(mode: .describe, searchPath: .standard())
            let state = session.state
            guard case .ref(let sandbox) = try EmbeddedLua.run("describe/sandbox.lua", in: state).first else {
                throw LuaError.runtime("describe/sandbox.lua did not load")
            }
            var outcome: Error?, returned = LuaValue.nil
            do {
                let chunk = try info.builtin.map { try state.function(code: EmbeddedLua.recipes[$0]!, chunkName: "@" + path) }
                    ?? state.function(file: path, displayName: displayPath(path))
                state.heapLimit = describeHeapBytes
                state.limitInstructions(50_000_000)
                let folder = info.builtin == nil ? URL(fileURLWithPath: path).deletingLastPathComponent().path : nil
                let modules = session.searchPath.modulePath(scriptFolder: folder)
                returned = try LuaState.call(sandbox, [.ref(chunk), .string(modules)], on: state.L).first ?? .nil
            } catch { outcome = error }
            if URL(fileURLWithPath: path).lastPathComponent == Plugin.manifestName {
                info.manifest = returned   // a plugin's manifest: what it returns is the point
                if let outcome { info.problem = firstLine(of: "\(outcome)") }
                return info
            }
            if let n = session.recipeName { info.name = n }
            info.description = session.recipeDescription ?? ""
            if let p = session.parameters {
                info.parameters = p.defaults.namedFields.map { ($0.name, $0.value, p.help[$0.name], p.allowedText($0.name)) }
                info.checkProblems = checks.map { overrides in
                    do { _ = try p.resolve(overrides, in: state); return nil } catch { return "\(error)" }
                }
            } else if let outcome {
                info.problem = firstLine(of: "\(outcome)")
            } else if session.recipeName == nil, session.recipeDescription == nil, !returned.isNil {
                info.isModule = true   // a helper that recipes require: not a recipe itself
            } else {
                info.problem = "declares no parameters (lab.params was not called)"
            }
        } catch {
            info.problem = firstLine(of: "\(error)")
        }
        return info
    }

    /// The Lua heap a recipe may use while it is described.
    static let describeHeapBytes = 64 << 20

    static func firstLine(of s: String) -> String {
        String(s.split(separator: "\n", maxSplits: 1).first ?? "")
    }
}

public struct RecipeError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
