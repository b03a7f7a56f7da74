import Foundation
import LuaBridge

/// The points of a sweep: the Cartesian product of the grids (`--grid lr=1e-3,1e-2`), times the
/// values that go in pairs (`--zip lr=1e-3,1e-2 --zip clip=0,1`: one axis), times the seeds
/// (`--seeds 1-5`, each a run's `--seed`), each with the `--set` values every point shares. A
/// point is one run directory, named after its values: `lr=0.001,seed=3`.
public struct SweepPlan: Equatable {
    public struct Point: Equatable {
        public let name: String
        /// Its own values, in the order of the command line ("lr=0.001").
        public let values: [String]
        public let seed: Int?
        /// What its run gets: the shared --set values, then its own.
        public let sets: [String]
    }

    public let points: [Point]

    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// `--grid NAME=V1,V2,…` values: split at ';' when there is one (for list values:
    /// `cells=spectral,rnn;lstm`), else at ','.
    static func values(_ option: String, flag: String) throws -> (name: String, values: [String]) {
        guard let eq = option.firstIndex(of: "="), eq != option.startIndex else {
            throw Failure(description: "\(flag) expects NAME=V1,V2,…, got '\(option)'")
        }
        let name = String(option[..<eq]), rest = option[option.index(after: eq)...]
        let values = rest.split(separator: rest.contains(";") ? ";" : ",", omittingEmptySubsequences: false).map(String.init)
        guard !rest.isEmpty, !values.contains(where: \.isEmpty) else {
            throw Failure(description: "\(flag) \(name)= needs a list of values, got '\(rest)'")
        }
        return (name, values)
    }

    /// `--seeds 1-5` or `1,3,7` (or both: `1-3,10`).
    static func seeds(_ text: String) throws -> [Int] {
        var seeds: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard let lo = ends.first ?? nil, ends.count <= 2, let hi = ends.last ?? nil, lo >= 0, hi >= lo, hi - lo < 100_000 else {
                throw Failure(description: "--seeds takes seeds ≥ 0 as 1-5 or 1,3,7, got '\(text)'")
            }
            seeds += Array(lo ... hi)
        }
        guard Set(seeds).count == seeds.count else { throw Failure(description: "--seeds names a seed twice: '\(text)'") }
        return seeds
    }

    public init(grids: [String], zips: [String] = [], seeds: String? = nil, sets: [String] = []) throws {
        var axes: [[[String]]] = []   // each axis: its choices, each a list of "name=value"
        var names: [String] = []
        for g in grids {
            let (name, values) = try Self.values(g, flag: "--grid")
            names.append(name)
            axes.append(values.map { ["\(name)=\($0)"] })
        }
        if !zips.isEmpty {
            let zipped = try zips.map { try Self.values($0, flag: "--zip") }
            guard Set(zipped.map(\.values.count)).count == 1 else {
                throw Failure(description: "--zip lists go in pairs and must have one length: " + zipped.map { "\($0.name) has \($0.values.count)" }.joined(separator: ", "))
            }
            names += zipped.map(\.name)
            axes.append((0 ..< zipped[0].values.count).map { i in zipped.map { "\($0.name)=\($0.values[i])" } })
        }
        let setNames = sets.compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) }
        for n in names + setNames where (names + setNames).filter({ $0 == n }).count > 1 {
            throw Failure(description: "'\(n)' is given more than once (in --grid, --zip or --set)")
        }
        var combos: [[String]] = [[]]
        for axis in axes { combos = combos.flatMap { c in axis.map { c + $0 } } }
        let seedList = try seeds.map(Self.seeds) ?? []
        points = combos.flatMap { values -> [Point] in
            let base = values.map(Self.safe)
            guard !seedList.isEmpty else {
                return [Point(name: base.isEmpty ? "default" : base.joined(separator: ","), values: values, seed: nil, sets: sets + values)]
            }
            return seedList.map { seed in Point(name: (base + ["seed=\(seed)"]).joined(separator: ","), values: values, seed: seed, sets: sets + values) }
        }
    }

    /// A value as part of a folder name: '/' and control characters become '_'.
    static func safe(_ s: String) -> String {
        String(s.map { $0 == "/" || $0.isNewline || ($0.asciiValue.map { $0 < 32 } ?? false) ? "_" : $0 })
    }
}
