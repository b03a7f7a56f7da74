import COpenBLAS
import Foundation

/// The BLAS library behind every kernel, as a run record names it: results depend on it and on its
/// thread count (a sum reduced over 2 threads rounds differently than over 1).
public enum BLASLibrary {
    /// OpenBLAS's build configuration and the kernel core it chose, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64 (core Haswell)".
    public static var description: String {
        let config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "?"
        return "\(config.trimmingCharacters(in: [" "])) (core \(core))"
    }

    /// The most threads this build runs (its MAX_THREADS; asking for more gives this many).
    public static var maximumThreads: Int {
        let config = openblas_get_config().map { String(cString: $0) } ?? ""
        guard let r = config.range(of: #"MAX_THREADS=\d+"#, options: .regularExpression),
              let n = Int(config[r].dropFirst("MAX_THREADS=".count)) else { return Int(openblas_get_num_procs()) }
        return n
    }

    /// The threads BLAS calls use.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}
