import Foundation
import LuaBridge
import Testing
@testable import Workbench

/// Every declared option of every lab function gets a value of the wrong kind and values out of its
/// range, and must fail with the error its declaration promises. The list of calls below must name
/// every declared function, so a new option or function cannot skip its checks.
@Suite struct OptionDeclarationTests {
    /// A valid call of each declared function: OPTS stands for its options table, `base` holds the
    /// required options (and what the function needs to get as far as its checks).
    static let calls: [String: (call: String, base: [(String, String)])] = [
        "lab.models.rnn": ("lab.models.rnn(OPTS)", [("input", "1"), ("hidden", "4"), ("output", "1")]),
        "lab.models.mlp": ("lab.models.mlp(OPTS)", [("sizes", "{2, 3}")]),
        "lab.models.from_torch": ("lab.models.from_torch('/nonexistent.safetensors', OPTS)", [("cell", "'spectral'")]),
        "lab.svd.linear": ("lab.svd.linear(4, 4, OPTS)", []),
        "lab.optim.sgd": ("lab.optim.sgd(OPTS)", []),
        "lab.optim.rmsprop": ("lab.optim.rmsprop(OPTS)", []),
        "lab.optim.adam": ("lab.optim.adam(OPTS)", []),
        "lab.householder.apply": ("lab.householder.apply(lab.tensor.randn(2, 4), lab.tensor.randn(3, 4), OPTS)", []),
        "lab.householder.apply_transpose": ("lab.householder.apply_transpose(lab.tensor.randn(2, 4), lab.tensor.randn(3, 4), OPTS)", []),
        "lab.householder.backward": ("lab.householder.backward(lab.tensor.randn(2, 4), lab.tensor.randn(3, 4), lab.tensor.randn(3, 4), OPTS)", []),
        "lab.householder.matrix": ("lab.householder.matrix(lab.tensor.randn(2, 4), OPTS)", []),
        "lab.householder.matrix_backward": ("lab.householder.matrix_backward(lab.tensor.randn(2, 4), lab.tensor.eye(4), lab.tensor.randn(4, 4), OPTS)", []),
        "lab.loss.cross_entropy": ("lab.loss.cross_entropy(lab.tensor.zeros(2, 3), {1, 2}, OPTS)", []),
        "lab.diagnostics.grad_norms": ("lab.diagnostics.grad_norms(lab.models.rnn{input = 1, hidden = 2, output = 1}, OPTS)",
                                       [("x", "lab.tensor.zeros(3, 2, 1)"), ("y", "lab.tensor.zeros(2, 1)")]),
        "lab.loss.batch": ("lab.loss.batch(lab.tensor.zeros(2, 1), OPTS)", [("x", "lab.tensor.zeros(3, 2, 1)"), ("y", "lab.tensor.zeros(2, 1)")]),
        "lab.tasks.adding": ("lab.tasks.adding(OPTS)", []),
        "lab.tasks.copy": ("lab.tasks.copy(OPTS)", []),
        "lab.tasks.pixel_mnist": ("lab.tasks.pixel_mnist(OPTS)", [("permuted", "true")]),
        "lab.tasks.mnist": ("lab.tasks.mnist(OPTS)", []),
        "lab.tasks.char_lm": ("lab.tasks.char_lm(OPTS)", []),
        "lab.train": ("lab.train(OPTS)", [("model", "M"), ("task", "lab.tasks.adding{T = 3, batch = 2}"),
                                          ("optimizer", "lab.optim.adam{}"), ("steps", "1")]),
        "lab.train.diagnostics": ("lab.train{model = M, task = lab.tasks.adding{T = 3, batch = 2}, optimizer = lab.optim.adam{}, steps = 1, diagnostics = OPTS}", []),
        "lab.schedule.step": ("lab.schedule.step(OPTS)", [("lr", "1"), ("every", "1")]),
        "lab.schedule.exponential": ("lab.schedule.exponential(OPTS)", [("lr", "1"), ("gamma", "0.5")]),
        "lab.schedule.cosine": ("lab.schedule.cosine(OPTS)", [("lr", "1"), ("steps", "10")]),
        "lab.schedule.warmup": ("lab.schedule.warmup(OPTS)", [("steps", "2"), ("after", "1")]),
        "lab.log": ("lab.log({step = 1}, OPTS)", []),
        "lab.plot": ("lab.plot(OPTS)", []),
        "lab.experiment.run": ("lab.experiment.run(OPTS)", [("params", "{}"), ("task", "function() end")]),
    ]

