import Foundation
import LuaBridge
@testable import SpectralNumerics
@testable import Workbench

/// One fuzz input through one of the workbench's file readers, the way a user's file reaches it:
/// written to a file that the reader opens. An error is the right answer to a bad file; a crash, a
/// Swift trap, an allocation abort or a sanitizer report is a bug.
public enum Probe {
    /// A scratch folder of this process's, in memory when /dev/shm exists.
    static let scratch: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = "\(base)/spectral-lab-fuzz-\(getpid())"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    static func file(_ data: Data, _ name: String) -> String {
        let path = "\(scratch)/\(name)"
        _ = FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    /// lab.tasks.pixel_mnist's reader: images (3 dimensions) and labels (1); gzipped or not.
    public static func idx(_ data: Data) {
        let path = file(data, "data.idx")
        _ = try? IDXFile(path: path, rank: 3)
        _ = try? IDXFile(path: path, rank: 1)
    }

    /// The gzip inflater, whole and as the header prefix the IDX reader asks for first.
    public static func gzip(_ data: Data) {
        _ = try? Gzip.decompress(data, name: "data.gz", limit: 1 << 20)
        _ = try? Gzip.decompress(data, name: "data.gz", limit: 16, prefix: true)
    }

    /// lab.load and checkpoints' tensors.
    public static func safetensors(_ data: Data) {
        _ = try? Safetensors.load(file(data, "data.safetensors"))
    }

    /// lab.models.load's model files (the description rebuilt, priced first as the workbench
    /// prices it, at most 256 MiB here) and lab.models.from_torch's state_dicts, into every cell.
    public static func model(_ data: Data) {
        let path = file(data, "model.safetensors")
        _ = try? ModelFile.load(path) { widths, _ in
            let bytes = widths.reduce(0.0) { $0 + 64 * Double($1.0) * Double($1.1) }
            if bytes > Double(1 << 28) { throw TensorError.value("too large for the fuzzer") }
        }
        guard let file = try? Safetensors.load(path) else { return }
        let tensors = Dictionary(file.tensors.map { ($0.name, $0.tensor) }) { a, _ in a }
        for cell in Cell.allCases {
            _ = try? TorchStateDict.model(Float.self, from: tensors, metadata: file.metadata, options: .init(cell: cell, readout: .last, activation: .tanh))
        }
    }

    /// lab.tasks.char_lm's corpus reader.
    public static func text(_ data: Data) {
        _ = try? CharCorpus(path: file(data, "corpus.txt"))
    }

    /// A checkpoint's JSON (the generator's state, the optimizer's steps and learning rate, the
    /// loop's state, the logs' sizes) restored into a model and optimizer, beside a valid
    /// safetensors file; then the run's resume point is looked for, which reads it too.
    public static func checkpoint(_ data: Data) {
        let (session, json) = checkpointSession
        _ = FileManager.default.createFile(atPath: json, contents: data)
        _ = try? session.state.run("return pcall(lab.checkpoint.restore, model, optimizer)")
        _ = Checkpoints.resumePoint(in: try! session.runDirectory())
    }

    nonisolated(unsafe) static let checkpointSession: (LabSession, String) = {
        let dir = try! RunDirectory(exactly: "\(scratch)/run")
        let session = try! LabSession(mode: .run(dir), searchPath: RecipeSearchPath(directories: []))
        try! session.state.run("""
            model = lab.models.rnn { input = 2, hidden = 4, output = 1, reflectors = 2 }
            optimizer = lab.optim.adam {}
            lab.checkpoint.save(1, model, optimizer, { x = 1 })
            """)
        return (session, dir.file("checkpoints/main/step-00000001.json"))
    }()
}
