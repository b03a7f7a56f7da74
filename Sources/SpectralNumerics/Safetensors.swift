import Foundation

/// Checkpoints in the safetensors format, the one Hugging Face's `safetensors` package reads and
/// writes, so weights move between this workbench and PyTorch/numpy without conversion scripts.
///
/// Layout: an 8-byte little-endian header length N; N bytes of UTF-8 JSON mapping each tensor name
/// to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data buffer), plus an
/// optional "__metadata__" object of strings; then the data buffer, each tensor's raw little-endian
/// row-major bytes. The tensors' byte ranges tile the buffer exactly.
///
/// Tensor bytes are copied as they are in memory: like `AnyTensor.rawBytes`, this assumes a
/// little-endian machine (x86_64, arm64).
public enum Safetensors {
    /// The largest rank a file's tensor may have.
    public static let maxRank = 16

    /// Writes the tensors (and string metadata) atomically (AtomicFile: a crash mid-save never
    /// leaves a half-written checkpoint, and only a regular file is replaced). Tensors are stored
    /// in the order given; names must be unique, non-empty and not "__metadata__".
    public static func save(_ tensors: [(name: String, tensor: AnyTensor)], metadata: [String: String] = [:],
                            to path: String) throws {
        func fail(_ problem: String) -> SafetensorsError { SafetensorsError(path: path, problem) }

        // Swift compares strings up to Unicode canonical equivalence, so two names differing only in
        // normalization count as duplicates here; they would collide in the loader's dictionary anyway.
        var seen = Set<String>()
        for (name, _) in tensors {
            guard !name.isEmpty else { throw fail("a tensor has an empty name") }
            guard name != metadataKey else { throw fail("\"\(metadataKey)\" is reserved for metadata, not a tensor name") }
            guard seen.insert(name).inserted else { throw fail("duplicate tensor name \(jsonString(name))") }
        }

        let header = encodeHeader(tensors, metadata: metadata)
        var prefix = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { prefix.append(contentsOf: $0) }
        prefix.append(contentsOf: header)

        do {
            try AtomicFile.write(to: path) { handle in
                try handle.write(contentsOf: prefix)
                // One tensor at a time, straight from its memory: no second copy of the whole model.
                for (_, tensor) in tensors where tensor.byteCount > 0 { try handle.write(contentsOf: tensor.rawBytes) }
            }
        } catch let e as AtomicFile.Failure {
            throw fail(e.problem)
        }
    }

    /// Reads every tensor: F32 → .float, F64 → .double; other dtypes are an error. Tensors come back
    /// in the order of their data offsets (zero-size tensors sharing an offset: by name), which for
    /// files written by `save` is the order they were saved in.
    ///
    /// Every malformed file is a `SafetensorsError` naming the path and the problem. Nothing is
    /// allocated for a tensor until the header has been checked against the file's actual size, so
    /// a corrupt header cannot trigger a huge allocation.
    public static func load(_ path: String) throws -> (tensors: [(name: String, tensor: AnyTensor)], metadata: [String: String]) {
        func fail(_ problem: String) -> SafetensorsError { SafetensorsError(path: path, problem) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw fail("no such file") }
        guard !isDirectory.boolValue else { throw fail("is a directory, not a safetensors file") }
        let file: Data
        do { file = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw fail("cannot read the file: \(error.localizedDescription)")
        }
        return try file.withUnsafeBytes { try parse($0, fail: fail) }
    }

    private static let metadataKey = "__metadata__"

    // MARK: Writing

