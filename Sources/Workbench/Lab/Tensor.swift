import Foundation
import LuaBridge
import SpectralNumerics

// Tensors in Lua: lab.FloatTensor (float32, for training) and lab.DoubleTensor (float64, for
// gradient checks), one declaration for both. Indices are 1-based, as everywhere in Lua.

extension Tensor: LuaObject {
    public static var luaClass: LuaClass<Tensor<T>> {
        T.self == Float.self ? floatTensorClass as! LuaClass<Tensor<T>> : doubleTensorClass as! LuaClass<Tensor<T>>
    }
}

let floatTensorClass = LuaClass<Tensor<Float>>("lab.FloatTensor", declareTensorClass)
let doubleTensorClass = LuaClass<Tensor<Double>>("lab.DoubleTensor", declareTensorClass)

/// The element type a Lua call asks for: "float32" (also "float") or "float64" (also "double").
enum DType: String {
    case float32, float64

    init(lua name: String) throws {
        switch name {
        case "float32", "float": self = .float32
        case "float64", "double": self = .float64
        default: throw LuaError.runtime("unknown dtype '\(name)' (expected float32 or float64)")
        }
    }

    init<T: TensorScalar>(_: T.Type) { self = T.self == Float.self ? .float32 : .float64 }

    /// Bytes per element.
    var size: Int { self == .float32 ? 4 : 8 }
}

extension LuaArgs {
    /// The dtype of the tensor at i, or nil when it is not a tensor.
    func tensorDType(_ i: Int) -> DType? {
        if (try? object(i, Tensor<Float>.self)) != nil { return .float32 }
        if (try? object(i, Tensor<Double>.self)) != nil { return .float64 }
        return nil
    }

    /// The dtype of the tensor at i, or an argument error.
    func requireTensor(_ i: Int) throws -> DType {
        guard let d = tensorDType(i) else { throw LuaError.type(i, expected: "tensor", got: typeName(i)) }
        return d
    }

    /// A tensor of exactly type T at i; a tensor of the other precision gets a message saying how to convert.
    func tensor<T: TensorScalar>(_ i: Int, _ type: T.Type) throws -> Tensor<T> {
        if let t = try? object(i, Tensor<T>.self) { return t }
        if tensorDType(i) != nil {
            throw LuaError.argument(index: i, message: "\(T.dtypeName) tensor expected, got a tensor of the other precision (convert with :\(T.self == Float.self ? "float" : "double")())")
        }
        throw LuaError.type(i, expected: "\(T.dtypeName) tensor", got: typeName(i))
    }

    /// Dimensions given as integers from index i on, or as one table {d1, d2, ...}; then an optional
    /// dtype name. Returns the shape and the dtype (default float32).
    func shapeAndDType(from i: Int) throws -> ([Int], DType) {
        var dims: [Int] = []
        var j = i
        if isTable(j) {
            for (k, v) in try table(j).array.enumerated() { dims.append(try size(v, "dimension \(k + 1)", argument: j)) }
            j += 1
        } else {
            while j <= count, isNumber(j) {
                dims.append(try size(at: j, "dimension \(j - i + 1)"))
                j += 1
            }
        }
        guard dims.count <= Safetensors.maxRank else {
            throw LuaError.argument(index: i, message: "at most \(Safetensors.maxRank) dimensions, got \(dims.count)")
        }
        let dtype = try dtype(at: j)
        if j + 1 <= count { throw LuaError.argument(index: j + 1, message: "no more arguments expected after the dtype") }
        try reserveTensor(dims, dtype)
        return (dims, dtype)
    }

    /// A dimension: an integer ≥ 0 (argument `argument`, for messages).
    func size(_ v: LuaValue, _ what: @autoclosure () -> String, argument: Int) throws -> Int {
        guard let d = v.int else {
            throw LuaError.argument(index: argument, message: "\(what()) must be an integer size, got \(LuaOptions.show(v))")
        }
        guard d >= 0 else { throw LuaError.argument(index: argument, message: "\(what()) must be ≥ 0, got \(d)") }
        return d
    }

    func size(at i: Int, _ what: @autoclosure () -> String) throws -> Int { try size(value(i), what(), argument: i) }

