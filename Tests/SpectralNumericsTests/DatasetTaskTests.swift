import Foundation
@testable import SpectralNumerics
import Testing

/// The dataset readers: IDX files (plain and gzipped) and every way they can be broken, pixel
/// MNIST's splits, order and resumable epochs (on small synthetic files and on the real
/// Fashion-MNIST), and the character corpora and streams of char_lm.
@Suite struct DatasetTaskTests {
    /// A scratch directory, removed by the caller.
    static func scratch() throws -> String {
        let d = NSTemporaryDirectory() + "tasks-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static func idx(_ dimensions: [Int], _ bytes: [UInt8], rank: Int? = nil) -> Data {
        var d = Data([0, 0, 8, UInt8(rank ?? dimensions.count)])
        for n in dimensions { d += [UInt8(n >> 24 & 255), UInt8(n >> 16 & 255), UInt8(n >> 8 & 255), UInt8(n & 255)] }
        return d + bytes
    }

    /// gzip's own compressor, so the reader is checked against real .gz files.
    static func gzip(_ data: Data) throws -> Data {
        let p = Process(), input = Pipe(), output = Pipe()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-c"]
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(data)
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return out
    }

    /// Image i of n (h×w): pixel k is (7i + 3k) mod 256, so every image differs; label i mod 10.
    static func writeMNIST(_ dir: String, train: Int, test: Int, side: (Int, Int) = (2, 3), gzipped: Bool) throws {
        let pixels = side.0 * side.1
        func images(_ n: Int, _ offset: Int) -> [UInt8] { (0 ..< n * pixels).map { UInt8((7 * ($0 / pixels + offset) + 3 * ($0 % pixels)) % 256) } }
        func labels(_ n: Int, _ offset: Int) -> [UInt8] { (0 ..< n).map { UInt8(($0 + offset) % 10) } }
        let files: [(String, Data)] = [
            (PixelMNIST.files.trainImages, idx([train, side.0, side.1], images(train, 0))),
            (PixelMNIST.files.trainLabels, idx([train], labels(train, 0))),
            (PixelMNIST.files.testImages, idx([test, side.0, side.1], images(test, 1000))),
            (PixelMNIST.files.testLabels, idx([test], labels(test, 3))),
        ]
        for (name, data) in files {
            try (gzipped ? gzip(data) : data).write(to: URL(fileURLWithPath: dir + "/" + name + (gzipped ? ".gz" : "")))
        }
    }

    static func message(_ body: () throws -> Any) -> String {
        do {
            _ = try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    // MARK: IDX and gzip

    @Test func idxFilesReadTheSameGzippedOrNotAndInSeveralMembers() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bytes = (0 ..< 5000).map { UInt8($0 % 251) }
        let plain = Self.idx([2, 50, 50], bytes)
        try plain.write(to: URL(fileURLWithPath: dir + "/plain"))
        try Self.gzip(plain).write(to: URL(fileURLWithPath: dir + "/one.gz"))
        // gunzip reads concatenated members as one stream; so must we.
        try (Self.gzip(plain.prefix(3000)) + Self.gzip(plain.dropFirst(3000))).write(to: URL(fileURLWithPath: dir + "/two.gz"))
        for name in ["plain", "one.gz", "two.gz"] {
            let f = try IDXFile(path: dir + "/" + name, rank: 3)
            #expect(f.dimensions == [2, 50, 50], "\(name)")
            #expect(f.bytes == bytes, "\(name)")
        }
    }

    @Test func brokenIDXAndGzipFilesAreReportedWithTheirPath() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = Self.idx([3, 2, 2], Array(repeating: 1, count: 12))
        var lcg: UInt32 = 1
        let gz = try Self.gzip(Self.idx([5000, 2, 2], (0 ..< 20000).map { _ in lcg = lcg &* 1_664_525 &+ 1_013_904_223; return UInt8(lcg >> 24) }))
        var corrupt = gz
        for i in gz.count / 2 ..< gz.count / 2 + 20 { corrupt[i] ^= 0x5a }   // past the header
        let cases: [(String, Data, Int, String)] = [
            ("magic", Self.idx([3, 2, 2], Array(repeating: 1, count: 12), rank: 1), 3,
             "wrong IDX magic number 0x00000801 (expected 0x00000803: unsigned bytes, 3 dimensions)"),
            ("floats", Data([0, 0, 0x0d, 3]) + good.dropFirst(4), 3, "wrong IDX magic number 0x00000d03"),
            ("tiny", Data([0, 0]), 3, "truncated IDX file (2 bytes, no header)"),
            ("header", good.prefix(10), 3, "truncated IDX header (10 of 16 bytes)"),
            ("data", good.dropLast(1), 3, "truncated IDX data (11 of 12 bytes for 3×2×2)"),
            ("corrupt.gz", corrupt, 3, "corrupt gzip data"),
            ("cut.gz", gz.prefix(gz.count / 2), 3, "truncated gzip file (the compressed data ends early)"),
            // Dimensions whose product overflows Int (this trapped), or is past any image file.
            ("huge", Data([0, 0, 8, 3] + Array(repeating: 0xFF, count: 12)), 3, "IDX dimensions 4294967295×4294967295×4294967295 are too large"),
            ("big", Data([0, 0, 8, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]), 3, "IDX dimensions 65536×65536×65536 are too large"),
        ]
        for (name, data, rank, expected) in cases {
            let path = dir + "/" + name
            try data.write(to: URL(fileURLWithPath: path))
            let m = Self.message { try IDXFile(path: path, rank: rank) }
            #expect(m.hasPrefix(path + ": ") && m.contains(expected), "\(name): \(m)")
        }
        #expect(Self.message { try IDXFile(path: dir + "/absent", rank: 1) } == dir + "/absent: no such file")
        // A gzip file that inflates far past what its header announces (64 MiB of zeros after a
        // 1×2×2 image) is refused after the first chunk, not inflated to the end.
        let bomb = dir + "/bomb.gz"
        try Self.gzip(Self.idx([1, 2, 2], [1, 2, 3, 4]) + Data(count: 64 << 20)).write(to: URL(fileURLWithPath: bomb))
        #expect(Self.message { try IDXFile(path: bomb, rank: 3) } == bomb + ": decompresses to more than the 20 bytes expected (a damaged or hostile gzip file)")
    }

