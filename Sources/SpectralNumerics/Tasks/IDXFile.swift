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
        let compressed = Gzip.isCompressed(raw)
        let header = 4 + 4 * rank
        // The header first (for a gzipped file, only as much as it takes), so that the data is
        // read no further than the dimensions announce.
        let head = [UInt8](compressed ? try Gzip.decompress(raw, name: path, limit: header, prefix: true) : raw.prefix(header))
        guard head.count >= 4 else { throw TaskError("\(path): truncated IDX file (\(head.count) bytes, no header)") }
        let magic = head[0 ..< 4].reduce(0) { $0 << 8 | Int($1) }
        guard head[0] == 0, head[1] == 0, head[2] == 0x08, Int(head[3]) == rank else {
            throw TaskError(String(format: "%@: wrong IDX magic number 0x%08x (expected 0x%08x: unsigned bytes, %d dimensions)",
                                   path, magic, 0x0800 | rank, rank))
        }
        guard head.count >= header else { throw TaskError("\(path): truncated IDX header (\(head.count) of \(header) bytes)") }
        dimensions = (0 ..< rank).map { i in head[4 + 4 * i ..< 8 + 4 * i].reduce(0) { $0 << 8 | Int($1) } }
        let shape = dimensions.map(String.init).joined(separator: "×")
        var count = 1
        for d in dimensions {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, p <= 1 << 34 else { throw TaskError("\(path): IDX dimensions \(shape) are too large for an image file (over 16 GiB)") }
            count = p
        }
        // All of it (zlib checks the CRC at the end), but no more than the header announces.
        let b = [UInt8](compressed ? try Gzip.decompress(raw, name: path, limit: header + count) : raw)
        guard b.count - header >= count else {
            throw TaskError("\(path): truncated IDX data (\(b.count - header) of \(count) bytes for \(shape))")
        }
        bytes = Array(b[header ..< header + count])
    }
}
