-- A learning-rate schedule: linear warm-up over `warmup` steps, then cosine decay to `floor`·lr
-- at `steps` (a function of the step, as lab.train's schedule option takes).
local M = {}

function M.warmup_cosine(lr, warmup, steps, floor)
  floor = floor or 0.1
  return function(step)
    if step <= warmup then return lr * step / warmup end
    local progress = math.min(1, (step - warmup) / math.max(1, steps - warmup))
    return lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))
  end
end

return M
