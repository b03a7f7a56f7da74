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