    /// An optional dtype name at i ("float32"/"float", "float64"/"double"); float32 when absent.
    func dtype(at i: Int) throws -> DType {
        if i > count || isNil(i) { return .float32 }
        do { return try DType(lua: string(i)) } catch LuaError.runtime(let m) { throw LuaError.argument(index: i, message: m) }
    }

    /// Prices a new tensor of t's shape (of t's dtype unless given): the result of a copy, a
    /// conversion or an elementwise operation.
    func reserveCopy<T: TensorScalar>(of t: Tensor<T>, as dtype: DType? = nil) throws {
        try reserveTensor(t.shape, dtype ?? DType(T.self))
    }

    /// Prices what a forward pass will allocate: `rows` rows of each width (overflow-checked), so
    /// that an input of many steps or a huge batch is an error here, not an abort in the model.
    func reserveActivations<T: TensorScalar>(rows: Int, widths: [Int], _: T.Type, of what: @autoclosure () -> String) throws {
        let width = widths.reduce(0) { $0 &+ Swift.max($1, 0) }
        try Memory.reserve([rows, width], elementSize: MemoryLayout<T>.stride, for: "\(what()) (\(rows) rows × \(width) numbers kept)", state: state)
    }

    /// Checks a shape a script asks for (no negative sizes, no overflow, under the limit for one
    /// block) and that the memory for it is there now.
    func reserveTensor(_ dims: [Int], _ dtype: DType) throws {
        guard dims.allSatisfy({ $0 >= 0 }) else { throw LuaError.runtime("negative dimension in \(Tensor<Float>.describe(dims))") }
        try Memory.reserve(dims, elementSize: dtype.size, for: "a \(Tensor<Float>.describe(dims)) \(dtype.rawValue) tensor", state: state)
    }

    private func isTable(_ i: Int) -> Bool { typeName(i) == "table" }
    private func isNumber(_ i: Int) -> Bool { typeName(i) == "number" }

    /// 1-based index `key` (an integer, or a table of integers) → a 0-based multi-index checked against shape.
    func index(_ key: LuaValue, shape: [Int]) throws -> [Int] {
        let parts: [LuaValue]
        switch key {
        case .table(let t): parts = t.array
        case .integer, .number: parts = [key]
        default: throw LuaError.runtime("tensor index must be an integer or a table of integers, got \(key.typeName)")
        }
        guard parts.count <= shape.count, !parts.isEmpty else {
            throw LuaError.runtime("\(parts.count) indices for a tensor of rank \(shape.count) (\(Tensor<Float>.describe(shape)))")
        }
        return try parts.enumerated().map { d, p in
            guard let i = p.int else { throw LuaError.runtime("index \(d + 1) is not an integer") }
            guard i >= 1 && i <= shape[d] else {
                throw LuaError.runtime("index \(i) out of range for dimension \(d + 1) of size \(shape[d])")
            }
            return i - 1
        }
    }
}

extension Tensor {
    /// The values as nested Lua tables (a number for rank 0).
    var luaValue: LuaValue {
        func nest(_ offset: Int, _ dim: Int) -> LuaValue {
            if dim == rank - 1 {
                return .table(LuaTable(array: (0 ..< shape[dim]).map { .number(Double(data[offset + $0])) }))
            }
            let stride = shape[(dim + 1)...].reduce(1, *)
            return .table(LuaTable(array: (0 ..< shape[dim]).map { nest(offset + $0 * stride, dim + 1) }))
        }
        return rank == 0 ? .number(Double(data[0])) : nest(0, 0)
    }

    /// The sub-tensor at a 0-based prefix index (a copy), or the number for a full index.
    func element(at index: [Int]) -> LuaValue {
        let stride = shape[index.count...].reduce(1, *)
        var offset = 0
        for (i, d) in zip(index, shape) { offset = offset * d + i }
        offset *= stride
        if index.count == rank { return .number(Double(data[offset])) }
        let sub = Tensor(zeros: Array(shape[index.count...]))
        sub.data.update(from: data + offset, count: stride)
        return .object(sub)
    }

    /// Stores a number at a full index, or a tensor of the right shape at a prefix index.
    func store(_ value: LuaValue, at index: [Int]) throws {
        let stride = shape[index.count...].reduce(1, *)
        var offset = 0
        for (i, d) in zip(index, shape) { offset = offset * d + i }
        offset *= stride
        if index.count == rank, let x = value.double {
            data[offset] = T(x)
        } else if case .object(let o) = value, let t = o as? Tensor<T>, t.shape == Array(shape[index.count...]) {
            (data + offset).update(from: t.data, count: stride)
        } else {
            throw LuaError.runtime(index.count == rank ? "a number expected" :
                "a \(Tensor.describe(Array(shape[index.count...]))) \(T.dtypeName) tensor expected for a slice")
        }
    }
}

