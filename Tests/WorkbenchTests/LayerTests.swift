import Foundation
import LuaBridge
import Testing
@testable import Workbench

/// lab.householder and lab.svd.linear from Lua, and the documentation's example of them.
@Suite struct LayerTests: LabScripting {
    @Test func householderFromLuaMatchesItsOwnBackward() throws {
        let r = try run("""
            lab.seed(1)
            local V = lab.tensor.randn(3, 5, "double")
            local X = lab.tensor.randn(4, 5, "double")
            local Q = lab.householder.matrix(V)
            local Y = lab.householder.apply(V, X)
            local Yt = lab.householder.apply_transpose(V, X, { method = "reflectorwise" })
            local dY = lab.tensor.randn(4, 5, "double")
            local dX, dV = lab.householder.backward(V, Y, dY)
            -- dX = dY Q for Y = X Qᵀ; and a finite-difference probe of one reflector entry
            local h, i, j = 1e-6, 2, 4
            local function loss() return lab.householder.apply(V, X):dot(dY) end
            local saved = V[{i, j}]
            V[{i, j}] = saved + h; local plus = loss()
            V[{i, j}] = saved - h; local minus = loss()
            V[{i, j}] = saved
            return (Q:t():matmul(Q) - lab.tensor.eye(5, "double")):norm(),
                   (Y - X:matmul(Q:t())):norm(), (Yt - X:matmul(Q)):norm(),
                   (dX - dY:matmul(Q)):norm(), math.abs((plus - minus) / (2 * h) - dV[{i, j}]), dV[{2, 1}]
            """)
        for (k, v) in r.prefix(5).enumerated() { #expect((v.double ?? 1) < 1e-8, "check \(k): \(v)") }
        #expect(r[5] == 0.0)   // masked entry
        #expect(try error("return lab.householder.apply(lab.tensor.zeros(6, 5), lab.tensor.zeros(2, 5))")
                .contains("6 reflectors of length 5: at most 5 fit"))
        #expect(try error("return lab.householder.apply(lab.tensor.zeros(2, 5), lab.tensor.zeros(2, 5), { side = 'left' })")
                .contains("unknown option 'side'"))
    }

    @Test func svdLinearFromLua() throws {
        let r = try run("""
            lab.seed(7)
            local W = lab.svd.linear(6, 4, { r = 0.2, reflectors = 3, dtype = "double" })
            local p = W:parameters()
            p.p:copy_(lab.tensor.from({2, -1, 0.5, -3}, "double"))
            local sv = W:singular_values()
            local x = lab.tensor.randn(5, 6, "double")
            local y = W:forward(x)
            local dy = lab.tensor.randn(5, 4, "double")
            W:zero_grad()
            local dx = W:backward(dy)
            local M = W:matrix()
            local g = W:gradients()
            return #sv, sv[1] >= sv[4], (y - x:matmul(M:t()) - lab.tensor.zeros(5, 4, "double")):norm() < 1e-12,
                   (dx - dy:matmul(M)):norm() < 1e-12, g.u:size(), g.v:size(), g.p:size(), g.bias:numel(),
                   W.in_features, W.out_features, math.abs(W:spectral_norm() - sv[1]) < 1e-15,
                   tostring(W)
            """)
        #expect(r[0] == 4 && r[1] == true && r[2] == true && r[3] == true)
        #expect(r[4] == [3, 4] && r[5] == [3, 6] && r[6] == [4] && r[7] == 4 && r[8] == 6 && r[9] == 4 && r[10] == true)
        #expect(r[11].string?.hasPrefix("SVDLinear(6 → 4, reflectors U 3 V 3") == true)
        #expect(try error("return lab.svd.linear(4, 4):forward(lab.tensor.zeros(2, 5))")
                == "test:2: SVD linear 4→4 expects a B×4 batch, got 2×5")
        #expect(try error("return lab.svd.linear(4, 4, { reflector = 2 })").contains("unknown option 'reflector'"))
        #expect(try error("return lab.svd.linear(4, 4, { r = 2 })").contains("bad option 'r' to 'lab.svd.linear' (must be ≤ sigma_star = 1.0, got 2.0"))
        #expect(try error("return lab.svd.linear(4, 4):backward(lab.tensor.zeros(2, 4))").contains("backward called before forward"))
    }
}

@Suite struct DocsExampleTests {
    /// docs/parameterization.md's example runs as documented (shortened), and its own assert holds:
    /// every singular value ends inside the band.
    @Test func theParameterizationExampleRuns() throws {
        let cli = try CLI()
        let example = CLI.projectRoot.appendingPathComponent("docs/examples/spectral_layer.lua").path
        let r = try cli.run(["run", example, "--set", "steps=300"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("final singular values"))
        #expect(r.stdout.contains("‖W − target‖ at the end"))
    }
}