    /// The JSON header, padded with spaces as the Python writer does, so that the data buffer starts
    /// 8-byte aligned (8 + N ≡ 0 mod 8) and readers can map tensors in place.
    private static func encodeHeader(_ tensors: [(name: String, tensor: AnyTensor)], metadata: [String: String]) -> [UInt8] {
        var fields: [String] = []
        if !metadata.isEmpty {
            // Sorted, so the same checkpoint always produces the same bytes.
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            fields.append("\(jsonString(metadataKey)):{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (name, tensor) in tensors {
            let dtype: String
            switch tensor { case .float: dtype = Float.safetensorsName; case .double: dtype = Double.safetensorsName }
            let end = offset + tensor.byteCount
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            fields.append("\(jsonString(name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var bytes = Array("{\(fields.joined(separator: ","))}".utf8)
        bytes += repeatElement(UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8)
        return bytes
    }

    // MARK: Reading

    private struct Entry {
        let name: String
        let dtype: String
        let shape: [Int]
        let begin: Int
        let end: Int
    }

    private static func parse(_ file: UnsafeRawBufferPointer, fail: (String) -> SafetensorsError) throws
        -> (tensors: [(name: String, tensor: AnyTensor)], metadata: [String: String]) {
        guard file.count >= 8 else {
            throw fail("file is \(file.count) bytes, shorter than the 8-byte header length prefix (truncated, or not a safetensors file)")
        }
        let headerLength = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        // Compared as UInt64 against what is left, never as 8 + N, which could overflow.
        let available = file.count - 8
        guard headerLength <= UInt64(available) else {
            throw fail("header length \(headerLength) runs past the end of the file (only \(available) bytes follow the "
                       + "8-byte length prefix: truncated, or not a safetensors file)")
        }
        let headerEnd = 8 + Int(headerLength)
        let header = UnsafeRawBufferPointer(rebasing: file[8 ..< headerEnd])

        // Checked here because JSONSerialization would also accept UTF-16/32 (it sniffs BOMs); and the
        // header must start with '{', as the reference reader requires (no BOM, no leading blanks).
        guard String(decoding: header, as: UTF8.self).utf8.elementsEqual(header) else { throw fail("header is not valid UTF-8") }
        guard header.first == UInt8(ascii: "{") else { throw fail("header is not a JSON object (it must start with '{')") }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(header)) } catch {
            let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            throw fail("header is not valid JSON: \(reason)")
        }
        // Duplicate keys never reach us: JSONSerialization silently keeps one of them (as it also
        // merges keys that are canonically equivalent Unicode). The dropped tensor's bytes then show
        // up below as a gap, or the file loads with one copy when the duplicates were identical.
        guard let object = json as? [String: Any] else { throw fail("header is not a JSON object") }

        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in object {
            if name == metadataKey {
                metadata = try parseMetadata(value, fail: fail)
            } else {
                entries.append(try parseEntry(name, value, fail: fail))
            }
        }

        // The byte ranges must tile the data buffer: sorted by offset, each begins where the previous ended.
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        let buffer = UnsafeRawBufferPointer(rebasing: file[headerEnd...])
        var position = 0
        var previous: Entry?
        for entry in entries {
            if entry.begin > position {
                throw fail("data buffer bytes \(position)..<\(entry.begin) belong to no tensor (a gap before tensor \(jsonString(entry.name)))")
            }
            if entry.begin < position, let previous {
                throw fail("tensor \(jsonString(entry.name)) (data_offsets [\(entry.begin), \(entry.end)]) overlaps tensor "
                           + "\(jsonString(previous.name)) (data_offsets [\(previous.begin), \(previous.end)])")
            }
            position = entry.end
            previous = entry
        }
        if position > buffer.count {
            throw fail("data is truncated: the tensors need \(position) bytes after the header but the file holds only \(buffer.count)")
        }
        if position < buffer.count {
            throw fail("\(buffer.count - position) trailing bytes after the last tensor's data")
        }

        // Only now, with every range known to lie inside the file, are tensors allocated.
        let tensors = entries.map { entry -> (name: String, tensor: AnyTensor) in
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[entry.begin ..< entry.end])
            let tensor: AnyTensor = entry.dtype == Float.safetensorsName
                ? .float(makeTensor(shape: entry.shape, bytes: bytes))
                : .double(makeTensor(shape: entry.shape, bytes: bytes))
            return (entry.name, tensor)
        }
        return (tensors, metadata)
    }

    private static func parseMetadata(_ value: Any, fail: (String) -> SafetensorsError) throws -> [String: String] {
        guard let object = value as? [String: Any] else {
            throw fail("\"\(metadataKey)\" is not an object of strings (got \(describe(value)))")
        }
        var metadata: [String: String] = [:]
        for (key, item) in object {
            guard let string = item as? String else {
                throw fail("\"\(metadataKey)\" entry \(jsonString(key)) is not a string (got \(describe(item)))")
            }
            metadata[key] = string
        }
        return metadata
    }

