import ArgumentParser
import BenchmarkWorkloads
import Foundation
import SpectralNumerics
import Workbench

extension SpectralLab {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the kernels on this machine.",
            discussion: """
                Times are medians of repeated runs (the machines are shared and noisy); rates are \
                shown next to this machine's sgemm at the same size, measured in the same run.
                """,
            subcommands: [Householder.self, Parameterization.self, Train.self]
        )
    }
}

extension SpectralLab.Bench {
    /// The n's a kernel benchmark runs, as `--sizes 64,128`: every entry an integer in 1…limit.
    static func sizes(_ list: String, upTo limit: Int) throws -> [Int] {
        let sizes = list.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sizes.allSatisfy({ $0.map { (1 ... limit).contains($0) } == true }) else {
            throw ValidationError("--sizes takes comma-separated integers from 1 to \(limit), e.g. 64,128; got '\(list)'")
        }
        return sizes.map { $0! }
    }

    /// The compact WY block size of a kernel benchmark.
    struct Blocking: ParsableArguments {
        @Option(help: "Reflectors per compact WY block.")
        var block = 64

        func validate() throws {
            guard block >= 1 && block <= 4096 else { throw ValidationError("--block takes 1…4096") }
        }
    }

    /// How long each benchmark times its pieces of work.
    struct Timing: ParsableArguments {
        @Option(help: "Seconds to spend timing each piece of work (at least 3 runs each; more seconds, steadier medians).")
        var seconds = 0.3

        func validate() throws {
            guard seconds > 0 && seconds <= 3600 else { throw ValidationError("--seconds takes a number of seconds above 0, at most 3600") }
        }

        var stopwatch: Stopwatch {
            var s = Stopwatch()
            s.budget = seconds
            s.maximum = max(s.maximum, Int(seconds * 1000))   // a longer budget buys more runs of fast work too
            return s
        }
    }

    struct Householder: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply k Householder reflectors to an n×B batch: reflector-wise vs compact WY, forward and backward.",
            discussion: """
                For each n, k = n and k = n/4, float32. GFLOP/s use the reflector-wise algorithm's flop \
                count for both methods (4·B·Σ(n−i) forward, 14·B·Σ(n−i) backward), so the rates compare \
                directly; "% sgemm" is the forward rate over sgemm's rate for (B×n)·(n×n). Each (n, k) is \
                timed round-robin with its sgemm, so a change in the machine's load falls on all alike.
                """
        )

        @Option(help: "Comma-separated vector lengths n.")
        var sizes = "64,128,256,512,1024"

        @Option(help: "Batch size B.")
        var batch = 128

        @OptionGroup var blocking: Blocking
        @OptionGroup var timing: Timing

        func validate() throws {
            _ = try SpectralLab.Bench.sizes(sizes, upTo: 8192)
            guard batch >= 1 && batch <= 65536 else { throw ValidationError("--batch takes 1…65536") }
        }

        func run() throws {
            var bench = HouseholderBenchmark()
            bench.sizes = try SpectralLab.Bench.sizes(sizes, upTo: 8192)
            bench.batch = batch
            bench.blockSize = blocking.block
            bench.stopwatch = timing.stopwatch
            print("Householder products applied to an n×\(batch) batch (float32), compact WY in blocks of \(blocking.block), medians")
            let header: [(String, Int)] = [("n", 6), ("k", 6), ("method", -14), ("fwd ms", 10), ("GFLOP/s", 8),
                                           ("bwd ms", 10), ("GFLOP/s", 8), ("sgemm", 8), ("% sgemm", 9)]
            print(header.map { text, width in
                let pad = String(repeating: " ", count: max(0, abs(width) - text.count))
                return width < 0 ? text + pad : pad + text
            }.joined(separator: " "))
            try bench.run { r in
                print(String(format: "%6d %6d %-14@ %10.3f %8.1f %10.3f %8.1f %8.1f %8.0f%%", r.n, r.k, r.method,
                             r.forwardSeconds * 1e3, r.forwardGflops, r.backwardSeconds * 1e3, r.backwardGflops,
                             r.sgemmGflops, 100 * r.forwardGflops / r.sgemmGflops))
                Console.flush()   // a row as soon as it is measured, also into a pipe
            }
        }
    }
}