/// Operand of an arithmetic operator: a tensor of type T or a number.
private enum Operand<T: TensorScalar> {
    case tensor(Tensor<T>), scalar(T)

    init(_ args: LuaArgs, _ i: Int, _ op: String) throws {
        if let t = try? args.object(i, Tensor<T>.self) { self = .tensor(t); return }
        if args.typeName(i) == "number" { self = .scalar(T(try args.number(i))); return }
        if args.tensorDType(i) != nil {
            throw LuaError.runtime("\(op): float32 and float64 tensors do not mix; convert one with :float() or :double()")
        }
        throw LuaError.runtime("\(op): a tensor or a number expected, got \(args.typeName(i))")
    }
}

private func arithmetic<T: TensorScalar>(_ args: LuaArgs, _ op: String, _ f: @escaping (T, T) -> T) throws -> [LuaValue] {
    let operands = (try Operand<T>(args, 1, op), try Operand<T>(args, 2, op))
    if case .tensor(let a) = operands.0 { try args.reserveCopy(of: a) } else if case .tensor(let b) = operands.1 { try args.reserveCopy(of: b) }
    switch operands {
    case let (.tensor(a), .tensor(b)):
        guard a.shape == b.shape else {
            throw LuaError.runtime("\(op): shapes \(a.shapeDescription) and \(b.shapeDescription) differ")
        }
        let r = Tensor<T>(zeros: a.shape)
        for i in 0 ..< a.count { r.data[i] = f(a.data[i], b.data[i]) }
        return [.object(r)]
    case let (.tensor(a), .scalar(s)): return [.object(a.map { f($0, s) })]
    case let (.scalar(s), .tensor(b)): return [.object(b.map { f(s, $0) })]
    case (.scalar, .scalar): throw LuaError.runtime("\(op): no tensor operand")
    }
}

