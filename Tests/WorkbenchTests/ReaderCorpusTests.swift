import Foundation
import LuaBridge
@testable import SpectralNumerics
import Testing
@testable import Workbench

/// The fuzz targets' seeds and the inputs they found (Fuzz/corpus/READER, scripts/fuzz), replayed
/// through the readers on every test run: each file is read, or refused with an error that names
/// the file, and none crashes the process.
@Suite struct ReaderCorpusTests {
    static func inputs(_ reader: String) throws -> [URL] {
        let folder = CLI.projectRoot.appendingPathComponent("Fuzz/corpus/\(reader)")
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        #expect(!files.isEmpty, "no seeds in \(folder.path)")
        return files.sorted { $0.path < $1.path }
    }

    /// Runs `read` on every input; returns how many were read without an error.
    static func replay(_ reader: String, _ read: (URL) throws -> Void) throws -> Int {
        var accepted = 0
        for input in try inputs(reader) {
            do { try read(input); accepted += 1 } catch {
                #expect("\(error)".contains(input.lastPathComponent) || "\(error)".contains("step-"), "\(input.lastPathComponent): \(error)")
            }
        }
        return accepted
    }

    @Test func idx() throws {
        let read = try Self.replay("idx") { f in
            _ = try IDXFile(path: f.path, rank: f.lastPathComponent.hasPrefix("labels") ? 1 : 3)
        }
        #expect(read >= 4, "the four valid seeds")
        #expect(try IDXFile(path: CLI.projectRoot.appendingPathComponent("Fuzz/corpus/idx/images.idx.gz").path, rank: 3).dimensions == [3, 2, 2])
    }

    @Test func gzip() throws {
        let read = try Self.replay("gzip") { f in
            _ = try Gzip.decompress(Data(contentsOf: f), name: f.lastPathComponent, limit: 1 << 20)
        }
        #expect(read >= 2)
    }

    @Test func safetensors() throws {
        let read = try Self.replay("safetensors") { f in _ = try Safetensors.load(f.path) }
        #expect(read >= 2)
    }

    /// Model files rebuilt (the four valid seeds), and every file offered to from_torch's import.
    @Test func model() throws {
        let read = try Self.replay("model") { f in
            guard f.lastPathComponent.contains("torch") else { _ = try ModelFile.load(f.path); return }
            let file = try Safetensors.load(f.path)
            let cell: Cell = f.lastPathComponent.hasPrefix("lstm") ? .lstm : .rnn
            _ = try TorchStateDict.model(Float.self, from: Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.tensor) }),
                                         metadata: file.metadata, options: .init(cell: cell, readout: .last))
        }
        #expect(read >= 6, "the six valid seeds")
    }

    @Test func text() throws {
        #expect(try Self.replay("text") { f in _ = try CharCorpus(path: f.path) } >= 1)
    }

    /// Each JSON in place of a checkpoint's, beside its valid safetensors file, restored with
    /// lab.checkpoint.restore.
    @Test func checkpoint() throws {
        let cli = try CLI()
        let dir = try RunDirectory(exactly: cli.directory.appendingPathComponent("run").path)
        let session = try LabSession(mode: .run(dir), searchPath: RecipeSearchPath(directories: []))
        try session.state.run("""
            model = lab.models.rnn { input = 2, hidden = 4, output = 1, reflectors = 2 }
            optimizer = lab.optim.adam {}
            lab.checkpoint.save(1, model, optimizer, { x = 1 })
            """)
        let json = dir.file("checkpoints/main/step-00000001.json")
        var restored = 0
        for input in try Self.inputs("checkpoint") {
            try FileManager.default.removeItem(atPath: json)
            try FileManager.default.copyItem(atPath: input.path, toPath: json)
            let r = try session.state.run("return pcall(lab.checkpoint.restore, model, optimizer)")
            if r.first?.bool == true { restored += 1 } else {
                #expect(r.dropFirst().first?.string?.contains("step-00000001") == true, "\(input.lastPathComponent): \(r)")
            }
            _ = Checkpoints.resumePoint(in: dir)
        }
        #expect(restored >= 1, "save.json (train.json holds another model's optimizer state: refused)")
    }
}
