local MAX_DEPTH, MAX_ITEMS, WIDTH = 5, 100, 78
local keywords = {}
for w in ("and break do else elseif end false for function goto if in local nil not or repeat " ..
          "return then true until while"):gmatch("%a+") do keywords[w] = true end

local escapes = { ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t", ['"'] = '\\"', ["\\"] = "\\\\" }
local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\%03d", c:byte())
  end) .. '"'
end

local function plain(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "<" .. type(v) .. ": __tostring failed>"
end

local rank = { number = 1, string = 2, boolean = 3 }
local function key_order(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (rank[ta] or 4) < (rank[tb] or 4) end
  if ta == "number" or ta == "string" then return a < b end
  return plain(a) < plain(b)
end

local render
local function render_table(t, depth, seen, indent)
  if seen[t] then return "<cycle>" end
  if depth >= MAX_DEPTH then return "{...}" end
  seen[t] = true
  local items, n = {}, rawlen(t)
  for i = 1, math.min(n, MAX_ITEMS) do items[#items + 1] = render(rawget(t, i), depth + 1, seen, indent + 1) end
  local keys = {}
  for k in next, t do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, key_order)
  for _, k in ipairs(keys) do
    if #items >= MAX_ITEMS then break end
    local ks = (type(k) == "string" and k:match("^[%a_][%w_]*$") and not keywords[k]) and k
               or "[" .. render(k, depth + 1, seen, indent + 1) .. "]"
    items[#items + 1] = ks .. " = " .. render(rawget(t, k), depth + 1, seen, indent + 1)
  end
  local total = n + #keys
  if total > #items then items[#items + 1] = "... (" .. (total - #items) .. " more)" end
  seen[t] = nil
  if #items == 0 then return "{}" end
  local line = "{" .. table.concat(items, ", ") .. "}"
  if #line + 2 * indent <= WIDTH and not line:find("\n", 1, true) then return line end
  local pad = string.rep("  ", indent + 1)
  return "{\n" .. pad .. table.concat(items, ",\n" .. pad) .. "\n" .. string.rep("  ", indent) .. "}"
end

function render(v, depth, seen, indent)
  local tv = type(v)
  if tv == "string" then return quote(v) end
  if tv == "table" then
    local mt = getmetatable(v)
    if type(mt) == "table" and rawget(mt, "__tostring") then return plain(v) end
    return render_table(v, depth, seen, indent)
  end
  return plain(v)
end

local function inspect(v) return render(v, 0, {}, 0) end
-- The REPL shows a string result as it is, like lua.c; everything else inspected.
local function show(v) if type(v) == "string" then return v end return inspect(v) end
return inspect, show
