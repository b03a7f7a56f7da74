import Foundation
import LuaBridge

/// A plugin: a folder NAME in a directory of the recipe search path, holding `plugin.lua`, which
/// returns its manifest:
///
///     return {
///       name = "toy", version = "1.0.0", description = "What it brings.",
///       lab = "0.1.0",                        -- the oldest spectral-lab it runs on
///       recipes = { "sine.lua" },             -- files in the folder, listed as recipes
///       modules = { "sine", "schedule" },     -- required as require "toy.sine"
///       data = { "/srv/data/ptb" },           -- what its recipes read, granted in the sandbox
///     }
///
/// The manifest is read as recipes are described (in a process of its own, without power). A
/// plugin installed by `spectral-lab plugins install` also holds `.spectral-lab-install.json`
/// (where it came from, the commit).
public struct Plugin {
    public static let manifestName = "plugin.lua"
    static let installRecord = ".spectral-lab-install.json"

    public let folder: String
    public var name: String
    public var version = ""
    public var description = ""
    public var lab = ""
    public var recipes: [String] = []
    public var modules: [String] = []
    public var data: [String] = []
    /// What is wrong with it (it is listed, and none of its recipes is).
    public var problem: String?
    /// Where `plugins install` got it from, and the commit, when it came from git.
    public var source: String?
    public var commit: String?

    var recipePaths: [String] { recipes.map { "\(folder)/\($0)" } }

    /// Reads what describing `folder/plugin.lua` gave, and checks it: the name is the folder's, every
    /// recipe and module is a file in it, data paths are absolute, and this spectral-lab is new enough.
    init(folder: String, described info: RecipeInfo) {
        self.folder = folder
        name = URL(fileURLWithPath: folder).lastPathComponent
        if let record = try? JSON.table(contentsOf: "\(folder)/\(Plugin.installRecord)") {
            source = record["source"].string
            commit = record["commit"].string
        }
        do { try read(info) } catch { problem = "\(folder)/\(Plugin.manifestName): \(error)" }
    }

    private mutating func read(_ info: RecipeInfo) throws {
        if let p = info.problem { throw RecipeError(p) }
        guard let m = info.manifest.table else { throw RecipeError("must return a table (name=, version=, description=, lab=, recipes=, modules=, data=)") }
        let known: Set = ["name", "version", "description", "lab", "recipes", "modules", "data"]
        if let other = m.namedFields.map(\.name).first(where: { !known.contains($0) }) {
            throw RecipeError("unknown field '\(other)' (the fields: \(known.sorted().joined(separator: ", ")))")
        }
        func text(_ key: String) throws -> String {
            guard let s = m[key].string, !s.isEmpty else { throw RecipeError("\(key) must be a non-empty string") }
            return s
        }
        func list(_ key: String) throws -> [String] {
            if m[key].isNil { return [] }
            guard let t = m[key].table, t.namedFields.isEmpty else { throw RecipeError("\(key) must be a list of strings") }
            return try t.array.map { v in
                guard let s = v.string else { throw RecipeError("\(key) must be a list of strings") }
                return s
            }
        }
        let declared = try text("name")
        guard declared == name else {
            throw RecipeError("its name is '\(declared)', but its folder is '\(name)': a plugin's modules are required as \(name).module, so the two must agree")
        }
        version = try text("version")
        description = try text("description")
        lab = try text("lab")
        guard Plugin.compare(lab, Lab.version) <= 0 else {
            throw RecipeError("needs spectral-lab \(lab) or newer; this is \(Lab.version)")
        }
        let fm = FileManager.default
        recipes = try list("recipes")
        for r in recipes where r.contains("/") || !r.hasSuffix(".lua") || !fm.fileExists(atPath: "\(folder)/\(r)") {
            throw RecipeError("recipe '\(r)' is not a .lua file in \(folder)")
        }
        modules = try list("modules")
        for mod in modules where mod.contains("/") || mod.contains(".")
            || !(fm.fileExists(atPath: "\(folder)/\(mod).lua") || fm.fileExists(atPath: "\(folder)/\(mod)/init.lua")) {
            throw RecipeError("module '\(mod)' is not \(mod).lua or \(mod)/init.lua in \(folder)")
        }
        data = try list("data")
        for d in data where !d.hasPrefix("/") { throw RecipeError("data path '\(d)' must be absolute") }
    }

    /// Dotted versions compared numerically ("0.10" > "0.9"); -1, 0 or 1.
    static func compare(_ a: String, _ b: String) -> Int {
        let x = a.split(separator: ".").map { Int($0) ?? 0 }, y = b.split(separator: ".").map { Int($0) ?? 0 }
        for i in 0 ..< max(x.count, y.count) {
            let (p, q) = (i < x.count ? x[i] : 0, i < y.count ? y[i] : 0)
            if p != q { return p < q ? -1 : 1 }
        }
        return 0
    }
}

extension RecipeCatalog {
    /// The plugins on the search path: every folder of a search directory that holds plugin.lua.
    public func plugins() -> [Plugin] {
        let folders = searchPath.directories.flatMap { dir in
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().map { "\(dir)/\($0)" }
                .filter { FileManager.default.fileExists(atPath: "\($0)/\(Plugin.manifestName)") }
        }
        return zip(folders, describe(folders.map { "\($0)/\(Plugin.manifestName)" })).map { Plugin(folder: $0, described: $1) }
    }

    /// The plugin whose folder holds `file`, if any.
    func plugin(holding file: String) -> Plugin? {
        let resolved = Sandbox.resolve(file)
        return plugins().first { Sandbox.isInside(resolved, Sandbox.resolve($0.folder)) }
    }
}
