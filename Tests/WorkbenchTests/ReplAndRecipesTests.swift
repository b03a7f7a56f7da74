import Foundation
import Testing
@testable import Workbench

@Suite struct ReplTests {
    @Test func pipedInputFollowsLuaCsRules() throws {
        let cli = try CLI()
        let input = """
            1 + 1
            x = 10;
            x * 3
            function fib(n)
              if n < 2 then return n end
              return fib(n - 1) + fib(n - 2)
            end
            fib(20)
            {1, 2, name = "run", nested = {a = true}}
            "a string", nil, 3.5
            42;
            local t = {}; t.me = t; return t
            print("printed")

            """
        let r = try cli.run(["repl"], stdin: input)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == """
            2
            30
            6765
            {1, 2, name = "run", nested = {a = true}}
            a string\tnil\t3.5
            {me = <cycle>}
            printed

            """)
        #expect(r.stderr.isEmpty)
    }

    @Test func errorsArePrintedAndTheLoopGoesOn() throws {
        let cli = try CLI()
        let r = try cli.run(["repl"], stdin: "error('first')\nlab.log(1)\nx = = 2\n'after'\n")
        #expect(r.status == 1)   // from a pipe, a failure shows in the exit status
        #expect(r.stdout == "after\n")
        #expect(r.stderr.contains("stdin:1: first"))
        #expect(r.stderr.contains("bad argument #1 to 'log' (table expected, got number)"))
        #expect(r.stderr.contains("stdin:1: unexpected symbol near '='"))
    }

    @Test func helpListsTheLabFunctions() throws {
        let cli = try CLI()
        let r = try cli.run(["repl"], stdin: "help()\n?lab.log\nhelp(lab.run_dir)\nhelp('nothing')\n")
        #expect(r.status == 0)
        for name in ["lab.params", "lab.log", "lab.run_dir", "lab.recipes", "lab.recipe", "lab.inspect"] {
            #expect(r.stdout.contains("  \(name)"), "help() lacks \(name)")
        }
        #expect(r.stdout.contains("lab.log(t [, {print=}]): appends the table t"))
        #expect(r.stdout.contains("lab.run_dir([name]): the run directory"))
        #expect(r.stdout.contains("no help for nothing"))
        #expect(r.stdout.contains("Also: help \"tensor\""))
        let topic = try cli.run(["repl"], stdin: "help 'tensor'\n?svd.linear\n")
        #expect(topic.stdout.contains("  a:matmul(b)\n      the matrix product a·b"))
        #expect(topic.stdout.contains("layer:singular_values()"))
        // A constructor that is also a class: its options, then its objects' methods.
        #expect(topic.stdout.contains("lab.svd.linear(in, out [, options]): a linear layer"))
        #expect(topic.stdout.contains("Options:\n  reflectors = integer 1…65536 (default all)"))
        let householder = try cli.run(["repl"], stdin: "help(lab.householder.backward)\n")
        #expect(householder.stdout.contains("method = string \"wy\" | \"reflectorwise\" (default \"wy\")"), "\(householder.stdout)")
    }

    @Test func loggingFromTheReplMakesARunDirectoryOnFirstUse() throws {
        let cli = try CLI()
        #expect(try cli.run(["repl"], stdin: "1\n").status == 0)
        #expect(cli.runDirectories().isEmpty)
        let r = try cli.run(["repl"], stdin: "lab.log{step = 1, loss = 0.5}\n")
        #expect(r.status == 0)
        #expect(r.stdout == "step=1 loss=0.5\n")
        let dirs = cli.runDirectories()
        #expect(dirs.count == 1 && dirs[0].hasSuffix("-repl"))
        #expect(try cli.read("\(dirs[0])/metrics.jsonl") == "{\"step\":1,\"loss\":0.5}\n")
    }

    @Test func requireGivesTheSameModuleAsTheGlobal() throws {
        let cli = try CLI()
        let r = try cli.run(["repl"], stdin: "require('lab') == lab\nrequire('lab').version\n")
        #expect(r.stdout == "true\n0.1.0\n")
    }
}

