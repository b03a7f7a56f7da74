import CLua
import LuaShim

/// A Swift class whose instances live in Lua as userdata. Declare the class once:
///
///     extension Counter: LuaObject {
///         static let luaClass = LuaClass<Counter>("lab.Counter") { c in
///             c.method("add", "add(n): adds n, returns the new count") { this, args in
///                 this.count += try args.integer(2); return [.integer(this.count)]
///             }
///             c.property("count") { this in .integer(this.count) }
///             c.tostring { "Counter(\($0.count))" }
///         }
///     }
///
/// and return `.object(counter)` from any Swift function. Lua's collector owns the userdata; its
/// __gc releases the Swift object (once).
public protocol LuaObject: AnyObject, SendableMetatype {
    static var luaClass: LuaClass<Self> { get }
}

extension LuaObject {
    /// The class name Lua sees (__name), also through an existential.
    public var luaClassName: String { Self.luaClass.name }
}

/// Lua's metamethods that a class can implement.
public enum LuaMetamethod: String, Sendable {
    case add = "__add", sub = "__sub", mul = "__mul", div = "__div", mod = "__mod", pow = "__pow"
    case unm = "__unm", idiv = "__idiv", concat = "__concat", len = "__len", eq = "__eq"
    case lt = "__lt", le = "__le", call = "__call", newindex = "__newindex"
}

public typealias LuaSendableBody = @Sendable (LuaArgs) throws -> [LuaValue]

/// A class as declared for Lua: its name (the metatable's __name), methods, read-only properties,
/// metamethods and __tostring. Type-erased so a state can build the metatable from any instance.
public class LuaClassSpec: @unchecked Sendable {
    // Written only while the declaring closure runs inside init, then read-only: safe to share.
    public let name: String
    var methods: [(name: String, doc: String, body: LuaSendableBody)] = []
    var properties: [(name: String, body: LuaSendableBody)] = []
    var metamethods: [(LuaMetamethod, LuaSendableBody)] = []
    var tostringBody: LuaSendableBody?
    /// __index for keys that are neither methods nor properties (e.g. `t[3]`): (self, key).
    var indexFallback: LuaSendableBody?
    /// Bytes of native memory an instance holds, reported to Lua's collector (which sees only the
    /// small userdata) so that big objects are collected as promptly as Lua's own.
    var nativeSize: (@Sendable (AnyObject) -> Int)?

    init(name: String) { self.name = name }

    /// help(obj): the class's fields and methods, one per line.
    public var help: String {
        var lines = ["\(name):"]
        if !properties.isEmpty { lines.append("  fields: " + properties.map(\.name).joined(separator: ", ")) }
        for m in methods { lines.append("  " + m.doc) }
        return lines.joined(separator: "\n")
    }
}

/// The typed builder for a class T: every body receives `this: T` already checked.
public final class LuaClass<T: LuaObject>: LuaClassSpec, @unchecked Sendable {
    public init(_ name: String, _ declare: (LuaClass<T>) -> Void) {
        super.init(name: name)
        declare(self)
    }

    private static func this(_ args: LuaArgs) throws -> T { try args.object(1, T.self) }

    /// `obj:name(...)`: args[1] is the object, the method's own arguments start at 2.
    public func method(_ name: String, _ doc: String,
                       _ body: @escaping @Sendable (T, LuaArgs) throws -> [LuaValue]) {
        methods.append((name, doc, { args in try body(Self.this(args), args) }))
    }

    /// `obj.name`, read-only, computed on access.
    public func property(_ name: String, _ body: @escaping @Sendable (T) throws -> LuaValue) {
        properties.append((name, { args in [try body(Self.this(args))] }))
    }

    /// An operator or other metamethod. Either operand may be the object (`2 * t` calls __mul with
    /// the number first), so the body checks its own arguments.
    public func meta(_ m: LuaMetamethod, _ body: @escaping LuaSendableBody) {
        metamethods.append((m, body))
    }

    public func tostring(_ body: @escaping @Sendable (T) -> String) {
        tostringBody = { args in [.string(body(try Self.this(args)))] }
    }

    /// `obj[key]` for keys that are not method or property names; args[2] is the key.
    /// Errors come back as (nil, message) for the __index wrapper to raise at the caller's line.
    public func index(_ body: @escaping @Sendable (T, LuaArgs) throws -> LuaValue) {
        indexFallback = { args in
            do { return [try body(Self.this(args), args)] } catch LuaError.runtime(let m) {
                return [.nil, .string(m)]
            } catch LuaError.argument(_, let m) {
                return [.nil, .string(m)]
            }
        }
    }

    /// How many bytes of memory outside Lua an instance holds.
    public func nativeSize(_ body: @escaping @Sendable (T) -> Int) {
        nativeSize = { object in (object as? T).map(body) ?? 0 }
    }
}

extension LuaState {
    static func pushObject<T: LuaObject>(_ object: T, on L: OpaquePointer) {
        let spec: LuaClassSpec = T.luaClass
        ensureMetatable(spec, on: L)
        slab_push_object(L, Unmanaged.passRetained(object as AnyObject).toOpaque(), spec.name)
        if let size = spec.nativeSize, let state = from(L) { state.reportNativeAllocation(size(object)) }
    }

    static func object(at index: Int32, on L: OpaquePointer) -> (any LuaObject)? {
        guard let p = slab_to_object(L, index, nil) else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(p).takeUnretainedValue() as? any LuaObject
    }

    /// Builds the class's metatable in this state the first time one of its objects is pushed.
    static func ensureMetatable(_ spec: LuaClassSpec, on L: OpaquePointer) {
        defer { slab_pop(L, 1) }
        guard slab_new_metatable(L, spec.name) != 0 else { return }
        from(L)?.classes[spec.name] = spec
        let mt = lua_gettop(L)
        // Methods live in a plain table, so that `obj:name()` costs one table lookup.
        lua_createtable(L, 0, Int32(spec.methods.count))
        for m in spec.methods {
            pushFunction(m.body, on: L)
            lua_setfield(L, -2, m.name)
        }
        lua_pushvalue(L, -1)
        lua_setfield(L, mt, "__methods")
        if spec.properties.isEmpty && spec.indexFallback == nil {
            lua_setfield(L, mt, "__index")
        } else {
            // __index: methods first, then properties by name.
            lua_createtable(L, 0, Int32(spec.properties.count))
            for p in spec.properties {
                pushFunction(p.body, on: L)
                lua_setfield(L, -2, p.name)
            }
            if let fallback = spec.indexFallback { pushFunction(fallback, on: L) } else { lua_pushnil(L) }
            slab_push_index(L)
            lua_setfield(L, mt, "__index")
        }
        for (m, body) in spec.metamethods {
            pushFunction(body, on: L)
            lua_setfield(L, mt, m.rawValue)
        }
        if let body = spec.tostringBody {
            pushFunction(body, on: L)
            lua_setfield(L, mt, "__tostring")
        }
        if !spec.metamethods.contains(where: { $0.0 == .eq }) {
            // Two userdata for one Swift object are the same object.
            pushFunction({ args in
                [.boolean(slab_to_object(args.L, 1, nil) != nil
                          && slab_to_object(args.L, 1, nil) == slab_to_object(args.L, 2, nil))]
            }, on: L)
            lua_setfield(L, mt, "__eq")
        }
    }
}