    /// One tensor's header entry, checked on its own: types, a sane shape, and a byte range whose
    /// length matches the shape and dtype. (Extra keys are ignored, as the reference reader does.)
    private static func parseEntry(_ name: String, _ value: Any, fail: (String) -> SafetensorsError) throws -> Entry {
        let tensor = "tensor \(jsonString(name))"
        guard let object = value as? [String: Any] else { throw fail("\(tensor): entry is not a JSON object (got \(describe(value)))") }
        func field(_ key: String) throws -> Any {
            guard let v = object[key] else { throw fail("\(tensor): missing \"\(key)\"") }
            return v
        }
        func integers(_ key: String) throws -> [Int] {
            let v = try field(key)
            guard let array = v as? [Any] else { throw fail("\(tensor): \"\(key)\" is not an array (got \(describe(v)))") }
            return try array.enumerated().map { i, item in
                guard let n = nonNegativeInteger(item) else {
                    throw fail("\(tensor): \"\(key)\" entry \(i) is not a non-negative integer (got \(describe(item)))")
                }
                return n
            }
        }

        let dtypeValue = try field("dtype")
        guard let dtype = dtypeValue as? String else { throw fail("\(tensor): \"dtype\" is not a string (got \(describe(dtypeValue)))") }
        let itemSize: Int
        switch dtype {
        case Float.safetensorsName: itemSize = MemoryLayout<Float>.size
        case Double.safetensorsName: itemSize = MemoryLayout<Double>.size
        default:
            throw fail("\(tensor) has dtype \(jsonString(dtype)), which is not supported (only \(Float.safetensorsName) and \(Double.safetensorsName) are)")
        }

        let shape = try integers("shape")
        // A cap on the rank: a tensor of rank 60 001 (all ones) once loaded, then crashed in totable().
        guard shape.count <= maxRank else { throw fail("\(tensor): rank \(shape.count) is more than \(maxRank), the most a tensor here has") }
        do { try Tensor<Float>.checkShape(shape) } catch { throw fail("\(tensor): \(error)") }
        let offsets = try integers("data_offsets")
        guard offsets.count == 2 else { throw fail("\(tensor): \"data_offsets\" must be [begin, end] (got \(offsets.count) numbers)") }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw fail("\(tensor): data_offsets [\(begin), \(end)] end before they begin") }
        // checkShape bounds the element count by 2^34, so this product cannot overflow.
        let byteCount = shape.reduce(1, *) * itemSize
        guard end - begin == byteCount else {
            throw fail("\(tensor): shape \(Tensor<Float>.describe(shape)) of \(dtype) needs \(byteCount) bytes "
                       + "but data_offsets [\(begin), \(end)] span \(end - begin)")
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// An exact, non-negative JSON integer. On Linux JSONSerialization returns NSNumber for every
    /// number and for booleans too, and `is Bool` / `as? Int` succeed for 0, 1 and 3.0 alike, so
    /// the NSNumber's own storage type decides: integer types only ("c" is a boolean, "d" any
    /// number written with a fraction or exponent — the reference reader rejects those as well).
    private static func nonNegativeInteger(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        switch String(cString: number.objCType) {
        case "s", "i", "l", "q": return Int(exactly: number.int64Value).flatMap { $0 >= 0 ? $0 : nil }
        case "S", "I", "L", "Q": return Int(exactly: number.uint64Value)
        default: return nil
        }
    }

    /// A short rendering of a JSON value for error messages (never the whole of a huge value).
    private static func describe(_ value: Any) -> String {
        let text: String
        switch value {
        case is NSNull: text = "null"
        case let s as String: text = jsonString(s)
        case let n as NSNumber where String(cString: n.objCType) == "c": text = n.boolValue ? "true" : "false"
        case let n as NSNumber: text = n.stringValue
        case let a as [Any]: text = "[" + a.prefix(8).map(describe).joined(separator: ", ") + (a.count > 8 ? ", …]" : "]")
        case is [String: Any]: text = "an object"
        default: text = String(describing: value)
        }
        return text.count > 60 ? String(text.prefix(60)) + "…" : text
    }

    private static func makeTensor<T: TensorScalar>(shape: [Int], bytes: UnsafeRawBufferPointer) -> Tensor<T> {
        let tensor = Tensor<T>(zeros: shape)
        if let source = bytes.baseAddress, bytes.count > 0 {
            UnsafeMutableRawPointer(tensor.data).copyMemory(from: source, byteCount: bytes.count)
        }
        return tensor
    }
}

/// A safetensors file that cannot be read or written; the message names the file and the problem.
public struct SafetensorsError: Error, CustomStringConvertible, Equatable {
    public let description: String

    init(path: String, _ problem: String) { description = "\(path): \(problem)" }
}
