import LuaShim
#if canImport(Glibc)
import Glibc
#endif

/// Where the workbench's own messages go: stderr, after stdout is flushed (so the order on a
/// terminal is the order of events).
public enum Console {
    public static func error(_ message: String) {
        StatusLine.shared?.erase()   // not after a progress line on the same row
        let text = message.hasSuffix("\n") ? message : message + "\n"
        text.utf8CString.withUnsafeBufferPointer { slab_write_stderr($0.baseAddress, $0.count - 1) }
    }

    public static func flush() { slab_flush_stdout() }

    /// The name of a stop signal, as lab.interrupted() and the run's last line give it.
    static func signalName(_ signal: Int32) -> String {
        [SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGHUP: "SIGHUP"][signal] ?? "signal \(signal)"
    }
}
