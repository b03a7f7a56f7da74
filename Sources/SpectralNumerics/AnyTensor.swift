/// A tensor of either precision, for the places that hold both: checkpoints and Lua.
public enum AnyTensor {
    case float(Tensor<Float>)
    case double(Tensor<Double>)

    public var shape: [Int] {
        switch self { case .float(let t): return t.shape; case .double(let t): return t.shape }
    }
    public var dtypeName: String {
        switch self { case .float: return Float.dtypeName; case .double: return Double.dtypeName }
    }
    public var byteCount: Int {
        switch self { case .float(let t): return t.byteCount; case .double(let t): return t.byteCount }
    }
    /// The raw little-endian bytes (the machine is little-endian x86_64/arm64).
    public var rawBytes: UnsafeRawBufferPointer {
        switch self {
        case .float(let t): return UnsafeRawBufferPointer(t.buffer)
        case .double(let t): return UnsafeRawBufferPointer(t.buffer)
        }
    }
}
