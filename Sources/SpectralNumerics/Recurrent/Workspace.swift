/// The big per-pass buffers of a recurrent model (T×B×n and the like), kept from one step to the
/// next while their shapes stay the same. Allocating them fresh each step cost ~10% of a pixel-MNIST
/// step in page faults and zeroing (perf). A buffer from `buffer` holds the last pass's values: use it
/// only where every entry is overwritten; `zeros` clears it first.
final class Workspace<T: TensorScalar> {
    private var buffers: [String: Tensor<T>] = [:]

    func buffer(_ name: String, _ shape: [Int]) -> Tensor<T> {
        if let b = buffers[name], b.shape == shape { return b }
        let b = Tensor<T>(zeros: shape)
        buffers[name] = b
        return b
    }

    func zeros(_ name: String, _ shape: [Int]) -> Tensor<T> {
        if let b = buffers[name], b.shape == shape {
            b.fill(0)
            return b
        }
        return buffer(name, shape)
    }
}
