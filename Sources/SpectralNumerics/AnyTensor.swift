/// A tensor of either precision, for the places that hold both: checkpoints and Lua.
public enum AnyTensor {
    case float(Tensor<Float>)
    case double(Tensor<Double>)

    /// A tensor of either precision, wrapped.
    public init<T: TensorScalar>(_ t: Tensor<T>) {
        self = T.self == Float.self ? .float(t as! Tensor<Float>) : .double(t as! Tensor<Double>)
    }

    /// The tensor, if it has element type T.
    public func tensor<T: TensorScalar>(_: T.Type) -> Tensor<T>? {
        switch self {
        case .float(let t): return t as? Tensor<T>
        case .double(let t): return t as? Tensor<T>
        }
    }

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
