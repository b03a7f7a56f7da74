import ArgumentParser
import Foundation
import SpectralNumerics
import Workbench

extension SpectralLab {
    struct ExportModel: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-model",
            abstract: "Write a saved model in PyTorch's state_dict layout.",
            discussion: """
                FILE is a model file (model:save) or a checkpoint (checkpoints/<name>/step-N.safetensors \
                in a run directory). The output is a safetensors file for safetensors.torch.load_file and \
                load_state_dict: nn.RNN (the spectral and orthogonal cells with W materialized), nn.LSTM \
                or nn.GRU with a Linear readout; an SVD layer as nn.Linear, an MLP as nn.Sequential. \
                docs/interop.md has the Python that loads it.
                """
        )

        @Argument(help: ArgumentHelp("A model file or checkpoint.", valueName: "file"), completion: .file())
        var file: String

        @Option(help: ArgumentHelp("Write the PyTorch state_dict here.", valueName: "out.safetensors"))
        var torch: String

        func run() throws {
            let warning: String?
            do {
                switch try ModelFile.load(file) {
                case .float(let model): warning = try TorchStateDict.save(model, to: torch)
                case .double(let model): warning = try TorchStateDict.save(model, to: torch)
                }
            } catch let e as TensorError { throw ValidationError("\(e)") }
            catch let e as SafetensorsError { throw ValidationError("\(e)") }
            if let warning { FileHandle.standardError.write(Data("spectral-lab: warning: \(warning)\n".utf8)) }
        }
    }
}
