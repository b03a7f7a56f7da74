import Foundation
import LuaBridge

/// The `lab` module: what every script and the REPL see as the global `lab` and as `require "lab"`.
/// Each function is declared with its one-line help; the bridge does the argument plumbing.
enum LabModule {
    /// Thrown (as a Lua error value) by lab.params while a recipe is being described: it stops the
    /// recipe right after its declarations.
    static let describeStop = "spectral-lab: recipe described"

    static func install(in session: LabSession) throws {
        var lab = LuaModule("lab")
        lab.value("version", .string(Lab.version))

        lab.function("params", "lab.params(defaults [, help [, allowed]]): declares the script's parameters with their defaults, one-line help per name, and what values each may take (allowed.name = {\"a\", \"b\"} or {min = 1, max = 9}, {above = 0}, {min_items = 1}, {instead_of = \"steps\"}); returns them with --set values applied, exit 2 on a value not allowed") { [unowned session] args in
            let declared = try ParameterSet(defaults: args.table(1), help: args.table(2, default: [:]), allowed: args.table(3, default: [:]))
            return [.table(try session.declare(declared, at: args.callerPosition))]
        }

        lab.function("recipe", "lab.recipe{name=, description=}: names and describes this script as a shareable recipe") { [unowned session] args in
            let t = try args.table(1)
            for key in t.namedFields.map(\.name) where key != "name" && key != "description" {
                throw LuaError.argument(index: 1, message: "unknown field '\(key)' (expected name, description)")
            }
            guard !t["name"].isNil || !t["description"].isNil else {
                throw LuaError.argument(index: 1, message: "expected a table with name and/or description")
            }
            if !t["name"].isNil {
                guard let n = t["name"].string, !n.isEmpty else { throw LuaError.argument(index: 1, message: "name must be a non-empty string") }
                session.recipeName = n
            }
            if !t["description"].isNil {
                guard let d = t["description"].string else { throw LuaError.argument(index: 1, message: "description must be a string") }
                session.recipeDescription = d
            }
            return []
        }

        lab.function("log", "lab.log(t [, {print=}]): appends the table t as one JSON line to the run's metrics.jsonl (and its numbers and lists of numbers to the TensorBoard events in tb/, as scalars and histograms) and prints it compactly", options: logOptions, at: 2) { [unowned session] args, o in
            let t = try record(args, 1)
            let step = try LabSession.step(of: t)   // checked before the line is written
            if try session.appendLog(JSON.encode(.table(t)), to: "metrics.jsonl") { try session.logScalars(t, step: step) }
            if try o.bool("print") { print(compactLine(t)) }
            return []
        }

        lab.function("result", "lab.result(t): a run's outcome: appends the table t as one JSON line to the run's results.jsonl and prints it as \"result: k=v ...\"") { [unowned session] args in
            let t = try record(args, 1)
            try session.appendLog(JSON.encode(.table(t)), to: "results.jsonl")
            print("result: " + compactLine(t))
            return []
        }

        lab.function("run_dir", "lab.run_dir([name]): the run directory's absolute path, or the path of file `name` in it") { [unowned session] args in
            let dir = try session.runDirectory()
            if args.isNil(1) { return [.string(dir.path)] }
            let name = try args.string(1)
            guard !name.isEmpty, !name.hasPrefix("/") else {
                throw LuaError.argument(index: 1, message: "a file name inside the run directory expected")
            }
            return [.string(dir.file(name))]
        }

        lab.function("recipes", "lab.recipes(): the recipes on the search path, as a list of {name=, path=, description=, params=}") { [unowned session] _ in
            let catalog = RecipeCatalog(searchPath: session.searchPath)
            return [.table(LuaTable(array: catalog.recipes().map(\.luaValue)))]
        }

        lab.function("inspect", "lab.inspect(v): v as readable text (tables expanded, as the REPL prints them)") { [unowned session] args in
            try args.call(session.inspector.inspect, forwarding: 1 ... 1)
        }

        lab.function("clock", "lab.clock(): seconds on a monotonic wall clock (for timing; os.clock is CPU time)") { _ in
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            return [.number(Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9)]
        }
        lab.function("interrupted", "lab.interrupted(): the stop request pending (\"SIGINT\", \"SIGTERM\", \"SIGHUP\"), or false; inside lab.defer_interrupts a loop polls it to stop at a clean point") { _ in
            guard let signal = LuaState.interruptSignal else { return [.boolean(false)] }
            return [.string(Console.signalName(signal))]
        }
        lab.function("diverged", "lab.diverged(message): notes that training diverged (its loss is no longer finite) and returns message, for error(lab.diverged(m), level); a run that ends with that error is recorded with status \"diverged\" (a sweep counts it as a result and does not run it again), not \"error\". lab.train calls it") { [unowned session] args in
            let message = try args.string(1)
            session.divergence = message
            return [.string(message)]
        }
        lab.function("check", "lab.check(name, options [, level]): checks a table of options against the declaration of the function name (help(name) lists them) and returns it with the defaults filled in; errors point at the code level calls up (1: the caller of lab.check)") { args in
            let name = try args.string(1)
            guard let declaration = args.state.declarations[name] else {
                throw LuaError.argument(index: 1, message: "no options are declared for '\(name)'")
            }
            let level = try args.integer(3, default: 1)
            do {
                return [.table(LuaTable(array: [], fields: Dictionary(uniqueKeysWithValues:
                    try args.options(2, declaration).values.map { (LuaKey.string($0.key), $0.value) })))]
            } catch let LuaError.runtime(message) {
                let position = args.position(level: level)
                throw LuaError.lua(position.isEmpty ? message : "\(position): \(message)")
            } catch let LuaError.argument(_, message) {
                let position = args.position(level: level)
                throw LuaError.lua((position.isEmpty ? "" : "\(position): ") + "bad options to '\(name)' (\(message))")
            }
        }
        LuaNumerics.install(into: &lab, session: session)
        LuaCheckpoint.install(into: &lab, session: session)
        LuaModels.install(into: &lab, session: session)
        lab.module(LuaTasks.module(session))
        lab.module(Progress.module())
        Plotting.install(into: &lab, session: session)
        try session.state.register(lab)
        session.state.registerInterruptDeferral(in: "lab")
        try Progress.install(in: session.state)
        try Training.install(in: session.state)
        try Reporting.install(in: session.state)
        try Experiment.install(in: session.state)
        session.state.registerGlobal("help", "help([f]): lists the lab functions, or shows the help of one (help(lab.log) or help \"lab.log\")") { args in
            print(try helpText(args))
            return []
        }
    }

