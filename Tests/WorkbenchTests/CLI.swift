import Foundation

/// Runs the built `spectral-lab` binary (it sits beside the test bundle) in a scratch directory
/// with its own HOME, so that no user recipes or history take part.
struct CLI {
    let directory: URL
    var environment: [String: String]
    /// Another copy of the binary to run (an installed one, say).
    var binaryOverride: URL?

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("spectral-lab-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        environment = ["HOME": directory.path, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"]
    }

    static let binary: URL = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent().appendingPathComponent("spectral-lab")
    }()

    static let projectRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Writes a file in the scratch directory and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    func run(_ arguments: [String], stdin: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = binaryOverride ?? CLI.binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so a full pipe cannot block the child.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Starts the binary and waits until it prints "ready" (what it printed so far is returned).
    func start(_ arguments: [String]) throws -> (process: Process, out: Pipe, err: Pipe, seen: Data) {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("ready") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        return (process, out, err, seen)
    }

    func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    func jsonLines(_ path: String) throws -> [[String: Any]] {
        try read(path).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// The run directories made under runs/.
    func runDirectories() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("runs").path)) ?? [])
            .sorted().map { directory.appendingPathComponent("runs/\($0)").path }
    }
}

/// The adding problem as the Lua test scripts draw it (after `local p = lab.params{..., T = ...}`):
/// each step's input is (value ~ U(0,1), marker), the target the sum of the two marked values.
/// `adding_batch(B)` returns x (T×B×2) and y (B×1); `task` yields them as lab.train batches. With a
/// parameter crash_at, the crash_at-th batch raises "simulated crash" (for the resume test).
let addingTaskLua = #"""
local calls = 0
local function adding_batch(B)
  calls = calls + 1
  if p.crash_at and calls == p.crash_at then error("simulated crash") end
  local x, y = lab.tensor.zeros(p.T, B, 2), lab.tensor.zeros(B, 1)
  for b = 1, B do
    local i, j = math.random(1, p.T // 2), math.random(p.T // 2 + 1, p.T)
    local s = 0
    for t = 1, p.T do
      local v = math.random()
      x[{t, b, 1}] = v
      if t == i or t == j then x[{t, b, 2}] = 1; s = s + v end
    end
    y[{b, 1}] = s
  end
  return x, y
end
local task = {}
function task:batch() local x, y = adding_batch(32) return { x = x, y = y, loss = "mse" } end
function task:eval_batches() return { self:batch(), self:batch() } end

"""#
