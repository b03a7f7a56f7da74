import Foundation

/// Writing a file so that a crash at any moment leaves either the old file or the whole new one:
/// the bytes go to a temporary file in the same directory, are forced to disk (fsync), and are
/// renamed over the target; the directory is then synced so the rename itself survives a power
/// loss. Only a regular file is ever replaced: a symlink, a device (/dev/null) or a directory at
/// the path is an error, not something to overwrite.
public enum AtomicFile {
    public struct Failure: Error, CustomStringConvertible {
        public let path: String
        public let problem: String
        public var description: String { "\(path): \(problem)" }
    }

    /// Writes what `body` writes to the handle it gets, atomically, to `path`.
    public static func write(to path: String, _ body: (FileHandle) throws -> Void) throws {
        func fail(_ problem: String) -> Failure { Failure(path: path, problem: problem) }
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            let kind = switch info.st_mode & S_IFMT {
            case S_IFLNK: "a symbolic link"
            case S_IFDIR: "a directory"
            case S_IFCHR, S_IFBLK: "a device"
            default: "not a regular file"
            }
            throw fail("is \(kind); files are written only as regular files (choose another path)")
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw fail("cannot be written: no temporary file can be made in \(directory.path)")
        }
        var renamed = false
        defer { if !renamed { try? FileManager.default.removeItem(at: temporary) } }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            do {
                try body(handle)
                try handle.synchronize()   // on disk before the rename makes it visible
            } catch {
                try? handle.close()
                throw error
            }
            try handle.close()
        } catch let error as Failure {
            throw error
        } catch {
            throw fail("cannot be written (\(temporary.path)): \(error.localizedDescription)")
        }
        guard rename(temporary.path, path) == 0 else {
            throw fail("cannot be renamed into place from \(temporary.path): \(String(cString: strerror(errno)))")
        }
        renamed = true
        let fd = open(directory.path, O_RDONLY)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    /// Writes `data` atomically to `path`.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { try $0.write(contentsOf: data) }
    }
}
