import Foundation

/// The few messages of tensorflow/core/util/event.proto, framework/summary.proto and the HParams
/// plugin's plugin_data.proto that TensorBoard logging needs, written in protobuf's wire format by
/// hand. Hand-written rather than generated with swift-protobuf: a dozen fields of a few messages
/// do not earn a dependency, its plugin's build, and generated code to keep in step; the tests read
/// the files back with TensorBoard's own reader.
///
///     Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
///     Summary { repeated Value value = 1; }
///     Summary.Value { string tag = 1; float simple_value = 2; HistogramProto histo = 5;
///                     TensorProto tensor = 8; SummaryMetadata metadata = 9; }
///     SummaryMetadata { PluginData plugin_data = 1 { string plugin_name = 1; bytes content = 2; } }
enum EventEncoding {
    /// One Summary.Value: what a tag holds at a step.
    enum Value {
        case scalar(Float)
        case histogram([Double])
        /// The Text plugin's Markdown.
        case text(String)
        /// The HParams plugin's SessionStartInfo: the run's hyperparameters (number, string or bool).
        case hparams([(name: String, value: HParam)], startTime: Double)
    }

    enum HParam { case number(Double), string(String), bool(Bool) }

    static func event(wallTime: Double, step: Int, fileVersion: String? = nil, values: [(tag: String, value: Value)] = []) -> [UInt8] {
        var e = Proto()
        e.double(1, wallTime)
        if step != 0 { e.varint(2, UInt64(bitPattern: Int64(step))) }   // proto3 leaves a default out
        if let fileVersion { e.string(3, fileVersion) }
        if !values.isEmpty {
            var summary = Proto()
            for v in values { summary.message(1, encode(tag: v.tag, v.value)) }
            e.message(5, summary)
        }
        return e.bytes
    }

    private static func encode(tag: String, _ value: Value) -> Proto {
        var v = Proto()
        v.string(1, tag)
        switch value {
        case .scalar(let x):
            v.float(2, x)
        case .histogram(let xs):
            v.message(5, histogram(xs))
        case .text(let markdown):
            // TensorProto { dtype = 1: DT_STRING (7); tensor_shape = 2: {} (a scalar); string_val = 8 }
            var tensor = Proto()
            tensor.varint(1, 7)
            tensor.message(2, Proto())
            tensor.bytes(8, Array(markdown.utf8))
            v.message(9, pluginMetadata("text", content: []))
            v.message(8, tensor)
        case .hparams(let hparams, let startTime):
            // HParamsPluginData { int32 version = 1 (0); SessionStartInfo session_start_info = 3 {
            //   map<string, google.protobuf.Value> hparams = 1; double start_time_secs = 5; } },
            // with google.protobuf.Value { double number_value = 2; string string_value = 3; bool bool_value = 4; }.
            var start = Proto()
            for (name, value) in hparams {
                var pbValue = Proto()
                switch value {
                case .number(let d): pbValue.double(2, d)
                case .string(let s): pbValue.string(3, s)
                case .bool(let b): pbValue.varint(4, b ? 1 : 0)
                }
                var entry = Proto()
                entry.string(1, name)
                entry.message(2, pbValue)
                start.message(1, entry)
            }
            start.double(5, startTime)
            var data = Proto()
            data.varint(1, 0)
            data.message(3, start)
            // The tensor the HParams plugin's own summaries carry: DT_FLOAT (1), a scalar, float_val 0.
            var tensor = Proto()
            tensor.varint(1, 1)
            tensor.message(2, Proto())
            tensor.packedFloats(5, [0])
            v.message(9, pluginMetadata("hparams", content: data.bytes))
            v.message(8, tensor)
        }
        return v
    }

    private static func pluginMetadata(_ plugin: String, content: [UInt8]) -> Proto {
        var data = Proto()
        data.string(1, plugin)
        if !content.isEmpty { data.bytes(2, content) }
        var metadata = Proto()
        metadata.message(1, data)
        return metadata
    }

    /// Buckets of TensorBoard's HistogramProto { double min = 1; max = 2; num = 3; sum = 4;
    /// sum_squares = 5; repeated double bucket_limit = 6 [packed]; repeated double bucket = 7
    /// [packed]; }: bucket i counts the values in (bucket_limit[i−1], bucket_limit[i]] (the first
    /// from min). 30 equal-width buckets between the smallest and largest finite value.
    static let histogramBuckets = 30

    static func histogram(_ values: [Double]) -> Proto {
        let xs = values.filter(\.isFinite)
        let lo = xs.min() ?? 0, hi = xs.max() ?? 0
        let k = hi > lo ? histogramBuckets : 1
        let width = (hi - lo) / Double(k)
        let limits = (0 ..< k).map { $0 == k - 1 ? hi : lo + Double($0 + 1) * width }
        var counts = [Double](repeating: 0, count: k)
        for x in xs {
            // The first bucket whose limit is ≥ x (the estimate from the width, corrected for rounding).
            var i = width > 0 ? min(max(Int(((x - lo) / width).rounded(.up)) - 1, 0), k - 1) : 0
            while i > 0 && x <= limits[i - 1] { i -= 1 }
            while i < k - 1 && x > limits[i] { i += 1 }
            counts[i] += 1
        }
        var h = Proto()
        h.double(1, lo)
        h.double(2, hi)
        h.double(3, Double(xs.count))
        h.double(4, xs.reduce(0, +))
        h.double(5, xs.reduce(0) { $0 + $1 * $1 })
        h.packedDoubles(6, limits)
        h.packedDoubles(7, counts)
        return h
    }

    static func littleEndian<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }
}

/// A protobuf message being written, field by field (wire types 0 varint, 1 fixed64, 2
/// length-delimited, 5 fixed32).
struct Proto {
    private(set) var bytes: [UInt8] = []

    private mutating func key(_ field: UInt64, _ wire: UInt64) { appendVarint(field << 3 | wire) }

    private mutating func appendVarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    mutating func varint(_ field: UInt64, _ v: UInt64) { key(field, 0); appendVarint(v) }
    mutating func double(_ field: UInt64, _ v: Double) { key(field, 1); bytes += EventEncoding.littleEndian(v.bitPattern) }
    mutating func float(_ field: UInt64, _ v: Float) { key(field, 5); bytes += EventEncoding.littleEndian(v.bitPattern) }
    mutating func bytes(_ field: UInt64, _ b: [UInt8]) { key(field, 2); appendVarint(UInt64(b.count)); bytes += b }
    mutating func string(_ field: UInt64, _ s: String) { bytes(field, Array(s.utf8)) }
    mutating func message(_ field: UInt64, _ m: Proto) { bytes(field, m.bytes) }
    mutating func packedDoubles(_ field: UInt64, _ vs: [Double]) { bytes(field, vs.flatMap { EventEncoding.littleEndian($0.bitPattern) }) }
    mutating func packedFloats(_ field: UInt64, _ vs: [Float]) { bytes(field, vs.flatMap { EventEncoding.littleEndian($0.bitPattern) }) }
}
