/// The output layer of a recurrent network: y = R h + c from the last state (classification,
/// regression) or from every state (language modelling: T×B×output).
public final class ReadoutLayer<T: TensorScalar> {
    public enum Mode: String, Sendable, CaseIterable { case last, all }

    public let mode: Mode
    public let hidden: Int, output: Int
    public let weight: Tensor<T>, bias: Tensor<T>
    let gradWeight: Tensor<T>, gradBias: Tensor<T>
    private let workspace = Workspace<T>()

    init(hidden: Int, output: Int, mode: Mode, rng: inout Random) {
        self.mode = mode
        self.hidden = hidden
        self.output = output
        weight = rng.glorotUniform(output, hidden)
        bias = Tensor(zeros: [output])
        gradWeight = Tensor(zeros: weight.shape)
        gradBias = Tensor(zeros: [output])
    }

    var parameters: [Parameter<T>] {
        [("readout.weight", weight, gradWeight), ("readout.bias", bias, gradBias)]
    }

    /// The states this readout looks at, within a (T+1)×B×n tensor of h_0…h_T: a pointer and a row count.
    private func read(_ states: Tensor<T>) -> (UnsafeMutablePointer<T>, rows: Int) {
        let (steps, plane) = (states.shape[0] - 1, states.shape[1] * hidden)
        return mode == .last ? (states.data + steps * plane, states.shape[1]) : (states.data + plane, steps * states.shape[1])
    }

    func outputShape(steps: Int, batch: Int) -> [Int] { mode == .last ? [batch, output] : [steps, batch, output] }

    func forward(_ states: Tensor<T>) -> Tensor<T> {
        let (h, rows) = read(states)
        let y = Tensor<T>(zeros: outputShape(steps: states.shape[0] - 1, batch: states.shape[1]))
        project(h, rows: rows, into: y.data)
        return y
    }

    /// y = R h + c for `rows` packed states h (rows × hidden) into y (rows × output).
    func project(_ h: UnsafePointer<T>, rows: Int, into y: UnsafeMutablePointer<T>) {
        guard rows > 0 else { return }
        T.gemm(false, true, rows, output, hidden, 1, h, hidden, weight.data, hidden, 0, y, output)
        Tensor.addRows(bias, to: y, rows: rows)
    }

    /// Adds ∂R and ∂c; returns ∂L/∂h_t for t = 1…T (T×B×n; zero where the readout does not look).
    /// With `clearing: false`, the slots the readout does not look at (all but the last, for "last")
    /// are left as they were, for a caller that overwrites them anyway: zeroing T×B×n numbers every
    /// step cost a few percent of a pixel-MNIST step.
    func backward(_ gradOutput: Tensor<T>, _ states: Tensor<T>, clearing: Bool = true) throws -> Tensor<T> {
        let (steps, batch) = (states.shape[0] - 1, states.shape[1])
        let expected = outputShape(steps: steps, batch: batch)
        guard gradOutput.shape == expected else {
            throw TensorError.shape("gradient must be \(Tensor<T>.describe(expected)) (the last forward's output), got \(gradOutput.shapeDescription)")
        }
        // "all" writes every slot below; "last" only the last, so the others start at zero unless
        // the caller overwrites them.
        let gradStates = mode == .all || !clearing ? workspace.buffer("gradStates", [steps, batch, hidden])
                                                   : workspace.zeros("gradStates", [steps, batch, hidden])
        let (h, rows) = read(states)
        guard rows > 0 else { return gradStates }
        let g = mode == .last ? gradStates.data + (steps - 1) * batch * hidden : gradStates.data
        T.gemm(true, false, output, hidden, rows, 1, gradOutput.data, output, h, hidden, 1, gradWeight.data, hidden)
        Tensor.addColumnSums(of: gradOutput.data, rows: rows, into: gradBias)
        T.gemm(false, false, rows, hidden, output, 1, gradOutput.data, output, weight.data, hidden, 0, g, hidden)
        return gradStates
    }
}

/// What the workbench trains: a network over sequences (T×B×input, time first) with parameters.
public protocol SequenceModel<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar
    func forward(_ x: Tensor<Scalar>) throws -> Tensor<Scalar>
    /// The same outputs as `forward` (to the bit), keeping nothing for a backward pass: an evaluation
    /// pass, in memory for a few steps instead of all T. The last forward's tape stays as it was.
    func predict(_ x: Tensor<Scalar>) throws -> Tensor<Scalar>
    func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar>
    var parameters: [Parameter<Scalar>] { get }
    /// ‖∂L/∂h_t‖ for t = 1…T from the last backward pass.
    var hiddenGradientNorms: [Scalar] { get }
    /// Singular values of the recurrent matrix (for gated cells: of the candidate's recurrent block).
    func recurrentSingularValues() throws -> [Scalar]
    func renormalize()
    /// Truncated BPTT for long streams: when true, each forward starts from the previous forward's
    /// final state (if the batch size matches) instead of zeros, and the backward pass stops there.
    var carriesState: Bool { get set }
    /// Forgets the carried state (the next forward starts from zeros).
    func resetState()
    /// The carried state itself (h, and c for an LSTM), nil when there is none: an evaluation pass
    /// over a held-out stream saves it and puts it back, so training continues where it was.
    var carriedState: [Tensor<Scalar>]? { get set }
    /// "spectral", "orthogonal", "rnn", "lstm", "gru".
    var cellName: String { get }
    var inputSize: Int { get }
    var hiddenSize: Int { get }
    var outputSize: Int { get }
}

extension SequenceModel {
    /// Trainable numbers (masked reflector entries excluded).
    public var parameterCount: Int { trainableCount(parameters) }
    public func zeroGrad() { for p in parameters { p.grad.fill(0) } }
}
