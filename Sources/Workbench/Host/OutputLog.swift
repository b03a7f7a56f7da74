import Foundation
import LuaShim
#if canImport(Glibc)
import Glibc
#endif

/// Everything a run prints goes to the terminal as before and also to `output.log` in its run
/// directory. It is done at the file descriptors: stdout and stderr become pipes that one thread
/// reads and copies to both places, so that nothing written to them (Lua's print and io.write, the
/// workbench's messages, a C library's warnings) is missed. One thread reading both pipes, stdout
/// first, keeps the log in the order things were written: the workbench flushes stdout before it
/// writes to stderr, so when stderr's bytes are seen stdout's are already waiting.
final class OutputLog {
    private let log: Int32
    private let terminal: (out: Int32, err: Int32)
    private let done = DispatchSemaphore(value: 0)

    /// Starts copying; the log is appended to (a resumed run adds to what the earlier ones printed).
    init(appendingTo path: String, header: String) throws {
        log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard log >= 0 else { throw RunDirectoryError("cannot open \(path): \(String(cString: strerror(errno)))") }
        if !header.isEmpty { OutputLog.write(Array(header.utf8), to: log) }
        fflush(nil)
        StatusLine.attachIfTerminal()   // the terminal's, before stdout becomes a pipe
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        terminal = (dup(1), dup(2))
        guard terminal.out >= 0, terminal.err >= 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw RunDirectoryError("cannot capture the run's output: \(String(cString: strerror(errno)))")
        }
        let readEnds = [outPipe[0], errPipe[0]]
        dup2(outPipe[1], 1)
        dup2(errPipe[1], 2)
        close(outPipe[1])
        close(errPipe[1])
        // A pipe would make stdout fully buffered: keep whole lines flowing, as on a terminal.
        slab_line_buffer_stdout()
        let (log, terminal, done) = (log, terminal, done)
        let reader = Thread { OutputLog.copy(from: readEnds, to: [terminal.out, terminal.err], log: log); done.signal() }
        reader.name = "output.log"
        reader.start()
    }

    /// Gives stdout and stderr back to the terminal once everything written so far is copied.
    func finish() {
        fflush(nil)
        dup2(terminal.out, 1)   // closes the pipes' last write ends: the reader sees their end
        dup2(terminal.err, 2)
        done.wait()
        close(terminal.out)
        close(terminal.err)
        close(log)
    }

    private static func copy(from pipes: [Int32], to terminals: [Int32], log: Int32) {
        var open = pipes.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var logWorks = true
        while open.contains(where: { $0.fd >= 0 }) {
            guard poll(&open, nfds_t(open.count), -1) >= 0 || errno == EINTR else { break }
            // One read per poll, stdout's first: what it holds was written before stderr's.
            if let i = open.indices.first(where: { open[$0].fd >= 0 && open[$0].revents != 0 }) {
                let n = read(open[i].fd, &buffer, buffer.count)
                if n < 0, errno == EINTR || errno == EAGAIN { continue }
                guard n > 0 else { close(open[i].fd); open[i].fd = -1; continue }
                let bytes = Array(buffer[0 ..< n])
                if let status = StatusLine.shared {
                    status.write(bytes, to: terminals[i]) { write($0, to: $1) }
                } else {
                    write(bytes, to: terminals[i])
                }
                if logWorks, !write(bytes, to: log) {
                    logWorks = false   // the disk is full, say: the terminal still gets everything
                    write(Array("spectral-lab: warning: cannot write output.log (\(String(cString: strerror(errno)))); the run goes on without it\n".utf8), to: terminals[1])
                }
            }
        }
    }

    @discardableResult
    private static func write(_ bytes: [UInt8], to fd: Int32) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }
}