    // MARK: Pixel MNIST

    @Test(arguments: [false, true]) func pixelMNISTSplitsScalesAndShufflesEachEpoch(gzipped: Bool) throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeMNIST(dir, train: 13, test: 5, gzipped: gzipped)
        let task = try PixelMNIST(directory: dir, batchSize: 3, validation: 4, evalBatchSize: 2, seed: 9)
        #expect((task.trainCount, task.validationCount, task.testCount) == (9, 4, 5))
        #expect(task.length == 6 && task.inputSize == 1 && task.outputSize == 10 && task.batchesPerEpoch == 3)
        // Training image i is identified by its first pixel 7i mod 256 (i < 13); its label is i mod 10.
        func images(_ b: TaskBatch<Double>) -> [Int] {
            (0 ..< b.y.count).map { j in
                let i = Int((b.x.at(0, j, 0) * 255).rounded()) / 7
                #expect((0 ..< 6).allSatisfy { t in abs(b.x.at(t, j, 0) - Double((7 * i + 3 * t) % 256) / 255) < 1e-12 })
                #expect(b.y.data[j] == Double(i % 10 + 1))
                return i
            }
        }
        var epochs: [[Int]] = []
        for _ in 0 ..< 3 { epochs.append((0 ..< 3).flatMap { _ in images(task.nextBatch(Double.self)) }) }
        for e in epochs { #expect(e.sorted() == Array(0 ..< 9), "each epoch visits every training image once: \(e)") }
        #expect(epochs[0] != epochs[1] || epochs[1] != epochs[2], "reshuffled")
        // The held-out images are the last 4 training images, in order; the test images their own.
        #expect(task.validationBatches(Double.self).flatMap(images) == [9, 10, 11, 12])
        let test = try #require(task.testBatches(Double.self))
        #expect(test.map(\.y.count) == [2, 2, 1])
        #expect(test.flatMap { b in (0 ..< b.y.count).map { Int(b.y.data[$0]) - 1 } } == [3, 4, 5, 6, 7])
        // A state taken mid-epoch gives the same batches, across the next epoch boundary too.
        _ = task.nextBatch(Double.self)
        let saved = task.state
        let ahead = (0 ..< 4).map { _ in task.nextBatch(Double.self).x.scalars }
        let again = try PixelMNIST(directory: dir, batchSize: 3, validation: 4, evalBatchSize: 2, seed: 1)
        again.state = saved
        #expect((0 ..< 4).map { _ in again.nextBatch(Double.self).x.scalars } == ahead)
    }