    /// A line of metrics or results: a table of named fields (a JSON object), not a list.
    private static func record(_ args: LuaArgs, _ i: Int) throws -> LuaTable {
        let t = try args.table(i)
        if let key = t.entries.first(where: { if case .string = $0.key { return false } else { return true } })?.key {
            throw LuaError.argument(index: i, message: "a table of named fields expected (key \(LuaOptions.show(key.value)) is not a name)")
        }
        return t
    }

    private static func helpText(_ args: LuaArgs) throws -> String {
        let docs = args.state.documentation
        if args.isNil(1) {
            var lines = ["spectral-lab \(Lab.version) (\(Lab.luaRelease)): the lab module. help(f) shows one entry."]
            for d in docs {
                let (sig, summary) = split(d.doc)
                lines.append("  " + sig)
                lines.append("      " + summary)
            }
            for t in args.state.topics { lines.append("Also: help \"\(t.topic)\" for the \(t.title).") }
            return lines.joined(separator: "\n")
        }
        if let spec = args.state.classes[args.typeName(1)] { return spec.help }
        let name = args.state.documentedName(of: args, 1) ?? (try? args.string(1)) ?? ""
        // A function: its line and declared options; a class (help "tensor"): its methods; a
        // constructor that is both (lab.svd.linear): both.
        var parts: [String] = []
        if let d = docs.first(where: { $0.name == name || $0.name == "lab." + name }) {
            parts.append(d.doc)
            if let declaration = args.state.declarations[d.name] { parts.append("Options:\n" + declaration.help) }
        }
        if let t = args.state.topics.first(where: { $0.topic == name || "lab." + $0.topic == name }) {
            parts.append((["The \(t.title):"] + t.methods.flatMap { m -> [String] in
                let (sig, summary) = split(m.doc)
                return ["  " + sig, "      " + summary]
            }).joined(separator: "\n"))
        }
        if parts.isEmpty { return "no help for \(name.isEmpty ? args.typeName(1) : name); help() lists what there is" }
        return parts.joined(separator: "\n")
    }