    /// Bad values for a kind (Lua source) and a fragment of the error each must give.
    static func badValues(_ kind: LuaOptionKind) -> [(String, String)] {
        switch kind {
        case .integer(let r):
            var cases = [("'x'", "integer expected, got string"), ("2.5", "integer expected, got 2.5"),
                         ("0/0", "integer expected, got nan")]
            if r.lowerBound > Int.min { cases.append(("\(r.lowerBound - 1)", "must be \(kind.range), got \(r.lowerBound - 1)")) }
            if r.upperBound < Int.max { cases.append(("\(r.upperBound + 1)", "must be \(kind.range), got \(r.upperBound + 1)")) }
            return cases
        case let .number(lo, hi, open):
            var cases = [("'x'", "number expected, got string"), ("0/0", "must be a finite number"),
                         ("math.huge", "must be a finite number"), ("-math.huge", "must be a finite number")]
            if lo > -.greatestFiniteMagnitude { cases.append((open ? "\(lo)" : "\(lo) - 1e-3", "must be a finite number \(kind.range)")) }
            if hi < .greatestFiniteMagnitude { cases.append(("\(hi) + 1e-3", "must be a finite number \(kind.range)")) }
            return cases
        case .boolean: return [("'yes'", "boolean expected, got string"), ("1", "boolean expected, got number")]
        case .string: return [("1", "string expected, got number"), ("{}", "string expected, got table")]
        case .choice: return [("'no such thing'", "must be one of \(kind.range), got \"no such thing\""), ("1", "string expected, got number")]
        case .list(_, let n):
            var cases = [("'x'", "\(kind.expected) expected, got string"), ("{a = 1}", "a list expected")]
            if n.lowerBound > 0 { cases.append(("{}", "must have \(kind.range), got 0")) }
            return cases
        case .record: return [("1", "table expected, got number"), ("{x = {}}", "field 'x' is a table")]
        case .function: return [("1", "function expected, got number"), ("{}", "function expected, got table")]
        case .table: return [("1", "table expected, got number")]
        case .object(let what, _): return [("1", "\(what) expected, got number"), ("{}", "\(what) expected, got table")]
        case .value, .data: return []
        }
    }

    @Test func everyDeclaredOptionRefusesBadValues() throws {
        let s = try LabSession(mode: .interactive(runsBase: NSTemporaryDirectory() + "runs-\(UUID().uuidString)"),
                               searchPath: RecipeSearchPath(directories: []))
        try withExtendedLifetime(s) {
            let declarations = s.state.declarations
            #expect(declarations.count >= 19)
            for name in declarations.keys { #expect(Self.calls[name] != nil, "no call for the declared function \(name)") }
            try s.state.run("M = lab.models.rnn{input = 2, hidden = 2, output = 1}", chunkName: "=setup")
            var tried = 0
            for (name, declaration) in declarations.sorted(by: { $0.key < $1.key }) {
                guard let call = Self.calls[name] else { continue }
                func attempt(_ entries: [(String, String)]) throws -> String? {
                    let table = "{" + entries.map { "\($0.0) = \($0.1)" }.joined(separator: ", ") + "}"
                    let code = "local ok, e = pcall(function() return \(call.call.replacingOccurrences(of: "OPTS", with: table)) end)\nreturn ok, e"
                    let r = try s.state.run(code, chunkName: "=walk")
                    tried += 1
                    return r[0] == false ? (r[1].string ?? "(not a string)") : nil
                }
                let unknown = try attempt(call.base + [("zzz_no_such_option", "1")])
                #expect(unknown?.contains("unknown option 'zzz_no_such_option' to '\(name)'") == true, "\(name): \(unknown ?? "accepted")")
                for option in declaration.options {
                    let base = call.base.filter { $0.0 != option.name }
                    for (bad, expected) in Self.badValues(option.kind) {
                        let message = try attempt(base + [(option.name, bad)])
                        let wanted = "bad option '\(option.name)' to '\(name)' ("
                        #expect(message?.contains(wanted) == true && message?.contains(expected) == true,
                                "\(name){\(option.name) = \(bad)}: expected \(wanted)…\(expected)…, got \(message ?? "no error")")
                    }
                    if option.required {
                        let message = try attempt(base)
                        #expect(message?.contains("missing option '\(option.name)' to '\(name)'") == true, "\(name) without \(option.name): \(message ?? "accepted")")
                    }
                }
            }
            #expect(tried > 200)
        }
    }

    @Test func optionsOfAnotherVariantAreRefused() throws {
        let s = try LabSession(mode: .interactive(runsBase: NSTemporaryDirectory() + "runs-\(UUID().uuidString)"),
                               searchPath: RecipeSearchPath(directories: []))
        let r = try withExtendedLifetime(s) { try s.state.run("""
            local function err(f, o) local ok, e = pcall(f, o) return e end
            return err(lab.models.rnn, { cell = "lstm", input = 1, hidden = 4, output = 1, r = 0.5 }),
                   err(lab.models.rnn, { cell = "gru", input = 1, hidden = 4, output = 1, reflectors = 2 }),
                   err(lab.models.rnn, { cell = "lstm", input = 1, hidden = 4, output = 1, init = "identity" }),
                   err(lab.models.rnn, { input = 1, hidden = 4, output = 1, r = 2 }),
                   err(lab.householder.matrix, nil)
            """, chunkName: "=t") }
        #expect(r[0] == "option 'r' does not apply to cell 'lstm' in 'lab.models.rnn' (only to spectral)")
        #expect(r[1] == "option 'reflectors' does not apply to cell 'gru' in 'lab.models.rnn' (only to spectral, orthogonal)")
        #expect(r[2] == "option 'init' does not apply to cell 'lstm' in 'lab.models.rnn' (only to spectral, orthogonal, rnn)")
        #expect(r[3].string?.contains("bad option 'r' to 'lab.models.rnn' (must be ≤ sigma_star = 1.0, got 2.0") == true, "\(r[3])")
    }

