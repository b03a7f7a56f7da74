import LuaBridge
import Testing
@testable import Workbench

@Suite struct ParameterTests {
    let state = LuaState()

    func resolve(_ defaults: LuaTable, _ sets: [String]) throws -> LuaTable {
        try ParameterSet(defaults: defaults, help: [:]).resolve(sets.map { try ParameterOverride(parsing: $0) }, in: state)
    }

    @Test func literalsOfEachType() throws {
        let r = try resolve(["n": 1, "x": 0.5, "s": "a", "b": false, "l": [1.5, 2.5]],
                            ["n=-3", "x=2e-3", "s='quoted'", "b=true", "l=1,2.25"])
        #expect(r["n"] == .integer(-3))
        #expect(r["x"] == .number(0.002))
        #expect(r["s"] == "quoted")
        #expect(r["b"] == true)
        #expect(r["l"] == [1.0, 2.25])
        #expect(try resolve(["n": 1], ["n=1e3"])["n"] == .integer(1000))
        #expect(try resolve(["s": "a"], ["s=12"])["s"] == "12")   // a string parameter keeps the text
        #expect(try resolve(["s": "a"], ["s=a=b"])["s"] == "a=b")
        #expect(try resolve(["l": ["x"]], ["l="])["l"] == .table([]))
    }