    /// "lab.log(t): appends ..." → ("lab.log(t)", "appends ..."): the call ends at ")" or "}".
    private static func split(_ doc: String) -> (String, String) {
        let end = [doc.range(of: "): "), doc.range(of: "}: ")].compactMap { $0 }.min { $0.lowerBound < $1.lowerBound }
        guard let end else { return (doc, "") }
        return (String(doc[...end.lowerBound]), String(doc[end.upperBound...]))
    }

    /// "step=10 loss=0.1234 accuracy=0.95 lr=0.001": numbers to 5 significant digits, in the
    /// order of the metrics file.
    static func compactLine(_ t: LuaTable) -> String {
        t.entries.map { (JSON.keyString($0.key), $0.value) }
            .sorted { JSON.metricOrder($0.0, $1.0) }
            .map { "\($0.0)=\(compactValue($0.1))" }
            .joined(separator: " ")
    }

    static let logOptions = LuaOptions("lab.log", [
        .init("print", .boolean, default: true, help: "print the line (lab.train prints its own shorter one)"),
    ])

    private static func compactValue(_ v: LuaValue) -> String {
        switch v {
        case .number(let d) where d.isFinite: return String(format: "%.5g", d)
        case .string(let s): return s
        case .table(let t) where t.fields.isEmpty && t.array.count > 8: return "[\(t.array.count) values]"
        default: return JSON.encode(v)
        }
    }
}

extension LabSession {
    /// lab.params: records the declaration; in a run, applies --set and writes params.json.
    func declare(_ declared: ParameterSet, at position: String) throws -> LuaTable {
        if let first = parametersDeclaredAt {
            throw LuaError.runtime("lab.params called a second time (first at \(first)); declare all parameters in one call")
        }
        parameters = declared
        parametersDeclaredAt = position
        if isDescribing { throw LuaError.lua(LabModule.describeStop) }
        if let saved = resumedParameters {
            // A resumed run gets the parameters it was started with (params.json), with their
            // declared types; --set may only extend it (ScriptRunner.extendingParameters).
            var resolved = declared.defaults
            do {
                for (name, value) in saved.namedFields where !declared.defaults[name].isNil {
                    resolved[name] = try ParameterSet.restore(value, like: declared.defaults[name], name: name)
                    if let problem = declared.rules[name]?.kind?.problem(with: resolved[name]) {
                        throw ParameterError("params.json: parameter '\(name)' \(problem)")
                    }
                }
                resolved = try declared.apply(overrides, to: resolved, in: state)
            } catch let e as ParameterError {
                usageError = e.description
                throw LuaError.runtime(e.description)
            }
            if !overrides.isEmpty, let dir = existingRunDirectory { try dir.writeParams(resolved) }
            return resolved
        }
        let resolved: LuaTable
        do { resolved = try declared.resolve(overrides, in: state) } catch let e as ParameterError {
            usageError = e.description
            throw LuaError.runtime(e.description)
        }
        if let dir = existingRunDirectory { try dir.writeParams(resolved) }
        return resolved
    }
}
