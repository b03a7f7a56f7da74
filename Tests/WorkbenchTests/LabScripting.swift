import Foundation
import LuaBridge
import Testing
@testable import Workbench

/// Running Lua snippets in a fresh interactive session: the helpers of the suites that test `lab`
/// from a script's side.
protocol LabScripting {}

extension LabScripting {
    func session(seed: Int = 1) throws -> LabSession {
        try LabSession(mode: .interactive(runsBase: NSTemporaryDirectory() + "runs-\(UUID().uuidString)"),
                       seed: seed, searchPath: RecipeSearchPath(directories: []))
    }

    func run(_ code: String, _ s: LabSession? = nil) throws -> [LuaValue] {
        let session = try s ?? session()
        return try withExtendedLifetime(session) { try session.state.run(code, chunkName: "=test") }
    }

    /// The message of the error `code` raises (through pcall).
    func error(_ code: String) throws -> String {
        let r = try run("local ok, e = pcall(function()\n\(code)\nend); return ok, e")
        #expect(r[0] == false, "no error from: \(code)")
        return r[1].string ?? ""
    }
}
