import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The line at the bottom of a terminal that shows a training's progress in place (lab.progress):
/// drawn with a carriage return and erased to the end of the line, never part of output.log. What
/// the run prints goes above it: whoever writes to the terminal (OutputLog's copying thread, or
/// the run itself when nothing is copied) erases the line first and draws it again after a
/// complete line. Exists only when stdout is a terminal (and TERM is not "dumb").
public final class StatusLine: @unchecked Sendable {
    /// The terminal's status line, if stdout is a terminal.
    public nonisolated(unsafe) static var shared: StatusLine?

    private let fd: Int32
    private let lock = NSLock()
    private var text: String?
    private var drawn = false

    private init(fd: Int32) { self.fd = fd }

    /// Makes `shared` when stdout is a terminal; call before stdout is redirected (OutputLog).
    public static func attachIfTerminal() {
        guard shared == nil, isatty(1) != 0, ProcessInfo.processInfo.environment["TERM"] != "dumb" else { return }
        let fd = dup(1)
        if fd >= 0 { shared = StatusLine(fd: fd) }
    }

    /// The terminal's width in columns (80 when it does not say).
    public var width: Int {
        var size = winsize()
        return ioctl(fd, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
    }

    /// Shows `line` (cut to the terminal's width) in place of the previous one; nil erases it.
    public func set(_ line: String?) {
        lock.lock(); defer { lock.unlock() }
        text = line.map { String($0.prefix(max(width - 1, 1))) }
        draw()
    }

    /// Erases the line for a message written straight to the terminal; the next set() draws it again.
    public func erase() {
        lock.lock(); defer { lock.unlock() }
        if drawn { Self.erase.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }; drawn = false }
    }

    /// Writes `bytes` (a run's output on its way to the terminal) above the status line.
    func write(_ bytes: [UInt8], to terminal: Int32, using write: ([UInt8], Int32) -> Void) {
        lock.lock(); defer { lock.unlock() }
        if drawn { write(Self.erase, fd); drawn = false }
        write(bytes, terminal)
        if bytes.last == UInt8(ascii: "\n") { draw() }
    }

    private static let erase = Array("\r\u{1B}[K".utf8)

    private func draw() {
        let out: [UInt8]
        if let text { out = Array("\r\(text)\u{1B}[K".utf8) } else if drawn { out = Self.erase } else { return }
        out.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
        drawn = text != nil
    }
}
