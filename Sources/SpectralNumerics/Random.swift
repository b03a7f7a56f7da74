/// The workbench's seeded generator (xoshiro256**, seeded through splitmix64): the same seed gives
/// the same numbers on every machine, which the system generator does not promise.
public struct Random: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    private var spareNormal: Double?

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// The whole state (for checkpoints): the four words and the cached second normal, if any.
    public var state: (words: [UInt64], spareNormal: Double?) {
        get { ([s.0, s.1, s.2, s.3], spareNormal) }
        set {
            precondition(newValue.words.count == 4, "a Random state has four words")
            s = (newValue.words[0], newValue.words[1], newValue.words[2], newValue.words[3])
            spareNormal = newValue.spareNormal
        }
    }

    /// A uniform integer in lo…hi (unbiased, by rejection), as Lua's math.random(m, n).
    public mutating func integer(in range: ClosedRange<Int64>) -> Int64 {
        let span = UInt64(bitPattern: range.upperBound &- range.lowerBound)
        if span == .max { return Int64(bitPattern: next()) }
        let n = span + 1
        let limit = UInt64.max - UInt64.max % n
        var x = next()
        while x >= limit { x = next() }
        return range.lowerBound &+ Int64(bitPattern: x % n)
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Standard normal (Marsaglia's polar method).
    public mutating func normal() -> Double {
        if let z = spareNormal { spareNormal = nil; return z }
        while true {
            let u = 2 * uniform() - 1, v = 2 * uniform() - 1
            let q = u * u + v * v
            if q > 0 && q < 1 {
                let f = (-2 * Double.log(q) / q).squareRoot()
                spareNormal = v * f
                return u * f
            }
        }
    }

    public mutating func uniformTensor<T>(_ shape: [Int], _ low: T = 0, _ high: T = 1) -> Tensor<T> {
        let t = Tensor<T>(zeros: shape)
        for i in 0 ..< t.count { t.data[i] = low + (high - low) * T(uniform()) }
        return t
    }

    /// Glorot-uniform (Xavier) for a rows×cols weight: U(−a, a), a = √(6/(rows + cols)).
    public mutating func glorotUniform<T>(_ rows: Int, _ cols: Int) -> Tensor<T> {
        let limit = T((6.0 / Double(rows + cols)).squareRoot())
        return uniformTensor([rows, cols], -limit, limit)
    }

    public mutating func normalTensor<T>(_ shape: [Int], mean: T = 0, std: T = 1) -> Tensor<T> {
        let t = Tensor<T>(zeros: shape)
        for i in 0 ..< t.count { t.data[i] = mean + std * T(normal()) }
        return t
    }

    /// A random n×n orthogonal matrix, Haar-distributed: Q of the QR factorization of a Gaussian
    /// matrix G, with column j negated where Rⱼⱼ < 0. `determinant` ±1 picks the component.
    public mutating func orthogonal<T>(_ n: Int, determinant: Int? = nil) -> Tensor<T> {
        let g: Tensor<Double> = normalTensor([n, n])
        let q = g.copy()
        _ = Double.qrQ(n, n, q.data)
        let r = try! q.matmul(g, transposeSelf: true)   // R = Qᵀ G
        for j in 0 ..< n where r[j, j] < 0 { for i in 0 ..< n { q[i, j] = -q[i, j] } }
        if let d = determinant, n > 0, LinearAlgebra.determinantSign(q) != d {
            for i in 0 ..< n { q[i, 0] = -q[i, 0] }
        }
        return q.converted()
    }
}
