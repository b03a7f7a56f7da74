local lab = require "lab"

local function cell_text(v)
  if v == nil then return "–" end
  if math.type(v) == "float" then
    if v ~= v then return "NaN" end
    return string.format("%.4g", v)
  end
  return tostring(v)
end

function lab.print_table(rows, columns, title)
  if type(rows) ~= "table" then error("lab.print_table: rows must be a list of tables", 2) end
  if type(columns) ~= "table" or #columns == 0 then error("lab.print_table: columns must be a non-empty list of keys", 2) end
  local widths, texts = {}, {}
  for j, key in ipairs(columns) do widths[j] = utf8.len(tostring(key)) end
  for i, row in ipairs(rows) do
    if type(row) ~= "table" then error(string.format("lab.print_table: row %d is a %s, not a table", i, type(row)), 2) end
    texts[i] = {}
    for j, key in ipairs(columns) do
      local t = cell_text(row[key])
      texts[i][j] = t
      widths[j] = math.max(widths[j], utf8.len(t) or #t)
    end
  end
  local function line(cells)
    local out = {}
    for j, t in ipairs(cells) do
      local pad = string.rep(" ", widths[j] - (utf8.len(t) or #t))
      out[j] = j == 1 and t .. pad or pad .. t     -- first column left-aligned, numbers right
    end
    return table.concat(out, "  ")
  end
  if title then print(title) end
  local header = {}
  for j, key in ipairs(columns) do header[j] = tostring(key) end
  print(line(header))
  for i = 1, #texts do print(line(texts[i])) end
end
