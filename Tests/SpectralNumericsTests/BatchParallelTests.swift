import Foundation
import SpectralNumerics
import Synchronization
import Testing

/// The batch's parts on threads of their own (BatchParallel): they tile the batch, run at once
/// without disturbing each other, and an error in one comes back to the caller.
@Suite struct BatchParallelTests {
    @Test func aPartIsAtLeastSixteenRows() {
        #expect(BatchParallel.parts(batch: 33) == min(2, BLASLibrary.threads))
        #expect(BatchParallel.parts(batch: 31) == 1)
    }

    @Test func partsTileTheBatchInOrder() throws {
        let seen = Mutex<[Int: Range<Int>]>([:])
        try BatchParallel.forEachPart(batch: 33) { p, rows in seen.withLock { $0[p] = rows } }
        let parts = seen.withLock { $0 }
        #expect(parts.count == BatchParallel.parts(batch: 33))
        #expect((0 ..< parts.count).flatMap { Array(parts[$0]!) } == Array(0 ..< 33))
    }

    @Test func anErrorInAPartIsRethrown() {
        struct Failed: Error {}
        #expect(throws: Failed.self) {
            try BatchParallel.forEachPart(batch: 64) { p, _ in if p == BatchParallel.parts(batch: 64) - 1 { throw Failed() } }
        }
    }

    /// Parts at once compute what they compute one after another, at one BLAS thread.
    @Test func partsAtOnceComputeWhatTheyComputeInTurn() throws {
        try #require(BatchParallel.parts(batch: 64) == 2, "two BLAS threads")
        var g = Random(seed: 7)
        let a: Tensor<Float> = g.normalTensor([64, 128]), w: Tensor<Float> = g.normalTensor([128, 128])
        let atOnce = Tensor<Float>(zeros: [64, 128]), inTurn = Tensor<Float>(zeros: [64, 128])
        func part(_ rows: Range<Int>, into c: Tensor<Float>) {
            for _ in 0 ..< 50 {
                Float.partGemm(false, true, rows.count, 128, 128, 1, a.data + rows.lowerBound * 128, 128, w.data, 128, 0, c.data + rows.lowerBound * 128, 128)
            }
        }
        try BatchParallel.forEachPart(batch: 64) { _, rows in part(rows, into: atOnce) }
        // In turn: the first part does both halves, the second nothing (BLAS at one thread in both).
        try BatchParallel.forEachPart(batch: 64) { p, _ in if p == 0 { part(0 ..< 32, into: inTurn); part(32 ..< 64, into: inTurn) } }
        #expect(atOnce.scalars == inTurn.scalars)
    }

    /// Bodies run at once call BLAS through the ordinary (locking) wrappers without waiting on the
    /// lock their pass holds, at one BLAS thread each: they compute what a part computes alone.
    @Test func concurrentBodiesUseOrdinaryBLASAtOneThread() throws {
        try #require(BLASLibrary.threads == 2, "two BLAS threads")
        var g = Random(seed: 8)
        let a: Tensor<Float> = g.normalTensor([96, 160]), w: Tensor<Float> = g.normalTensor([160, 160])
        let product = { (c: Tensor<Float>) in Float.gemm(false, true, 96, 160, 160, 1, a.data, 160, w.data, 160, 0, c.data, 160) }
        let first = Tensor<Float>(zeros: [96, 160]), second = Tensor<Float>(zeros: [96, 160]), alone = Tensor<Float>(zeros: [96, 160])
        try BatchParallel.concurrently([{ product(first) }, { product(second) }])
        try BatchParallel.forEachPart(batch: 16) { _, _ in
            Float.partGemm(false, true, 96, 160, 160, 1, a.data, 160, w.data, 160, 0, alone.data, 160)
        }
        #expect(first.scalars == alone.scalars)
        #expect(second.scalars == alone.scalars)
        struct Failed: Error {}
        #expect(throws: Failed.self) { try BatchParallel.concurrently([{}, { throw Failed() }]) }
    }
}