private func declareTensorClass<T: TensorScalar>(_ c: LuaClass<Tensor<T>>) {
    c.nativeSize { $0.byteCount }
    c.tostring { $0.description }
    c.property("dtype") { _ in .string(T.dtypeName) }

    c.method("size", "t:size([dim]): the shape as a table, or the size of dimension dim") { t, args in
        if args.isNil(2) { return [.table(LuaTable(array: t.shape.map { .integer($0) }))] }
        let d = try args.integer(2)
        guard d >= 1 && d <= t.rank else { throw LuaError.argument(index: 1, message: "dimension \(d) out of range 1…\(t.rank)") }
        return [.integer(t.shape[d - 1])]
    }
    c.method("shape", "t:shape(): the shape as a table {d1, d2, ...}") { t, _ in [.table(LuaTable(array: t.shape.map { .integer($0) }))] }
    c.method("dim", "t:dim(): the number of dimensions") { t, _ in [.integer(t.rank)] }
    c.method("numel", "t:numel(): the number of elements") { t, _ in [.integer(t.count)] }
    c.method("totable", "t:totable(): the values as nested tables") { t, args in
        // Each element is a LuaValue in Swift, then a slot of a Lua table: both live at once.
        try Memory.reserve(t.shape, elementSize: MemoryLayout<LuaValue>.stride + 16, for: "the table of a \(Tensor<Float>.describe(t.shape)) tensor", state: args.state)
        return [t.luaValue]
    }
    c.method("clone", "t:clone(): a copy") { t, args in
        try args.reserveCopy(of: t)
        return [.object(t.copy())]
    }
    c.method("float", "t:float(): a float32 copy") { t, args in
        try args.reserveCopy(of: t, as: .float32)
        return [.object(t.converted(to: Float.self))]
    }
    c.method("double", "t:double(): a float64 copy") { t, args in
        try args.reserveCopy(of: t, as: .float64)
        return [.object(t.converted(to: Double.self))]
    }
    c.method("reshape", "t:reshape(d1, d2, ...): a copy with another shape of the same size") { t, args in
        let (dims, _) = try args.shapeAndDType(from: 2)
        return [.object(try t.reshaped(dims))]
    }
    c.method("t", "t:t(): the transpose of a matrix") { t, args in
        try args.reserveCopy(of: t)
        return [.object(try t.transposed())]
    }
    c.method("matmul", "a:matmul(b): the matrix product a·b (b a matrix or a vector)") { t, args in
        let b = try args.tensor(2, T.self)
        if t.rank == 2, b.rank >= 1 { try args.reserveTensor([t.shape[0]] + b.shape.dropFirst(), DType(T.self)) }
        return [.object(try t.matmul(b))]
    }
    c.method("dot", "a:dot(b): the sum of a ⊙ b") { t, args in [.number(Double(try t.dot(try args.tensor(2, T.self))))] }
    c.method("sum", "t:sum(): the sum of all elements") { t, _ in [.number(Double(t.sum()))] }
    c.method("mean", "t:mean(): the mean of all elements") { t, _ in [.number(Double(t.mean()))] }
    c.method("norm", "t:norm(): the Euclidean (Frobenius) norm") { t, _ in [.number(Double(t.norm()))] }
    c.method("max", "t:max(): the largest element") { t, _ in [.number(Double(t.max()))] }
    c.method("min", "t:min(): the smallest element") { t, _ in [.number(Double(t.min()))] }
    c.method("abs", "t:abs(): elementwise |t|") { t, args in
        try args.reserveCopy(of: t)
        return [.object(t.map { Swift.abs($0) })]
    }
    c.method("get", "t:get(i, j, ...): the element (or slice copy) at 1-based indices") { t, args in
        let idx = try args.index(.table(LuaTable(array: try (2 ... Swift.max(2, args.count)).map { try args.value($0) })), shape: t.shape)
        return [t.element(at: idx)]
    }
    c.method("set", "t:set(i, j, ..., v): stores v at 1-based indices; returns t") { t, args in
        guard args.count >= 3 else { throw LuaError.argument(index: 2, message: "indices and a value expected") }
        let idx = try args.index(.table(LuaTable(array: try (2 ..< args.count).map { try args.value($0) })), shape: t.shape)
        try t.store(try args.value(args.count), at: idx)
        return [.object(t)]
    }
    c.method("fill", "t:fill(v): sets every element to v (in place); returns t") { t, args in
        t.fill(T(try args.number(2)))
        return [.object(t)]
    }
    c.method("add_", "t:add_(x [, alpha]): t += alpha·x in place (x a tensor or number); returns t") { t, args in
        let alpha = T(try args.number(3, default: 1))
        if args.typeName(2) == "number" {
            let s = T(try args.number(2)) * alpha
            for i in 0 ..< t.count { t.data[i] += s }
        } else {
            try t.add(try args.tensor(2, T.self), scaledBy: alpha)
        }
        return [.object(t)]
    }
    c.method("mul_", "t:mul_(s): t *= s in place; returns t") { t, args in
        t.scale(by: T(try args.number(2)))
        return [.object(t)]
    }
    c.method("copy_", "t:copy_(x): copies x's values into t (same shape); returns t") { t, args in
        try t.assign(try args.tensor(2, T.self))
        return [.object(t)]
    }

    c.meta(.add) { try arithmetic($0, "add", { (a: T, b: T) in a + b }) }
    c.meta(.sub) { try arithmetic($0, "sub", { (a: T, b: T) in a - b }) }
    c.meta(.mul) { try arithmetic($0, "mul (elementwise; use :matmul for the matrix product)", { (a: T, b: T) in a * b }) }
    c.meta(.div) { try arithmetic($0, "div", { (a: T, b: T) in a / b }) }
    c.meta(.unm) { args in
        let t = try args.tensor(1, T.self)
        try args.reserveCopy(of: t)
        return [.object(t.map { -$0 })]
    }
    c.meta(.len) { args in
        let t = try args.tensor(1, T.self)
        return [.integer(t.shape.first ?? 0)]
    }
    c.index { t, args in
        let idx = try args.index(try args.value(2), shape: t.shape)
        return t.element(at: idx)
    }
    c.meta(.newindex) { args in
        let t = try args.tensor(1, T.self)
        let key = try args.value(2)
        if case .string(let name) = key { throw LuaError.runtime("cannot set field '\(name)' of a tensor") }
        try t.store(try args.value(3), at: try args.index(key, shape: t.shape))
        return []
    }
}
