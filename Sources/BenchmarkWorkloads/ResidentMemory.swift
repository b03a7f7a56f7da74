import Foundation

/// This process's resident memory from /proc/self/status, and its peak since the last reset: what a
/// training step really holds, page for page (Linux only; nil where /proc says nothing).
public enum ResidentMemory {
    /// Large blocks straight from mmap and back to the kernel when freed: without this, glibc raises
    /// its mmap threshold after the first big free and keeps later blocks on the heap, where freed
    /// memory stays resident and the next measurement would see another model's leftovers.
    public static func returnLargeBlocksToTheSystem() { _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 1 << 17) }

    public static var current: Int? { field("VmRSS") }
    public static var peak: Int? { field("VmHWM") }

    /// Starts the peak (VmHWM) again from the current resident size.
    public static func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    private static func field(_ name: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }   // "VmRSS:   1234 kB"
        }
        return nil
    }
}

/// glibc's mallopt (malloc.h, which the Glibc module does not bring in).
@_silgen_name("mallopt")
private func glibcMallopt(_ option: Int32, _ value: Int32) -> Int32
