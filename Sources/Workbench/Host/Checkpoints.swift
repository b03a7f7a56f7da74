import Foundation
import LuaBridge
import SpectralNumerics

/// Training checkpoints in a run directory, one folder per lab.train call (`name`: the cell, the
/// train call's `name` option; "main" for lab.checkpoint used by hand), so that two trainings in
/// one run never overwrite each other's steps. In checkpoints/<name>/ (NNNNNNNN: the step,
/// zero-padded to at least eight digits): step-NNNNNNNN.safetensors (the model's parameters as
/// "model/<name>", the optimizer's buffers as "optimizer/<name>.m|.v", and the state a stateful
/// recurrent model carries between batches as "carried/<i>") and, written after it,
/// step-NNNNNNNN.json (step, the generator's state, the optimizer's step count and learning rate,
/// the training loop's own state, and how long metrics.jsonl and results.jsonl were, so that a
/// resume cuts them back to that moment). A checkpoint counts only once its JSON exists, and both
/// files are written atomically (AtomicFile), so an interrupted save never leaves a half
/// checkpoint; what an interrupted save leaves (temporary files) is removed by the next one. The
/// newest `keep` checkpoints are kept; a damaged one is skipped for the next older on restore.
struct Checkpoints {
    let directory: String
    var keep = 3

    init(run: RunDirectory, name: String) throws {
        try Checkpoints.check(name: name)
        directory = run.file("checkpoints/\(name)")
    }

    /// A name is one path component of letters, digits, '-', '_' and '.', not starting with '.'.
    static func check(name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        guard !name.isEmpty, name.count <= 100, !name.hasPrefix("."), name.allSatisfy(allowed.contains) else {
            throw LuaError.runtime("a checkpoint name is 1 to 100 letters, digits, '-', '_' or '.' (not first), got \(JSON.encode(.string(name)))")
        }
    }

    /// The names that have a checkpoint folder in the run.
    static func names(in run: RunDirectory) -> [String] {
        let root = run.file("checkpoints")
        return ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { name in
            var isDir: ObjCBool = false
            return (try? check(name: name)) != nil && FileManager.default.fileExists(atPath: "\(root)/\(name)", isDirectory: &isDir) && isDir.boolValue
        }.sorted()
    }

    /// Where a resumed run picks up: of every complete checkpoint with a readable JSON, in any
    /// folder, the one written last, which is the one after which the logs were longest.
    static func resumePoint(in run: RunDirectory) -> (name: String, step: Int, logs: [String: Int])? {
        var best: (name: String, step: Int, logs: [String: Int])?
        for name in names(in: run) {
            guard let c = try? Checkpoints(run: run, name: name) else { continue }
            for step in c.steps().reversed() {
                guard let record = try? JSON.table(contentsOf: c.stem(step) + ".json"), let logs = record["logs"].table else { continue }
                let sizes = logSizes(logs)
                if best.map({ $0.logs.values.reduce(0, +) < sizes.values.reduce(0, +) }) ?? true { best = (name, step, sizes) }
                break
            }
        }
        return best
    }

