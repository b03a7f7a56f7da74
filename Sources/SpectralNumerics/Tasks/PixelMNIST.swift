import Foundation

/// Pixel-by-pixel MNIST-style classification (Le, Jaitly & Hinton 2015): each 28×28 image is a
/// sequence of 784 steps of one pixel scaled to [0, 1], optionally read in one fixed random order
/// (permuted), classified from the last step. Reads the four IDX files of MNIST or Fashion-MNIST
/// (gzipped or not) from one directory. The last `validation` training images are held out; the
/// rest are reshuffled every epoch. With `flat`, each image is one B×784 row instead (an MLP's
/// input: the task "mnist").
public final class PixelMNIST: SequenceTask {
    public let directory: String
    public let batchSize: Int, evalBatchSize: Int
    public let permutation: [Int]?
    public let flat: Bool
    let train: (images: [UInt8], labels: [UInt8])
    let validation: (images: [UInt8], labels: [UInt8])
    let test: (images: [UInt8], labels: [UInt8])
    public let pixels: Int
    public static let classes = 10

    private var random: Random
    private var epoch: UInt64 = 0, cursor = 0, epochSeed: UInt64 = 0
    private var order: [Int] = []

    public static let files = (trainImages: "train-images-idx3-ubyte", trainLabels: "train-labels-idx1-ubyte",
                               testImages: "t10k-images-idx3-ubyte", testLabels: "t10k-labels-idx1-ubyte")

    public init(directory: String, permuted: Bool = false, permutationSeed: UInt64 = 1, flat: Bool = false, batchSize: Int,
                validation: Int = 5000, evalBatchSize: Int = 500, seed: UInt64) throws {
        self.flat = flat
        let task = flat ? "mnist" : "pixel_mnist"   // for errors: `name` needs the permutation, made below
        guard batchSize >= 1, evalBatchSize >= 1 else { throw TaskError("\(task): batch and eval_batch must be at least 1") }
        self.directory = directory
        self.batchSize = batchSize
        self.evalBatchSize = evalBatchSize
        let (trainImages, trainLabels, side) = try Self.load(directory, Self.files.trainImages, Self.files.trainLabels)
        let (testImages, testLabels, testSide) = try Self.load(directory, Self.files.testImages, Self.files.testLabels)
        guard testSide == side else {
            throw TaskError("\(directory): test images are \(testSide.0)×\(testSide.1), training images \(side.0)×\(side.1)")
        }
        pixels = side.0 * side.1
        let n = trainLabels.count
        guard (0 ..< n).contains(validation), n - validation >= batchSize else {
            throw TaskError("\(task): valid must leave at least one batch of \(batchSize) of the \(n) training images, got \(validation)")
        }
        let kept = n - validation
        train = (Array(trainImages[0 ..< kept * pixels]), Array(trainLabels[0 ..< kept]))
        self.validation = (Array(trainImages[kept * pixels ..< n * pixels]), Array(trainLabels[kept ..< n]))
        test = (testImages, testLabels)
        if permuted {
            var r = Random(seed: permutationSeed)
            var p = Array(0 ..< pixels)
            for i in stride(from: pixels - 1, to: 0, by: -1) { p.swapAt(i, r.below(i + 1)) }
            permutation = p
        } else {
            permutation = nil
        }
        random = Random(seed: seed)
        startEpoch()
    }

