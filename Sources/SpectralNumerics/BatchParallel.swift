import BLASThreading
import COpenBLAS
import Foundation

/// The batch's rows split across the cores for a whole pass through time: the rows of a recurrent
/// batch never mix within a pass, so each core runs its part forward (or backward) over every step
/// with single-threaded GEMMs, and the threads meet once per pass instead of twice per step inside
/// each BLAS call. A step GEMM on B×n rows at n = 128 is too small for OpenBLAS's own threads to
/// pay (it reached a third of the roofline), while two 64-row GEMMs in two threads at once ran at
/// about twice one's rate (a C harness here: 107.7 against 57.0 GFLOP/s).
///
/// Meanwhile OpenBLAS runs at one thread and no other thread calls it (BLASLock.c); the parts call
/// it through `partGemm` and `partDot` only. Results are bitwise reproducible for a given thread
/// count and batch size. Another thread count splits the batch differently and rounds differently:
/// OpenBLAS's entries depend on how many rows a GEMM is given (a C harness here: 14 of 22 shapes
/// differed between M rows at once and two halves).
public enum BatchParallel {
    /// Rows below which a part is not worth a thread of its own.
    public static let minimumRows = 16

    /// How many parts a batch of `batch` rows is split into: one per BLAS thread, each at least
    /// `minimumRows` rows.
    public static func parts(batch: Int) -> Int {
        Swift.max(1, Swift.min(BLASLibrary.threads, batch / minimumRows))
    }

    /// ‖row t‖ over the whole batch from each part's sum of squares: squares is parts×steps, and
    /// the parts are added in order.
    public static func norms<T: TensorScalar>(fromPartSquares squares: Tensor<T>) -> [T] {
        let (parts, steps) = (squares.shape[0], squares.shape[1])
        return (0 ..< steps).map { t in (0 ..< parts).reduce(T(0)) { $0 + squares.data[$1 * steps + t] }.squareRoot() }
    }

    /// Runs `body(part, rows)` for each part of the batch, the parts at once on threads of their own;
    /// returns when all have finished. The parts' row ranges tile 0..<batch in order. `body` calls
    /// BLAS through partGemm and partDot only (it runs under the BLAS lock). The first error thrown
    /// is rethrown.
    public static func forEachPart(batch: Int, _ body: (_ part: Int, _ rows: Range<Int>) throws -> Void) throws {
        let count = parts(batch: batch)
        guard count > 1 else {
            blas_call_begin()
            defer { blas_call_end() }
            return try body(0, 0 ..< batch)
        }
        let bounds = (0 ... count).map { $0 * batch / count }
        try onThreads(count) { part in try body(part, bounds[part] ..< bounds[part + 1]) }
    }

    /// Runs the bodies at once, each on a thread of its own with single-threaded BLAS, which they
    /// may call through the ordinary wrappers (their threads are marked as parts: BLASLock.c); one
    /// after the other when BLAS has one thread. For independent work too small to keep OpenBLAS's
    /// two threads busy, such as U's and V's products of reflectors (`SVDLinear.build`). The bodies
    /// must not share what they write. The first error thrown is rethrown.
    public static func concurrently(_ bodies: [() throws -> Void]) throws {
        guard BLASLibrary.threads > 1, bodies.count > 1 else {
            for body in bodies { try body() }
            return
        }
        try onThreads(bodies.count) { try bodies[$0]() }
    }

    /// `body(0)`, …, `body(count − 1)` at once, under the BLAS lock with OpenBLAS at one thread,
    /// each thread marked as a part for its body's duration.
    private static func onThreads(_ count: Int, _ body: (Int) throws -> Void) throws {
        blas_parts_begin()
        openblas_set_num_threads(1)
        defer {
            openblas_set_num_threads(Int32(BLASLibrary.threads))
            blas_parts_end()
        }
        // Each part touches its own rows and its own error slot only, and concurrentPerform returns
        // after every part has: what the closures share is never written by two of them.
        let errors = UnsafeMutableBufferPointer<Error?>.allocate(capacity: count)
        errors.initialize(repeating: nil)
        defer { errors.deinitialize(); errors.deallocate() }
        nonisolated(unsafe) let (body, slots) = (body, errors)
        DispatchQueue.concurrentPerform(iterations: count) { part in
            blas_part_enter()
            defer { blas_part_leave() }
            do { try body(part) } catch { slots[part] = error }
        }
        if let error = errors.lazy.compactMap({ $0 }).first { throw error }
    }
}
