-- Reading a recipe's name, description and parameters without giving its code any power: the
-- recipe's chunk runs with an environment of its own that holds Lua's pure functions (string,
-- table, math, utf8, coroutine, pcall, ...) and of `lab` only what declares (lab.recipe, lab.params,
-- lab.experiment.params). No io, os, load, dofile, debug, collectgarbage, nor any lab function that
-- touches a file or allocates a tensor. `require` finds Lua modules where a run would (`modules`,
-- then package.path) and runs them in the same kind of environment; "lab" is the declaring lab.
-- lab.params stops the chunk once it has recorded the declaration.
local lab, package, loadfile = lab, package, loadfile
local setupvalue = debug.setupvalue

local function copy(t, except)
  local c = {}
  for k, v in pairs(t) do if not (except and except[k]) then c[k] = v end end
  return c
end

local pure = { "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring",
               "type", "xpcall", "rawequal", "rawget", "rawlen", "rawset", "setmetatable", "getmetatable" }

return function(chunk, modules)
  local env = { _VERSION = _VERSION, print = function() end }
  for _, name in ipairs(pure) do env[name] = _G[name] end
  env.string = copy(string, { dump = true })
  env.table, env.math, env.utf8, env.coroutine = copy(table), copy(math), copy(utf8), copy(coroutine)
  env.math.randomseed = function() end   -- the run's generator is not the describer's to reseed
  env.lab = { recipe = lab.recipe, params = lab.params, version = lab.version,
              experiment = { params = lab.experiment.params } }
  env._G = env
  -- What is withheld says so, rather than reading as an undefined global.
  local withheld = { io = true, os = true, package = true, debug = true, load = true, loadfile = true,
                     dofile = true, collectgarbage = true }
  local why = " while a recipe is described: only lab.recipe, lab.params and Lua's pure functions run before lab.params"
  setmetatable(env, { __index = function(_, k)
    if withheld[k] then error(tostring(k) .. " is not available" .. why, 2) end
  end })
  setmetatable(env.lab, { __index = function(_, k)
    if lab[k] ~= nil then error("lab." .. tostring(k) .. " is not available" .. why, 2) end
  end })
  local where = modules .. ";" .. package.path
  local loaded = { lab = env.lab }
  env.require = function(name)
    if type(name) ~= "string" then error("bad argument #1 to 'require' (string expected)", 2) end
    if loaded[name] ~= nil then return loaded[name] end
    local path, tried = package.searchpath(name, where)
    if not path then error(string.format("module '%s' not found:%s", name, tried), 2) end
    local f, e = loadfile(path, "t")
    if not f then error(e, 2) end
    setupvalue(f, 1, env)
    local m = f(name, path)
    loaded[name] = m == nil and true or m
    return loaded[name]
  end
  setupvalue(chunk, 1, env)
  return chunk()
end