    /// Images (bytes) and labels from an IDX pair, checked against each other.
    static func load(_ directory: String, _ imagesName: String, _ labelsName: String) throws -> ([UInt8], [UInt8], (Int, Int)) {
        func path(_ name: String) throws -> String {
            for candidate in [name, name + ".gz"] {
                let p = (directory as NSString).appendingPathComponent(candidate)
                if FileManager.default.fileExists(atPath: p) { return p }
            }
            throw TaskError("\((directory as NSString).appendingPathComponent(name))(.gz): no such file (an MNIST-format folder holds \(files.trainImages), \(files.trainLabels), \(files.testImages) and \(files.testLabels), gzipped or not)")
        }
        let imagesPath = try path(imagesName), labelsPath = try path(labelsName)
        let images = try IDXFile(path: imagesPath, rank: 3), labels = try IDXFile(path: labelsPath, rank: 1)
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw TaskError("\(imagesPath) holds \(images.dimensions[0]) images but \(labelsPath) \(labels.dimensions[0]) labels")
        }
        guard images.dimensions[1] >= 1, images.dimensions[2] >= 1 else { throw TaskError("\(imagesPath): empty images") }
        if let bad = labels.bytes.firstIndex(where: { Int($0) >= classes }) {
            throw TaskError("\(labelsPath): label \(labels.bytes[bad]) at \(bad) is not a class 0…9")
        }
        return (images.bytes, labels.bytes, (images.dimensions[1], images.dimensions[2]))
    }

    public var name: String { flat ? "mnist" : permutation == nil ? "pixel_mnist" : "permuted_pixel_mnist" }
    public var length: Int { flat ? 1 : pixels }
    public var inputSize: Int { flat ? pixels : 1 }
    public var outputSize: Int { Self.classes }
    public var readout: TaskReadout { .last }
    public var loss: TaskLoss { .crossEntropy(ignore: nil) }
    /// Chance: log 10 (the classes are balanced in MNIST and Fashion-MNIST).
    public var baseline: Double? { log(Double(Self.classes)) }
    public var continuesStreams: Bool { false }
    public var batchesPerEpoch: Int? { train.labels.count / batchSize }
    public var trainCount: Int { train.labels.count }
    public var validationCount: Int { validation.labels.count }
    public var testCount: Int { test.labels.count }
    public var description: String {
        "\(name)(\(directory): \(trainCount) train, \(validationCount) valid, \(testCount) test, batch=\(batchSize))"
    }

    /// A new epoch's order, from a seed drawn now (kept, so that `state` can rebuild the order).
    private func startEpoch() {
        epochSeed = random.next()
        reorder()
        cursor = 0
    }

    private func reorder() {
        var r = Random(seed: epochSeed)
        order = Array(0 ..< train.labels.count)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, r.below(i + 1)) }
    }

    public func nextBatch<T: TensorScalar>(_: T.Type) -> TaskBatch<T> {
        if cursor + batchSize > order.count {   // the last partial batch of an epoch is dropped
            epoch += 1
            startEpoch()
        }
        let batch = Self.batch(T.self, train, order[cursor ..< cursor + batchSize], pixels, permutation, flat: flat)
        cursor += batchSize
        return batch
    }

    public func validationBatches<T: TensorScalar>(_: T.Type) -> [TaskBatch<T>] { Self.batches(T.self, validation, evalBatchSize, pixels, permutation, flat: flat) }

    public func testBatches<T: TensorScalar>(_: T.Type) -> [TaskBatch<T>]? { Self.batches(T.self, test, evalBatchSize, pixels, permutation, flat: flat) }

    public func restore(state: [String: UInt64]) throws {
        _ = try position(state, "cursor", limit: trainCount)
        self.state = state
    }

    public var state: [String: UInt64] {
        get { random.taskState().merging(["epoch": epoch, "cursor": UInt64(cursor), "epoch_seed": epochSeed]) { a, _ in a } }
        set {
            random.restore(newValue)
            if let e = newValue["epoch"], let c = newValue["cursor"], let s = newValue["epoch_seed"] {
                epoch = e
                epochSeed = s
                reorder()
                cursor = Int(c)
            }
        }
    }

    static func batches<T: TensorScalar>(_: T.Type, _ split: (images: [UInt8], labels: [UInt8]), _ size: Int, _ pixels: Int,
                                         _ permutation: [Int]?, flat: Bool) -> [TaskBatch<T>] {
        stride(from: 0, to: split.labels.count, by: size).map { start in
            batch(T.self, split, start ..< Swift.min(start + size, split.labels.count), pixels, permutation, flat: flat)
        }
    }

    /// x[t, b, 0] = pixel permutation[t] of image b, / 255 (flat: x[b, t]); y = label + 1.
    static func batch<T: TensorScalar, C: Collection<Int>>(_: T.Type, _ split: (images: [UInt8], labels: [UInt8]), _ indices: C,
                                                          _ pixels: Int, _ permutation: [Int]?, flat: Bool) -> TaskBatch<T> {
        let b = indices.count
        let x = Tensor<T>(zeros: flat ? [b, pixels] : [pixels, b, 1]), y = Tensor<T>(zeros: [b])
        // Pixel t of image j sits at t·b + j time-major, at j·pixels + t flat.
        let (tStride, jStride) = flat ? (1, pixels) : (b, 1)
        let scale = T(1.0 / 255.0)
        split.images.withUnsafeBufferPointer { images in
            for (j, i) in indices.enumerated() {
                let image = images.baseAddress! + i * pixels
                if let permutation {
                    for t in 0 ..< pixels { x.data[t * tStride + j * jStride] = T(Int(image[permutation[t]])) * scale }
                } else {
                    for t in 0 ..< pixels { x.data[t * tStride + j * jStride] = T(Int(image[t])) * scale }
                }
                y.data[j] = T(Int(split.labels[i]) + 1)
            }
        }
        return TaskBatch(x: x, y: y, reset: false)
    }
}
