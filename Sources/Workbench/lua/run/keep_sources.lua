-- Where a run's `require` looks: `modules` (the script's folder and the recipe search path), then
-- package.path. And a run keeps what it ran: every Lua module its script requires from a file is handed to `keep`
-- (which copies it into the run directory's source/modules/ unless it is one of the system's).
-- A resumed run loads the copies in `kept_dir` before anything package.path names, so that it runs
-- the modules as they were, not as since edited.
return function(keep, modules, kept_dir)
  package.path = modules .. ";" .. package.path
  local kept_path = kept_dir and kept_dir .. "/?.lua;" .. kept_dir .. "/?/init.lua"
  local find_file, loadfile, searchpath = package.searchers[2], loadfile, package.searchpath
  package.searchers[2] = function(name)
    local copy = kept_path and searchpath(name, kept_path)
    if copy then
      local loader, e = loadfile(copy, "t")
      if not loader then error(string.format("error loading module '%s' from file '%s':\n\t%s", name, copy, e), 0) end
      return loader, copy
    end
    local loader, path = find_file(name)
    if type(loader) == "function" then keep(name, path) end
    return loader, path
  end
end
