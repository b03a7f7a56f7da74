import Foundation
import SpectralNumerics
import Testing

/// What the BLAS start-up (BLASThreading/ThreadTimeout.c) leaves behind.
@Suite struct BLASLibraryTests {
    /// The idle spin is shortened and named in the run record's description, and the process's
    /// environment is left as it started: a binary linked with --static-swift-stdlib (scripts/install)
    /// finds its arguments next to the initial environment, and with the environment moved by setenv
    /// every command of it saw none.
    @Test(.disabled(if: Self.setByTheCaller, "the environment that started the tests sets OPENBLAS_THREAD_TIMEOUT itself"))
    func theThreadTimeoutIsSetWithoutTouchingTheEnvironment() {
        #expect(BLASLibrary.description.hasSuffix("thread timeout 2^18)"), "\(BLASLibrary.description)")
        #expect(getenv("OPENBLAS_THREAD_TIMEOUT") == nil)
    }

    /// Whether the process started with the variable: /proc/self/environ is the environment as exec
    /// passed it, whatever setenv did since.
    static var setByTheCaller: Bool {
        let initial = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/self/environ"))) ?? Data()
        return initial.split(separator: 0).contains { $0.starts(with: Data("OPENBLAS_THREAD_TIMEOUT=".utf8)) }
    }
}
