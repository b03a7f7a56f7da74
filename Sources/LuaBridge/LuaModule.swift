import CLua
import LuaShim

/// A Lua module declared in Swift: documented functions, constant values and submodules.
///
///     var lab = LuaModule("lab")
///     lab.value("version", "0.1.0")
///     lab.function("log", "lab.log(t): appends t to metrics.jsonl") { args in ... }
///     state.register(lab)   // `lab` global, and `require "lab"`
public struct LuaModule {
    public let name: String
    enum Entry {
        case function(doc: String, body: LuaFunctionBody)
        case value(LuaValue)
        case module(LuaModule)
    }
    var entries: [(name: String, entry: Entry)] = []
    /// The option declarations of this module's functions (not its submodules').
    var declarations: [LuaOptions] = []

    public init(_ name: String) { self.name = name }

    /// `doc` is one line for `help()`: the call's form, then what it does.
    public mutating func function(_ name: String, _ doc: String, _ body: @escaping LuaFunctionBody) {
        entries.append((name, .function(doc: doc, body: body)))
    }

    /// A function whose argument `index` is a table of declared options: the body gets them checked,
    /// defaults filled in; help() lists them.
    public mutating func function(_ name: String, _ doc: String, options declaration: LuaOptions, at index: Int = 1,
                                  _ body: @escaping (LuaArgs, LuaOptionValues) throws -> [LuaValue]) {
        entries.append((name, .function(doc: doc, body: { args in try body(args, args.options(index, declaration)) })))
        declarations.append(declaration)
    }

    public mutating func value(_ name: String, _ value: LuaValue) {
        entries.append((name, .value(value)))
    }

    public mutating func module(_ module: LuaModule) {
        entries.append((module.name, .module(module)))
    }
}

extension LuaState {
    /// Makes the module available as `require "name"` and, if `global`, as the global `name`.
    public func register(_ module: LuaModule, global: Bool = true) throws {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        try push(module, prefix: module.name)
        // package.loaded[name] = module (raw: these are the standard library's own tables)
        luaL_getsubtable(L, slab_registryindex(), LUA_LOADED_TABLE)
        lua_pushstring(L, module.name)
        lua_pushvalue(L, -3)
        lua_rawset(L, -3)
        slab_pop(L, 1)
        if global {
            slab_pushglobaltable(L)
            lua_pushstring(L, module.name)
            lua_pushvalue(L, -3)
            lua_rawset(L, -3)
        }
    }

    private func push(_ module: LuaModule, prefix: String) throws {
        lua_createtable(L, 0, Int32(module.entries.count))
        for d in module.declarations { declare(d) }
        for (name, entry) in module.entries {
            switch entry {
            case let .function(doc, body):
                LuaState.pushFunction(body, on: L)
                let qualified = "\(prefix).\(name)"
                documentation.append((qualified, doc))
                if let p = lua_topointer(L, -1) { documentedFunctions[p] = qualified }
            case .value(let v):
                try LuaState.push(v, on: L)
            case .module(let m):
                try push(m, prefix: "\(prefix).\(m.name)")
            }
            lua_setfield(L, -2, name)
        }
    }

    /// Sets `table.name` to a Swift function, in an existing global table such as `math` (raw set).
    public func replace(_ name: String, in table: String, _ body: @escaping LuaFunctionBody) throws {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        slab_pushglobaltable(L)
        lua_pushstring(L, table)
        guard lua_rawget(L, -2) == LUA_TTABLE else { throw LuaError.runtime("no global table '\(table)'") }
        lua_pushstring(L, name)
        LuaState.pushFunction(body, on: L)
        lua_rawset(L, -3)
    }

    /// A Swift function as a Lua value, to hand to Lua code (as a chunk's argument, say).
    public func function(_ body: @escaping LuaFunctionBody) -> LuaValue {
        LuaState.pushFunction(body, on: L)
        defer { slab_pop(L, 1) }
        return .ref(LuaRef(at: -1, on: L))
    }

    /// Registers a documented global function (such as `help`).
    public func registerGlobal(_ name: String, _ doc: String, _ body: @escaping LuaFunctionBody) {
        slab_pushglobaltable(L)
        LuaState.pushFunction(body, on: L)
        documentation.append((name, doc))
        if let p = lua_topointer(L, -1) { documentedFunctions[p] = name }
        lua_setfield(L, -2, name)
        slab_pop(L, 1)
    }

    /// Documents a function defined in Lua (found by its dotted path from the globals, read raw),
    /// so that help() lists it and help(f) finds it like a Swift one.
    public func document(function path: String, _ doc: String) {
        documentation.append((path, doc))
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        slab_pushglobaltable(L)
        for part in path.split(separator: ".") {
            guard lua_type(L, -1) == LUA_TTABLE else { return }
            lua_pushstring(L, String(part))
            lua_rawget(L, -2)
        }
        if lua_type(L, -1) == LUA_TFUNCTION, let p = lua_topointer(L, -1) { documentedFunctions[p] = path }
    }

    /// Records the options of a function (one written in Lua, say, which checks them with
    /// `check(options:)`), for help() and for lab.check.
    public func declare(_ declaration: LuaOptions) {
        declarations[declaration.function] = declaration
    }

    /// Makes a class's methods a help topic (`help "tensor"` lists them).
    public func document(topic: String, title: String, _ spec: LuaClassSpec) {
        topics.append((topic, title, spec.methods.map { ($0.name, $0.doc) }))
    }

    /// The qualified name of a documented function passed as argument `i`, if it is one.
    public func documentedName(of args: LuaArgs, _ i: Int) -> String? {
        guard lua_type(args.L, Int32(i)) == LUA_TFUNCTION, let p = lua_topointer(args.L, Int32(i)) else { return nil }
        return documentedFunctions[p]
    }
}
