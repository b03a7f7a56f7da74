import CLua
import Foundation
import LuaShim

/// One Lua 5.4 state with the standard libraries open. Not thread-safe: one state, one isolation domain.
public final class LuaState {
    public let L: OpaquePointer
    /// "Lua 5.4.4": the release of the linked library.
    public static let release = String(cString: slab_lua_release())
    /// "qualified.name" → one-line description, for every documented function registered.
    public internal(set) var documentation: [(name: String, doc: String)] = []
    /// Help topics for classes: topic name, a title, and (method, doc) pairs.
    public internal(set) var topics: [(topic: String, title: String, methods: [(name: String, doc: String)])] = []
    /// The declared options of functions, by qualified name ("lab.models.rnn").
    public internal(set) var declarations: [String: LuaOptions] = [:]
    /// The classes whose objects this state has seen, by Lua class name (for help(obj)).
    public internal(set) var classes: [String: LuaClassSpec] = [:]
    /// lua_topointer of documented functions → qualified name (for `help(fn)`).
    var documentedFunctions: [UnsafeRawPointer: String] = [:]
    /// The program that runs this state (the workbench's session), for methods of objects that need
    /// it — a model's save goes through the session's sandbox. Weak: the host owns the state.
    public weak var host: AnyObject?

    public init() {
        LuaState.installCallbacks
        guard let L = slab_newstate() else { fatalError("Lua could not allocate its state") }
        self.L = L
        slab_set_extraspace(L, Unmanaged.passUnretained(self).toOpaque())
        luaL_openlibs(L)
        slab_text_chunks_only(L)
    }

    deinit {
        documentedFunctions.removeAll()
        slab_close(L)
    }

    /// The LuaState that owns L (also for coroutines: they share the main thread's extra space).
    static func from(_ L: OpaquePointer) -> LuaState? {
        guard let p = slab_extraspace(L) else { return nil }
        return Unmanaged<LuaState>.fromOpaque(p).takeUnretainedValue()
    }

    // MARK: Running code

    /// Compiles a chunk (text only, never bytecode) and leaves its function on the stack.
    public func load(_ code: String, chunkName: String) throws {
        let status = code.utf8CString.withUnsafeBufferPointer { buf in
            slab_load(L, buf.baseAddress, buf.count - 1, chunkName)
        }
        if status != LUA_OK { throw LuaError.syntax(popMessage()) }
    }

