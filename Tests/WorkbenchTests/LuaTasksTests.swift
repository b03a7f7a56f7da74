import Foundation
import LuaBridge
import Testing
@testable import Workbench

/// lab.tasks as a script sees them: the properties lab.experiment builds models from, batches in
/// lab.train's shape, state for checkpoints, and option errors that name the option.
@Suite struct LuaTasksTests {
    func run(_ code: String) throws -> [LuaValue] {
        let s = try LabSession(mode: .interactive(runsBase: NSTemporaryDirectory() + "runs-\(UUID().uuidString)"),
                               searchPath: RecipeSearchPath(directories: []))
        return try withExtendedLifetime(s) { try s.state.run(code, chunkName: "=test") }
    }

    @Test func generatedTasksDescribeThemselvesAndYieldTrainingBatches() throws {
        #expect(try run("""
            local t = lab.tasks.copy { T = 5, symbols = 3, length = 2, batch = 4, seed = 1 }
            local b = t:batch()
            return t.name, t.input, t.output, t.T, t.readout, t.stateful, t.dtype, b.x:size(), b.y:size(), b.loss, b.ignore,
                   #t:eval_batches(), t:test_batches(), t:batches_per_epoch(), tostring(t)
            """) == ["copy", 5, 4, 9, "all", false, "float32", [9, 4, 5], [36], "xent", .nil, 10, .nil, .nil,
                     "copy(T=5, 2 of 3 symbols, batch=4)"])
        let r = try run("""
            local t = lab.tasks.copy { T = 5, batch = 2, loss_positions = "answer", dtype = "float64", seed = 1 }
            local a = lab.tasks.adding { T = 6, batch = 3, seed = 4 }
            local s = a:state()
            local first, second = a:batch().y:totable(), a:batch().y:totable()
            a:set_state(s)
            return t:batch().ignore, t.dtype, t.baseline, a.baseline, a:batch().loss, first, second, a:batch().y:totable()
            """)
        #expect(r[0] == 0 && r[1] == "float64" && r[2].double == log(8.0) && r[3].double == 1.0 / 6.0 && r[4] == "mse")
        #expect(r[5] != r[6], "consecutive batches differ")
        #expect(r[7] == r[6], "set_state rewinds the stream: \(r[5]) \(r[6]) \(r[7])")
    }

    @Test func datasetTasksReportTheirSplits() throws {
        let dir = NSTemporaryDirectory() + "luatasks-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try (String(repeating: "to be or not to be\n", count: 50) + String(repeating: "that is the question\n", count: 5))
            .write(toFile: dir + "/hamlet.txt", atomically: true, encoding: .utf8)
        let r = try run("""
            local t = lab.tasks.char_lm { path = "\(dir)/hamlet.txt", seq_len = 5, batch = 2 }
            local b = t:batch()
            return t.stateful, t.readout, #t.vocabulary, t.vocabulary[1], t.unknown.valid, t.unknown.test, b.reset, t:batch().reset,
                   b.x:size(), t.input, t:batches_per_epoch(), #t:test_batches() > 0
            """)
        // Training text: the first 949 of 1055 characters, all from "to be or not" and newlines (8 characters,
        // the newline first); the h, a, i, s, q, u of the later lines are unknown.
        #expect(r[0] == true && r[1] == "all" && r[2] == 8 && r[3] == "\n")
        #expect((r[4].int ?? 0) > 0 && (r[5].int ?? 0) > 0, "unknowns counted: \(r[4]) \(r[5])")
        #expect(r[6] == true && r[7] == .nil && r[8] == [5, 2, 9] && r[9] == 9, "\(r[6]) \(r[7]) \(r[8]) \(r[9])")
        #expect(r[10] == 94 && r[11] == true, "\(r[10]) \(r[11])")
    }

    @Test func optionErrorsNameTheOptionOrTheFile() throws {
        func error(_ code: String) throws -> String {
            let r = try run("local ok, e = pcall(function()\n\(code)\nend); return ok, e")
            #expect(r[0] == false, "no error from: \(code)")
            return r[1].string ?? ""
        }
        let cases: [(String, String)] = [
            ("lab.tasks.adding { T = 100, steps = 5 }", "unknown option 'steps' to 'lab.tasks.adding'"),
            ("lab.tasks.adding { T = 1 }", "adding: T must be at least 2 (one marker in each half), got 1"),
            ("lab.tasks.adding { T = 2.5 }", "bad option 'T' to 'lab.tasks.adding' (integer expected, got 2.5)"),
            ("lab.tasks.adding { seed = -1 }", "bad option 'seed' to 'lab.tasks.adding' (must be ≥ 0, got -1)"),
            ("lab.tasks.adding { dtype = 'half' }", "half"),
            ("lab.tasks.copy { loss_positions = 'some' }", "bad option 'loss_positions' to 'lab.tasks.copy' (must be one of \"all\" | \"answer\", got \"some\")"),
            ("lab.tasks.copy { symbols = 0 }", "bad option 'symbols' to 'lab.tasks.copy' (must be 1…1024, got 0)"),
            ("lab.tasks.pixel_mnist { path = '/nowhere' }", "/nowhere/train-images-idx3-ubyte(.gz): no such file"),
            ("lab.tasks.pixel_mnist { permuted = true, permutation_seed = -2 }", "bad option 'permutation_seed' to 'lab.tasks.pixel_mnist' (must be ≥ 0, got -2)"),
            ("lab.tasks.pixel_mnist { permutation_seed = 2 }", "option 'permutation_seed' does not apply to permuted 'false' in 'lab.tasks.pixel_mnist'"),
            ("lab.tasks.char_lm { path = '/nowhere.txt' }", "/nowhere.txt: no such file or directory"),
            ("lab.tasks.char_lm { format = 'xml' }", "bad option 'format' to 'lab.tasks.char_lm' (must be one of \"auto\" | \"plain\" | \"ptb\" | \"fortune\", got \"xml\")"),
            // A checkpoint's task state is checked before use (this cursor trapped on resume).
            ("lab.tasks.char_lm {}:set_state { epoch = '0', cursor = '18446744073709551615' }", "cursor 18446744073709551615 is past the end of an epoch"),
            ("lab.tasks.char_lm {}:set_state { epoch = '0', cursor = '-1' }", "state field 'cursor' is not a word from task:state()"),
            ("lab.tensor.zeros({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1})", "at most 16 dimensions, got 17"),
            ("lab.tasks.char_lm { split = { 0.9 } }", "bad option 'split' to 'lab.tasks.char_lm' (must have 2 entries, each ≥ 0, ≤ 1, got 1)"),
        ]
        for (code, expected) in cases {
            let m = try error(code)
            #expect(m.hasPrefix("test:2: ") && m.contains(expected), "\(code): \(m)")   // where, then what
        }
    }
}
