local lab = require "lab"
local experiment = {}

-- The shared hyperparameters, declared once: name, default, allowed values (lab.params' third
-- argument), help. Defaults are the authors' where known (spectral cell, ReLU, n = 128, reflectors
-- n/4, r = 0.01, σ* = 1, Adam 1e-3 decayed ×0.99 per epoch, batch 128, no clipping). The maxima
-- are lab.models.rnn's and lab.tasks' own, so that a value over them is refused before any work.
local shared = {
  { "cells", { "spectral" }, { "spectral", "orthogonal", "rnn", "lstm", "gru", min_items = 1 }, "cells to train and compare, comma-separated" },
  { "hidden", 128, { min = 1, max = 65536 }, "hidden units n" },
  { "reflectors", 0, { min = 0 }, "Householder reflectors per factor (0: n/4, the authors' default, or all n with init haar, henaff or cayley, which need them)" },
  { "r", 0.01, { min = 0 }, "singular values stay in [sigma_star − r, sigma_star + r] (spectral cell)" },
  { "sigma_star", 1.0, { above = 0 }, "centre of the singular-value band (spectral cell)" },
  { "activation", "auto", { "auto", "relu", "tanh", "leaky_relu", "identity" },
    "auto: the recipe's choice, else relu (spectral), leaky_relu (orthogonal), tanh (rnn)" },
  { "init", "auto", { "auto", "glorot", "haar", "henaff", "cayley", "identity", "gaussian", "orthogonal" },
    "initial W: auto (the recipe's choice, else glorot reflectors for spectral and orthogonal, gaussian for rnn); haar, henaff, cayley, identity for any of the three (haar, henaff, cayley need all n reflectors, which reflectors = 0 gives them); gaussian, orthogonal: rnn only" },
  { "optimizer", "adam", { "adam", "rmsprop", "sgd" }, "the optimizer" },
  { "lr", 1e-3, { min = 0 }, "initial learning rate" },
  { "lr_decay", 0.99, { min = 0 }, "learning-rate factor per epoch (the authors: 0.99)" },
  { "decay_every", 0, { min = 0 }, "steps per learning-rate decay (0: one epoch of the task)" },
  { "batch", 128, { min = 1, max = 65536 }, "sequences per batch" },
  { "steps", 1000, { min = 1 }, "training steps per cell" },
  { "clip", 0.0, { min = 0 }, "clip the gradient's global norm to this (0: no clipping, the authors' choice)" },
  { "minutes", 0.0, { min = 0 }, "time budget per cell in minutes (0: none); training stops there, evaluates and checkpoints" },
  { "every", 100, { min = 0 }, "log a metrics line every this many steps (0: only at the end and at evaluations and diagnoses)" },
  { "eval_every", 500, { min = 0 }, "evaluate on held-out batches every this many steps (0: none)" },
  { "diagnostics_every", 500, { min = 0 }, "log the gradient profile ‖∂L/∂h_t‖ and W's singular values every this many steps, and before the first (0: none)" },
  { "checkpoint_every", 0, { min = 0 }, "write a checkpoint every this many steps (0: none); a resume skips the cells that had finished" },
  { "target", 0.0, { min = 0 }, "report the first step whose held-out loss (the training loss, for a task without one) is at or under this (0: none)" },
  { "seed", 0, { min = 0 }, "reseed before each cell (0: the run's --seed)" },
}

-- The tables experiment.params returned: experiment.run takes only those (checked values).
local declared = setmetatable({}, { __mode = "k" })

-- lab.params over the shared hyperparameters and the recipe's own (`defaults`, which may also
-- change a shared default, with `help` and `allowed` as lab.params takes them); every value is
-- checked before the recipe does any work (exit 2 on a bad --set).
function experiment.params(defaults, help, allowed)
  local all, all_help, all_allowed = {}, {}, {}
  for _, d in ipairs(shared) do all[d[1]], all_allowed[d[1]], all_help[d[1]] = d[2], d[3], d[4] end
  for k, v in pairs(defaults or {}) do all[k] = v end
  for k, v in pairs(help or {}) do all_help[k] = v end
  for k, v in pairs(allowed or {}) do all_allowed[k] = v end
  local p = lab.params(all, all_help, all_allowed)
  declared[p] = true
  return p
end

local auto_activation = { spectral = "relu", orthogonal = "leaky_relu" }

-- The shared hyperparameters each cell takes (a recipe sets them all; a cell gets its own).
local cell_options = {
  spectral = { activation = true, reflectors = true, r = true, sigma_star = true, init = true },
  orthogonal = { activation = true, reflectors = true, init = true },
  rnn = { activation = true, init = true },
}

-- The initializations that reach every orthogonal matrix and so need all n reflectors.
local needs_all_reflectors = { haar = true, henaff = true, cayley = true }

