-- grad_profile: the vanishing/exploding profile ‖∂L/∂h_t‖ at initialization, per task and cell.
-- The paper's central claim is that the spectral cell keeps ‖∂L/∂h_1‖/‖∂L/∂h_T‖ of order 1 where a
-- plain RNN's collapses or blows up. For each task, one training batch (the same for every cell)
-- goes through each freshly initialized model; the table gives ‖∂L/∂h_t‖/‖∂L/∂h_T‖ at t = 1, T/4,
-- T/2 and 3T/4, averaged (geometrically) over `batches` batches.
--   spectral-lab run grad_profile --set cells=spectral,orthogonal,rnn,lstm
local lab = require "lab"

lab.recipe {
  name = "grad_profile",
  description = "‖∂L/∂h_t‖/‖∂L/∂h_T‖ at initialization on each paper task, per cell (the vanishing/exploding profile).",
}

local p = lab.experiment.params({
  cells = { "spectral", "rnn" }, tasks = { "adding", "copy", "pixel_mnist", "permuted_pixel_mnist", "char_lm" },
  adding_T = 200, copy_T = 100, batches = 4,
}, {
  tasks = "tasks to profile, comma-separated",
  adding_T = "adding task's sequence length",
  copy_T = "copy task's blanks",
  batches = "batches the profile is averaged over",
}, {
  tasks = { "adding", "copy", "pixel_mnist", "permuted_pixel_mnist", "char_lm", min_items = 1 },
  adding_T = { min = 1, max = 2^20 }, copy_T = { min = 1, max = 2^20 }, batches = { min = 1 },
})

local makers = {
  adding = function() return lab.tasks.adding { T = p.adding_T, batch = p.batch } end,
  copy = function() return lab.tasks.copy { T = p.copy_T, batch = p.batch } end,
  pixel_mnist = function() return lab.tasks.pixel_mnist { batch = p.batch } end,
  permuted_pixel_mnist = function() return lab.tasks.pixel_mnist { batch = p.batch, permuted = true } end,
  char_lm = function() return lab.tasks.char_lm { batch = 32 } end,
}

local seed = p.seed ~= 0 and p.seed or math.random(1, 2 ^ 31)   -- the same for every task and cell
local rows = {}
for _, task_name in ipairs(p.tasks) do
  for _, cell in ipairs(p.cells) do
    lab.seed(seed)
    local task = makers[task_name]()
    local model = lab.experiment.model(cell, p, task)
    local T = task.T
    local at = { 1, T // 4, T // 2, 3 * T // 4 }
    local logs = { 0, 0, 0, 0 }
    for _ = 1, p.batches do
      local b = task:batch()
      local norms = lab.diagnostics.grad_norms(model, { x = b.x, y = b.y, loss = b.loss, ignore = b.ignore })
      for i, t in ipairs(at) do logs[i] = logs[i] + math.log(norms[t] / norms[T]) end
    end
    local row = { task = task_name, cell = cell, T = T }
    for i, key in ipairs { "t1", "t_quarter", "t_half", "t_three_quarters" } do row[key] = math.exp(logs[i] / p.batches) end
    lab.result(row)
    rows[#rows + 1] = row
  end
end
print()
lab.print_table(rows, { "task", "cell", "T", "t1", "t_quarter", "t_half", "t_three_quarters" },
                "‖∂L/∂h_t‖ / ‖∂L/∂h_T‖ at initialization:")
