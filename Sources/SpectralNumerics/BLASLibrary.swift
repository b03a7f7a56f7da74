import BLASThreading
import COpenBLAS
import Foundation
import Synchronization

/// The BLAS library behind every kernel, as a run record names it: results depend on it and on its
/// thread count (a sum reduced over 2 threads rounds differently than over 1).
public enum BLASLibrary {
    /// OpenBLAS's build configuration, the kernel core it chose and how long its idle threads spin
    /// (2^n cycles; ThreadTimeout.c sets it), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell
    /// MAX_THREADS=64 (core Haswell, thread timeout 2^18)".
    public static var description: String {
        let config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "?"
        let timeout = blas_thread_timeout().map { "2^" + String(cString: $0) } ?? "default"
        return "\(config.trimmingCharacters(in: [" "])) (core \(core), thread timeout \(timeout))"
    }

    /// The most threads this build runs (its MAX_THREADS; asking for more gives this many).
    public static var maximumThreads: Int {
        let config = openblas_get_config().map { String(cString: $0) } ?? ""
        guard let r = config.range(of: #"MAX_THREADS=\d+"#, options: .regularExpression),
              let n = Int(config[r].dropFirst("MAX_THREADS=".count)) else { return Int(openblas_get_num_procs()) }
        return n
    }

    /// The threads BLAS calls use (and the parts BatchParallel splits a batch into), as configured:
    /// not OpenBLAS's momentary count, which is 1 while a BatchParallel pass runs on another thread.
    /// Set while no BLAS call runs (BLASLock.c).
    public static var threads: Int {
        get { configured.withLock { $0 } }
        set {
            blas_parts_begin()
            defer { blas_parts_end() }
            openblas_set_num_threads(Int32(newValue))
            configured.withLock { $0 = Int(openblas_get_num_threads()) }
        }
    }
    /// OpenBLAS's count when first asked. Only this setter and the passes of parts change it, and a
    /// pass asks for the count before it sets 1.
    private static let configured = Mutex(Int(openblas_get_num_threads()))
}