    /// The flat task ("mnist", for MLPs) reads the same images as rows: x[j, t] = pixel t of image j.
    @Test func flatMNISTGivesEachImageAsARow() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeMNIST(dir, train: 6, test: 2, side: (4, 5), gzipped: false)
        let pixels = try PixelMNIST(directory: dir, batchSize: 2, validation: 2, seed: 1)
        let flat = try PixelMNIST(directory: dir, flat: true, batchSize: 2, validation: 2, seed: 1)
        #expect(flat.name == "mnist" && flat.inputSize == 20 && flat.length == 1 && flat.batchesPerEpoch == 2)
        let (a, b) = (pixels.nextBatch(Double.self), flat.nextBatch(Double.self))
        #expect(b.x.shape == [2, 20] && b.y.scalars == a.y.scalars)
        for j in 0 ..< 2 { for t in 0 ..< 20 { #expect(b.x[j, t] == a.x.at(t, j, 0)) } }
        let (ta, tb) = (try #require(pixels.testBatches(Double.self)), try #require(flat.testBatches(Double.self)))
        #expect(tb.count == ta.count && tb[0].x.shape == [2, 20])
        for j in 0 ..< 2 { for t in 0 ..< 20 { #expect(tb[0].x[j, t] == ta[0].x.at(t, j, 0)) } }
    }

    @Test func permutedPixelMNISTReadsEveryImageInOneFixedOrder() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeMNIST(dir, train: 6, test: 2, side: (4, 5), gzipped: false)
        let plain = try PixelMNIST(directory: dir, batchSize: 2, validation: 2, seed: 1)
        let permuted = try PixelMNIST(directory: dir, permuted: true, permutationSeed: 5, batchSize: 2, validation: 2, seed: 1)
        let p = try #require(permuted.permutation)
        #expect(p.sorted() == Array(0 ..< 20) && p != Array(0 ..< 20))
        #expect(try PixelMNIST(directory: dir, permuted: true, permutationSeed: 5, batchSize: 2, validation: 2, seed: 2).permutation == p)
        #expect(permuted.name == "permuted_pixel_mnist")
        let a = plain.validationBatches(Double.self)[0], b = permuted.validationBatches(Double.self)[0]
        for j in 0 ..< 2 { for t in 0 ..< 20 { #expect(b.x.at(t, j, 0) == a.x.at(p[t], j, 0)) } }
    }

    @Test func pixelMNISTErrorsNameTheFiles() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(Self.message { try PixelMNIST(directory: dir, batchSize: 2, seed: 1) }
            .hasPrefix("\(dir)/train-images-idx3-ubyte(.gz): no such file (an MNIST-format folder holds"))
        try Self.writeMNIST(dir, train: 8, test: 3, gzipped: false)
        #expect(Self.message { try PixelMNIST(directory: dir, batchSize: 4, validation: 5, seed: 1) }
            == "pixel_mnist: valid must leave at least one batch of 4 of the 8 training images, got 5")
        try Self.idx([7], Array(repeating: 1, count: 7)).write(to: URL(fileURLWithPath: dir + "/t10k-labels-idx1-ubyte"))
        #expect(Self.message { try PixelMNIST(directory: dir, batchSize: 2, validation: 2, seed: 1) }
            == "\(dir)/t10k-images-idx3-ubyte holds 3 images but \(dir)/t10k-labels-idx1-ubyte 7 labels")
        try Self.idx([3], [1, 12, 2]).write(to: URL(fileURLWithPath: dir + "/t10k-labels-idx1-ubyte"))
        #expect(Self.message { try PixelMNIST(directory: dir, batchSize: 2, validation: 2, seed: 1) }
            == "\(dir)/t10k-labels-idx1-ubyte: label 12 at 1 is not a class 0…9")
    }

    /// The data the recipes read by default (scripts/setup installs Debian's dataset-fashion-mnist).
    @Test func fashionMNISTFromDebian() throws {
        let dir = "/usr/share/datasets/fashion-mnist"
        try #require(FileManager.default.fileExists(atPath: dir + "/train-images-idx3-ubyte.gz"),
                     "Debian's dataset-fashion-mnist is not installed (scripts/setup installs it)")
        let task = try PixelMNIST(directory: dir, batchSize: 128, seed: 1)
        #expect((task.trainCount, task.validationCount, task.testCount) == (55000, 5000, 10000))
        #expect(task.length == 784 && task.batchesPerEpoch == 429)
        #expect(Array(task.train.labels.prefix(6)) == [9, 0, 0, 3, 0, 2])      // ankle boot, T-shirts, dress, …
        #expect(Array(task.test.labels.prefix(5)) == [9, 2, 1, 1, 6])
        #expect((0 ..< 10).allSatisfy { c in task.test.labels.lazy.filter { $0 == c }.count == 1000 })
        let b = task.nextBatch(Float.self)
        #expect(b.x.shape == [784, 128, 1])
        #expect(b.x.scalars.allSatisfy { (0 ... 1).contains($0) } && b.x.scalars.contains { $0 > 0.99 })
    }

    // MARK: Character corpora

