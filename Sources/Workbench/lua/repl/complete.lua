local function fields(v, out, seen)
  seen = seen or {}
  if seen[v] then return out end
  seen[v] = true
  if type(v) == "table" then for k in next, v do if type(k) == "string" then out[k] = rawget(v, k) end end end
  local mt = getmetatable(v)
  if type(mt) == "table" then
    for _, f in ipairs { rawget(mt, "__methods"), rawget(mt, "__index") } do
      if type(f) == "table" then fields(f, out, seen) end
    end
  end
  return out
end
return function(text)
  local path, sep, last = text:match("^(.-)([%.:]?)([%w_]*)$")
  local v = _G
  if sep ~= "" then
    for part in path:gmatch("[^%.:]+") do v = fields(v, {})[part]; if v == nil then return {} end end
  end
  local out = {}
  for k, value in pairs(fields(v, {})) do
    if k:sub(1, #last) == last and k:sub(1, 2) ~= "__" and (sep ~= ":" or type(value) == "function") then
      out[#out + 1] = path .. sep .. k
    end
  end
  table.sort(out)
  return out
end
