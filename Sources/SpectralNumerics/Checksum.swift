import CZlib
import Foundation

/// CRC-32 (zlib's) of a file's bytes, read in 1 MiB pieces: what a run record uses to tell one
/// build of the binary from another (not a defence against a forged file).
public enum Checksum {
    public static func crc32(file path: String) -> UInt32? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var crc = CZlib.crc32(0, nil, 0)
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            crc = chunk.withUnsafeBytes { CZlib.crc32(crc, $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count)) }
        }
        return UInt32(truncatingIfNeeded: crc)
    }
}