    /// A checkpoint's record of how long each log was (sizes in bytes; anything else ignored).
    private static func logSizes(_ t: LuaTable) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: t.namedFields.compactMap { f in f.value.int.flatMap { $0 >= 0 ? (f.name, $0) : nil } })
    }

    /// Removes this folder and everything in it.
    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    private func stem(_ step: Int) -> String {
        let digits = String(step)
        return "\(directory)/step-\(String(repeating: "0", count: max(0, 8 - digits.count)))\(digits)"
    }

    /// Steps that have a complete checkpoint, ascending.
    func steps() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("step-"), name.hasSuffix(".json") else { return nil }
            let digits = name.dropFirst(5).dropLast(5)
            guard !digits.isEmpty, digits.allSatisfy({ ("0" ... "9").contains($0) }) else { return nil }   // Int() also takes "+5"
            return Int(digits)
        }.filter { FileManager.default.fileExists(atPath: stem($0) + ".safetensors") }.sorted()
    }

    /// Files an interrupted save left behind: anything but step-N.json and step-N.safetensors.
    private func removeLeftovers() {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where !(name.hasPrefix("step-") && (name.hasSuffix(".json") || name.hasSuffix(".safetensors"))) {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(name)")
        }
    }

    func save<M: Trainable>(step: Int, model: M, optimizer: LuaOptimizer, random: Random, loop: LuaTable, logs: [String: Int]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        removeLeftovers()
        let params = model.parameters
        var tensors: [(name: String, tensor: AnyTensor)] = params.map { ("model/\($0.name)", AnyTensor($0.value)) }
        tensors += optimizer.exportState(params).map { ("optimizer/\($0.name)", $0.tensor) }
        if let carried = (model as? any SequenceModel<M.Scalar>)?.carriedState {
            tensors += carried.enumerated().map { ("carried/\($0.offset)", AnyTensor($0.element)) }
        }
        // The model's description too (ModelFile), so that a checkpoint rebuilds its model
        // (lab.models.load) and a resume into another model says which.
        let metadata = try ModelFile.metadata(model, software: Lab.version).merging(["format": "spectral-lab checkpoint", "step": String(step)]) { $1 }
        try Safetensors.save(tensors, metadata: metadata, to: stem(step) + ".safetensors")
        let state = random.state
        let record: LuaTable = [
            "step": .integer(step),
            "random": .table(LuaTable(array: state.words.map { .string(String($0)) })),
            "random_spare_normal": state.spareNormal.map { .number($0) } ?? .nil,
            "optimizer_steps": .integer(optimizer.steps),
            "lr": .number(optimizer.learningRate),
            "loop": .table(loop),
            "logs": .table(LuaTable(array: [], fields: Dictionary(uniqueKeysWithValues: logs.map { (.string($0.key), .integer($0.value)) }))),
            "written": .string(RunDirectory.isoNow()),
        ]
        try AtomicFile.write(Data((JSON.encode(.table(record), pretty: true) + "\n").utf8), to: stem(step) + ".json")
        for old in steps().dropLast(keep) {
            try? FileManager.default.removeItem(atPath: stem(old) + ".json")
            try? FileManager.default.removeItem(atPath: stem(old) + ".safetensors")
        }
    }

    /// Restores the newest intact checkpoint into the model, optimizer and generator (a damaged
    /// newer one is reported by `warn` and skipped). Returns its step, the loop's saved state and
    /// the log sizes it recorded, or nil when there is none.
    func restore<M: Trainable>(model: M, optimizer: LuaOptimizer, random: inout Random,
                               warn: (String) -> Void) throws -> (step: Int, loop: LuaTable, logs: [String: Int]?)? {
        var damaged: [String] = []
        for step in steps().reversed() {
            do {
                let r = try restore(step, model: model, optimizer: optimizer, random: &random)
                for d in damaged { warn("\(d); resuming from the checkpoint at step \(step) instead") }
                return r
            } catch {
                damaged.append("checkpoint \(stem(step)) is damaged (\(error))")
            }
        }
        if let newest = damaged.first {
            throw LuaError.runtime(damaged.count == 1 ? newest : "every checkpoint is damaged; the newest: \(newest)")
        }
        return nil
    }

    private func restore<M: Trainable>(_ step: Int, model: M, optimizer: LuaOptimizer,
                                       random: inout Random) throws -> (step: Int, loop: LuaTable, logs: [String: Int]?) {
        let record = try JSON.table(contentsOf: stem(step) + ".json")
        let words = (record["random"].table?.array ?? []).compactMap { $0.string.flatMap(UInt64.init) }
        guard words.count == 4, let optimizerSteps = record["optimizer_steps"].int, optimizerSteps >= 0,
              let lr = record["lr"].double, lr.isFinite, lr >= 0 else {
            throw LuaError.runtime("\(stem(step)).json is malformed")
        }
        let (loaded, metadata) = try Safetensors.load(stem(step) + ".safetensors")
        if metadata["model"] != nil, let why = try ModelFile.mismatch(model, metadata) {
            throw LuaError.runtime("\(stem(step)).safetensors was written by another model: \(why)")
        }
        let byName = Dictionary(loaded.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        var optimizerState: [String: Tensor<M.Scalar>] = [:]
        for (name, tensor) in loaded where name.hasPrefix("optimizer/") {
            if let t = tensor.tensor(M.Scalar.self) { optimizerState[String(name.dropFirst("optimizer/".count))] = t }
        }
        for p in model.parameters {
            guard let t = byName["model/\(p.name)"]?.tensor(M.Scalar.self), t.shape == p.value.shape else {
                throw LuaError.runtime("\(stem(step)).safetensors has no \(M.Scalar.dtypeName) tensor '\(p.name)' of shape \(p.value.shapeDescription): was it written by another model?")
            }
            try p.value.assign(t)
        }
        try optimizer.importState(optimizerState, steps: optimizerSteps, for: model.parameters)
        if let sequenceModel = model as? any SequenceModel<M.Scalar> {
            var carried: [Tensor<M.Scalar>] = []
            while let t = byName["carried/\(carried.count)"]?.tensor(M.Scalar.self) { carried.append(t) }
            sequenceModel.carriedState = carried.isEmpty ? nil : carried
        }
        optimizer.learningRate = lr
        random.state = (words, record["random_spare_normal"].double)
        return (step, record["loop"].table ?? LuaTable(array: []), record["logs"].table.map(Checkpoints.logSizes))
    }
}
