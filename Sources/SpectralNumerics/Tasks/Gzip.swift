import CZlib
import Foundation

/// Gzip decompression through zlib, for datasets shipped as .gz (several concatenated members are
/// read as one stream, as gunzip does).
enum Gzip {
    static func isCompressed(_ data: Data) -> Bool { data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b }

    /// The decompressed bytes, at most `limit` of them: the first `limit` when `prefix` (a reader
    /// that needs only a header), else an error past it, so a small file that inflates without
    /// bound (3 MB → 3 GB) is refused instead of exhausting memory. `name` goes into the errors.
    static func decompress(_ data: Data, name: String, limit: Int, prefix: Bool = false) throws -> Data {
        var out = Data()
        var stream = z_stream()
        // 15 + 32: the largest window, and a gzip (or zlib) header detected automatically.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw TaskError("\(name): cannot start gzip decompression")
        }
        defer { inflateEnd(&stream) }
        let chunk = min(1 << 20, limit + 1)   // one byte past the limit is enough to see it passed
        var buffer = [UInt8](repeating: 0, count: chunk)
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(input.count)
            while true {
                let status = buffer.withUnsafeMutableBufferPointer { b -> Int32 in
                    stream.next_out = b.baseAddress
                    stream.avail_out = uInt(chunk)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                out.append(contentsOf: buffer[0 ..< chunk - Int(stream.avail_out)])
                if out.count >= limit && prefix {
                    out.removeSubrange(out.startIndex + limit ..< out.endIndex)
                    return
                }
                if out.count > limit {
                    throw TaskError("\(name): decompresses to more than the \(limit) bytes expected (a damaged or hostile gzip file)")
                }
                switch status {
                case Z_STREAM_END:
                    if stream.avail_in == 0 { return }
                    guard inflateReset(&stream) == Z_OK else { throw TaskError("\(name): corrupt gzip data") }   // next member
                case Z_OK:
                    if stream.avail_in == 0 && stream.avail_out != 0 {
                        throw TaskError("\(name): truncated gzip file (the compressed data ends early)")
                    }
                case Z_BUF_ERROR:
                    throw TaskError("\(name): truncated gzip file (the compressed data ends early)")
                default:
                    let detail = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw TaskError("\(name): corrupt gzip data (\(detail))")
                }
            }
        }
        return out
    }
}