    /// Compiles a file as luaL_loadfile does (a first line starting with '#' and a UTF-8 BOM are
    /// skipped; text only), under the chunk name "@displayName" so that messages read
    /// "displayName:LINE: message". Lua cuts chunk names past 60 characters to "...tail": give a
    /// short display name (a relative path) to keep messages whole.
    public func load(file path: String, displayName: String? = nil) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LuaError.syntax("cannot open \(displayName ?? path)")
        }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if bytes.first == UInt8(ascii: "#") {   // keep the newline, so line numbers stay right
            bytes.removeSubrange(0 ..< (bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count))
        }
        let status = bytes.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { slab_load(L, $0.baseAddress, $0.count, "@" + (displayName ?? path)) }
        }
        if status != LUA_OK { throw LuaError.syntax(popMessage()) }
    }

    /// Calls the function below `nargs` arguments on the stack under a traceback handler.
    /// On error the message carries position and traceback.
    @discardableResult
    public func call(nargs: Int32 = 0) throws -> [LuaValue] {
        let base = lua_gettop(L) - nargs - 1
        if slab_pcall_traceback(L, nargs, LUA_MULTRET) != LUA_OK { throw LuaError.lua(popMessage()) }
        defer { lua_settop(L, base) }
        return try (base + 1 ..< lua_gettop(L) + 1).map { try LuaState.value(at: $0, on: L) }
    }

    /// Runs a chunk of code and returns its results.
    @discardableResult
    public func run(_ code: String, chunkName: String = "=(swift)") throws -> [LuaValue] {
        try load(code, chunkName: chunkName)
        return try call()
    }

    /// Compiles a file (as `load(file:displayName:)`) into a function value, without running it.
    public func function(file path: String, displayName: String? = nil) throws -> LuaRef {
        try load(file: path, displayName: displayName)
        defer { slab_pop(L, 1) }
        return LuaRef(at: -1, on: L)
    }

    /// Compiles a chunk of code into a function value, without running it.
    public func function(code: String, chunkName: String) throws -> LuaRef {
        try load(code, chunkName: chunkName)
        defer { slab_pop(L, 1) }
        return LuaRef(at: -1, on: L)
    }

    /// Runs a file and returns its results.
    @discardableResult
    public func run(file path: String, displayName: String? = nil, arguments: [LuaValue] = []) throws -> [LuaValue] {
        try load(file: path, displayName: displayName)
        for a in arguments { try LuaState.push(a, on: L) }
        return try call(nargs: Int32(arguments.count))
    }

    /// Calls a Lua function value with arguments, from Swift code that runs on thread `L`
    /// (use the thread of the Swift function being called: coroutines have their own).
    public static func call(_ function: LuaRef, _ arguments: [LuaValue], on L: OpaquePointer) throws -> [LuaValue] {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        try push(.ref(function), on: L)
        for a in arguments { try push(a, on: L) }
        if slab_pcall_traceback(L, Int32(arguments.count), LUA_MULTRET) != LUA_OK {
            throw LuaError.lua(string(at: -1, on: L))
        }
        return try (top + 1 ..< lua_gettop(L) + 1).map { try value(at: $0, on: L) }
    }

    /// Calls a Lua function with copies of stack slots as its arguments (values untouched by Swift).
    static func call(_ function: LuaRef, forwarding slots: [Int32], on L: OpaquePointer) throws -> [LuaValue] {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        guard lua_checkstack(L, Int32(slots.count) + 2) != 0 else { throw LuaError.runtime("Lua stack overflow") }
        try push(.ref(function), on: L)
        for s in slots { lua_pushvalue(L, s) }
        if slab_pcall_traceback(L, Int32(slots.count), LUA_MULTRET) != LUA_OK {
            throw LuaError.lua(string(at: -1, on: L))
        }
        return try (top + 1 ..< lua_gettop(L) + 1).map { try value(at: $0, on: L) }
    }

    /// Calls the function that `load` left on the stack and renders each of its results as text with
    /// the Lua function `render` (which sees the values themselves). For a REPL.
    /// The first result, if any, becomes the global `keepFirstAs` (the REPL's `_`), set raw.
    public func callRendering(with render: LuaRef, keepFirstAs global: String? = nil) throws -> [String] {
        let base = lua_gettop(L) - 1
        defer { lua_settop(L, base) }
        if slab_pcall_traceback(L, 0, LUA_MULTRET) != LUA_OK { throw LuaError.lua(popMessage()) }
        let results = lua_gettop(L) - base
        if let global, results > 0, lua_checkstack(L, 3) != 0 {
            slab_pushglobaltable(L)
            lua_pushstring(L, global)
            lua_pushvalue(L, base + 1)
            lua_rawset(L, -3)
            slab_pop(L, 1)
        }
        return try (0 ..< results).map { i in
            try LuaState.call(render, forwarding: [base + 1 + i], on: L).first?.string ?? ""
        }
    }

    /// The message on top of the stack (any value, through a protected tostring), popped.
    func popMessage() -> String {
        defer { slab_pop(L, 1) }
        if lua_type(L, -1) == LUA_TSTRING { return LuaState.string(at: -1, on: L) }
        defer { slab_pop(L, 1) }
        if slab_tostring_protected(L, -1) == LUA_OK { return LuaState.string(at: -1, on: L) }
        return "(error object is a \(LuaState.typeName(at: -2, on: L)) value)"
    }

    // MARK: Globals

    /// Sets a global raw (a script may have given _G a metatable: no metamethod may run from Swift).
    public func setGlobal(_ name: String, _ value: LuaValue) throws {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        slab_pushglobaltable(L)
        lua_pushstring(L, name)
        try LuaState.push(value, on: L)
        lua_rawset(L, -3)
    }

    /// A global read raw (no metamethods).
    public func global(_ name: String) throws -> LuaValue {
        slab_pushglobaltable(L)
        lua_pushstring(L, name)
        lua_rawget(L, -2)
        defer { slab_pop(L, 2) }
        return try LuaState.value(at: -1, on: L)
    }

    /// A numeral read as Lua reads it (decimal, hexadecimal, exponent; integer or float), or nil.
    public func number(from text: String) -> LuaValue? {
        guard !text.utf8.contains(0), lua_stringtonumber(L, text) != 0 else { return nil }
        defer { slab_pop(L, 1) }
        return try? LuaState.value(at: -1, on: L)
    }

    // MARK: Memory

    private var unreportedNativeBytes = 0

    /// Tells the collector about memory outside Lua (throttled to one GC step per MiB), so a loop
    /// that makes big objects does not let thousands of them pile up before a collection.
    func reportNativeAllocation(_ bytes: Int) {
        unreportedNativeBytes += bytes
        if unreportedNativeBytes >= 1 << 20 {
            slab_gc_step(L, Int32(clamping: unreportedNativeBytes >> 10))
            unreportedNativeBytes = 0
        }
    }

    public func collectGarbage() { slab_gc_collect(L) }

    /// A soft cap on the bytes the Lua heap holds (nil: none). Lua code that goes over it gets
    /// "not enough memory"; a Swift function that does gets the same error once it has returned.
    public var heapLimit: Int? {
        didSet { slab_set_heap_limit(L, heapLimit.map { size_t(max(0, $0)) } ?? size_t.max) }
    }
    /// The bytes the Lua heap holds now.
    public var heapUsed: Int { Int(slab_heap_used(L)) }

    /// Stops Lua code in this state after `count` VM instructions (for reading untrusted recipes).
    public func limitInstructions(_ count: Int32) { slab_limit_instructions(L, count) }

    // MARK: Stop requests (Ctrl-C, SIGTERM, SIGHUP)

    /// Makes Ctrl-C (and, with `alsoTerminate`, SIGTERM and SIGHUP) stop the Lua code running in
    /// this state; a pcall cannot swallow the stop, and a second signal ends the process.
    public func catchInterrupts(alsoTerminate: Bool = false) { slab_sigint_install(L, alsoTerminate ? 1 : 0) }
    public static func releaseInterrupts() { slab_sigint_restore() }
    public func clearInterrupt() { slab_interrupt_clear(L) }

    /// True once a stop was requested (until clearInterrupt).
    public static var interruptPending: Bool { slab_interrupt_pending() != 0 }

    /// The signal number of the pending stop request, or nil.
    public static var interruptSignal: Int32? {
        let signal = slab_interrupt_signal()
        return signal == 0 ? nil : signal
    }

    /// Sets `<module>.defer_interrupts`, a C function (it must catch and re-raise errors, which a
    /// Swift function cannot): f(...) runs with stop requests deferred to when it returns.
    public func registerInterruptDeferral(in module: String) {
        let name = "\(module).defer_interrupts"
        documentation.append((name, "\(name)(f, ...): calls f(...) with stop requests (Ctrl-C, SIGTERM, SIGHUP) deferred: f polls \(module).interrupted() to stop cleanly; the stop is raised as f returns"))
        lua_getglobal(L, module)
        defer { slab_pop(L, 1) }
        guard lua_type(L, -1) == LUA_TTABLE else { return }
        slab_push_defer_interrupts(L)
        if let p = lua_topointer(L, -1) { documentedFunctions[p] = name }
        lua_setfield(L, -2, "defer_interrupts")
    }
}