extension SpectralLab.Bench {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time one training step (forward over T, BPTT, Adam) for the paper's shapes and each cell.",
            discussion: """
                Shapes: pixel (n=128, k=16, B=128, T=784), adding (n=128, k=16, B=128, T=200), wide \
                (n=512, k=512, B=64, T=200). Cells: rnn (relu), spectral, orthogonal, rnn-tanh, lstm, gru. \
                GFLOP/s use the plain RNN's recurrent flop count, 6·T·B·n², for every cell; "% roof" is that \
                rate over sgemm's at n = 1024 (1024×1024 by 1024×1024, all threads), "% sgemm" over sgemm's at \
                the recurrence's own shape (B×n by n×n); "vs rnn" is the step time over the relu RNN's. "peak MB" \
                is the step's peak resident memory above what the process held before the model existed, \
                "need MB" what the step must hold: the tape the backward reads (states; an LSTM's cells and \
                gates, a GRU's gates; the spectral and orthogonal cells' tapes of W's reflector products, \
                as the model reports them), ∂L/∂h over T, the input and ∂x, and every parameter four times (value, \
                gradient, Adam's moments). Adam runs with learning rate 0: every timed step does a training \
                step's work from the same initial parameters. The cells and the sgemms of a shape are timed \
                round-robin, so a change in the machine's load falls on all of them alike. With --eval-data, \
                also one evaluation pass (model:predict, no tape) over pixel Fashion-MNIST's 10 000 test images.
                """
        )

        @Option(help: "Comma-separated shapes to run (pixel, adding, wide).")
        var shapes = "pixel,adding,wide"

        @Option(help: "Comma-separated cells to run (rnn, spectral, orthogonal, rnn-tanh, lstm, gru).")
        var cells = TrainBenchmark.cells.map(\.name).joined(separator: ",")

        @Option(help: "A folder of MNIST-format IDX files: also time an evaluation pass over its test set (Debian's dataset-fashion-mnist: /usr/share/datasets/fashion-mnist).")
        var evalData: String?

        @Option(help: "Images per batch of the evaluation pass.")
        var evalBatch = 1000

        @Flag(help: "One JSON object per row instead of the table (for scripts/torch-bench).")
        var json = false

        @OptionGroup var timing: Timing

        func validate() throws {
            _ = try selected(shapes, from: TrainBenchmark.shapes.map(\.name), "shape")
            _ = try selected(cells, from: TrainBenchmark.cells.map(\.name), "cell")
            guard (1 ... 10000).contains(evalBatch) else { throw ValidationError("--eval-batch takes 1…10000") }
        }

        /// The names of a comma-separated list, each one of `known`.
        private func selected(_ list: String, from known: [String], _ what: String) throws -> Set<String> {
            let names = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            for s in names where !known.contains(s) {
                throw ValidationError("unknown \(what) '\(s)' (\(what)s: \(known.joined(separator: ", ")))")
            }
            return Set(names)
        }

        func run() throws {
            let wantedShapes = try selected(shapes, from: TrainBenchmark.shapes.map(\.name), "shape")
            let wantedCells = try selected(cells, from: TrainBenchmark.cells.map(\.name), "cell")
            let benchCells = TrainBenchmark.cells.filter { wantedCells.contains($0.name) }
            let columns: [(String, Int)] = [("shape", -8), ("cell", -10), ("ms/step", 9), ("GFLOP/s", 8), ("roof", 7), ("% roof", 7),
                                            ("sgemm", 7), ("% sgemm", 8), ("vs rnn", 7), ("peak MB", 8), ("need MB", 8), ("peak/need", 9)]
            if !json {
                print("One training step (float32, Adam), medians; \(BLASLibrary.threads) BLAS threads")
                print(columns.map { text, width in
                    let pad = String(repeating: " ", count: max(0, abs(width) - text.count))
                    return width < 0 ? text + pad : pad + text
                }.joined(separator: " "))
            }
            var rows: [TrainBenchmark.Row] = []
            var bench = TrainBenchmark()
            bench.stopwatch = timing.stopwatch
            try bench.run(shapes: TrainBenchmark.shapes.filter { wantedShapes.contains($0.name) }, cells: benchCells) { r in
                rows.append(r)
                let rnn = rows.first { $0.shape.name == r.shape.name && $0.cell == "rnn" }
                let mb = { (b: Int) in Double(b) / 1e6 }
                if json {
                    var fields = [String(format: "\"shape\":\"%@\",\"cell\":\"%@\",\"ms\":%.3f,\"gflops\":%.2f,\"roofline_gflops\":%.2f,\"sgemm_gflops\":%.2f,\"need_mb\":%.2f",
                                         r.shape.name, r.cell, r.seconds * 1e3, r.gflops, r.rooflineGflops, r.sgemmGflops, mb(r.neededBytes))]
                    if let p = r.peakBytes { fields.append(String(format: "\"peak_mb\":%.2f", mb(p))) }
                    print("{" + fields.joined(separator: ",") + "}")
                } else {
                    let ratio = rnn.map { String(format: "%.2f×", r.seconds / $0.seconds) } ?? "-"
                    let peak = r.peakBytes.map { String(format: "%8.1f %8.1f %8.2f×", mb($0), mb(r.neededBytes), Double($0) / Double(r.neededBytes)) }
                        ?? String(format: "%8@ %8.1f %9@", "-", mb(r.neededBytes), "-")
                    print(r.shape.name.padding(toLength: 8, withPad: " ", startingAt: 0) + " "
                          + r.cell.padding(toLength: 10, withPad: " ", startingAt: 0)
                          + String(format: " %9.1f %8.1f %7.1f %6.0f%% %7.1f %7.0f%% %7@ ", r.seconds * 1e3, r.gflops, r.rooflineGflops,
                                   100 * r.gflops / r.rooflineGflops, r.sgemmGflops, 100 * r.gflops / r.sgemmGflops, ratio) + peak)
                }
                Console.flush()
            }
            guard let evalData else { return }
            if !json { print("\nEvaluation (model:predict, no tape) of the pixel shape over \(evalData)'s test set, batches of \(evalBatch), one pass") }
            try bench.evaluate(directory: evalData, cells: benchCells, batch: evalBatch) { e in
                if json {
                    print(String(format: "{\"eval\":\"pixel\",\"cell\":\"%@\",\"images\":%d,\"seconds\":%.3f}", e.cell, e.images, e.seconds))
                } else {
                    print(e.cell.padding(toLength: 10, withPad: " ", startingAt: 0)
                          + String(format: " %6d images in %7.2f s  (%.0f images/s)", e.images, e.seconds, Double(e.images) / e.seconds))
                }
                Console.flush()
            }
        }
    }
}

