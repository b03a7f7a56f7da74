import Foundation

/// Median wall times: one warm-up run, then repetitions until `budget` seconds per piece of work have
/// passed (at least `minimum`, at most `maximum` runs). Medians, because the machines are shared.
public struct Stopwatch {
    public var budget = 0.3
    public var minimum = 3
    public var maximum = 50

    public init() {}

    /// Medians of several pieces of work timed round-robin (one run of each per round), so that a
    /// change in the machine's load falls on all of them alike and their ratios stay fair.
    public func medians(_ works: [() throws -> Void]) throws -> [Double] {
        for w in works { try w() }
        var times = [[Double]](repeating: [], count: works.count)
        let start = now()
        while times[0].count < minimum || (times[0].count < maximum && now() - start < budget * Double(works.count)) {
            for (i, w) in works.enumerated() {
                let t0 = now()
                try w()
                times[i].append(now() - t0)
            }
        }
        return times.map { $0.sorted()[$0.count / 2] }
    }

    private func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
