import SpectralNumerics
import Testing

@Suite struct HouseholderTests {
    static let methods: [Householder.Method] = [.reflectorwise, .compactWY(blockSize: 3), .wy]

    @Test(arguments: methods)
    func gradientsMatchFiniteDifferences(method: Householder.Method) throws {
        var r = rng(1)
        // (n, k, batch): square-ish, few reflectors, all reflectors, a single vector.
        for (n, k, b) in [(7, 7, 3), (9, 4, 5), (5, 1, 2), (6, 6, 1), (1, 1, 4)] {
            for transpose in [false, true] {
                for layout in [Householder.Layout.rows, .columns] {
                    let v: Tensor<Double> = r.normalTensor([k, n])
                    let x: Tensor<Double> = r.normalTensor(layout == .rows ? [b, n] : [n, b])
                    let weights: Tensor<Double> = r.normalTensor(x.shape)
                    func f() throws -> Double {
                        GradientCheck.loss(try Householder.apply(v, to: x, transpose: transpose, layout: layout, method: method), weights)
                    }
                    let y = try Householder.apply(v, to: x, transpose: transpose, layout: layout, method: method)
                    let (gx, gv) = try Householder.backward(v, output: y, gradOutput: weights, transpose: transpose,
                                                            layout: layout, method: method)
                    let nx = try GradientCheck.numerical(x, f)
                    let nv = try GradientCheck.numerical(v, f)
                    let where_ = "n=\(n) k=\(k) b=\(b) transpose=\(transpose) \(layout)"
                    #expect(GradientCheck.relativeError(gx, nx) <= 1e-6, "input gradient, \(where_)")
                    if n == 1 {
                        // A one-coordinate reflector is always −1: its true gradient is exactly zero,
                        // so both must vanish (a relative error between two roundings means nothing).
                        #expect(gv.norm() < 1e-12 && nv.norm() < 1e-8, "reflector gradient, \(where_)")
                    } else {
                        #expect(GradientCheck.relativeError(gv, nv) <= 1e-6, "reflector gradient, \(where_)")
                    }
                    for i in 0 ..< k { for j in 0 ..< i { #expect(gv[i, j] == 0, "masked entry (\(i),\(j)) got a gradient") } }
                }
            }
        }
    }

    @Test(arguments: methods)
    func matrixGradientMatchesFiniteDifferences(method: Householder.Method) throws {
        var r = rng(2)
        // (11, 7) in blocks of 3: three blocks, the last one short; each block's step works on
        // its trailing rows only (orgqr's order), which these sizes exercise.
        for (n, k) in [(6, 6), (8, 3), (11, 7), (1, 1)] {
            let v: Tensor<Double> = r.normalTensor([k, n])
            let weights: Tensor<Double> = r.normalTensor([n, n])
            let q = try Householder.matrix(v, method: method)
            let gv = try Householder.matrixBackward(v, matrix: q, gradMatrix: weights, method: method)
            let nv = try GradientCheck.numerical(v) { GradientCheck.loss(try Householder.matrix(v, method: method), weights) }
            if n == 1 {   // Q = (−1) whatever v is
                #expect(gv.norm() < 1e-12 && nv.norm() < 1e-8)
            } else {
                #expect(GradientCheck.relativeError(gv, nv) <= 1e-6, "n=\(n) k=\(k)")
            }
        }
    }

    @Test func theMatrixIsTheProductOfTheReflectors() throws {
        var r = rng(3)
        let n = 5, k = 4
        let v: Tensor<Double> = r.normalTensor([k, n])
        var expected = Tensor<Double>.identity(n)
        for i in 0 ..< k {   // H_i = I − 2ûûᵀ/‖û‖², built densely
            var u = [Double](repeating: 0, count: n)
            for j in i ..< n { u[j] = v[i, j] }
            let s = u.reduce(0) { $0 + $1 * $1 }
            let h = Tensor<Double>.identity(n)
            for a in 0 ..< n { for b in 0 ..< n { h[a, b] -= 2 * u[a] * u[b] / s } }
            expected = try expected.matmul(h)
        }
        for method in Self.methods {
            #expect(try Householder.matrix(v, method: method).maxAbsDifference(expected) < 1e-13)
        }
        // apply maps each row x to Q x.
        let x: Tensor<Double> = r.normalTensor([3, n])
        let y = try Householder.apply(v, to: x)
        #expect(try y.maxAbsDifference(try x.matmul(expected, transposeOther: true)) < 1e-13)
        let yt = try Householder.apply(v, to: x, transpose: true)
        #expect(try yt.maxAbsDifference(try x.matmul(expected)) < 1e-13)
    }

    @Test func bothPathsAgreeInFloatOnRandomSizes() throws {
        var r = rng(4)
        for trial in 0 ..< 40 {
            let n = trial < 4 ? [1, 2, 300, 257][trial] : 1 + Int(r.uniform() * 300)
            let k = 1 + Int(r.uniform() * Double(n))
            let b = 1 + Int(r.uniform() * 64)
            let transpose = trial % 2 == 0
            let v: Tensor<Float> = r.normalTensor([k, n])
            let x: Tensor<Float> = r.normalTensor([b, n])
            let g: Tensor<Float> = r.normalTensor([b, n])
            let y1 = try Householder.apply(v, to: x, transpose: transpose, method: .reflectorwise)
            let y2 = try Householder.apply(v, to: x, transpose: transpose, method: .wy)
            let (gx1, gv1) = try Householder.backward(v, output: y1, gradOutput: g, transpose: transpose, method: .reflectorwise)
            let (gx2, gv2) = try Householder.backward(v, output: y2, gradOutput: g, transpose: transpose, method: .wy)
            let what = "n=\(n) k=\(k) b=\(b) transpose=\(transpose)"
            #expect(relative(y1, y2) <= 1e-5, "output, \(what)")
            #expect(relative(gx1, gx2) <= 1e-5, "input gradient, \(what)")
            if n == 1 {
                // The true gradient is zero (see above): what remains is the rounding of terms of
                // size 2‖G‖‖X‖/|u| that cancel, so both must be tiny relative to those terms.
                let terms = 2 * g.norm() * x.norm() / abs(v[0, 0])
                #expect(gv1.norm() < 1e-5 * terms && gv2.norm() < 1e-5 * terms, "reflector gradient, \(what)")
            } else {
                #expect(relative(gv1, gv2) <= 1e-5, "reflector gradient, \(what)")
            }
        }
    }

    private func relative(_ a: Tensor<Float>, _ b: Tensor<Float>) -> Double {
        GradientCheck.relativeError(a.converted(), b.converted())
    }

    @Test func productsAreOrthogonal() throws {
        var r = rng(5)
        for n in [1, 8, 64, 200] {
            let v: Tensor<Float> = r.normalTensor([n, n])
            let q = try Householder.matrix(v)
            #expect(try LinearAlgebra.orthogonalityError(q) < 1e-5, "n=\(n)")
            let det = LinearAlgebra.determinantSign(q)
            #expect(det == (n % 2 == 0 ? 1 : -1), "n reflectors give determinant (−1)ⁿ")
        }
    }

    @Test(arguments: methods)
    func aZeroReflectorIsTheIdentityWithZeroGradient(method: Householder.Method) throws {
        var r = rng(6)
        let v: Tensor<Double> = r.normalTensor([4, 6])
        for j in 1 ..< 6 { v[1, j] = 0 }   // row 1 is zero on its active part (entry 0 is masked anyway)
        v[1, 0] = 5
        let x: Tensor<Double> = r.normalTensor([3, 6])
        let y = try Householder.apply(v, to: x, method: method)
        #expect(y.scalars.allSatisfy { $0.isFinite })
        let (gx, gv) = try Householder.backward(v, output: y, gradOutput: x, method: method)
        #expect(gx.scalars.allSatisfy { $0.isFinite } && gv.scalars.allSatisfy { $0.isFinite })
        #expect((0 ..< 6).allSatisfy { gv[1, $0] == 0 })
        // The zero reflector contributes nothing: Q is the product of the other three, each built
        // alone (the rows before it left zero, i.e. identities).
        let q = try Householder.matrix(v, method: method)
        let others = try [0, 2, 3].map { i -> Tensor<Double> in
            let single = Tensor<Double>(zeros: [i + 1, 6])
            for j in i ..< 6 { single[i, j] = v[i, j] }
            return try Householder.matrix(single, method: .reflectorwise)
        }
        let product = try others[0].matmul(others[1]).matmul(others[2])
        #expect(try q.maxAbsDifference(product) < 1e-13)
    }

    @Test func shapeErrorsNameTheShapes() throws {
        let v = Tensor<Float>(zeros: [5, 4])
        #expect(throws: TensorError.shape("5 reflectors of length 4: at most 4 fit (row i acts on the last n − i coordinates)")) {
            try Householder.matrix(v)
        }
        let ok = Tensor<Float>(zeros: [2, 4])
        #expect(throws: TensorError.shape("expected vectors of length 4 (B×4), got 3×5")) {
            try Householder.apply(ok, to: Tensor(zeros: [3, 5]))
        }
    }
}
