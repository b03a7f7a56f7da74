import Foundation

/// ~/.spectral-lab/config: a plain text file of lines `trust /path/to/folder` (recipes and
/// plugins under a trusted folder run without the sandbox), blank lines and `#` comments. A line
/// it does not understand is an error naming the file and line.
public struct UserConfig {
    public var trusted: [String] = []

    public static func path(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return "\(home)/.spectral-lab/config"
    }

    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> UserConfig {
        var config = UserConfig()
        guard let path = path(environment: environment), FileManager.default.fileExists(atPath: path) else { return config }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw RunDirectoryError("\(path): cannot be read as UTF-8 text") }
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let words = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard words.count == 2, words[0] == "trust", words[1].hasPrefix("/") else {
                throw RunDirectoryError("\(path):\(i + 1): expected `trust /absolute/folder`, got '\(line)'")
            }
            config.trusted.append(Sandbox.resolve(words[1].trimmingCharacters(in: .whitespaces)))
        }
        return config
    }
}