    @Test func sizesAndMemoryAreCheckedBeforeAllocating() throws {
        let s = try LabSession(mode: .interactive(runsBase: NSTemporaryDirectory() + "runs-\(UUID().uuidString)"),
                               searchPath: RecipeSearchPath(directories: []))
        let r = try withExtendedLifetime(s) { try s.state.run("""
            -- Called through pcall directly, so the messages carry no position.
            local function err(f, ...) local ok, e = pcall(f, ...) return ok and "accepted" or e end
            local t = {} for i = 1, 25 do t[i] = {} end
            for i = 1, 25 do for j = i + 1, 25 do t[i][#t[i] + 1] = t[j] end end   -- 2^24 paths, 25 tables
            return err(lab.tensor.zeros, 1 << 17, 1 << 17),
                   err(lab.tensor.zeros, 1 << 62, 4),
                   err(lab.svd.linear, 1 << 32, 1 << 32),
                   err(lab.models.mlp, { sizes = { 1 << 31, 1 << 31 } }),
                   err(lab.models.rnn, { input = 1, hidden = 1 << 32, output = 1 }),
                   err(lab.tasks.copy, { T = math.maxinteger }),
                   err(lab.tasks.adding, { batch = 1 << 40 }),
                   err(lab.log, { x = t[1] }),
                   err(lab.models.rnn, { input = 1, hidden = 60000, output = 1 }),   -- more than this machine has
                   -- what a forward keeps for backward: 100 000 steps × 128 × 8·1024 floats
                   err(function() return lab.models.rnn { cell = "rnn", input = 1, hidden = 1024, output = 1 }:forward(lab.tensor.zeros(100000, 128, 1)) end),
                   err(function() return lab.models.mlp { sizes = { 1, 4096, 1 } }:forward(lab.tensor.zeros(1 << 22, 1)) end)
            """, chunkName: "=t") }
        #expect(r[0] == "a 131072×131072 float32 tensor is too large (over 16 GiB, the limit for one block of memory)")
        #expect(r[1].string?.contains("is too large") == true, "\(r[1])")
        #expect(r[2].string?.hasSuffix("(a size between 1 and 65536 expected, got 4294967296)") == true, "\(r[2])")
        #expect(r[3] == "bad option 'sizes' to 'lab.models.mlp' (entry 1: must be 1…65536, got 2147483648)")
        #expect(r[4] == "bad option 'hidden' to 'lab.models.rnn' (must be 1…65536, got 4294967296)")
        #expect(r[5] == "bad option 'T' to 'lab.tasks.copy' (must be 1…1048576, got 9223372036854775807)")
        #expect(r[6] == "bad option 'batch' to 'lab.tasks.adding' (must be 1…65536, got 1099511627776)")
        #expect(r[7].string?.contains("table is too large to copy into Swift") == true, "\(r[7])")
        #expect(r[8] == "not enough memory for a spectral model with 60000 hidden units (107 GiB)")
        #expect(r[9].string?.contains("the forward over 100000 steps (12800000 rows × 8193 numbers kept) is too large") == true, "\(r[9])")
        #expect(r[10].string?.contains("the MLP's forward (4194304 rows × 8194 numbers kept) is too large") == true, "\(r[10])")
    }

    @Test func zeroMeansNoneInTheTrainingLoop() throws {
        let s = try LabSession(mode: .interactive(runsBase: NSTemporaryDirectory() + "runs-\(UUID().uuidString)"),
                               searchPath: RecipeSearchPath(directories: []))
        let r = try withExtendedLifetime(s) { try s.state.run("""
            local m = lab.models.rnn { input = 2, hidden = 4, output = 1 }
            local last = lab.train { model = m, task = lab.tasks.adding { T = 4, batch = 2 }, optimizer = lab.optim.adam {},
                                     steps = 3, every = 0, eval_every = 0, checkpoint_every = 0, diagnostics = { every = 0 } }
            local ok, e = pcall(lab.train, { model = m, task = lab.tasks.adding { T = 4, batch = 2 }, optimizer = lab.optim.adam {},
                                             steps = 3, tags = { loss = 0 } })
            return last.step, last.eval_loss, e
            """, chunkName: "=t") }
        #expect(r[0] == 3 && r[1] == .nil)
        #expect(r[2].string?.contains("tag 'loss' is a field the loop logs itself") == true, "\(r[2])")
    }
}
