import Foundation
import Testing

/// The bench subcommands through the built binary, on sizes small enough to take milliseconds: the
/// tables come out whole, and bad options are command-line errors (exit 2) that name the option.
@Suite struct BenchCommandTests {
    @Test func svdPrintsARowPerSizeAndReflectorCount() throws {
        let r = try CLI().run(["bench", "svd", "--sizes", "8,16", "--seconds", "0.01"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").map { $0.split(separator: " ") }.filter { $0.count == 7 && Int($0[0]) != nil }
        #expect(rows.map { "\($0[0])×\($0[1])" } == ["8×8", "8×2", "16×16", "16×4"])
        for row in rows {   // build and backward take time, and are stated in sgemm-times as well
            let numbers = row[2...6].compactMap { Double($0) }
            #expect(numbers.count == 5, "\(row)")
            #expect(numbers[0] > 0 && numbers[1] > 0 && numbers[3] > 0 && numbers[4] > 0, "\(row)")
        }
    }

    @Test func householderAndTrainTakeTheTimingOption() throws {
        let cli = try CLI()
        let h = try cli.run(["bench", "householder", "--sizes", "8", "--batch", "4", "--seconds", "0.01"])
        #expect(h.status == 0, "\(h.stderr)")
        #expect(h.stdout.contains("compact WY"))
        let bad = try cli.run(["bench", "train", "--seconds", "0"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--seconds"))
        let cell = try cli.run(["bench", "train", "--cells", "lstm,tanh"])
        #expect(cell.status == 2)
        #expect(cell.stderr.contains("unknown cell 'tanh'"), "\(cell.stderr)")
        for sizes in ["0", "64,abc", "64,,128"] {   // every entry must be a size, none dropped
            let bad = try cli.run(["bench", "svd", "--sizes", sizes])
            #expect(bad.status == 2, "\(sizes)")
            #expect(bad.stderr.contains("--sizes takes comma-separated integers from 1 to 4096"), "\(bad.stderr)")
        }
    }

    /// One JSON row per cell: the time, the rates and what the step must hold, by the formula:
    /// a tanh RNN at the adding shape (n = 128, B = 128, T = 200, input 2) keeps h_0…h_T and ∂L/∂h
    /// over T (401 planes of 128×128), x and ∂x (2 × 200×128×2) and its 16 897 parameters 4 times.
    @Test func trainPrintsJSONRowsWithTheMemoryAStepNeeds() throws {
        let r = try CLI().run(["bench", "train", "--shapes", "adding", "--cells", "rnn-tanh", "--json", "--seconds", "0.01"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(rows.count == 1, "\(r.stdout)")
        let row = try #require(rows.first)
        #expect(row["shape"] as? String == "adding" && row["cell"] as? String == "rnn-tanh")
        #expect((row["ms"] as? Double ?? 0) > 0 && (row["roofline_gflops"] as? Double ?? 0) > 0)
        let needed = 4.0 * Double(401 * 128 * 128 + 2 * 200 * 128 * 2 + 4 * (128 * 128 + 128 * 2 + 128 + 128 + 1)) / 1e6
        #expect(abs((row["need_mb"] as? Double ?? 0) - needed) < 0.01, "\(row)")
        #expect((row["peak_mb"] as? Double ?? 0) > 0, "\(row)")
    }
}
