import Foundation
import LuaBridge

/// Where recipes are found, first match wins (so a user's own copy overrides a shipped one):
/// every directory in SPECTRAL_LAB_PATH (colon-separated), then ~/.spectral-lab/plugins, then the
/// project's plugins/ (found from the executable: the first parent holding Package.swift and plugins/).
public struct RecipeSearchPath: Sendable {
    public let directories: [String]

    public init(directories: [String]) { self.directories = directories }

    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment,
                                executable: String = CommandLine.arguments.first ?? "") -> RecipeSearchPath {
        var dirs: [String] = []
        if let path = environment["SPECTRAL_LAB_PATH"] {
            dirs += path.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        if let home = environment["HOME"], !home.isEmpty { dirs.append("\(home)/.spectral-lab/plugins") }
        if let project = projectDirectory(from: executable) { dirs.append("\(project)/plugins") }
        var seen = Set<String>()
        return RecipeSearchPath(directories: dirs.filter { seen.insert(canonical($0)).inserted })
    }

    /// The spectral-lab checkout this binary was built in (for its shipped plugins/).
    static func projectDirectory(from executable: String) -> String? {
        let exe = URL(fileURLWithPath: executable).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        while dir.path != "/" && !dir.path.isEmpty {
            let fm = FileManager.default
            if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path),
               fm.fileExists(atPath: dir.appendingPathComponent("plugins").path) {
                return dir.path
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
    }
}

/// A recipe as `spectral-lab recipes` shows it.
public struct RecipeInfo {
    public let name: String
    public let path: String
    public var description: String
    public var parameters: [(name: String, value: LuaValue, help: String?, allowed: String?)]
    /// Why the recipe could not be read (it is still listed, with this).
    public var problem: String?
    /// The recipe of the same name found earlier on the path, which hides this one.
    public var shadowedBy: String?

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
        if let problem { t["problem"] = .string(problem) }
        if let shadowedBy { t["shadowed_by"] = .string(shadowedBy) }
        return .table(t)
    }
}

public struct RecipeCatalog {
    public let searchPath: RecipeSearchPath

    public init(searchPath: RecipeSearchPath) { self.searchPath = searchPath }

    /// Every recipe on the path, in path order, then by name.
    public func recipes() -> [RecipeInfo] {
        var found: [String: String] = [:]   // name → path of the one in force
        var all: [RecipeInfo] = []
        for dir in searchPath.directories {
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
                .filter { $0.hasSuffix(".lua") }.sorted()
            for f in files {
                var info = RecipeCatalog.describe(path: "\(dir)/\(f)")
                if let first = found[info.name] { info.shadowedBy = first } else { found[info.name] = info.path }
                all.append(info)
            }
        }
        return all
    }

    /// The recipe in force for a name (a file name without .lua, or the name it declares).
    public func find(_ name: String) -> RecipeInfo? {
        let wanted = name.hasSuffix(".lua") ? String(name.dropLast(4)) : name
        return recipes().first { $0.shadowedBy == nil && ($0.name == wanted || fileStem($0.path) == wanted) }
    }

    private func fileStem(_ path: String) -> String {
        URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    }

    /// Runs the recipe up to its lab.params call, in a state of its own with print silenced and an
    /// instruction budget, and reads off what it declared.
    public static func describe(path: String) -> RecipeInfo {
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var info = RecipeInfo(name: stem, path: path, description: "", parameters: [])
        do {
            let session = try LabSession(mode: .describe, searchPath: RecipeSearchPath(directories: []))
            try session.state.run("print = function() end; io.write = function() end", chunkName: "=describe")
            session.state.limitInstructions(50_000_000)
            var outcome: Error?
            do { try session.state.run(file: path, displayName: displayPath(path)) } catch { outcome = error }
            if let n = session.recipeName { info = RecipeInfo(name: n, path: path, description: "", parameters: []) }
            info.description = session.recipeDescription ?? ""
            if let p = session.parameters {
                info.parameters = p.defaults.namedFields.map { ($0.name, $0.value, p.help[$0.name], p.allowedText($0.name)) }
            } else if let outcome {
                info.problem = firstLine(of: "\(outcome)")
            } else {
                info.problem = "declares no parameters (lab.params was not called)"
            }
        } catch {
            info.problem = firstLine(of: "\(error)")
        }
        return info
    }

    private static func firstLine(of s: String) -> String {
        String(s.split(separator: "\n", maxSplits: 1).first ?? "")
    }
}
