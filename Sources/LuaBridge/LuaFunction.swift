import CLua
import LuaShim

/// The body of a Swift function callable from Lua: arguments in, results out, errors thrown.
public typealias LuaFunctionBody = (LuaArgs) throws -> [LuaValue]

/// A Swift closure as Lua sees it: a C closure (slab_trampoline) whose upvalue holds this box.
final class LuaFunctionBox {
    let body: LuaFunctionBody
    init(_ body: @escaping LuaFunctionBody) { self.body = body }
}

extension LuaState {
    /// Pushes a Swift function as a Lua function.
    static func pushFunction(_ body: @escaping LuaFunctionBody, on L: OpaquePointer) {
        slab_push_swift_function(L, Unmanaged.passRetained(LuaFunctionBox(body)).toOpaque())
    }

    /// Sets the C side's two entry points into Swift, once per process.
    static let installCallbacks: Void = slab_set_callbacks(dispatchFromLua, releaseFromLua)
}

/// Runs a Swift function for Lua. Errors are reported by return code: slab_trampoline raises them
/// after this frame has returned, so no longjmp ever crosses Swift code.
private let dispatchFromLua: slab_dispatch_fn = { L, box, argIndex in
    guard let L, let box, let argIndex else { return Int32(SLAB_RAISE_VALUE) }
    let function = Unmanaged<LuaFunctionBox>.fromOpaque(box).takeUnretainedValue()
    let args = LuaArgs(L)
    let code: Int32
    do {
        let results = try function.body(args)
        guard lua_checkstack(L, Int32(clamping: results.count + 3)) != 0 else {
            throw LuaError.runtime("too many results (\(results.count))")
        }
        let top = lua_gettop(L)
        do {
            for r in results { try LuaState.push(r, on: L) }
        } catch {
            lua_settop(L, top)
            throw error
        }
        return Int32(results.count)
    } catch let LuaError.argument(index, message) {
        argIndex.pointee = Int32(clamping: index)
        code = Int32(SLAB_RAISE_ARG)
        lua_pushstring(L, message)
    } catch let LuaError.lua(message) {
        code = Int32(SLAB_RAISE_VALUE)
        lua_pushstring(L, message)
    } catch let LuaError.syntax(message) {
        code = Int32(SLAB_RAISE_VALUE)
        lua_pushstring(L, message)
    } catch let LuaError.runtime(message) {
        code = Int32(SLAB_RAISE_WHERE)
        lua_pushstring(L, message)
    } catch {
        code = Int32(SLAB_RAISE_WHERE)
        lua_pushstring(L, "\(error)")
    }
    return code
}

private let releaseFromLua: slab_release_fn = { object in
    if let object { Unmanaged<AnyObject>.fromOpaque(object).release() }
}
