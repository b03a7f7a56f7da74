import Foundation

/// A dense, contiguous, row-major array of any rank (sequences are T×B×features). Reference
/// semantics, like Torch's tensors: layers hand out their parameters and gradients as tensors, and
/// an optimizer updates them in place. The memory is 64-byte aligned for the BLAS.
public final class Tensor<T: TensorScalar> {
    public let shape: [Int]
    public let count: Int
    public let data: UnsafeMutablePointer<T>

    /// A tensor of zeros. Shape entries must be ≥ 0 (a zero-size tensor is allowed).
    public convenience init(zeros shape: [Int]) {
        self.init(unfilled: shape)
        data.update(repeating: 0, count: Swift.max(count, 1))
    }

    /// A tensor whose entries are whatever the memory held: for buffers the caller overwrites
    /// whole (a BLAS product with β = 0, a copy), where zeroing first would be a wasted pass.
    init(unfilled shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        count = shape.reduce(1, *)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1) * MemoryLayout<T>.stride, alignment: 64)
        data = raw.bindMemory(to: T.self, capacity: Swift.max(count, 1))
    }

    /// A tensor holding a copy of shape.reduce(1, *) numbers at `source`.
    convenience init(shape: [Int], copying source: UnsafePointer<T>) {
        self.init(unfilled: shape)
        data.update(from: source, count: count)
    }

    /// `old` when it has this shape (its entries left as they are), otherwise a new unfilled
    /// tensor: for scratch memory that is reused from one call to the next and overwritten whole.
    static func reusing(_ old: Tensor?, _ shape: [Int]) -> Tensor {
        if let old, old.shape == shape { return old }
        return Tensor(unfilled: shape)
    }

    public convenience init(_ shape: [Int], repeating value: T) {
        self.init(zeros: shape)
        if value != 0 { data.update(repeating: value, count: count) }
    }

    /// A tensor holding `values` in row-major order.
    public convenience init(_ shape: [Int], _ values: [T]) throws {
        try Tensor.checkShape(shape)
        guard shape.reduce(1, *) == values.count else {
            throw TensorError.shape("\(values.count) values do not fill a tensor of shape \(Tensor.describe(shape))")
        }
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { UnsafeMutableRawPointer(data).deallocate() }

    /// Validates a requested shape (user input): non-negative, and not absurdly large.
    public static func checkShape(_ shape: [Int]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw TensorError.shape("negative dimension in \(describe(shape))") }
        var n = 1
        for d in shape {
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow, p <= 1 << 34 else { throw TensorError.shape("shape \(describe(shape)) is too large") }
            n = p
        }
    }

    public var rank: Int { shape.count }
    public var byteCount: Int { count * MemoryLayout<T>.stride }
    public var buffer: UnsafeMutableBufferPointer<T> { UnsafeMutableBufferPointer(start: data, count: count) }
    public var scalars: [T] { Array(buffer) }

    /// Rows and columns of a rank-2 tensor.
    public var rows: Int { shape[0] }
    public var cols: Int { shape[1] }

    public subscript(i: Int, j: Int) -> T {
        get { data[i * shape[1] + j] }
        set { data[i * shape[1] + j] = newValue }
    }

    /// Offset of a (0-based) multi-index, or nil when out of range.
    public func offset(_ index: [Int]) -> Int? {
        guard index.count == rank else { return nil }
        var o = 0
        for (i, d) in zip(index, shape) {
            guard i >= 0 && i < d else { return nil }
            o = o * d + i
        }
        return o
    }

    public func copy() -> Tensor {
        let c = Tensor(zeros: shape)
        c.data.update(from: data, count: count)
        return c
    }

    /// The same values under another shape with the same number of elements (a copy).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        try Tensor.checkShape(newShape)
        guard newShape.reduce(1, *) == count else {
            throw TensorError.shape("cannot reshape \(Tensor.describe(shape)) (\(count) elements) to \(Tensor.describe(newShape))")
        }
        let c = Tensor(zeros: newShape)
        c.data.update(from: data, count: count)
        return c
    }

    /// This tensor's values in the other precision.
    public func converted<U: TensorScalar>(to: U.Type = U.self) -> Tensor<U> {
        let c = Tensor<U>(zeros: shape)
        for i in 0 ..< count { c.data[i] = U(data[i]) }
        return c
    }

    /// "3×4", as messages show shapes.
    public static func describe(_ shape: [Int]) -> String {
        shape.isEmpty ? "scalar" : shape.map(String.init).joined(separator: "×")
    }
    public var shapeDescription: String { Tensor.describe(shape) }
}

public enum TensorError: Error, Equatable, CustomStringConvertible {
    case shape(String)
    case value(String)
    case lapack(String)

    public var description: String {
        switch self {
        case .shape(let m), .value(let m), .lapack(let m): return m
        }
    }
}

extension Tensor: CustomStringConvertible {
    /// A readable matrix: rank ≤ 2 printed whole up to 20×12 (elided beyond), higher ranks as a
    /// summary; then the shape and dtype.
    public var description: String {
        func fmt(_ x: T) -> String {
            let d = Double(x)
            if d.isNaN { return "nan" }
            if d.isInfinite { return d > 0 ? "inf" : "-inf" }
            if d == d.rounded(), Swift.abs(d) < 1e6 { return String(Int(d)) }
            let a = Swift.abs(d)
            if a >= 1e-4 && a < 1e5 {
                var s = String(format: "%.4f", d)
                while s.hasSuffix("0") { s.removeLast() }
                return s
            }
            return String(format: "%.4e", d)
        }
        // A tensor too big to show whole also says its range (and how many NaNs it holds, if any).
        let elided = rank > 2 || (rank == 1 ? count > 12 : shape[0] > 20 || shape[1] > 12)
        var summary = ""
        if elided, count > 0 {
            var lo = T.infinity, hi = -T.infinity, nans = 0
            for i in 0 ..< count {
                let x = data[i]
                if x.isNaN { nans += 1 } else { lo = Swift.min(lo, x); hi = Swift.max(hi, x) }
            }
            summary = nans == count ? ", all NaN" : ", min \(fmt(lo)), max \(fmt(hi))" + (nans > 0 ? ", \(nans) NaN" : "")
        }
        let footer = "[\(T.dtypeName) tensor, \(shapeDescription)\(summary)]"
        guard rank <= 2, count > 0 else {
            if rank == 0 || count == 0 { return (count == 1 ? fmt(data[0]) + "\n" : "") + footer }
            let preview = (0 ..< Swift.min(count, 8)).map { fmt(data[$0]) }.joined(separator: " ")
            return "\(preview)\(count > 8 ? " …" : "")\n" + footer
        }
        let r = rank == 1 ? 1 : shape[0], c = rank == 1 ? shape[0] : shape[1]
        let rowIdx = r <= 20 ? Array(0 ..< r) : Array(0 ..< 10) + [-1] + Array(r - 10 ..< r)
        let colIdx = c <= 12 ? Array(0 ..< c) : Array(0 ..< 6) + [-1] + Array(c - 6 ..< c)
        let cells = rowIdx.map { i in colIdx.map { j in i < 0 ? "⋮" : (j < 0 ? "…" : fmt(data[i * c + j])) } }
        let widths = colIdx.indices.map { k in cells.map { $0[k].count }.max() ?? 0 }
        let lines = cells.map { row in
            zip(row, widths).map { String(repeating: " ", count: $1 - $0.count) + $0 }.joined(separator: "  ")
        }
        return lines.joined(separator: "\n") + "\n" + footer
    }
}
