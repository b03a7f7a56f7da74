import Testing
@testable import SpectralNumerics

/// A narrow input's loops for Float (StepKernels, one copy per width) against the same loops in
/// Double, for every width they take, column counts around the blocks of 8, and gradients that add
/// to what is there.
@Suite struct NarrowInputTests {
    @Test(arguments: 1 ... NarrowInput<Float>.widest)
    func floatLoopsMatchTheDoubleLoops(input: Int) throws {
        var g = Random(seed: UInt64(input))
        for n in [1, 5, 8, 16, 37] {
            for rows in [1, 6, 17] {
                let m: Tensor<Float> = g.normalTensor([n, input]), x: Tensor<Float> = g.normalTensor([rows, input])
                let bias: Tensor<Float> = g.normalTensor([n]), d: Tensor<Float> = g.normalTensor([rows, n])
                let gm: Tensor<Float> = g.normalTensor([input, n]), gb: Tensor<Float> = g.normalTensor([n])
                let f = try #require(NarrowInput(weight: m)), w = try #require(NarrowInput(weight: double(m)))
                let (xd, dd, gmd, gbd, biasd) = (double(x), double(d), double(gm), double(gb), double(bias))

                let h = Tensor<Float>(zeros: [rows, n]), hd = Tensor<Double>(zeros: [rows, n])
                f.project(x.data, rows: rows, bias: bias.data, into: h.data)
                w.project(xd.data, rows: rows, bias: biasd.data, into: hd.data)
                expectClose(h, hd, terms: input + 1, "h, n \(n), rows \(rows)")

                let gx = Tensor<Float>(zeros: [rows, input]), gxd = Tensor<Double>(zeros: [rows, input])
                try BatchParallel.forEachPart(batch: 1) { _, _ in
                    f.backward(d.data, x.data, rows: rows, gradTransposed: gm.data, gradBias: gb.data, gradX: gx.data)
                    w.backward(dd.data, xd.data, rows: rows, gradTransposed: gmd.data, gradBias: gbd.data, gradX: gxd.data)
                }
                expectClose(gm, gmd, terms: rows + 1, "∂Mᵀ, n \(n), rows \(rows)")
                expectClose(gb, gbd, terms: rows + 1, "∂b, n \(n), rows \(rows)")
                expectClose(gx, gxd, terms: n, "∂x, n \(n), rows \(rows)")
            }
        }
    }

    func double(_ t: Tensor<Float>) -> Tensor<Double> {
        let d = Tensor<Double>(zeros: t.shape)
        for i in 0 ..< t.count { d.data[i] = Double(t.data[i]) }
        return d
    }

    /// Within what a Float sum of `terms` terms of these magnitudes may round: 8·terms·ε of the
    /// largest entry (at least 1).
    func expectClose(_ a: Tensor<Float>, _ b: Tensor<Double>, terms: Int, _ what: String) {
        let scale = (0 ..< b.count).map { Swift.abs(b.data[$0]) }.max() ?? 0
        let worst = (0 ..< a.count).map { Swift.abs(Double(a.data[$0]) - b.data[$0]) }.max() ?? 0
        #expect(worst <= 2 * Double(terms) * Double(Float.ulpOfOne) * Swift.max(scale, 1) * 4, "\(what): \(worst)")
    }
}