    @Test func mismatchesAreErrorsNamingTheParameter() {
        for (defaults, set, fragment) in [
            (["n": 1] as LuaTable, "n=abc", "parameter 'n' expects an integer"),
            (["n": 1], "n=2.5", "expects an integer"),
            (["x": 0.5], "x=", "expects a number"),
            (["b": true], "b=1", "expects a boolean"),
            (["l": [1, 2]], "l=1,,2", "comma-separated list of numbers"),
            (["n": 1], "m=1", "unknown parameter 'm'"),
        ] {
            #expect {
                try resolve(defaults, [set])
            } throws: { ($0 as? ParameterError)?.description.contains(fragment) == true }
        }
    }

    @Test func allowedValuesAndRangesAreChecked() throws {
        let set = try ParameterSet(defaults: ["n": 4, "x": 0.5, "s": "adam", "l": ["a"], "v": [1.5]], help: [:], allowed: [
            "n": ["min": 1, "max": 8], "x": ["above": 0], "s": ["adam", "sgd"], "l": .table(LuaTable(array: ["a", "b"], fields: [.string("min_items"): 1])), "v": ["min": 1],
        ])
        func resolve(_ s: String) throws -> LuaTable { try set.resolve([ParameterOverride(parsing: s)], in: state) }
        #expect(try resolve("n=8")["n"] == 8)
        #expect(try resolve("l= b , a")["l"] == ["b", "a"])     // items trimmed
        for (bad, fragment) in [
            ("n=0", "--set n=0: parameter 'n' must be 1…8, got 0"), ("n=9", "must be 1…8, got 9"),
            ("x=0", "must be a finite number > 0, got 0.0"), ("x=1e999", "got inf"),
            ("s=sdg", "must be one of \"adam\" | \"sgd\", got \"sdg\"; did you mean 'sgd'?"),
            ("l=a,c", "entry 2: must be one of"), ("l=", "must have ≥ 1 entries"), ("v=2,0.5", "entry 2: must be a finite number ≥ 1"),
        ] {
            #expect { try resolve(bad) } throws: { ($0 as? ParameterError)?.description.contains(fragment) == true }
        }
        #expect(set.allowedText("n") == "1…8" && set.allowedText("s") == "\"adam\" | \"sgd\"")
    }

    @Test func badAllowedDeclarationsAreErrors() {
        for (defaults, allowed, fragment) in [
            (["n": 1] as LuaTable, ["m": ["min": 1]] as LuaTable, "not a declared parameter"),
            (["n": 1], ["n": ["minimum": 1]], "unknown key \"minimum\""),
            (["n": 1], ["n": ["a"]], "a list of allowed values applies to strings"),
            (["n": 1], ["n": ["above": 0]], "above applies to a float"),
            (["n": 1], ["n": ["min": 0.5]], "min and max of an integer are integers"),
            (["n": 1], ["n": ["min": 2, "max": 1]], "min is over max"),
            (["s": "a"], ["s": ["min": 1]], "min, max and above apply to numbers"),
            (["s": "c"], ["s": ["a", "b"]], "the default of 's' is not among its allowed values"),
            (["n": 1], ["n": ["instead_of": "steps"]], "which is not a declared parameter"),
            (["s": "a", "n": 1], ["s": ["instead_of": "n"]], "instead_of applies to a number parameter"),
            (["n": 1], ["n": 3], "are a table"),
            (["n": 1], ["n": ["only": ["m": true]]], "which is not another declared parameter"),
            (["n": 1], ["n": ["only": ["n": 2]]], "which is not another declared parameter"),
            (["n": 1, "b": false], ["n": ["only": ["b": "true"]]], "which 'b' (default false) cannot be"),
            (["n": 1, "b": false], ["n": ["only": ["b": true, "c": true]]], "only is { parameter = value }"),
        ] {
            #expect { try ParameterSet(defaults: defaults, help: [:], allowed: allowed) } throws: {
                ($0 as? ParameterError)?.description.contains(fragment) == true
            }
        }
    }

    /// epochs declared instead_of steps: --set steps alone sets epochs to 0 (over a resumed run's
    /// parameters too); both, with epochs not 0, is an error.
    @Test func insteadOfGivesWayToTheExplicitOne() throws {
        let set = try ParameterSet(defaults: ["steps": 100, "epochs": 1.0], help: [:], allowed: ["epochs": ["min": 0, "instead_of": "steps"]])
        func apply(_ sets: [String], to base: LuaTable? = nil) throws -> LuaTable {
            try set.apply(sets.map { try ParameterOverride(parsing: $0) }, to: base ?? set.defaults, in: state)
        }
        #expect(try apply(["steps=20"]) == ["steps": 20, "epochs": 0.0])
        #expect(try apply(["epochs=2"]) == ["steps": 100, "epochs": 2.0])
        #expect(try apply(["steps=20", "epochs=0"]) == ["steps": 20, "epochs": 0.0])
        #expect(try apply(["steps=20"], to: ["steps": 10, "epochs": 3.0]) == ["steps": 20, "epochs": 0.0])
        #expect { try apply(["steps=20", "epochs=2"]) } throws: {
            ($0 as? ParameterError)?.description.contains("'epochs' is used instead of 'steps' when it is not 0") == true
        }
    }

    /// A parameter declared only for some values of another (the permutation's seed, for a permuted
    /// order) is an error to set when the other has none of them, not a setting without effect.
    @Test func onlyRefusesASettingThatWouldDoNothing() throws {
        let set = try ParameterSet(defaults: ["permuted": false, "seed": 1, "order": "rows"], help: [:],
                                   allowed: ["seed": ["min": 0, "only": ["permuted": true]],
                                             "order": ["only": ["permuted": [true]]]])
        func apply(_ sets: [String]) throws -> LuaTable {
            try set.apply(sets.map { try ParameterOverride(parsing: $0) }, to: set.defaults, in: state)
        }
        #expect(try apply([]) == set.defaults)
        #expect(try apply(["permuted=true", "seed=3"])["seed"] == 3)
        #expect(try apply(["seed=3", "permuted=true"])["seed"] == 3)
        #expect { try apply(["seed=3"]) } throws: {
            ($0 as? ParameterError)?.description == "--set seed=3: parameter 'seed' applies only when permuted = true (here permuted = false)"
        }
        #expect { try apply(["permuted=false", "order=cols"]) } throws: {
            ($0 as? ParameterError)?.description.contains("'order' applies only when permuted = true") == true
        }
        #expect(set.allowedText("seed") == "≥ 0; only when permuted = true" && set.allowedText("order") == "only when permuted = true")
    }

    @Test func defaultsMustBeData() {
        #expect(throws: ParameterError.self) { try ParameterSet(defaults: [1, 2], help: [:]) }
        #expect(throws: ParameterError.self) { try ParameterSet(defaults: ["t": ["a": 1]], help: [:]) }
        #expect(throws: ParameterError.self) { try ParameterSet(defaults: ["l": [1, "a"]], help: [:]) }
    }

    @Test func jsonEncoding() {
        #expect(JSON.encode(["step": 3, "a": 0.1, "b": "x\n\"y\"", "l": [1, true]]) ==
                #"{"step":3,"a":0.1,"b":"x\n\"y\"","l":[1,true]}"#)
        #expect(JSON.encode(.table([])) == "[]")
        #expect(JSON.encode(.number(-.infinity)) == "\"-Infinity\"")
        #expect(JSON.encode(.number(1e-7)) == "1e-07")
        #expect(JSON.encode(["a": [1, 2]], pretty: true) == "{\n  \"a\": [\n    1,\n    2\n  ]\n}")
        #expect(LabModule.compactLine(["step": 2, "loss": 0.123456789, "tag": "x"]) == "step=2 loss=0.12346 tag=x")
    }
}
