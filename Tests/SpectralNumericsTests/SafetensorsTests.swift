import Foundation
import SpectralNumerics
import Testing

@Suite struct SafetensorsTests {
    // MARK: Round trips and interoperability

    @Test func roundTripPreservesBytesOrderAndMetadata() throws {
        let path = temporaryPath()
        defer { remove(path) }
        // Unusual values too (NaN payload, −0, ∞, subnormal): the bytes must survive, not just the numbers.
        let tensors: [(name: String, tensor: AnyTensor)] = [
            ("layer.0/weight", .float(filled([2, 3], Float.self))),
            ("scalar", .double(filled([], Double.self))),
            ("empty", .double(filled([0, 3], Double.self))),
            ("bias \"quoted\" \\ back\nslash\u{1}", .float(filled([4], Float.self))),
            ("ünïcödé", .double(filled([2, 1, 3], Double.self))),
            ("also-empty", .float(filled([3, 0], Float.self))),
            ("special", .float(try Tensor([4], [Float.nan, -0.0, .infinity, .leastNonzeroMagnitude]))),
        ]
        let metadata = ["format": "pt", "note": "quote \" backslash \\ newline \n tab \t é", "": "empty key"]
        try Safetensors.save(tensors, metadata: metadata, to: path)

        let loaded = try Safetensors.load(path)
        #expect(loaded.metadata == metadata)
        #expect(loaded.tensors.map(\.name) == tensors.map(\.name))
        for (original, back) in zip(tensors, loaded.tensors) {
            #expect(back.tensor.dtypeName == original.tensor.dtypeName, "\(original.name)")
            #expect(back.tensor.shape == original.tensor.shape, "\(original.name)")
            #expect(back.tensor.rawBytes.elementsEqual(original.tensor.rawBytes), "\(original.name)")
        }

        // The layout Python expects: header padded with spaces so the data starts 8-byte aligned.
        let bytes = try read(path)
        let n = Int(bytes[0 ..< 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        #expect((8 + n) % 8 == 0)
        let header = bytes[8 ..< 8 + n]
        let json = header.reversed().drop { $0 == UInt8(ascii: " ") }.reversed()
        #expect(json.last == UInt8(ascii: "}"))
        #expect(try JSONSerialization.jsonObject(with: Data(json)) is [String: Any])
        #expect(bytes.count - 8 - n == tensors.reduce(0) { $0 + $1.tensor.byteCount })
    }

    @Test func emptyCheckpointRoundTrips() throws {
        let path = temporaryPath()
        defer { remove(path) }
        try Safetensors.save([], to: path)
        #expect(try read(path) == file(header: "{}"))
        let loaded = try Safetensors.load(path)
        #expect(loaded.tensors.isEmpty && loaded.metadata.isEmpty)
    }

    /// Bytes laid out by hand the way Python's `safetensors.numpy.save_file` writes them (F64 first,
    /// header padded with spaces): proves interoperability, not just agreement with our own writer.
    @Test func loadsAFileWrittenByTheSpec() throws {
        let header = #"{"__metadata__":{"format":"np"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[16,40]},"#
            + #""b":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#
        let data = le([1.5, -2.0] as [Double]) + le((0 ..< 6).map(Float.init))
        let bytes = file(header: header, data: data)
        #expect(bytes.count % 8 == 0 && bytes[8 + header.utf8.count] == UInt8(ascii: " "))
        let loaded = try loadBytes(bytes)

        #expect(loaded.metadata == ["format": "np"])
        #expect(loaded.tensors.map(\.name) == ["b", "a"])   // by data offset
        guard case .double(let b) = loaded.tensors[0].tensor, case .float(let a) = loaded.tensors[1].tensor else {
            Issue.record("wrong dtypes: \(loaded.tensors.map(\.tensor.dtypeName))")
            return
        }
        #expect(b.shape == [2] && b.scalars == [1.5, -2.0])
        #expect(a.shape == [2, 3] && a.scalars == [0, 1, 2, 3, 4, 5])
    }

    /// Other writers: whitespace inside the JSON, keys in another order, extra keys, no padding,
    /// escaped names, and a zero-size tensor sharing an offset.
    @Test func loadsLooselyFormattedHeaders() throws {
        let header = "{ \"w\\u00e9\\n\" : { \"shape\" : [ 2 ] , \"data_offsets\" : [ 0 , 8 ], \"dtype\" : \"F32\", \"extra\": [1.5] },\n"
            + "  \"z\": {\"dtype\": \"F64\", \"shape\": [0, 4], \"data_offsets\": [8, 8]}, \"__metadata__\": {} }"
        let loaded = try loadBytes(file(header: header, data: le([3, 4] as [Float]), pad: false))
        #expect(loaded.tensors.map(\.name) == ["wé\n", "z"])
        #expect(loaded.tensors.map(\.tensor.shape) == [[2], [0, 4]])
        #expect(loaded.metadata.isEmpty)
        if case .float(let w) = loaded.tensors[0].tensor { #expect(w.scalars == [3, 4]) } else { Issue.record("not F32") }
    }

    @Test func saveReplacesAtomicallyAndLeavesNoTemporaryFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.safetensors").path

        try Safetensors.save([("a", .float(filled([3], Float.self)))], to: path)
        try Safetensors.save([("b", .double(filled([2, 2], Double.self)))], metadata: ["step": "2"], to: path)
        let loaded = try Safetensors.load(path)
        #expect(loaded.tensors.map(\.name) == ["b"] && loaded.metadata == ["step": "2"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])

        // A failed save (the destination is a non-empty directory) leaves the directory as it was.
        let blocked = directory.appendingPathComponent("blocked").path
        try FileManager.default.createDirectory(atPath: blocked + "/inner", withIntermediateDirectories: true)
        let error = #expect(throws: SafetensorsError.self) { try Safetensors.save([], to: blocked) }
        #expect(error?.description.contains(blocked) == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["blocked", "model.safetensors"])
    }

    @Test func saveRejectsBadNamesAndMissingDirectories() throws {
        let path = temporaryPath()
        defer { remove(path) }
        let t = AnyTensor.float(filled([2], Float.self))
        for (tensors, problem) in [([("", t)], "empty name"), ([("a", t), ("a", t)], "duplicate"), ([("__metadata__", t)], "reserved")] {
            let error = #expect(throws: SafetensorsError.self) { try Safetensors.save(tensors, to: path) }
            #expect(error?.description.contains(problem) == true, "\(error?.description ?? "")")
            #expect(!FileManager.default.fileExists(atPath: path))
        }
        let nowhere = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-dir-\(UUID().uuidString)/x.safetensors").path
        let error = #expect(throws: SafetensorsError.self) { try Safetensors.save([("a", t)], to: nowhere) }
        #expect(error?.description.contains("temporary file") == true)
    }

    // MARK: Malformed files

    /// The rename replaces what is at the path: only regular files may be replaced.
    @Test func saveWritesRegularFilesOnly() throws {
        let dir = NSTemporaryDirectory() + "st-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { remove(dir) }
        let target = dir + "/target.txt"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.safetensors", withDestinationPath: target)
        let t = [("a", AnyTensor(filled([2], Float.self)))]
        for (path, kind) in [(dir + "/link.safetensors", "a symbolic link"), (dir, "a directory"), ("/dev/null", "a device")] {
            #expect { try Safetensors.save(t, to: path) } throws: { "\($0)".contains("is \(kind)") }
        }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link.safetensors") == target)
        try Safetensors.save(t, to: dir + "/plain.safetensors")
        try Safetensors.save(t, to: dir + "/plain.safetensors")   // a regular file is replaced
    }

    @Test func missingFileAndDirectory() throws {
        let path = temporaryPath()
        let error = #expect(throws: SafetensorsError.self) { try Safetensors.load(path) }
        #expect(error?.description == "\(path): no such file")
        let directory = FileManager.default.temporaryDirectory.path
        let dirError = #expect(throws: SafetensorsError.self) { try Safetensors.load(directory) }
        #expect(dirError?.description.contains("directory") == true)
    }

    @Test func tooShortForTheLengthPrefix() throws {
        for bytes in [[], [1, 2, 3], [UInt8](repeating: 0, count: 7)] as [[UInt8]] {
            try expectLoadError(bytes, mentioning: "shorter than the 8-byte header length")
        }
    }

    @Test func headerLengthPastTheEndOfTheFile() throws {
        // 0xFFFF… would overflow 8 + N; 2^63 would trap in Int(N); N = remaining + 1 is off by one.
        for n: UInt64 in [.max, 1 << 63, UInt64(Int.max), 3] {
            try expectLoadError(le([n]) + Array("{}".utf8), mentioning: "header length \(n) runs past the end")
        }
    }

    @Test func headerNotUTF8JSONOrAnObject() throws {
        try expectLoadError(file(header: ""), mentioning: "not a JSON object")
        try expectLoadError(file(rawHeader: Array(#"{"\#u{FF}":1}"#.utf8.map { $0 == 0xC3 ? 0xFF : $0 })), mentioning: "not valid UTF-8")
        // JSONSerialization alone would accept UTF-16 with a byte-order mark.
        try expectLoadError(file(rawHeader: [0xFF, 0xFE] + Array("{}".utf16.flatMap { [UInt8($0), 0] })), mentioning: "UTF-8")
        try expectLoadError(file(rawHeader: [0xEF, 0xBB, 0xBF] + Array("{}".utf8)), mentioning: "must start with '{'")
        try expectLoadError(file(header: "[1, 2]"), mentioning: "not a JSON object")
        try expectLoadError(file(header: "\"x\""), mentioning: "not a JSON object")
        try expectLoadError(file(header: " {}"), mentioning: "not a JSON object")
        try expectLoadError(file(header: "{\"a\":"), mentioning: "not valid JSON")
        try expectLoadError(file(header: "{} x"), mentioning: "not valid JSON")
        try expectLoadError(file(rawHeader: Array("{}\0\0".utf8)), mentioning: "not valid JSON")
        try expectLoadError(file(header: "{\"a\":" + String(repeating: "[", count: 100_000)), mentioning: "not valid JSON")
    }

    @Test func malformedEntries() throws {
        let cases: [(entry: String, problem: String)] = [
            ("5", "entry is not a JSON object (got 5)"),
            ("[]", "entry is not a JSON object"),
            (#"{"shape":[1],"data_offsets":[0,4]}"#, #"missing "dtype""#),
            (#"{"dtype":"F32","data_offsets":[0,4]}"#, #"missing "shape""#),
            (#"{"dtype":"F32","shape":[1]}"#, #"missing "data_offsets""#),
            (#"{"dtype":5,"shape":[1],"data_offsets":[0,4]}"#, #""dtype" is not a string (got 5)"#),
            (#"{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}"#, #"dtype "BF16", which is not supported"#),
            (#"{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}"#, "rank 17 is more than 16"),
            (#"{"dtype":"I64","shape":[1],"data_offsets":[0,4]}"#, #"dtype "I64""#),
            (#"{"dtype":"F32","shape":"1","data_offsets":[0,4]}"#, #""shape" is not an array (got "1")"#),
            (#"{"dtype":"F32","shape":{},"data_offsets":[0,4]}"#, #""shape" is not an array"#),
            (#"{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}"#, "entry 0 is not a non-negative integer (got -1)"),
            (#"{"dtype":"F32","shape":[1,1.5],"data_offsets":[0,4]}"#, "entry 1 is not a non-negative integer (got 1.5)"),
            (#"{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}"#, "entry 0 is not a non-negative integer"),
            (#"{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}"#, "entry 0 is not a non-negative integer"),
            (#"{"dtype":"F32","shape":[true],"data_offsets":[0,4]}"#, "entry 0 is not a non-negative integer (got true)"),
            (#"{"dtype":"F32","shape":[null],"data_offsets":[0,4]}"#, "(got null)"),
            (#"{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}"#, #"(got "1")"#),
            (#"{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}"#, "not a non-negative integer"),
            (#"{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]}"#, "not a non-negative integer"),
            (#"{"dtype":"F32","shape":[100000000000000000000000],"data_offsets":[0,4]}"#, "not a non-negative integer"),
            (#"{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}"#, "too large"),
            (#"{"dtype":"F32","shape":[9223372036854775807,9223372036854775807],"data_offsets":[0,4]}"#, "too large"),
            (#"{"dtype":"F64","shape":[1099511627776],"data_offsets":[0,4]}"#, "too large"),
            (#"{"dtype":"F32","shape":[1],"data_offsets":[0]}"#, "must be [begin, end]"),
            (#"{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}"#, "must be [begin, end]"),
            (#"{"dtype":"F32","shape":[1],"data_offsets":4}"#, #""data_offsets" is not an array"#),
            (#"{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}"#, #""data_offsets" entry 1 is not a non-negative integer"#),
            (#"{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}"#, #""data_offsets" entry 0 is not a non-negative integer"#),
            (#"{"dtype":"F32","shape":[1],"data_offsets":[0,"4"]}"#, #""data_offsets" entry 1"#),
            (#"{"dtype":"F32","shape":[1],"data_offsets":[4,0]}"#, "data_offsets [4, 0] end before they begin"),
            (#"{"dtype":"F32","shape":[2],"data_offsets":[0,4]}"#, "shape 2 of F32 needs 8 bytes but data_offsets [0, 4] span 4"),
            (#"{"dtype":"F64","shape":[],"data_offsets":[0,4]}"#, "shape scalar of F64 needs 8 bytes"),
            (#"{"dtype":"F32","shape":[0],"data_offsets":[0,4]}"#, "needs 0 bytes"),
        ]
        for (entry, problem) in cases {
            try expectLoadError(file(header: "{\"w\":\(entry)}", data: [UInt8](repeating: 0, count: 4)),
                                mentioning: "tensor \"w\"", problem)
        }
    }

    @Test func rangesMustTileTheDataBuffer() throws {
        func header(_ entries: [(String, String, [Int], Int, Int)]) -> String {
            "{" + entries.map { "\"\($0.0)\":{\"dtype\":\"\($0.1)\",\"shape\":\($0.2),\"data_offsets\":[\($0.3),\($0.4)]}" }
                .joined(separator: ",") + "}"
        }
        let zeros = { (n: Int) in [UInt8](repeating: 0, count: n) }
        // Out of the buffer, and far out of it (no allocation may follow from the header's claim).
        try expectLoadError(file(header: header([("w", "F32", [2], 0, 8)]), data: zeros(4)),
                            mentioning: "truncated", "need 8 bytes", "holds only 4")
        try expectLoadError(file(header: header([("w", "F64", [1 << 33], 0, 1 << 36)]), data: zeros(8)), mentioning: "truncated")
        try expectLoadError(file(header: header([("w", "F32", [1], 1 << 40, (1 << 40) + 4)]), data: zeros(4)),
                            mentioning: "gap before tensor \"w\"")
        try expectLoadError(file(header: header([("w", "F32", [1], Int.max - 4, Int.max)]), data: zeros(4)), mentioning: "gap")
        // Gaps, overlaps, trailing bytes.
        try expectLoadError(file(header: header([("a", "F32", [1], 0, 4), ("b", "F32", [1], 8, 12)]), data: zeros(12)),
                            mentioning: "bytes 4..<8 belong to no tensor", "gap before tensor \"b\"")
        try expectLoadError(file(header: header([("a", "F32", [2], 0, 8), ("b", "F32", [2], 4, 12)]), data: zeros(12)),
                            mentioning: "tensor \"b\" (data_offsets [4, 12]) overlaps tensor \"a\" (data_offsets [0, 8])")
        try expectLoadError(file(header: header([("a", "F32", [1], 0, 4), ("b", "F32", [1], 0, 4)]), data: zeros(4)),
                            mentioning: "overlaps")
        try expectLoadError(file(header: header([("a", "F32", [1], 0, 4)]), data: zeros(12)),
                            mentioning: "8 trailing bytes after the last tensor")
        try expectLoadError(file(header: "{}", data: zeros(1)), mentioning: "1 trailing bytes")
        // A duplicated name: JSONSerialization keeps one entry, and the other's bytes are then unclaimed.
        try expectLoadError(file(header: header([("a", "F32", [1], 0, 4), ("a", "F32", [1], 4, 8)]), data: zeros(8)),
                            mentioning: "tensor \"a\"")
    }

    @Test func malformedMetadata() throws {
        for (metadata, problem) in [("5", "is not an object of strings (got 5)"), ("null", "(got null)"), ("[\"a\"]", "(got [\"a\"])"),
                                    ("\"x\"", "not an object"), ("{\"k\":1}", "entry \"k\" is not a string (got 1)"),
                                    ("{\"k\":\"v\",\"n\":{}}", "entry \"n\" is not a string (got an object)"),
                                    ("{\"k\":false}", "(got false)")] {
            try expectLoadError(file(header: "{\"__metadata__\":\(metadata)}"), mentioning: "\"__metadata__\"", problem)
        }
    }

    @Test func truncatedData() throws {
        let bytes = try smallValidFile()
        try expectLoadError(Array(bytes.dropLast(5)), mentioning: "data is truncated")
    }

    /// Every strict prefix of a valid file is malformed: each must throw, none may crash.
    @Test func everyTruncationThrows() throws {
        let bytes = try smallValidFile()
        for length in 0 ..< bytes.count {
            let path = temporaryPath()
            defer { remove(path) }
            try Data(bytes.prefix(length)).write(to: URL(fileURLWithPath: path))
            #expect(throws: SafetensorsError.self, "length \(length)") { try Safetensors.load(path) }
        }
    }

    /// Corrupting any byte of the length prefix or the header either fails cleanly or still yields a
    /// consistent checkpoint (e.g. a changed metadata value) — never a crash or another kind of error.
    @Test func corruptedHeaderBytesNeverCrash() throws {
        let bytes = try smallValidFile()
        let headerEnd = 8 + Int(bytes[0 ..< 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        var loadedCount = 0
        for index in 0 ..< headerEnd {
            for replacement in [0xFF, UInt8(ascii: "9")] where bytes[index] != replacement {
                var corrupted = bytes
                corrupted[index] = replacement
                let path = temporaryPath()
                defer { remove(path) }
                try Data(corrupted).write(to: URL(fileURLWithPath: path))
                do {
                    let loaded = try Safetensors.load(path)
                    loadedCount += 1
                    #expect(loaded.tensors.reduce(0) { $0 + $1.tensor.byteCount } == bytes.count - headerEnd)
                } catch let error as SafetensorsError {
                    #expect(error.description.hasPrefix(path))
                } catch {
                    Issue.record("byte \(index) → \(replacement): unexpected \(type(of: error)): \(error)")
                }
            }
        }
        #expect(loadedCount > 0)   // some corruptions (in metadata text) are harmless
    }
}

// MARK: Helpers

/// A tensor whose values are all distinct, so misplaced bytes show.
private func filled<T: TensorScalar>(_ shape: [Int], _: T.Type) -> Tensor<T> {
    let t = Tensor<T>(zeros: shape)
    for i in 0 ..< t.count { t.data[i] = T(i) * T(0.37) - T(1.5) }
    return t
}

private func temporaryPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-test-\(UUID().uuidString).safetensors").path
}

private func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

private func read(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

/// Little-endian bytes of integers or floats, as the format stores them.
private func le(_ values: [UInt64]) -> [UInt8] { values.flatMap { v in (0 ..< 8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } } }
private func le(_ values: [Float]) -> [UInt8] { values.flatMap { v in (0 ..< 4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * $0)) } } }
private func le(_ values: [Double]) -> [UInt8] { le(values.map(\.bitPattern)) }

/// A safetensors file per the spec: length prefix, header (space-padded to 8 + N ≡ 0 mod 8 unless
/// `pad` is false), data.
private func file(header: String, data: [UInt8] = [], pad: Bool = true) -> [UInt8] {
    var h = Array(header.utf8)
    if pad { h += repeatElement(UInt8(ascii: " "), count: (8 - h.count % 8) % 8) }
    return file(rawHeader: h, data: data)
}

private func file(rawHeader: [UInt8], data: [UInt8] = []) -> [UInt8] { le([UInt64(rawHeader.count)]) + rawHeader + data }

private func loadBytes(_ bytes: [UInt8]) throws -> (tensors: [(name: String, tensor: AnyTensor)], metadata: [String: String]) {
    let path = temporaryPath()
    defer { remove(path) }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return try Safetensors.load(path)
}

/// Loading these bytes must throw a SafetensorsError naming the file and containing each fragment.
private func expectLoadError(_ bytes: [UInt8], mentioning fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws {
    let path = temporaryPath()
    defer { remove(path) }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let error = #expect(throws: SafetensorsError.self, sourceLocation: sourceLocation) { try Safetensors.load(path) }
    guard let message = error?.description else { return }
    for fragment in [path] + fragments {
        #expect(message.contains(fragment), "\(message.debugDescription) should mention \(fragment.debugDescription)",
                sourceLocation: sourceLocation)
    }
}

/// Two tensors and metadata, as our writer produces them.
private func smallValidFile() throws -> [UInt8] {
    let path = temporaryPath()
    defer { remove(path) }
    try Safetensors.save([("w", .float(filled([2, 3], Float.self))), ("b", .double(filled([2], Double.self)))],
                         metadata: ["format": "pt"], to: path)
    return try read(path)
}