extension SpectralLab.Bench {
    struct Parameterization: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "svd",
            abstract: "Build W = U Σ Vᵀ (n×n) from its reflectors and send ∂W back to them: the SVD layer's cost per step.",
            discussion: """
                For each n, k = n and k = n/4 reflectors for U and for V, float32, compact WY. Both costs \
                are shown in milliseconds and in units of one n×n×n sgemm, timed round-robin with them: a \
                recurrent step costs 3·T·B/n of those, so this is what the parameterization adds to it.
                """
        )

        @Option(help: "Comma-separated sizes n.")
        var sizes = "128,256,512,1024"

        @OptionGroup var blocking: Blocking
        @OptionGroup var timing: Timing

        func validate() throws { _ = try SpectralLab.Bench.sizes(sizes, upTo: 4096) }

        func run() throws {
            var bench = ParameterizationBenchmark()
            bench.sizes = try SpectralLab.Bench.sizes(sizes, upTo: 4096)
            bench.blockSize = blocking.block
            bench.stopwatch = timing.stopwatch
            print("SVD parameterization of an n×n W (float32), compact WY in blocks of \(blocking.block), medians")
            print("     n      k   build ms  backward ms   sgemm ms   build/sgemm   backward/sgemm")
            try bench.run { r in
                print(String(format: "%6d %6d %10.3f %12.3f %10.3f %13.2f %16.2f", r.n, r.k, r.buildSeconds * 1e3,
                             r.backwardSeconds * 1e3, r.sgemmSeconds * 1e3, r.buildGemms, r.backwardGemms))
                Console.flush()
            }
        }
    }
}
