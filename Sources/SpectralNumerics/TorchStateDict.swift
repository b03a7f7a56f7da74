/// Models to and from PyTorch's state_dict layout (a safetensors file that
/// `safetensors.torch.load_file` reads and `load_state_dict` takes; docs/interop.md has the Python).
///
/// A recurrent model is a torch.nn.RNN, LSTM or GRU (one layer, time first) and a Linear readout:
///     weight_ih_l0 (G·n × input), weight_hh_l0 (G·n × n), bias_ih_l0, bias_hh_l0 (G·n),
///     readout.weight (output × n), readout.bias (output); G = 1 (RNN), 4 (LSTM), 3 (GRU).
/// The spectral and orthogonal cells go out as nn.RNN with W = UΣVᵀ materialized; h_t = φ(W h_{t−1}
/// + M x_t + b) is nn.RNN's h_t = φ(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) with W_hh = W, W_ih = M,
/// b_ih = b and b_hh = 0 (coming in, b = b_ih + b_hh). The gated cells already keep PyTorch's gate
/// order (LSTM i f g o, GRU r z n), so their tensors go as they are.
/// An SVD layer is an nn.Linear (weight = W, out × in; bias); an MLP an nn.Sequential of Linear
/// and activation modules (keys "0.weight", "0.bias", "2.weight", …).
public enum TorchStateDict {
    public struct Export {
        public let tensors: [(name: String, tensor: AnyTensor)]
        /// What a loader needs to make the module: torch_module, sizes, nonlinearity, readout.
        public let metadata: [String: String]
        /// Set when PyTorch has no module that computes what this model does (leaky ReLU in an
        /// RNN): the matrices are exported all the same, for a module written by hand.
        public let warning: String?
    }

    /// nn.RNN's nonlinearity for an activation, nil where it has none.
    static func nonlinearity(_ a: Activation) -> String? {
        switch a {
        case .tanh: return "tanh"
        case .relu: return "relu"
        case .leakyRelu, .identity: return nil
        }
    }

    /// The torch.nn module of an activation between MLP layers.
    static func activationModule(_ a: Activation) -> String {
        switch a {
        case .tanh: return "Tanh()"
        case .relu: return "ReLU()"
        case .leakyRelu: return "LeakyReLU(0.1)"
        case .identity: return "Identity()"
        }
    }

    public static func export<T: TensorScalar>(_ model: any Trainable<T>) throws -> Export {
        func t(_ x: Tensor<T>) -> AnyTensor { AnyTensor(x) }
        var metadata = ["format": "pytorch state_dict", "dtype": T.dtypeName]
        switch model {
        case let m as RecurrentNetwork<T>:
            let w = try m.transition.build().w
            let nonlinearity = nonlinearity(m.activation)
            metadata.merge(["torch_module": "RNN", "input_size": "\(m.inputSize)", "hidden_size": "\(m.hiddenSize)",
                            "output_size": "\(m.outputSize)", "nonlinearity": nonlinearity ?? m.activation.rawValue,
                            "readout": m.readout.mode.rawValue, "cell": m.cellName]) { $1 }
            let tensors = [("weight_ih_l0", t(m.inputWeight)), ("weight_hh_l0", t(w)), ("bias_ih_l0", t(m.inputBias)),
                           ("bias_hh_l0", t(Tensor(zeros: [m.hiddenSize]))),
                           ("readout.weight", t(m.readout.weight)), ("readout.bias", t(m.readout.bias))]
            let warning = nonlinearity == nil
                ? "torch.nn.RNN has no \(m.activation.rawValue) nonlinearity (only tanh and relu): the matrices are exported, nn.RNN cannot run them; write the step h_t = φ(x W_ihᵀ + b_ih + h W_hhᵀ) by hand"
                : nil
            return Export(tensors: tensors, metadata: metadata, warning: warning)
        case let m as GatedNetwork<T>:
            metadata.merge(["torch_module": m.kind == .lstm ? "LSTM" : "GRU", "input_size": "\(m.inputSize)", "hidden_size": "\(m.hiddenSize)",
                            "output_size": "\(m.outputSize)", "readout": m.readout.mode.rawValue, "cell": m.cellName]) { $1 }
            let tensors = [("weight_ih_l0", t(m.inputWeight)), ("weight_hh_l0", t(m.recurrentWeight)), ("bias_ih_l0", t(m.inputBias)),
                           ("bias_hh_l0", t(m.recurrentBias)), ("readout.weight", t(m.readout.weight)), ("readout.bias", t(m.readout.bias))]
            return Export(tensors: tensors, metadata: metadata, warning: nil)
        case let l as SVDLinear<T>:
            metadata.merge(["torch_module": "Linear", "in_features": "\(l.inFeatures)", "out_features": "\(l.outFeatures)",
                            "bias": "\(l.bias != nil)"]) { $1 }
            return Export(tensors: [("weight", t(try l.matrix()))] + (l.bias.map { [("bias", t($0))] } ?? []), metadata: metadata, warning: nil)
        case let m as MLP<T>:
            let modules = m.layers.enumerated().flatMap { k, l in
                ["Linear(\(l.inFeatures), \(l.outFeatures), bias=\(l.bias != nil ? "True" : "False"))"] + (k + 1 < m.layers.count ? [activationModule(m.activation)] : [])
            }
            metadata.merge(["torch_module": "Sequential", "modules": modules.joined(separator: ", ")]) { $1 }
            var tensors: [(name: String, tensor: AnyTensor)] = []
            for (k, l) in m.layers.enumerated() {
                tensors.append(("\(2 * k).weight", t(try l.matrix())))
                if let b = l.bias { tensors.append(("\(2 * k).bias", t(b))) }
            }
            return Export(tensors: tensors, metadata: metadata, warning: nil)
        default:
            throw TensorError.value("a \(type(of: model)) has no PyTorch equivalent to export to")
        }
    }

    /// Writes `export(model)` to `path` (atomically); returns its warning, if any.
    @discardableResult
    public static func save<T: TensorScalar>(_ model: any Trainable<T>, to path: String) throws -> String? {
        let e = try export(model)
        try Safetensors.save(e.tensors, metadata: e.metadata, to: path)
        return e.warning
    }
}