-- `auto` says what activation = "auto" and init = "auto" mean for the recipe ({activation=, init=});
-- without it, the authors' choices above and each cell's own default initialization.
function experiment.model(cell, p, task, auto)
  auto = auto or {}
  local o = { cell = cell, input = task.input, hidden = p.hidden, output = task.output, readout = task.readout,
              stateful = task.stateful }
  local own = cell_options[cell] or {}
  if own.activation then
    o.activation = p.activation ~= "auto" and p.activation or auto.activation or auto_activation[cell] or "tanh"
  end
  if own.init then
    if p.init ~= "auto" then o.init = p.init else o.init = auto.init end
  end
  if own.reflectors then
    if p.reflectors > 0 then o.reflectors = p.reflectors elseif needs_all_reflectors[o.init] then o.reflectors = p.hidden end
  end
  if own.r then o.r, o.sigma_star = p.r, p.sigma_star end
  return lab.models.rnn(o)
end

-- ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ on one batch: ≪ 1 when gradients vanish going back in time, ≫ 1 when they explode.
local function grad_ratio(model, task)
  local b = task:batch()
  return lab.diagnostics.grad_norms(model, { x = b.x, y = b.y, loss = b.loss, ignore = b.ignore }).first_last_ratio
end

function experiment.run(o)
  o = lab.check("lab.experiment.run", o, 2)
  local p, name = o.params, o.name
  if not declared[p] then error("lab.experiment.run: params must be the table lab.experiment.params returned", 2) end
  local cells = p.cells
  local optimizers = { adam = lab.optim.adam, rmsprop = lab.optim.rmsprop, sgd = lab.optim.sgd }
  -- Every cell starts from the same seed (so the same data and the same draws): the recipe's, or
  -- one drawn once from the run's generator (--seed decides).
  local seed = p.seed ~= 0 and p.seed or math.random(1, 2 ^ 31)
  local rows = {}
  local seen = {}   -- a cell named twice checkpoints as cell, cell-2, …
  for _, cell in ipairs(cells) do
    seen[cell] = (seen[cell] or 0) + 1
    lab.seed(seed)
    local task = o.task()
    local model = experiment.model(cell, p, task, o.auto)
    print(string.format("== %s: %s on %s", name, tostring(model), tostring(task)))
    local row = { task = name, cell = cell, parameters = model:parameter_count(), baseline = task.baseline }
    row.grad_ratio_init = grad_ratio(model, task)
    local per_epoch = task.batches_per_epoch and task:batches_per_epoch()
    local decay_every = p.decay_every > 0 and p.decay_every or per_epoch or 1000
    local steps = p.steps
    if (p.epochs or 0) > 0 then
      if not per_epoch then error("epochs needs a task with epochs (batches_per_epoch); give steps", 0) end
      steps = math.ceil(p.epochs * per_epoch)
    end
    local evaluates = p.eval_every > 0 and type(task.eval_batches) == "function"
    local progress = {}   -- saved with each checkpoint, so a resumed cell still knows when it reached the target
    local last = lab.train {
      name = seen[cell] == 1 and cell or cell .. "-" .. seen[cell], state = progress,
      model = model, task = task, optimizer = optimizers[p.optimizer] { lr = p.lr },
      steps = steps, schedule = lab.schedule.step { lr = p.lr, every = decay_every, gamma = p.lr_decay },
      clip = p.clip > 0 and p.clip or nil, every = p.every, eval_every = p.eval_every,
      diagnostics = { every = p.diagnostics_every },
      checkpoint_every = p.checkpoint_every > 0 and p.checkpoint_every or nil,
      time_limit = p.minutes > 0 and p.minutes * 60 or nil, tags = { task = name, cell = cell },
      on_log = function(m)
        -- The held-out loss when the task has one; the training loss only for a task that never
        -- evaluates (between evaluations it is a noisier quantity, not the same one).
        local l = m.loss
        if evaluates then l = m.eval_loss end
        if p.target > 0 and l and not progress.reached and l <= p.target then progress.reached = m.step end
      end,
    }
    row.seconds = last.seconds
    row.steps, row.loss, row.accuracy = last.step, last.loss, last.accuracy
    row.eval_loss, row.eval_accuracy = last.eval_loss, last.eval_accuracy
    if p.target > 0 then row.steps_to_target = progress.reached or "not reached" end
    local test = task.test_batches and task:test_batches()
    if test then row.test_loss, row.test_accuracy = lab.evaluate(model, test) end
    row.grad_ratio_end = grad_ratio(model, task)
    if o.result then o.result(row, model, task) end
    lab.result(row)
    rows[#rows + 1] = row
  end
  local columns = o.columns or { "cell", "steps", "seconds", "loss", "eval_loss", "eval_accuracy", "test_accuracy",
                                 "baseline", "steps_to_target", "grad_ratio_init", "grad_ratio_end" }
  local shown = {}
  for _, c in ipairs(columns) do
    for _, r in ipairs(rows) do if r[c] ~= nil then shown[#shown + 1] = c break end end
  end
  print()
  lab.print_table(rows, shown, name .. ":")
  return rows
end

lab.experiment = experiment
