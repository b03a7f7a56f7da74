/// A PyTorch state_dict (torch.nn.RNN, LSTM or GRU of one layer, time first, and a Linear readout;
/// saved with `safetensors.torch.save_file(module.state_dict(), path)`) as a model here, with the
/// same outputs. The layout is TorchStateDict's; nn.RNN's two biases become one, b = b_ih + b_hh.
/// An nn.RNN also comes into a spectral or orthogonal cell: its W factored into reflectors (and Σ)
/// by SVDLinear.assign / OrthogonalTransition.assign, within their reach.
extension TorchStateDict {
    public struct ImportOptions: Sendable {
        public var cell: Cell
        public var readout: ReadoutLayer<Float>.Mode
        /// nn.RNN's nonlinearity (tanh or relu); a state_dict does not record it.
        public var activation: Activation?
        /// The spectral and orthogonal cells: W is factored into this many reflectors per factor
        /// (default: hidden, which reaches every W of one determinant sign), and the spectral
        /// cell's band; strict refuses singular values outside it instead of clipping them.
        public var reflectors: Int?
        public var sigmaStar = 1.0, r = 0.01, strict = false
        /// Where the recurrent module's tensors are ("rnn." for a module kept as self.rnn).
        public var recurrentPrefix = ""
        public var readoutPrefix = "readout."

        public init(cell: Cell, readout: ReadoutLayer<Float>.Mode, activation: Activation? = nil,
                    recurrentPrefix: String = "", readoutPrefix: String = "readout.") {
            self.cell = cell
            self.readout = readout
            self.activation = activation
            self.recurrentPrefix = recurrentPrefix
            self.readoutPrefix = readoutPrefix
        }
    }

    /// The model the tensors describe, in precision T (float64 tensors are rounded for a float32
    /// model and float32 ones widened for a float64 one). For the spectral and orthogonal cells,
    /// nn.RNN's dense W is factored (SVDLinear.assign): the report says what was clipped.
    public static func model<T: TensorScalar>(_: T.Type, from tensors: [String: AnyTensor], metadata: [String: String] = [:],
                                             options o: ImportOptions) throws -> (model: any SequenceModel<T>, clipping: AssignReport) {
        var unused = Set(tensors.keys)
        func take(_ name: String, required: Bool = true) throws -> Tensor<T>? {
            guard let t = tensors[name] else {
                if required { throw TensorError.value("the state_dict has no \(jsonString(name)) (its tensors: \(tensors.keys.sorted().joined(separator: ", ")))") }
                return nil
            }
            unused.remove(name)
            switch t {
            case .float(let f): return f.converted(to: T.self)
            case .double(let d): return d.converted(to: T.self)
            }
        }
        let gates: Int
        switch o.cell {
        case .lstm: gates = 4
        case .gru: gates = 3
        case .rnn, .spectral, .orthogonal: gates = 1
        }
        let p = o.recurrentPrefix
        let wih = try take(p + "weight_ih_l0")!, whh = try take(p + "weight_hh_l0")!
        guard whh.rank == 2, whh.cols >= 1, whh.rows == gates * whh.cols else {
            throw TensorError.shape("\(p)weight_hh_l0 is \(whh.shapeDescription); a\(o.cell == .rnn ? "n" : "") \(o.cell)'s is \(gates == 1 ? "" : "\(gates)·")hidden × hidden: is it a\(o.cell == .lstm ? " GRU's or an RNN's" : o.cell == .gru ? "n LSTM's or an RNN's" : "n LSTM's or a GRU's")?")
        }
        let n = whh.cols
        guard wih.rank == 2, wih.rows == gates * n, wih.cols >= 1 else {
            throw TensorError.shape("\(p)weight_ih_l0 is \(wih.shapeDescription); with hidden \(n) it must be \(gates * n) × input")
        }
        let bih = try take(p + "bias_ih_l0", required: false) ?? Tensor(zeros: [gates * n])
        let bhh = try take(p + "bias_hh_l0", required: false) ?? Tensor(zeros: [gates * n])
        for (name, b) in [("bias_ih_l0", bih), ("bias_hh_l0", bhh)] where b.shape != [gates * n] {
            throw TensorError.shape("\(p)\(name) is \(b.shapeDescription); it must be \(gates * n)")
        }
        let r = o.readoutPrefix
        let rw = try take(r + "weight")!
        guard rw.rank == 2, rw.cols == n, rw.rows >= 1 else {
            throw TensorError.shape("\(r)weight is \(rw.shapeDescription); a readout from \(n) hidden units is output × \(n)")
        }
        let rb = try take(r + "bias", required: false) ?? Tensor(zeros: [rw.rows])
        guard rb.shape == [rw.rows] else { throw TensorError.shape("\(r)bias is \(rb.shapeDescription); it must be \(rw.rows)") }
        if let extra = unused.sorted().first {
            let why = extra.contains("_l1") ? " (a module of several layers: only num_layers = 1 comes in)"
                : extra.contains("_reverse") ? " (a bidirectional module: only one direction comes in)" : ""
            throw TensorError.value("the state_dict has tensors no \(o.cell) model here has: \(unused.sorted().joined(separator: ", "))\(why)")
        }

        var activation = Activation.relu
        if o.cell == .rnn || o.cell == .spectral || o.cell == .orthogonal {
            guard let a = o.activation ?? metadata["nonlinearity"].flatMap(Activation.init(rawValue:)) else {
                throw TensorError.value("say nn.RNN's nonlinearity (activation = \"tanh\" or \"relu\"): a state_dict does not record it")
            }
            activation = a
        }
        var rng = Random(seed: 0)   // every parameter is overwritten below
        let model = try o.cell.model(T.self, input: wih.cols, hidden: n, output: rw.rows, readout: ReadoutLayer<T>.Mode(rawValue: o.readout.rawValue)!,
                                     options: .init(reflectors: o.reflectors ?? n, sigmaStar: o.sigmaStar, r: o.r, activation: activation), rng: &rng)
        var clipping = AssignReport()
        switch model {
        case let m as RecurrentNetwork<T>:
            clipping = try m.assignRecurrent(whh, strict: o.strict)
            try m.inputWeight.assign(wih)
            try m.inputBias.assign(try bih.adding(bhh))
            try m.readout.weight.assign(rw)
            try m.readout.bias.assign(rb)
        case let m as GatedNetwork<T>:
            for (mine, theirs) in [(m.inputWeight, wih), (m.recurrentWeight, whh), (m.inputBias, bih), (m.recurrentBias, bhh),
                                   (m.readout.weight, rw), (m.readout.bias, rb)] {
                try mine.assign(theirs)
            }
        default: break
        }
        return (model, clipping)
    }
}
