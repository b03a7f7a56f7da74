import Foundation
import LuaBridge
import SpectralNumerics

/// `spectral-lab plugins install | remove`: plugins live in ~/.spectral-lab/plugins/NAME. Install
/// clones a git repository (a URL, or a local folder with .git: the system's git, its commit
/// recorded) or copies a folder, into a temporary folder beside the others; checks the manifest
/// there (read without power, as recipes are); refuses a name already installed; then moves it
/// to NAME and records where it came from in .spectral-lab-install.json.
public struct PluginInstaller {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ d: String) { description = d }
    }

    let root: String

    public init(home: String) { root = "\(home)/.spectral-lab/plugins" }

    public func install(from source: String) throws -> Plugin {
        guard !root.hasPrefix("/.spectral-lab") else { throw Failure("HOME is not set: nowhere to install plugins") }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        let staging = "\(root)/.installing-\(getpid())"
        try? fm.removeItem(atPath: staging)
        defer { try? fm.removeItem(atPath: staging) }
        var isDir: ObjCBool = false
        let local = fm.fileExists(atPath: source, isDirectory: &isDir) && isDir.boolValue
        var commit: String?
        if local && !fm.fileExists(atPath: "\(source)/.git") {
            do { try fm.copyItem(atPath: source, toPath: staging) } catch { throw Failure("cannot copy \(source): \(error.localizedDescription)") }
        } else {
            guard local || source.contains("://") || source.hasPrefix("git@") || source.hasSuffix(".git") else {
                throw Failure("'\(source)' is neither a folder nor a git repository URL")
            }
            do {
                _ = try Git.run(["clone", "--quiet", "--", source, staging], in: root)
                commit = try Git.run(["rev-parse", "HEAD"], in: staging)
            } catch { throw Failure("cannot install from \(source): \(error)") }
        }
        guard fm.fileExists(atPath: "\(staging)/\(Plugin.manifestName)") else {
            throw Failure("\(source) has no \(Plugin.manifestName) (a plugin is a folder with its manifest: see docs/plugins.md)")
        }
        // Its manifest, read as it will be once installed, but under the staging folder's name.
        let described = RecipeCatalog(searchPath: RecipeSearchPath(directories: [])).describe(["\(staging)/\(Plugin.manifestName)"])[0]
        guard let name = described.manifest.table?["name"].string, isPluginName(name) else {
            throw Failure("\(source)/\(Plugin.manifestName): \(described.problem ?? "its name must be letters, digits, '_' or '-'")")
        }
        let folder = "\(root)/\(name)"
        guard !fm.fileExists(atPath: folder) else {
            throw Failure("a plugin named '\(name)' is installed already (\(folder)); remove it first: spectral-lab plugins remove \(name)")
        }
        try fm.moveItem(atPath: staging, toPath: folder)
        var record: LuaTable = ["source": .string(local ? Sandbox.resolve(source) : source), "installed": .string(RunDirectory.isoNow())]
        if let commit { record["commit"] = .string(commit) }
        try AtomicFile.write(Data((JSON.encode(.table(record), pretty: true) + "\n").utf8), to: "\(folder)/\(Plugin.installRecord)")
        let plugin = RecipeCatalog(searchPath: RecipeSearchPath(directories: [root])).plugins().first { $0.name == name }!
        if let problem = plugin.problem {
            try? fm.removeItem(atPath: folder)
            throw Failure(problem)
        }
        return plugin
    }

    /// Removes ~/.spectral-lab/plugins/NAME; returns the folder removed.
    public func remove(_ name: String) throws -> String {
        let folder = "\(root)/\(name)"
        guard isPluginName(name), FileManager.default.fileExists(atPath: "\(folder)/\(Plugin.manifestName)") else {
            throw Failure("no plugin named '\(name)' is installed in \(root)")
        }
        try FileManager.default.removeItem(atPath: folder)
        return folder
    }

    private func isPluginName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 100 && !name.hasPrefix(".") && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
    }
}
