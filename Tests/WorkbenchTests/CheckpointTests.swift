import Foundation
import LuaBridge
import Testing
@testable import Workbench

@Suite struct CheckpointTests {
    @Test func aLayerSavesAndLoadsThroughSafetensors() throws {
        let cli = try CLI()
        let script = try cli.write("ckpt.lua", """
            lab.seed(3)
            local W = lab.svd.linear(5, 3, { r = 0.2 })
            local path = lab.run_dir("layer.safetensors")
            lab.save(path, W:parameters(), { sigma_star = "1", r = "0.2" })
            local t, meta = lab.load(path)
            local W2 = lab.svd.linear(5, 3, { r = 0.2 })
            for name, p in pairs(W2:parameters()) do p:copy_(t[name]) end
            print((W:matrix() - W2:matrix()):norm(), t.u:size()[1], t.v.dtype, meta.r)
            -- truncate the file: a clear error, not a crash
            local f = assert(io.open(path, "rb")); local bytes = f:read("a"); f:close()
            f = assert(io.open(path, "wb")); f:write(bytes:sub(1, #bytes - 7)); f:close()
            print(select(2, pcall(lab.load, path)))
            print(select(2, pcall(lab.save, lab.run_dir("x.safetensors"), { a = 1 })))
            print(select(2, pcall(lab.load, "/nonexistent/file.safetensors")))
            """)
        let r = try cli.run(["run", script])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "0.0\t3\tfloat32\t0.2")
        #expect(lines.count == 4)
        #expect(lines[1].contains("lab.load:") && lines[1].contains("layer.safetensors"), "\(lines)")
        #expect(lines[2].contains("'a' is a number, not a tensor"))
        #expect(lines[3].contains("/nonexistent/file.safetensors"))
    }
}
