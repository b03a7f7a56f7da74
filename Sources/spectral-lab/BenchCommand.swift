import ArgumentParser
import BenchmarkWorkloads
import Foundation
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
                (n=512, k=512, B=64, T=200). GFLOP/s use the plain RNN's recurrent flop count, 6·T·B·n², \
                for every cell; "vs rnn" is the step time over the plain RNN's; sgemm is (B×n)·(n×n). \
                Adam runs with learning rate 0: every timed step does a training step's work from the same \
                initial parameters. The cells and the sgemm of a shape are timed round-robin, so a change \
                in the machine's load falls on all of them alike.
                """
        )

        @Option(help: "Comma-separated shapes to run (pixel, adding, wide).")
        var shapes = "pixel,adding,wide"

        @OptionGroup var timing: Timing

        func validate() throws {
            let known = Set(TrainBenchmark.shapes.map(\.name))
            for s in shapes.split(separator: ",") where !known.contains(String(s)) {
                throw ValidationError("unknown shape '\(s)' (shapes: \(TrainBenchmark.shapes.map(\.name).joined(separator: ", ")))")
            }
        }

        func run() throws {
            let wanted = Set(shapes.split(separator: ",").map(String.init))
            print("One training step (float32, Adam), medians")
            print(["shape", "cell", "ms/step", "GFLOP/s", "sgemm", "% sgemm", "vs rnn"].enumerated().map { i, h in
                let w = [8, 12, 10, 9, 8, 8, 8][i]
                return i < 2 ? h.padding(toLength: w, withPad: " ", startingAt: 0) : String(repeating: " ", count: max(0, w - h.count)) + h
            }.joined(separator: " "))
            var rows: [TrainBenchmark.Row] = []
            var bench = TrainBenchmark()
            bench.stopwatch = timing.stopwatch
            try bench.run(shapes: TrainBenchmark.shapes.filter { wanted.contains($0.name) }) { r in
                rows.append(r)
                let rnn = rows.first { $0.shape.name == r.shape.name && $0.cell == "rnn" }
                let ratio = rnn.map { String(format: "%.2f×", r.seconds / $0.seconds) } ?? "(rnn last)"
                print(r.shape.name.padding(toLength: 8, withPad: " ", startingAt: 0) + " "
                      + r.cell.padding(toLength: 12, withPad: " ", startingAt: 0)
                      + String(format: " %10.1f %9.1f %8.1f %7.0f%% %8@", r.seconds * 1e3, r.gflops, r.sgemmGflops,
                               100 * r.gflops / r.sgemmGflops, ratio))
                Console.flush()
            }
            // The ratios against rnn, now that every rnn row is in.
            for r in rows where r.cell != "rnn" {
                if let rnn = rows.first(where: { $0.shape.name == r.shape.name && $0.cell == "rnn" }) {
                    print(String(format: "%@ %@: %.2f× the plain RNN's step", r.shape.name, r.cell, r.seconds / rnn.seconds))
                }
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
