import Foundation
import LuaBridge
import SpectralNumerics

/// What run.json says about where and how a run ran, beside its script, seed and parameters:
/// enough to tell whether another run can reproduce it bit for bit (same binary, BLAS library and
/// thread count; see docs/workbench.md).
enum RunRecord {
    /// The command line, the working directory, and the machine: host, CPU, cores, BLAS and its threads.
    static func environment(arguments: [String]) -> [String: LuaValue] {
        [
            "argv": .table(LuaTable(array: arguments.map { .string($0) })),
            "cwd": .string(FileManager.default.currentDirectoryPath),
            "host": .string(ProcessInfo.processInfo.hostName),
            "cpu": .string(cpuModel() ?? "unknown"),
            "cores": .integer(ProcessInfo.processInfo.activeProcessorCount),
            "blas": .string(BLASLibrary.description),
            "blas_threads": .integer(BLASLibrary.threads),
        ]
    }

    /// /proc/cpuinfo's "model name".
    private static func cpuModel() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    /// Which build of spectral-lab ran: the executable's path and CRC-32 (the same binary is the
    /// first condition of a bitwise rerun), and the commit of the checkout it was built in, when it
    /// lies in one (a binary under .build/ does).
    static func binary() -> [String: LuaValue] {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return [:] }
        var fields: [String: LuaValue] = ["spectral_lab_binary": .string(path)]
        if let crc = Checksum.crc32(file: path) { fields["spectral_lab_crc32"] = .string(String(format: "%08x", crc)) }
        for (key, value) in repository(of: path) { fields["spectral_lab_" + key] = value }
        return fields
    }

    /// The git commit of the repository a script lives in, and whether its tree had changes, or
    /// nothing when it is in none (or git is not installed).
    static func repository(of script: String) -> [String: LuaValue] {
        let folder = URL(fileURLWithPath: script).deletingLastPathComponent().path
        guard let commit = try? Git.run(["rev-parse", "HEAD"], in: folder),
              let status = try? Git.run(["status", "--porcelain"], in: folder) else { return [:] }
        return ["git_commit": .string(commit), "git_dirty": .boolean(!status.isEmpty)]
    }
}
