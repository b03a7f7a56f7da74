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
        for sizes in ["0", "64,abc", "64,,128"] {   // every entry must be a size, none dropped
            let bad = try cli.run(["bench", "svd", "--sizes", sizes])
            #expect(bad.status == 2, "\(sizes)")
            #expect(bad.stderr.contains("--sizes takes comma-separated integers from 1 to 4096"), "\(bad.stderr)")
        }
    }
}
