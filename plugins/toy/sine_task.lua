-- A task object as lab.train takes one (docs/training.md): sequences of T noisy samples of a sine
-- with a random frequency and phase; the target is the next, noise-free value. Every random number
-- comes from math.random, the workbench's generator, so runs are reproducible and resumable.
local lab = require "lab"
local M = {}

function M.new(o)
  local T, batch, noise = o.T or 50, o.batch or 32, o.noise or 0.1
  local task = { input = 1, output = 1, readout = "last", baseline = 0.5 }
  local function sample()
    local x, y = lab.tensor.zeros(T, batch, 1), lab.tensor.zeros(batch, 1)
    for b = 1, batch do
      local w, phase = 0.1 + 0.4 * math.random(), 2 * math.pi * math.random()
      for t = 1, T do x[{t, b, 1}] = math.sin(w * t + phase) + noise * (2 * math.random() - 1) end
      y[{b, 1}] = math.sin(w * (T + 1) + phase)
    end
    return { x = x, y = y, loss = "mse" }
  end
  function task:batch() return sample() end
  local held
  function task:eval_batches()
    if not held then held = { sample(), sample() } end
    return held
  end
  return setmetatable(task, { __tostring = function() return string.format("sine(T=%d, noise=%g)", T, noise) end })
end

return M
