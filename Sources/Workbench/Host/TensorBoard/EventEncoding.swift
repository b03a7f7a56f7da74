import Foundation

/// The few messages of tensorflow/core/util/event.proto and framework/summary.proto that scalar
/// and text logging need, written in protobuf's wire format by hand: Event { double wall_time = 1;
/// int64 step = 2; string file_version = 3; Summary summary = 5; } and Summary { repeated Value
/// value = 1; } with Value { string tag = 1; float simple_value = 2; }. Hand-written rather than
/// generated with swift-protobuf: four fields of three messages do not earn a dependency, its
/// plugin's build, and generated code to keep in step; the test reads the files back with
/// TensorBoard's own reader.
enum EventEncoding {
    static func event(wallTime: Double, step: Int, fileVersion: String? = nil, scalars: [(tag: String, value: Float)] = []) -> [UInt8] {
        var out: [UInt8] = []
        out += key(1, wire: 1) + littleEndian(wallTime.bitPattern)
        out += key(2, wire: 0) + varint(UInt64(bitPattern: Int64(step)))
        if let fileVersion { out += lengthDelimited(3, Array(fileVersion.utf8)) }
        if !scalars.isEmpty {
            var summary: [UInt8] = []
            for s in scalars {
                let value = lengthDelimited(1, Array(s.tag.utf8)) + key(2, wire: 5) + littleEndian(s.value.bitPattern)
                summary += lengthDelimited(1, value)
            }
            out += lengthDelimited(5, summary)
        }
        return out
    }

    /// An Event holding one text summary (TensorBoard's Text tab, Markdown): Summary.Value { tag = 1;
    /// metadata = 9 { plugin_data = 1 { plugin_name = 1: "text" } }; tensor = 8 { dtype = 1:
    /// DT_STRING (7); tensor_shape = 2 {}; string_val = 8 } }.
    static func text(wallTime: Double, step: Int, tag: String, markdown: String) -> [UInt8] {
        let metadata = lengthDelimited(1, lengthDelimited(1, Array("text".utf8)))
        let tensor = key(1, wire: 0) + varint(7) + lengthDelimited(2, []) + lengthDelimited(8, Array(markdown.utf8))
        let value = lengthDelimited(1, Array(tag.utf8)) + lengthDelimited(9, metadata) + lengthDelimited(8, tensor)
        return key(1, wire: 1) + littleEndian(wallTime.bitPattern) + key(2, wire: 0) + varint(UInt64(bitPattern: Int64(step)))
            + lengthDelimited(5, lengthDelimited(1, value))
    }

    private static func key(_ field: UInt64, wire: UInt64) -> [UInt8] { varint(field << 3 | wire) }

    private static func lengthDelimited(_ field: UInt64, _ bytes: [UInt8]) -> [UInt8] {
        key(field, wire: 2) + varint(UInt64(bytes.count)) + bytes
    }

    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
        return out
    }

    static func littleEndian<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }
}
