-- The Lua side of a sandboxed run (Host/Sandbox.swift): calls that start programs, end the process,
-- or load native code are withheld with an error that says how to allow them; the ones that open,
-- remove or rename files go through `check(kind, path, call)`, which raises when the path is
-- outside what the run may read or write. The debug library keeps only traceback.
return function(check, refuse)
  local function withheld(name)
    return function() refuse(name) end
  end
  os.execute, io.popen, os.exit = withheld("os.execute"), withheld("io.popen"), withheld("os.exit")
  os.tmpname = withheld("os.tmpname")
  package.loadlib = withheld("package.loadlib")
  package.cpath = ""
  package.searchers[3], package.searchers[4] = nil, nil   -- C modules
  debug = { traceback = debug.traceback }
  package.loaded.debug = debug

  local open, lines, input, output = io.open, io.lines, io.input, io.output
  local remove, rename, dofile_, loadfile_ = os.remove, os.rename, dofile, loadfile
  local function writes(mode) return mode ~= nil and mode:find("[wa+]") ~= nil end
  function io.open(path, mode)
    check(writes(mode) and "write" or "read", tostring(path), "io.open")
    if mode and mode:find("+", 1, true) then check("read", tostring(path), "io.open") end
    return open(path, mode)
  end
  function io.lines(path, ...)
    if path ~= nil then check("read", tostring(path), "io.lines") end
    return lines(path, ...)
  end
  function io.input(f)
    if type(f) == "string" then check("read", f, "io.input") end
    return input(f)
  end
  function io.output(f)
    if type(f) == "string" then check("write", f, "io.output") end
    return output(f)
  end
  function os.remove(path) check("write", tostring(path), "os.remove") return remove(path) end
  function os.rename(a, b)
    check("write", tostring(a), "os.rename")
    check("write", tostring(b), "os.rename")
    return rename(a, b)
  end
  function dofile(path)
    if path ~= nil then check("read", tostring(path), "dofile") end
    return dofile_(path)
  end
  function loadfile(path, ...)
    if path ~= nil then check("read", tostring(path), "loadfile") end
    return loadfile_(path, ...)
  end
  local find_file = package.searchers[2]
  package.searchers[2] = function(name)
    local loader, path = find_file(name)
    if type(loader) == "function" then check("read", path, "require") end
    return loader, path
  end
end
