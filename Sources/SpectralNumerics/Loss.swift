/// Losses: each returns the value and its gradient with respect to the prediction.
public enum Loss {
    /// Mean squared error over all elements: mean((y − target)²).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func meanSquaredError<T>(_ y: Tensor<T>, _ target: Tensor<T>) throws -> (loss: T, grad: Tensor<T>) {
        guard y.shape == target.shape else {
            throw TensorError.shape("mse: prediction \(y.shapeDescription) and target \(target.shapeDescription) differ")
        }
        guard y.count > 0 else { return (0, Tensor(zeros: y.shape)) }
        let grad = Tensor<T>(zeros: y.shape)
        var sum: T = 0
        let scale = 2 / T(y.count)
        for i in 0 ..< y.count {
            let d = y.data[i] - target.data[i]
            sum += d * d
            grad.data[i] = scale * d
        }
        return (sum / T(y.count), grad)
    }

    /// Softmax cross-entropy, averaged over the rows whose label is not `ignore`. `logits` is N×C
    /// or T×B×C (rows flattened); `labels` holds one class index (0-based) per row, or `ignore`
    /// (the copy task scores only its answer positions). Stable: log-sum-exp with the max taken out.
    /// Also returns how many counted rows were classified correctly, and how many were counted.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func crossEntropy<T>(_ logits: Tensor<T>, labels: [Int], ignore: Int = -1)
        throws -> (loss: T, grad: Tensor<T>, correct: Int, counted: Int) {
        guard logits.rank >= 2 else { throw TensorError.shape("cross-entropy needs N×C logits, got \(logits.shapeDescription)") }
        let classes = logits.shape[logits.rank - 1]
        let rows = logits.count / Swift.max(classes, 1)
        guard labels.count == rows else {
            throw TensorError.shape("cross-entropy: \(labels.count) labels for \(rows) rows of logits \(logits.shapeDescription)")
        }
        if let bad = labels.firstIndex(where: { $0 != ignore && ($0 < 0 || $0 >= classes) }) {
            throw TensorError.value("cross-entropy: label \(labels[bad]) at row \(bad + 1) is outside 0…\(classes - 1)")
        }
        let counted = labels.filter { $0 != ignore }.count
        let grad = Tensor<T>(zeros: logits.shape)
        guard counted > 0 else { return (0, grad, 0, 0) }
        var total: T = 0
        var correct = 0
        for r in 0 ..< rows where labels[r] != ignore {
            let z = logits.data + r * classes, g = grad.data + r * classes
            var best = 0
            for j in 1 ..< classes where z[j] > z[best] { best = j }
            let m = z[best]
            var s: T = 0
            for j in 0 ..< classes { g[j] = T.exp(z[j] - m); s += g[j] }
            total += T.log(s) + m - z[labels[r]]
            for j in 0 ..< classes { g[j] = g[j] / s / T(counted) }
            g[labels[r]] -= 1 / T(counted)
            if best == labels[r] { correct += 1 }
        }
        return (total / T(counted), grad, correct, counted)
    }

    /// Bits per character from a mean cross-entropy in nats.
    public static func bitsPerCharacter<T: TensorScalar>(_ nats: T) -> T { nats / T.log(2) }
}
