import Foundation
import LuaBridge
import SpectralNumerics

/// Everything one Lua state of the workbench shares: how it was started (a run, the REPL, or a
/// recipe being described), the command line's --set values, the run directory, the declarations.
public final class LabSession {
    public enum Mode {
        /// `spectral-lab run`: the run directory exists from the start.
        case run(RunDirectory)
        /// The REPL: a run directory is made on first use (lab.log, lab.run_dir) under `runsBase`.
        case interactive(runsBase: String)
        /// Reading a recipe's name, description and parameters: lab.params records them and stops.
        case describe
    }

    public let mode: Mode
    public let overrides: [ParameterOverride]
    public let seed: Int
    public let searchPath: RecipeSearchPath
    /// This session's Lua state. The `lab` functions refer back to the session (unowned: the session
    /// owns the state), so keep the session alive while its state runs code.
    public let state: LuaState
    /// The one generator behind math.random, lab.tensor.rand/randn and layer initialization
    /// (seeded by --seed, reset by lab.seed and math.randomseed; its state goes into checkpoints).
    public var random: Random

    /// Set by lab.recipe{...}.
    var recipeName: String?
    var recipeDescription: String?
    /// Set by lab.params (once per script).
    var parameters: ParameterSet?
    var parametersDeclaredAt: String?
    /// A mistake on the command line found while the script ran (a bad --set): exit 2, not 1.
    public internal(set) var usageError: String?
    /// Set by lab.diverged: the error that stops a training whose loss is no longer finite. A run
    /// that ends with it is recorded as "diverged" (a result of its settings, which a sweep does
    /// not run again), not as failed.
    public internal(set) var divergence: String?

    /// Set by `run --resume`: lab.train restores the newest checkpoint, lab.params returns the
    /// parameters the run was started with.
    public var resuming = false
    /// The resumed run's parameters (params.json).
    public var resumedParameters: LuaTable?
    /// A resumed run's progress through what its logs already hold (LogReplay.swift).
    var replay: LogReplay?
    /// The checkpoint folders lab.train calls have taken in this process, in order.
    var claimedCheckpoints: [String] = []
    /// What a sandboxed run may touch (nil: the run is trusted).
    var sandbox: Sandbox?
    /// The run's TensorBoard event files, made at the first metrics line: tb/ (key "") and one
    /// folder per cell; and how many metrics lines there have been (the step of a line that gives none).
    var tensorBoard: [String: EventWriter] = [:]
    var metricsLines = 0

    private var lazyRunDirectory: RunDirectory?
    /// The Lua functions that render values (lab.inspect, and the REPL's printing).
    private(set) var inspector: (inspect: LuaRef, show: LuaRef)!

    public init(mode: Mode, overrides: [ParameterOverride] = [], seed: Int = 1,
                searchPath: RecipeSearchPath) throws {
        self.mode = mode
        self.overrides = overrides
        self.seed = seed
        self.searchPath = searchPath
        random = Random(seed: UInt64(bitPattern: Int64(seed)))
        state = LuaState()
        inspector = try Inspector.load(into: state)
        try LabModule.install(in: self)
        try LuaNumerics.replaceMathRandom(in: self)
        state.host = self
    }

    var isDescribing: Bool { if case .describe = mode { return true } else { return false } }

    /// The run directory, made now if this is the REPL's first need of it.
    public func runDirectory() throws -> RunDirectory {
        switch mode {
        case .run(let dir): return dir
        case .interactive(let base):
            if let d = lazyRunDirectory { return d }
            let d = try RunDirectory.create(under: base, name: "repl")
            try d.updateRecord(["kind": "repl", "seed": .integer(seed), "started": .string(RunDirectory.isoNow())])
            Console.error("spectral-lab: run directory \(d.path)")
            lazyRunDirectory = d
            return d
        case .describe:
            throw LuaError.runtime("a recipe must call lab.params before it writes anything")
        }
    }

    /// The run directory if one exists already (never creates one).
    public var existingRunDirectory: RunDirectory? {
        if case .run(let d) = mode { return d }
        return lazyRunDirectory
    }

}