    @Test func plainTextSplitsWithAVocabularyFromTrainingAndCountsUnknowns() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 180 characters over "ab c\n", then 10 with a Z and a ü, then 10 with two Zs.
        let text = String(repeating: "ab c\n", count: 36) + "abZcüabcab" + "ZabcZabcab"
        try text.write(toFile: dir + "/t.txt", atomically: true, encoding: .utf8)
        let c = try CharCorpus(path: dir + "/t.txt")
        #expect(c.vocabulary == ["\n", " ", "a", "b", "c"])
        #expect((c.train.count, c.validation.count, c.test.count) == (180, 10, 10))
        #expect(c.unknown == (2, 2))
        #expect(c.validation == [2, 3, 5, 4, 5, 2, 3, 4, 2, 3])
        #expect(c.classes == 6 && c.unknownID == 5)
        #expect(Self.message { try CharCorpus(path: dir + "/absent") } == "\(dir)/absent: no such file or directory")
        try "abc".write(toFile: dir + "/short.txt", atomically: true, encoding: .utf8)
        #expect(Self.message { try CharCorpus(path: dir + "/short.txt") } == "\(dir)/short.txt: too little text to split (3 characters)")
    }

    @Test func ptbCharacterFilesAndFortuneFilesAreConverted() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/ptb", withIntermediateDirectories: true)
        for (split, line) in [("train", "t h e _ c a t"), ("valid", "a _ d o g"), ("test", "c a t s")] {
            try (line + "\n" + line + "\n").write(toFile: dir + "/ptb/ptb.char.\(split).txt", atomically: true, encoding: .utf8)
        }
        let ptb = try CharCorpus(path: dir + "/ptb")
        #expect(ptb.train.map { ptb.vocabulary[Int($0)] } == Array("the cat\nthe cat\n"))
        #expect(ptb.unknown == (6, 2))     // d, o, g in each line of valid; s in each line of test
        // A directory of fortune files: the "%" separators go, the .dat indexes and .u8 files are skipped.
        try FileManager.default.createDirectory(atPath: dir + "/fortunes", withIntermediateDirectories: true)
        let fortune = String(repeating: "Be kind.\n%\nRead more.\n%\n", count: 5)
        try fortune.write(toFile: dir + "/fortunes/wisdom", atomically: true, encoding: .utf8)
        try Data([0, 1, 2, 37]).write(to: URL(fileURLWithPath: dir + "/fortunes/wisdom.dat"))
        try "%%%%%%%%".write(toFile: dir + "/fortunes/wisdom.u8", atomically: true, encoding: .utf8)
        let f = try CharCorpus(path: dir + "/fortunes")
        let all = (f.train + f.validation + f.test).map { $0 < f.unknownID ? f.vocabulary[Int($0)] : "?" }
        #expect(String(all) == String(repeating: "Be kind.\nRead more.\n", count: 5))
    }

    // MARK: char_lm streams

    @Test func charLMBatchesContinueContiguousStreamsAndResume() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = String((0 ..< 2000).map { i in Array("abcdefghijklmnopqrstuvwxyz .,\n")[(i * i + 3 * i) % 30] })
        try text.write(toFile: dir + "/t.txt", atomically: true, encoding: .utf8)
        let corpus = try CharCorpus(path: dir + "/t.txt")
        let (b, steps) = (4, 7)
        let task = try CharLMTask(corpus: corpus, sequenceLength: steps, batchSize: b)
        let perEpoch = try #require(task.batchesPerEpoch)
        #expect(perEpoch == (1800 - 1) / 4 / 7)
        let streamLength = (corpus.train.count - 1) / b
        var batches: [TaskBatch<Double>] = []
        for _ in 0 ..< perEpoch + 2 { batches.append(task.nextBatch(Double.self)) }
        for (n, batch) in batches.enumerated() {
            let index = n % perEpoch
            #expect(batch.reset == (index == 0), "batch \(n)")
            for j in 0 ..< b {
                for t in 0 ..< steps {
                    let position = j * streamLength + index * steps + t
                    let row = (0 ..< corpus.classes).map { batch.x.at(t, j, $0) }
                    #expect(row.firstIndex(of: 1) == Int(corpus.train[position]) && row.reduce(0, +) == 1)
                    #expect(batch.y.data[t * b + j] == Double(corpus.train[position + 1] + 1))
                }
            }
        }
        let saved = task.state
        let ahead = (0 ..< 3).map { _ in task.nextBatch(Double.self).y.scalars }
        let resumed = try CharLMTask(corpus: corpus, sequenceLength: steps, batchSize: b)
        resumed.state = saved
        #expect((0 ..< 3).map { _ in resumed.nextBatch(Double.self).y.scalars } == ahead)
        #expect(task.validationBatches(Double.self).count == (100 - 1) / 4 / 7)
        #expect(Self.message { try CharLMTask(corpus: corpus, sequenceLength: 30, batchSize: 4) }
            == "char_lm: the validation split (100 characters) is too short for 4 streams of at least seq_len = 30")
    }
}
