import Foundation

/// An IDX file of unsigned bytes (the MNIST format): magic 0x00 0x00 0x08 ndim, then ndim big-endian
/// 32-bit dimensions, then the bytes. Gzipped files are decompressed first.
struct IDXFile {
    let dimensions: [Int]
    let bytes: [UInt8]

    /// Reads `path`, expecting `rank` dimensions (1 for labels, 3 for images).
    init(path: String, rank: Int) throws {
        guard let raw = FileManager.default.contents(atPath: path) else {
            throw TaskError(FileManager.default.fileExists(atPath: path) ? "\(path): cannot be read" : "\(path): no such file")
        }
        let data = Gzip.isCompressed(raw) ? try Gzip.decompress(raw, name: path) : raw
        let b = [UInt8](data)
        guard b.count >= 4 else { throw TaskError("\(path): truncated IDX file (\(b.count) bytes, no header)") }
        let magic = b[0 ..< 4].reduce(0) { $0 << 8 | Int($1) }
        guard b[0] == 0, b[1] == 0, b[2] == 0x08, Int(b[3]) == rank else {
            throw TaskError(String(format: "%@: wrong IDX magic number 0x%08x (expected 0x%08x: unsigned bytes, %d dimensions)",
                                   path, magic, 0x0800 | rank, rank))
        }
        let header = 4 + 4 * rank
        guard b.count >= header else { throw TaskError("\(path): truncated IDX header (\(b.count) of \(header) bytes)") }
        dimensions = (0 ..< rank).map { i in b[4 + 4 * i ..< 8 + 4 * i].reduce(0) { $0 << 8 | Int($1) } }
        let count = dimensions.reduce(1, *)
        guard b.count - header >= count else {
            throw TaskError("\(path): truncated IDX data (\(b.count - header) of \(count) bytes for \(dimensions.map(String.init).joined(separator: "×")))")
        }
        bytes = Array(b[header ..< header + count])
    }
}