@Suite struct RecipesTests {
    private func userRecipes(_ cli: inout CLI) throws {
        try cli.write("mine/adder.lua", """
            -- comment before the declarations is fine
            lab.recipe { name = "adder", description = "Adds two numbers." }
            local p = lab.params({ a = 1, b = 2.5 }, { a = "first", b = "second" })
            print("sum", p.a + p.b)
            """)
        try cli.write("mine/hello.lua", "lab.recipe{description = 'a user hello'}\nlab.params{}\nprint('mine')\n")
        try cli.write("mine/broken.lua", "error('broken on purpose')\n")
        try cli.write("mine/spin.lua", "while true do end\n")
        cli.environment["SPECTRAL_LAB_PATH"] = cli.directory.appendingPathComponent("mine").path
    }

    @Test func listingShowsDescriptionsParametersAndProblems() throws {
        var cli = try CLI()
        try userRecipes(&cli)
        let r = try cli.run(["recipes"])
        #expect(r.status == 0)
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("adder ") && $0.hasSuffix(" Adds two numbers.") })
        #expect(r.stdout.contains("a=1 b=2.5"))
        #expect(r.stdout.contains("problem: mine/broken.lua:1: broken on purpose"))
        #expect(r.stdout.contains("problem: instruction budget exhausted"))
        // The built-in hello is listed, and so is the clash with the user's own.
        #expect(r.stdout.contains("problem: \(cli.directory.path)/mine/hello.lua has this name too: run either by its path"), "\(r.stdout)")
        #expect(r.stdout.contains("Greets, logs a decaying toy loss"))
    }

    @Test func showAndRunByName() throws {
        var cli = try CLI()
        try userRecipes(&cli)
        let show = try cli.run(["recipes", "show", "adder"])
        #expect(show.status == 0)
        #expect(show.stdout.contains("adder: Adds two numbers."))
        #expect(show.stdout.contains("a = 1"))
        #expect(show.stdout.contains("first"))
        let run = try cli.run(["run", "adder", "--set", "a=4"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "sum\t6.5\n")
        // Two recipes named hello: an error that names both; each runs by its path.
        let hello = try cli.run(["run", "hello"])
        #expect(hello.status == 2 && hello.stderr.contains("2 recipes are named 'hello': \(cli.directory.path)/mine/hello.lua, builtin:hello.lua; run one by its path"), "\(hello.stderr)")
        #expect(try cli.run(["run", "mine/hello.lua"]).stdout == "mine\n")
        #expect(try cli.run(["run", "builtin:hello.lua", "--set", "steps=1"]).stdout.hasPrefix("hello from spectral-lab"))
        let missing = try cli.run(["recipes", "show", "nope"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no recipe named 'nope'"))
    }

    /// Recipes that attack whoever lists them: reading their declarations (recipes, recipes show,
    /// run of another recipe, a typo'd name) leaves no trace and takes about a second, each
    /// listed with its problem; a helper module beside them is not a recipe, and a recipe requires it.
    @Test func describingARecipeRunsNoneOfItsCodeWithAnyPower() throws {
        var cli = try CLI()
        let marker = cli.directory.appendingPathComponent("pwned").path
        let attacks = [
            "writer": "local f = io.open(os.getenv('HOME') .. '/pwned', 'w'); f:write('x'); f:close()",
            "shell": "os.execute('touch \(marker)')",
            "native": "package.loadlib('/usr/lib/x86_64-linux-gnu/liblua5.4.so.0', 'luaopen_os')",
            "loader": "load('os.exit(3)')()",
            "trainer": "lab.tasks.adding { T = 10 }",
            "loop": "while true do end",
            "alloc": "local t = {} for i = 1, 1e9 do t[i] = i end",
            "block": "local s = ('a'):rep(40); s:find(('a?'):rep(40) .. ('a'):rep(40))",
        ]
        for (name, code) in attacks { try cli.write("shared/\(name).lua", code + "\nlab.params { a = 1 }\n") }
        try cli.write("shared/helper.lua", "return { default = 7 }\n")
        try cli.write("shared/uses.lua", "lab.recipe { name = 'uses', description = 'requires a helper' }\nlocal h = require 'helper'\nlocal p = lab.params { a = h.default }\nprint('a', p.a)\n")
        cli.environment["SPECTRAL_LAB_PATH"] = cli.directory.appendingPathComponent("shared").path
        let home = cli.directory.path
        let completion = ["---completion", "run", "--", "positional@0", "2", "0", "spectral-lab", "run", ""]   // what bash's completion runs
        for args in [["recipes"], ["recipes", "show", "uses"], ["run", "hello"], ["run", "helo"], completion] {
            let started = Date()
            let r = try cli.run(args)
            #expect(Date().timeIntervalSince(started) < 10, "\(args) took \(Date().timeIntervalSince(started)) s")
            #expect(!FileManager.default.fileExists(atPath: marker) && !FileManager.default.fileExists(atPath: "\(home)/pwned"), "\(args)")
            #expect(r.status == (args == ["run", "helo"] ? 2 : 0), "\(args): \(r.stderr)")
        }
        #expect(try cli.run(completion).stdout.split(separator: "\n").contains("uses"))
        let list = try cli.run(["recipes"]).stdout
        let withheld = " is not available while a recipe is described"
        for (name, problem) in [("writer", "io" + withheld), ("shell", "os" + withheld), ("native", "package" + withheld),
                                ("loader", "load" + withheld), ("trainer", "lab.tasks" + withheld),
                                ("loop", "instruction budget exhausted"), ("alloc", "not enough memory"),
                                ("block", "stopped after 1 s")] {
            #expect(list.contains("problem: shared/\(name).lua:1: \(problem)") || (list.contains(problem) && list.contains("shared/\(name).lua")), "\(name): \(list)")
        }
        #expect(!list.contains("helper.lua"), "a module is not a recipe")
        let uses = try cli.run(["run", "uses"])
        #expect(uses.status == 0 && uses.stdout == "a\t7\n", "\(uses.stderr)")
    }

    /// The shipped recipes belong to the binary: a copy of it elsewhere, with an empty HOME, lists
    /// and runs them, and a Package.swift and plugins/ planted above it are not looked at.
    @Test func aCopiedBinaryRunsItsOwnRecipesAndNothingPlantedAboveIt() throws {
        var cli = try CLI()
        let root = cli.directory
        try cli.write("Package.swift", "")
        try cli.write("plugins/evil.lua", "lab.recipe { name = 'evil' }\nlab.params {}\n")
        let bin = root.appendingPathComponent("opt/bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: CLI.binary, to: bin.appendingPathComponent("spectral-lab"))
        cli.binaryOverride = bin.appendingPathComponent("spectral-lab")
        cli.environment["HOME"] = root.appendingPathComponent("home").path
        let list = try cli.run(["recipes"])
        #expect(list.status == 0)
        #expect(!list.stdout.contains("evil"), "\(list.stdout)")
        for name in ["adding", "copy", "char_lm", "pixel_mnist", "grad_profile", "hello"] {
            #expect(list.stdout.contains("builtin:\(name).lua"), "\(name)")
        }
        #expect(list.stdout.contains("the recipes built into spectral-lab"))
        let run = try cli.run(["run", "adding", "--out", "short", "--set", "T=10", "--set", "steps=5", "--set", "hidden=8"])
        #expect(run.status == 0 && run.stdout.contains("result: task=adding cell=spectral"), "\(run.stderr)")
        let record = try cli.json(root.appendingPathComponent("short/run.json").path)
        #expect(record["script"] as? String == "builtin:adding.lua" && record["source"] as? String == "source/adding.lua")
        #expect(try cli.read(root.appendingPathComponent("short/source/adding.lua").path)
                == (try cli.read(CLI.projectRoot.appendingPathComponent("plugins/adding.lua").path)))
        let show = try cli.run(["recipes", "show", "hello", "--source"])
        #expect(show.stdout.contains("lab.recipe {"), "\(show.stdout)")
    }

    /// A recipe from the search path runs sandboxed: the first call that oversteps fails with the
    /// documented error at its line; what it may do (its run directory, the data sets, a path
    /// given with --set) works; --trust, or its folder trusted in ~/.spectral-lab/config, lifts
    /// the sandbox; --sandbox puts any script in it.
    @Test func sharedRecipesRunSandboxedUnlessTrusted() throws {
        var cli = try CLI()
        let marker = cli.directory.appendingPathComponent("pwned").path
        try cli.write("shared/evil.lua", """
            lab.recipe { name = "evil", description = "oversteps" }
            local p = lab.params { what = "shell", path = "" }
            if p.what == "shell" then os.execute("touch \(marker)") end
            if p.what == "home" then io.open(os.getenv("HOME") .. "/x", "w") end
            if p.what == "read" then io.open("/etc/passwd") end
            if p.what == "save" then lab.save("\(marker)", { x = lab.tensor.zeros(2) }) end
            if p.what == "native" then package.loadlib("/usr/lib/x86_64-linux-gnu/liblua5.4.so.0", "luaopen_os") end
            if p.what == "given" then print(io.open(p.path):read("a")) end
            if p.what == "dotdot" then io.open("\(cli.directory.path)/shared/l/../../secret.txt") end
            if p.what == "allowed" then
              local f = io.open(lab.run_dir("note.txt"), "w"); f:write("fine"); f:close()
              lab.save(lab.run_dir("t.safetensors"), { x = lab.tensor.zeros(2) })
              print("allowed", lab.tasks.char_lm { seq_len = 5, batch = 2 }:batch().x:shape()[1])
            end
            """)
        try cli.write("given.txt", "mine")
        // A link in the recipe's own folder, and `..` after it: the kernel's path, not the text's.
        try cli.write("deep/d/x", "")
        try cli.write("secret.txt", "secret")
        try FileManager.default.createSymbolicLink(atPath: cli.directory.appendingPathComponent("shared/l").path,
                                                   withDestinationPath: cli.directory.appendingPathComponent("deep/d").path)
        cli.environment["SPECTRAL_LAB_PATH"] = cli.directory.appendingPathComponent("shared").path
        let why = "It runs sandboxed because it comes from the recipe search path (\(Sandbox.resolve(cli.directory.path))/shared); "
            + "to let it, run with --trust, or trust its folder in ~/.spectral-lab/config (a line: trust /path/to/folder)"
        for (what, line, message) in [("shell", 3, "os.execute is not allowed in the sandbox."),
                                      ("home", 4, "io.open cannot write \(Sandbox.resolve(cli.directory.path))/x: a sandboxed run writes only in its run directory"),
                                      ("read", 5, "io.open cannot read /etc/passwd: a sandboxed run reads only its run directory, its own folder, the Debian data sets and paths given with --set."),
                                      ("save", 6, "lab.save cannot write \(Sandbox.resolve(marker))"),
                                      ("native", 7, "package.loadlib is not allowed in the sandbox."),
                                      ("dotdot", 9, "io.open cannot read \(Sandbox.resolve(cli.directory.path))/secret.txt")] {
            let r = try cli.run(["run", "evil", "--set", "what=\(what)"])
            #expect(r.status == 1 && r.stderr.hasPrefix("shared/evil.lua:\(line): \(message)") && r.stderr.contains(why), "\(what): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: marker))
        var r = try cli.run(["run", "evil", "--set", "what=allowed"])
        #expect(r.status == 0 && r.stdout == "allowed\t5\n", "\(r.stderr)")
        r = try cli.run(["run", "evil", "--set", "what=given", "--set", "path=\(cli.directory.path)/given.txt"])
        #expect(r.status == 0 && r.stdout == "mine\n", "\(r.stderr)")
        r = try cli.run(["run", "evil", "--trust"])
        #expect(r.status == 0 && FileManager.default.fileExists(atPath: marker), "\(r.stderr)")
        try FileManager.default.removeItem(atPath: marker)
        try cli.write(".spectral-lab/config", "# folders whose recipes I trust\ntrust \(cli.directory.path)/shared\n")
        r = try cli.run(["run", "evil"])
        #expect(r.status == 0 && FileManager.default.fileExists(atPath: marker), "\(r.stderr)")
        try cli.write(".spectral-lab/config", "trusted shared\n")
        r = try cli.run(["run", "evil"])
        #expect(r.status == 2 && r.stderr.contains(".spectral-lab/config:1: expected `trust /absolute/folder`, got 'trusted shared'"), "\(r.stderr)")
        try FileManager.default.removeItem(atPath: cli.directory.appendingPathComponent(".spectral-lab/config").path)
        // A script of yours, by path: unrestricted, unless --sandbox.
        let mine = try cli.write("mine.lua", "io.open('\(marker)', 'w'):close()\n")
        #expect(try cli.run(["run", mine, "--out", "m1"]).status == 0 && FileManager.default.fileExists(atPath: marker))
        r = try cli.run(["run", mine, "--out", "m2", "--sandbox"])
        #expect(r.status == 1 && r.stderr.contains("io.open cannot write") && r.stderr.contains("because --sandbox was given"), "\(r.stderr)")
        #expect(try cli.json(cli.directory.appendingPathComponent("m2/run.json").path)["sandboxed"] as? String == "--sandbox was given")
    }

    /// A plugin from a git repository: installed with its commit recorded, listed, its recipe runs
    /// (sandboxed, requiring the plugin's modules as toy.module), a second install is refused,
    /// remove deletes it; a bad manifest is refused with the reason.
    @Test func aPluginInstalledFromGitRunsItsRecipeWithItsModules() throws {
        let cli = try CLI()
        let repo = cli.directory.appendingPathComponent("colleague/toy")
        try FileManager.default.createDirectory(at: repo.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: CLI.projectRoot.appendingPathComponent("plugins/toy"), to: repo)
        func git(_ args: [String], in dir: URL) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
            p.arguments = ["-C", dir.path, "-c", "user.email=t@t", "-c", "user.name=t"] + args
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
        }
        for args in [["init", "-q"], ["add", "."], ["commit", "-qm", "toy"]] { try git(args, in: repo) }
        var r = try cli.run(["plugins", "install", repo.path])
        #expect(r.status == 0 && r.stdout.hasPrefix("installed toy 1.0.0 in \(cli.directory.path)/.spectral-lab/plugins/toy (commit "), "\(r.stdout)\(r.stderr)")
        let record = try cli.json(cli.directory.appendingPathComponent(".spectral-lab/plugins/toy/.spectral-lab-install.json").path)
        #expect((record["commit"] as? String)?.count == 40 && record["source"] as? String == Sandbox.resolve(repo.path))
        r = try cli.run(["plugins"])
        #expect(r.stdout.contains("toy 1.0.0  A noisy-sine regression task"), "\(r.stdout)")
        r = try cli.run(["recipes"])
        #expect(r.stdout.contains("toy_sine") && r.stdout.contains(".spectral-lab/plugins/toy/sine.lua"), "\(r.stdout)")
        r = try cli.run(["run", "toy_sine", "--out", "sine", "--set", "steps=4", "--set", "T=5", "--set", "hidden=4"])
        #expect(r.status == 0 && r.stdout.contains("result: task=sine(T=5, noise=0.1) cell=spectral"), "\(r.stderr)")
        #expect((try cli.json(cli.directory.appendingPathComponent("sine/run.json").path)["sandboxed"] as? String)?.contains("recipe search path") == true)
        r = try cli.run(["plugins", "install", repo.path])
        #expect(r.status == 2 && r.stderr.contains("a plugin named 'toy' is installed already"), "\(r.stderr)")
        r = try cli.run(["plugins", "remove", "toy"])
        #expect(r.status == 0 && !FileManager.default.fileExists(atPath: cli.directory.appendingPathComponent(".spectral-lab/plugins/toy").path))
        #expect(!(try cli.run(["recipes"])).stdout.contains("toy_sine"))
        try cli.write("bad/plugin.lua", "return { name = 'bad', version = '1', description = 'x', lab = '99.0', recipes = {} }\n")
        r = try cli.run(["plugins", "install", cli.directory.appendingPathComponent("bad").path])
        #expect(r.status == 2 && r.stderr.contains("needs spectral-lab 99.0 or newer"), "\(r.stderr)")
        #expect(try cli.run(["plugins", "remove", "nope"]).status == 2)
    }

    @Test func recipesAreVisibleFromLua() throws {
        var cli = try CLI()
        try userRecipes(&cli)
        let r = try cli.run(["repl"], stdin: """
            local n = {}; for _, r in ipairs(lab.recipes()) do if r.name == "adder" then n = r end end; return n.params.b.default, n.params.a.help
            """)
        #expect(r.stdout == "2.5\tfirst\n", "\(r.stderr)")
    }
}
