local lab = require "lab"
local progress = lab.progress   -- show and terminal_width come from Swift (Lab/Progress.swift)

function progress.duration(s)
  if type(s) ~= "number" or s ~= s or s == math.huge then return "?" end
  s = math.max(0, math.floor(s + 0.5))
  if s < 60 then return s .. "s" end
  if s < 3600 then return string.format("%dm%02ds", s // 60, s % 60) end
  if s < 86400 then return string.format("%dh%02dm", s // 3600, s % 3600 // 60) end
  return string.format("%dd%02dh", s // 86400, s % 86400 // 3600)
end

local function number(x) return string.format("%.4g", x) end

-- "spectral ████████░░░░░░░░  1200/2000  loss 0.0031  eval_loss 0.0011  41.2 steps/s  ETA 19s":
-- the bar takes what the width leaves (10 to 30 columns); without a width, 20.
function progress.line(o)
  if type(o) ~= "table" or math.type(o.step) ~= "integer" or math.type(o.total) ~= "integer" then
    error("lab.progress.line: a table with integer step and total expected", 2)
  end
  local parts = { string.format("%d/%d", o.step, o.total) }
  if o.loss then parts[#parts + 1] = "loss " .. number(o.loss) end
  if o.eval then parts[#parts + 1] = (o.eval_name or "eval") .. " " .. number(o.eval) end
  if o.rate then
    parts[#parts + 1] = string.format("%.3g steps/s", o.rate)
    if o.rate > 0 then parts[#parts + 1] = "ETA " .. progress.duration((o.total - o.step) / o.rate) end
  end
  local tail = table.concat(parts, "  ")
  local head = o.name and o.name .. " " or ""
  local room = o.width and o.width - 1 - utf8.len(head) - utf8.len(tail) - 2 or 20
  local width = math.max(10, math.min(30, room))
  local filled = o.total > 0 and math.floor(width * math.min(o.step, o.total) / o.total + 0.5) or width
  return head .. string.rep("█", filled) .. string.rep("░", width - filled) .. "  " .. tail
end
