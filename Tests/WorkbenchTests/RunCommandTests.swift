import Foundation
import Testing

@Suite struct RunCommandTests {
    @Test func helloWritesParamsMetricsAndItsOwnFiles() throws {
        let cli = try CLI()
        let hello = CLI.projectRoot.appendingPathComponent("plugins/hello.lua").path
        let r = try cli.run(["run", hello, "--set", "steps=2", "--set", "greeting=hi there", "--out", "myrun"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("hi there from spectral-lab"))
        #expect(r.stdout.contains("step=2 loss=0.25"))
        let dir = cli.directory.appendingPathComponent("myrun").path
        let params = try cli.json("\(dir)/params.json")
        #expect(params["steps"] as? Int == 2)
        #expect(params["greeting"] as? String == "hi there")
        #expect(params["decay"] as? Double == 0.5)
        let metrics = try cli.jsonLines("\(dir)/metrics.jsonl")
        #expect(metrics.count == 2)
        #expect(metrics.last?["loss"] as? Double == 0.25)
        let record = try cli.json("\(dir)/run.json")
        #expect(record["status"] as? String == "ok")
        #expect(record["seed"] as? Int == 1)
        #expect(try cli.read("\(dir)/summary.txt").contains("hi there: 2 steps"))
    }

    @Test func defaultRunDirectoryIsNamedAfterTheScript() throws {
        let cli = try CLI()
        let script = try cli.write("exp.lua", "lab.log{step = 1, x = 0/0, y = 1/0}\nprint(lab.run_dir())")
        let r = try cli.run(["run", script])
        #expect(r.status == 0, "\(r.stderr)")
        let dirs = cli.runDirectories()
        #expect(dirs.count == 1)
        #expect(dirs.first?.hasSuffix("-exp") == true)
        #expect(r.stdout.contains(dirs.first ?? "?"))
        // NaN and Inf are recorded as strings, not dropped and not invalid JSON.
        #expect(try cli.read("\(dirs[0])/metrics.jsonl") == "{\"step\":1,\"x\":\"NaN\",\"y\":\"Infinity\"}\n")
    }

    @Test func setValuesAreTypeCheckedAgainstTheDefaults() throws {
        let cli = try CLI()
        let script = try cli.write("p.lua", """
            local p = lab.params { T = 200, lr = 1e-3, model = "spectral", clip = false, cells = {"a", "b"} }
            print(math.type(p.T), p.T, p.lr, p.model, p.clip, #p.cells, p.cells[#p.cells])
            """)
        let ok = try cli.run(["run", script, "--set", "T=0x10", "--set", "lr=1", "--set", "model=\"lstm\"",
                              "--set", "clip=true", "--set", "cells=x,y,z"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout == "integer\t16\t1.0\tlstm\ttrue\t3\tz\n")

        let bad = try cli.run(["run", script, "--set", "T=abc"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("parameter 'T' expects an integer"))
        #expect(bad.stderr.contains("got 'abc'"))

        let frac = try cli.run(["run", script, "--set", "T=1.5"])
        #expect(frac.status == 2)
        let flag = try cli.run(["run", script, "--set", "clip=yes"])
        #expect(flag.status == 2)
        #expect(flag.stderr.contains("expects a boolean"))

        let unknown = try cli.run(["run", script, "--set", "lrr=3"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown parameter 'lrr'"))
        #expect(unknown.stderr.contains("did you mean 'lr'?"))
        #expect(unknown.stderr.contains("known parameters: T, cells, clip, lr, model"))
        // A run stopped by a bad --set leaves no run directory behind.
        #expect(cli.runDirectories().count == 1)

        let malformed = try cli.run(["run", script, "--set", "T"])
        #expect(malformed.status == 2)
        #expect(malformed.stderr.contains("--set expects key=value"))
        #expect(malformed.stderr.contains("Usage: spectral-lab run"))
    }

    @Test func setWithoutDeclaredParametersIsAnError() throws {
        let cli = try CLI()
        let script = try cli.write("none.lua", "print('ran')")
        let r = try cli.run(["run", script, "--set", "x=1"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("declares no parameters"))
    }

    @Test func failingScriptReportsFileLineAndTraceback() throws {
        let cli = try CLI()
        try cli.write("fail.lua", "local function f(x)\n  return x.field\nend\nf(nil)\n")
        let script = "fail.lua"   // as a user types it: messages name it so
        let r = try cli.run(["run", script, "--out", "failed"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("\(script):2: attempt to index a nil value (local 'x')"))
        #expect(r.stderr.contains("stack traceback:"))
        #expect(r.stderr.contains("\(script):4: in main chunk"))
        let record = try cli.json(cli.directory.appendingPathComponent("failed/run.json").path)
        #expect(record["status"] as? String == "error")
        #expect((record["error"] as? String)?.contains(":2: attempt to index") == true)
    }

    @Test func swiftErrorsAreCatchableAndPositioned() throws {
        let cli = try CLI()
        let script = "pc.lua"
        try cli.write(script, """
            local ok, err = pcall(lab.log, 42)
            print(ok, err)
            local ok2, err2 = pcall(function() lab.params { f = print } end)
            print(ok2, err2)
            lab.params { a = 1 }
            lab.params { b = 2 }
            """)
        let r = try cli.run(["run", script])
        #expect(r.status == 1)
        #expect(r.stdout.contains("false\tbad argument #1 to 'lab.log' (table expected, got number)"))
        #expect(r.stdout.contains("false\t\(script):3: lab.params: parameter 'f' has a default of type function"))
        #expect(r.stderr.hasPrefix("\(script):6: lab.params called a second time (first at \(script):5)"))
    }

    @Test func syntaxErrorsAndMissingFiles() throws {
        let cli = try CLI()
        let script = "syntax.lua"
        try cli.write(script, "x = = 1\n")
        let r = try cli.run(["run", script])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("\(script):1: unexpected symbol near '='"))
        let missing = try cli.run(["run", "nowhere/missing.lua"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cannot open 'nowhere/missing.lua'"))
        // An absolute path inside the working directory is shown relative to it (Lua would cut
        // the long absolute name to "...tail").
        let absolute = try cli.write("sub/s.lua", "error('x')")
        let l = try cli.run(["run", absolute])
        #expect(absolute.count > 60)
        #expect(l.stderr.hasPrefix("sub/s.lua:1: x"))
        let bytecode = try cli.write("bc.lua", "\u{1B}Lua")
        let b = try cli.run(["run", bytecode])
        #expect(b.status == 1)
        #expect(b.stderr.contains("attempt to load a binary chunk"))
    }

    @Test func scriptArgumentsAndSeed() throws {
        let cli = try CLI()
        let script = try cli.write("a.lua", "print(arg[0] ~= nil, math.random(1000000), ...)")
        let one = try cli.run(["run", script, "--seed", "7", "--", "x", "--y"])
        let two = try cli.run(["run", script, "--seed", "7", "--", "x", "--y"])
        let other = try cli.run(["run", script, "--seed", "8", "--", "x", "--y"])
        #expect(one.status == 0)
        #expect(one.stdout.hasPrefix("true\t"))
        #expect(one.stdout.hasSuffix("\tx\t--y\n"))
        #expect(one.stdout == two.stdout)
        #expect(one.stdout != other.stdout)
    }

    /// Runs `arguments`, waits for "ready" on stdout, sends `signal`; returns status, stdout, stderr.
    static func signalled(_ cli: CLI, _ arguments: [String], _ signal: Int32) throws -> (status: Int32, stdout: String, stderr: String) {
        var (process, out, err, seen) = try cli.start(arguments)
        kill(process.processIdentifier, signal)
        let e = err.fileHandleForReading.readDataToEndOfFile()
        seen += out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: seen, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test func ctrlCStopsARunWithStatus130AndKeepsTheRecord() throws {
        let cli = try CLI()
        let script = try cli.write("spin.lua", "lab.log{step = 1}\nprint('ready'); io.stdout:flush()\nwhile true do end\n")
        let r = try Self.signalled(cli, ["run", script, "--out", "spin"], SIGINT)
        #expect(r.status == 130)
        // One clean line, no Lua traceback (run.json keeps it).
        #expect(r.stderr.hasPrefix("spectral-lab: interrupted! (SIGINT)\n") && !r.stderr.contains("traceback"), "\(r.stderr)")
        let dir = cli.directory.appendingPathComponent("spin").path
        #expect(try cli.json("\(dir)/run.json")["status"] as? String == "interrupted")
        #expect(try cli.jsonLines("\(dir)/metrics.jsonl").count == 1)
    }

    /// SIGTERM (what Slurm sends) and SIGHUP stop a run as Ctrl-C does, with 128 + the signal; a
    /// pcall in a retry loop cannot swallow the stop.
    @Test(arguments: [(SIGTERM, Int32(143)), (SIGHUP, Int32(129))])
    func terminationSignalsStopARunThatPcallCannotKeepAlive(signal: Int32, status: Int32) throws {
        let cli = try CLI()
        let script = try cli.write("retry.lua", """
            print('ready'); io.stdout:flush()
            for attempt = 1, 3 do
              print(pcall(function() while true do end end))
            end
            print('swallowed')
            """)
        let r = try Self.signalled(cli, ["run", script, "--out", "r"], signal)
        #expect(r.status == status, "\(r.stderr)")
        #expect(!r.stdout.contains("swallowed") && !r.stdout.contains("false"), "\(r.stdout)")
        #expect(try cli.json(cli.directory.appendingPathComponent("r/run.json").path)["status"] as? String == "interrupted")
    }

    /// SIGTERM in lab.train: the step finishes, a checkpoint is written there, and the resumed run
    /// logs exactly the numbers of an uninterrupted one.
    @Test func sigtermCheckpointsTrainingAndTheRunResumes() throws {
        let cli = try CLI()
        let script = try cli.write("term.lua", """
            local p = lab.params { steps = 400, T = 10 }
            """ + addingTaskLua + """
            lab.seed(1)
            local model = lab.models.rnn { input = 2, hidden = 16, output = 1, reflectors = 4, r = 0.1 }
            lab.train { model = model, task = task, optimizer = lab.optim.adam { lr = 1e-2 }, steps = p.steps,
                        every = 20, checkpoint_every = 100, on_log = function(m)
                          if m.step == 40 then print('ready'); io.stdout:flush() end
                        end }
            """)
        #expect(try cli.run(["run", script, "--out", "a"]).status == 0)
        let r = try Self.signalled(cli, ["run", script, "--out", "b"], SIGTERM)
        #expect(r.status == 143, "\(r.stderr)")
        #expect(r.stdout.contains("SIGTERM: stopping after step") && r.stdout.contains("(checkpoint at step"), "\(r.stdout)")
        #expect(try cli.json(cli.directory.appendingPathComponent("b/run.json").path)["status"] as? String == "interrupted")
        let resumed = try cli.run(["run", "--resume", "b"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        func losses(_ run: String) throws -> [Double] {
            try cli.jsonLines(cli.directory.appendingPathComponent("\(run)/metrics.jsonl").path).compactMap { $0["loss"] as? Double }
        }
        let a = try losses("a"), b = try losses("b")
        #expect(a.count == 20)
        #expect(a == b)
    }

    /// run.json says what ran and where: the command line, the machine, BLAS, the script's copy
    /// (which --resume runs) and its repository's commit.
    @Test func theRunRecordSaysWhatRanAndWhere() throws {
        let cli = try CLI()
        let repo = cli.directory.appendingPathComponent("exp").path
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        let script = try cli.write("exp/one.lua", "print('hi')\n")
        for args in [["init", "-q"], ["add", "one.lua"], ["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "one"]] {
            let git = Process()
            git.executableURL = URL(fileURLWithPath: "/usr/bin/git")
            git.arguments = ["-C", repo] + args
            try git.run()
            git.waitUntilExit()
        }
        let r = try cli.run(["run", "exp/one.lua", "--out", "rec"])
        #expect(r.status == 0, "\(r.stderr)")
        let record = try cli.json(cli.directory.appendingPathComponent("rec/run.json").path)
        #expect((record["argv"] as? [String])?.suffix(4) == ["run", "exp/one.lua", "--out", "rec"])
        #expect(record["script_path"] as? String == URL(fileURLWithPath: script).standardizedFileURL.path)
        #expect(record["source"] as? String == "source/one.lua")
        #expect(try cli.read(cli.directory.appendingPathComponent("rec/source/one.lua").path) == "print('hi')\n")
        #expect((record["git_commit"] as? String)?.count == 40 && record["git_dirty"] as? Bool == false, "\(record)")
        #expect(record["exit_code"] as? Int == 0 && record["pid"] is Int)
        for key in ["cwd", "host", "cpu", "blas"] { #expect((record[key] as? String)?.isEmpty == false, "\(key)") }
        #expect((record["cores"] as? Int ?? 0) >= 1 && (record["blas_threads"] as? Int ?? 0) >= 1)
        // The build that ran: this binary, its CRC-32, and the commit of the checkout it was built in.
        #expect(record["spectral_lab_binary"] as? String == CLI.binary.resolvingSymlinksInPath().path, "\(record)")
        #expect((record["spectral_lab_crc32"] as? String)?.count == 8)
        #expect((record["spectral_lab_git_commit"] as? String)?.count == 40, "\(record)")
    }

    /// The run keeps the modules its script required (a resume runs those copies, not the edited
    /// originals), everything it printed in output.log, and the BLAS thread count it ran with.
    @Test func theRunKeepsItsModulesItsOutputAndItsThreads() throws {
        let cli = try CLI()
        try cli.write("helper.lua", "return { v = 1 }\n")
        try cli.write("lib/util/init.lua", "return { w = 2 }\n")
        let script = try cli.write("uses.lua", """
            package.path = "\(cli.directory.path)/lib/?/init.lua;" .. package.path
            local p = lab.params { steps = 1 }
            local h, u = require "helper", require "util"
            print("v", h.v, "w", u.w)
            io.stderr:write("to stderr\\n")
            lab.checkpoint.save(p.steps, lab.models.rnn { input = 1, hidden = 2, output = 1 }, lab.optim.adam {})
            """)
        let r = try cli.run(["run", script, "--out", "kept", "--threads", "1"])
        #expect(r.status == 0 && r.stdout == "v\t1\tw\t2\n", "\(r.stdout)\(r.stderr)")
        let dir = cli.directory.appendingPathComponent("kept").path
        var record = try cli.json("\(dir)/run.json")
        #expect(record["blas_threads"] as? Int == 1)
        #expect(record["modules"] as? [String: String] == ["helper": "\(cli.directory.path)/helper.lua",
                                                           "util": "\(cli.directory.path)/lib/util/init.lua"], "\(record)")
        #expect(try cli.read("\(dir)/source/modules/util/init.lua") == "return { w = 2 }\n")
        try cli.write("helper.lua", "return { v = 99 }\n")
        try cli.write("lib/util/init.lua", "return { w = 99 }\n")
        let resumed = try cli.run(["run", "--resume", "kept", "--set", "steps=2"])
        #expect(resumed.status == 0 && resumed.stdout == "v\t1\tw\t2\n", "\(resumed.stdout)\(resumed.stderr)")
        record = try cli.json("\(dir)/run.json")
        #expect((record["resumed_with"] as? [String: Any])?["blas_threads"] as? Int == 1, "a resume keeps the run's threads")
        let log = try cli.read("\(dir)/output.log").replacingOccurrences(of: #"resumed \S+ =="#, with: "resumed T ==", options: .regularExpression)
        let session = "v\t1\tw\t2\nto stderr\nspectral-lab: run directory \(dir)\n"
        #expect(log == session + "== resumed T ==\n" + session, "\(log)")
        let other = try cli.run(["run", "--resume", "kept", "--set", "steps=3", "--threads", "2"])
        #expect(other.status == 0 && other.stderr.contains("the run used 1 BLAS threads and resumes with 2"), "\(other.stderr)")
        let bad = try cli.run(["run", script, "--out", "bad", "--threads", "0"])
        #expect(bad.status == 2 && bad.stderr.contains("--threads takes 1…"), "\(bad.stderr)")
    }

    /// --memory bounds the whole run (an allocation past it is a Lua error, not a crash);
    /// --time-limit stops it as SIGTERM does.
    @Test func memoryAndTimeLimits() throws {
        let cli = try CLI()
        let big = try cli.write("big.lua", "local keep = {}\nfor i = 1, 100 do keep[i] = lab.tensor.zeros(1024, 1024, 64) end\n")
        var r = try cli.run(["run", big, "--out", "big", "--memory", "1"])
        #expect(r.status == 1 && r.stderr.hasPrefix("big.lua:2: not enough memory for a 1024×1024×64 float32 tensor (256 MiB)"), "\(r.stderr)")
        #expect(try cli.json(cli.directory.appendingPathComponent("big/run.json").path)["memory_limit_bytes"] as? Int == 1 << 30)
        let spin = try cli.write("spin.lua", "while true do end\n")
        let started = Date()
        r = try cli.run(["run", spin, "--out", "spin", "--time-limit", "1"])
        #expect(r.status == 143 && r.stderr.contains("the run's time limit (1 s) has passed: stopping it"), "\(r.stderr)")
        #expect(Date().timeIntervalSince(started) < 10)
        let record = try cli.json(cli.directory.appendingPathComponent("spin/run.json").path)
        #expect(record["status"] as? String == "interrupted" && record["time_limit_s"] as? Double == 1)
        for (option, value, message) in [("--memory", "0.1", "--memory takes GiB from 0.25, got 0.1"), ("--time-limit", "0", "--time-limit takes seconds > 0, got 0.0")] {
            r = try cli.run(["run", spin, "--out", "bad", option, value])
            #expect(r.status == 2 && r.stderr.contains(message), "\(r.stderr)")
        }
    }

    @Test func versionAndHelp() throws {
        let cli = try CLI()
        let v = try cli.run(["--version"])
        #expect(v.status == 0)
        #expect(v.stdout.hasPrefix("spectral-lab 0.1.0 (Lua 5.4"))
        let h = try cli.run(["run", "--help"])
        #expect(h.status == 0)
        #expect(h.stdout.contains("--set <key=value>"))
        let bad = try cli.run(["frobnicate"])
        #expect(bad.status == 2)
    }
}
