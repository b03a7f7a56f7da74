local lab = require "lab"

local check = lab.check

-- A learning rate a script gives: a finite number ≥ 0.
local function rate(x, what, level)
  if math.type(x) == nil or x ~= x or x < 0 or x == math.huge then
    error(string.format("%s must be a finite number ≥ 0, got %s", what, tostring(x)), level + 1)
  end
  return x
end

local function lr_function(v, what, level)
  if type(v) == "function" then return v end
  if type(v) == "number" then rate(v, what, level + 1) return function() return v end end
  error(string.format("%s must be a function of the step or a number, got %s", what, type(v)), level + 1)
end

-- Schedules: functions of the step (1-based) returning a learning rate.
local schedule = {}
function schedule.constant(lr)
  rate(lr, "lab.schedule.constant: lr", 2)
  return function() return lr end
end
function schedule.step(o)
  o = check("lab.schedule.step", o, 2)
  return function(step) return o.lr * o.gamma ^ ((step - 1) // o.every) end
end
function schedule.exponential(o)
  o = check("lab.schedule.exponential", o, 2)
  return function(step) return o.lr * o.gamma ^ (step - 1) end
end
function schedule.cosine(o)
  o = check("lab.schedule.cosine", o, 2)
  local min = o.min
  return function(step)
    local t = math.min(step - 1, o.steps) / o.steps
    return min + (o.lr - min) * (1 + math.cos(math.pi * t)) / 2
  end
end
function schedule.warmup(o)
  o = check("lab.schedule.warmup", o, 2)
  local after = lr_function(o.after, "lab.schedule.warmup: after", 2)
  return function(step)
    if step <= o.steps then return after(o.steps) * step / o.steps end
    return after(step)
  end
end
lab.schedule = schedule

-- Loss, its gradient and the accuracy (nil for regression) of one batch. A malformed batch (or
-- input the model refuses) is reported at the line that called lab.train or lab.evaluate, `level`
-- frames up, saying which batch: not at a line of this file.
-- With `tapeless`, the model's predict (nothing kept for a backward pass) where it has one.
local function evaluate(model, batch, what, level, tapeless)
  if type(batch) ~= "table" then
    error(string.format("%s: a batch must be a table {x=, y=, loss=}, got %s", what, type(batch)), level + 1)
  end
  local ok, loss, grad, acc = pcall(function()
    local pass = tapeless and model.predict or model.forward
    return lab.loss.batch(pass(model, batch.x), batch)
  end)
  if not ok then
    error(string.format("%s: %s", what, tostring(loss):gsub("^lab/train%.lua:%d+: ", "")), level + 1)
  end
  return loss, grad, acc
end

-- Mean loss and accuracy over a list of batches, without touching gradients or the last tape. A stateful model
-- reads the batches as one stream (from zeros, honouring batch.reset) and gets its training
-- state back afterwards.
local function mean_over(model, batches, what, level)
  if type(batches) ~= "table" then
    error(string.format("%s: a list of batches expected, got %s", what, type(batches)), level + 1)
  end
  local stateful = model.stateful
  local saved = stateful and model:carried_state()
  if stateful then model:reset_state() end
  local el, ea, n, na = 0, 0, 0, 0
  for i, b in ipairs(batches) do
    if type(b) == "table" and b.reset and stateful then model:reset_state() end
    local l, _, a = evaluate(model, b, what .. ": batch " .. i, level + 1, true)
    el, n = el + l, n + 1
    if a then ea, na = ea + a, na + 1 end
  end
  if stateful then model:set_carried_state(saved) end
  return n > 0 and el / n or nil, na > 0 and ea / na or nil
end

function lab.evaluate(model, batches)
  if type(model) ~= "userdata" or type(model.forward) ~= "function" then
    error(string.format("bad argument #1 to 'lab.evaluate' (model expected, got %s)", type(model)), 2)
  end
  if type(batches) ~= "table" then
    error(string.format("bad argument #2 to 'lab.evaluate' (list of batches expected, got %s)", type(batches)), 2)
  end
  local loss, accuracy = mean_over(model, batches, "lab.evaluate", 2)   -- not a tail call: levels count this frame
  return loss, accuracy
end

local function finite(x) return x == x and x ~= math.huge and x ~= -math.huge end

-- The fields lab.train writes into a metrics line itself: tags may not overwrite them.
local reserved = {}
for k in ("step loss lr grad_norm steps_per_s eta_s seconds accuracy stopped eval_loss eval_accuracy grad_first_last_ratio " ..
          "sigma_max sigma_min condition_number orthogonality_drift grad_profile singular_values"):gmatch("%S+") do reserved[k] = true end
local reserved_list = {}
for k in pairs(reserved) do reserved_list[#reserved_list + 1] = k end
table.sort(reserved_list)
reserved_list = table.concat(reserved_list, ", ")

-- The line lab.train prints at each log: its tags, then the few fields a person follows (the
-- gradient norms per parameter and the diagnostics go to metrics.jsonl and TensorBoard only).
local printed = { "step", "loss", "accuracy", "eval_loss", "eval_accuracy", "lr", "grad_norm", "steps_per_s", "stopped" }
local function short_line(m, tags)
  local parts = {}
  if tags then
    local keys = {}
    for k, v in pairs(tags) do if type(v) ~= "table" then keys[#keys + 1] = k end end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(tags[k]) end
  end
  for _, k in ipairs(printed) do
    local v = m[k]
    if v ~= nil then parts[#parts + 1] = k .. "=" .. (math.type(v) == "float" and string.format("%.5g", v) or tostring(v)) end
  end
  return table.concat(parts, " ")
end

local train_calls = 0   -- names the checkpoint folders of lab.train calls that give no name

function lab.train(o)
  o = check("lab.train", o, 2)
  train_calls = train_calls + 1
  local name = o.name or (train_calls == 1 and "train" or "train-" .. train_calls)
  local model, task, opt = o.model, o.task, o.optimizer
  if (type(task) ~= "table" and type(task) ~= "userdata") or type(task.batch) ~= "function" then
    error(string.format("lab.train: task must be a task from lab.tasks or a table with a batch() method, got %s", type(task)), 2)
  end
  if (o.steps == nil) == (o.epochs == nil) then error("lab.train: give steps or epochs (one of them)", 2) end
  local steps = o.steps
  if o.epochs then
    if type(task.batches_per_epoch) ~= "function" or not task:batches_per_epoch() then
      error("lab.train: epochs needs a task with a batches_per_epoch() method (or give steps)", 2)
    end
    steps = math.ceil(o.epochs * task:batches_per_epoch())
  end
  local lr_of = o.schedule ~= nil and lr_function(o.schedule, "lab.train: schedule", 2) or nil
  local every = o.every
  local diag_every = check("lab.train.diagnostics", o.diagnostics, 2).every
  if o.tags then
    for k in pairs(o.tags) do
      if reserved[k] or k:match("^grad_norm%.") then
        error(string.format("lab.train: tag '%s' is a field the loop logs itself (reserved: %s)", k, reserved_list), 2)
      end
    end
  end
  -- "n steps" with 0 meaning none: true at every n-th step.
  local function due(n, step) return n > 0 and step % n == 0 end

  local clock = lab.clock
  local started = clock()
  local last_time = started
  local deadline = o.time_limit and last_time + o.time_limit
  local sum_loss, sum_acc, count, acc_count = 0, 0, 0, 0
  -- Steps trained since last_time. Not count: after a resume, count (restored with the sums, so
  -- that the next line's mean loss is the uninterrupted run's) holds steps trained before it.
  local timed = 0
  local seconds_before = 0   -- trained by the run before it was resumed
  local metrics
  local first = 1
  if o.checkpoint_every > 0 or lab.checkpoint.resuming() then
    local ok, e = pcall(lab.checkpoint.claim, name)
    if not ok then error("lab.train: " .. tostring(e), 2) end
  end
  if lab.checkpoint.resuming() then
    local step, state = lab.checkpoint.restore(model, opt, name)
    if step then
      first = step + 1
      sum_loss, sum_acc, count, acc_count = state.sum_loss or 0, state.sum_acc or 0, state.count or 0, state.acc_count or 0
      metrics, seconds_before = state.metrics, state.seconds or 0
      if state.task_state and type(task.set_state) == "function" then task:set_state(state.task_state) end
      if o.state and state.user_state then for k, v in pairs(state.user_state) do o.state[k] = v end end
      if step > steps then
        error(string.format("lab.train: the checkpoint is at step %d, and steps is %d: nothing to train "
                            .. "(resume with a larger --set steps=)", step, steps), 2)
      end
      -- A training that had finished (all its steps, or its time limit) is not repeated, unless
      -- the resume extends it.
      if step == steps or (state.done and not lab.checkpoint.extended()) then
        print(string.format("%s: finished before the resume, at step %d", name, step))
        return metrics
      end
      print(string.format("resumed from the checkpoint at step %d", step))
    end
    lab.checkpoint.will_train(name)
  end
  -- The gradient profile ‖∂L/∂h_t‖ over t (grad_profile, a list) and the recurrent matrix's
  -- spectrum (singular_values, a list, and its summaries) into a metrics line. The profile is
  -- taken on the first held-out batch, the same one each time (and no training batch is drawn,
  -- so diagnostics do not change what trains); on a training batch when the task has no held-out set.
  local function diagnose(m)
    local b = type(task.eval_batches) == "function" and task:eval_batches()[1] or task:batch()
    local g = lab.diagnostics.grad_norms(model, { x = b.x, y = b.y, loss = b.loss, ignore = b.ignore })
    m.grad_first_last_ratio, m.grad_profile = g.first_last_ratio, {}
    for t = 1, #g do m.grad_profile[t] = g[t] end
    local s = lab.diagnostics.spectrum(model)
    m.singular_values = s.singular_values
    m.sigma_max, m.sigma_min = s.spectral_norm, s.singular_values[#s.singular_values]
    m.condition_number, m.orthogonality_drift = s.condition_number, s.orthogonality_drift
  end
  -- Diagnostics before the first step: the start of training, step 0.
  if diag_every > 0 and first == 1 then
    local m = { step = 0 }
    if o.tags then for k, v in pairs(o.tags) do m[k] = v end end
    diagnose(m)
    lab.log(m, { print = false })
  end
  -- On a terminal, one line in place shows how far training is (at most ten redraws a second);
  -- what lab.train prints goes above it.
  local width = lab.progress.terminal_width()
  local label = o.tags and o.tags.cell or name
  local drawn_at = -math.huge
  local function show_progress(step, now)
    if not width or (now - drawn_at < 0.1 and step < steps) then return end
    drawn_at = now
    local eval_name = metrics and (metrics.eval_accuracy and "eval_accuracy" or metrics.eval_loss and "eval_loss")
    lab.progress.show(lab.progress.line {
      name = label, step = step, total = steps, width = width,
      loss = count > 0 and sum_loss / count or metrics and metrics.loss,
      eval = eval_name and metrics[eval_name], eval_name = eval_name,
      rate = now > started and (step - first + 1) / (now - started) or nil,
    })
  end
  local function say(text)
    if width then lab.progress.show() end
    print(text)
  end
  local last_checkpoint
  local function checkpoint(step, done)
    lab.checkpoint.save(step, model, opt, { sum_loss = sum_loss, sum_acc = sum_acc, count = count, acc_count = acc_count,
                                            metrics = metrics, done = done, user_state = o.state,
                                            seconds = seconds_before + clock() - started,
                                            task_state = type(task.state) == "function" and task:state() or nil }, name)
    last_checkpoint = step
  end
  -- The loop runs with stop requests deferred: a Ctrl-C or SIGTERM lets the current step finish,
  -- the run checkpoints there (when it checkpoints at all), and the stop is raised as the loop
  -- returns. Errors raised in here name the caller of lab.train: level 4 (this function, then
  -- lab.defer_interrupts, then lab.train).
  local function loop()
    for step = first, steps do
      local stop = lab.interrupted()
      if stop then
        if o.checkpoint_every > 0 and step > first and last_checkpoint ~= step - 1 then checkpoint(step - 1, false) end
        say(string.format("%s: stopping after step %d of %d%s", stop, step - 1, steps,
                            last_checkpoint and string.format(" (checkpoint at step %d)", last_checkpoint) or ""))
        return
      end
      if lr_of then opt.lr = lr_of(step) end
      local batch = task:batch()
      if type(batch) == "table" and batch.reset and model.reset_state then model:reset_state() end   -- a new stream begins
      local loss, grad, acc = evaluate(model, batch, "lab.train: the task's batch at step " .. step, 4)
      if not finite(loss) then
        error(lab.diverged(string.format("training stopped at step %d: the loss is %s%s%s", step, tostring(loss),
              metrics and string.format(" (last logged at step %d: loss %.6g)", metrics.step, metrics.loss) or "",
              last_checkpoint and string.format("; the last good checkpoint is at step %d", last_checkpoint) or "")), 4)
      end
      model:zero_grad()
      model:backward(grad)
      if o.clip > 0 then lab.optim.clip_grad_norm(model, o.clip) end
      local grad_norm = opt:step(model)
      sum_loss, count, timed = sum_loss + loss, count + 1, timed + 1
      if acc then sum_acc, acc_count = sum_acc + acc, acc_count + 1 end

      local out_of_time = deadline ~= nil and step < steps and clock() >= deadline
      -- A line is logged at every evaluation and diagnosis too: they ride on it, so with every = 100
      -- and eval_every = 250 an evaluation at step 250 must not wait for step 500.
      if due(every, step) or due(o.eval_every, step) or due(diag_every, step) or step == steps or out_of_time then
        local now = clock()
        local rate = timed / math.max(now - last_time, 1e-9)
        metrics = { step = step, loss = sum_loss / count, lr = opt.lr, grad_norm = grad_norm,
                    steps_per_s = rate, eta_s = (steps - step) / rate, seconds = seconds_before + now - started }
        if acc_count > 0 then metrics.accuracy = sum_acc / acc_count end
        if o.tags then for k, v in pairs(o.tags) do metrics[k] = v end end
        if out_of_time then metrics.stopped = "time_limit" end
        if o.eval_every > 0 and (due(o.eval_every, step) or step == steps or out_of_time) and type(task.eval_batches) == "function" then
          metrics.eval_loss, metrics.eval_accuracy = mean_over(model, task:eval_batches(), "lab.train: task:eval_batches()", 4)
        end
        if diag_every > 0 and (due(diag_every, step) or step == steps) then
          diagnose(metrics)
          for name, norm in pairs(lab.diagnostics.gradient_norms(model)) do metrics["grad_norm." .. name] = norm end
        end
        lab.log(metrics, { print = false })
        say(short_line(metrics, o.tags))
        if o.on_log then o.on_log(metrics) end
        sum_loss, sum_acc, count, acc_count, timed = 0, 0, 0, 0, 0
        last_time = clock()
      end
      if o.checkpoint_every > 0 and (due(o.checkpoint_every, step) or step == steps or out_of_time) then
        checkpoint(step, step == steps or out_of_time)
      end
      show_progress(step, clock())
      if out_of_time then
        say(string.format("time limit of %gs reached at step %d of %d", o.time_limit, step, steps))
        break
      end
    end
  end
  lab.defer_interrupts(loop)
  if width then lab.progress.show() end
  return metrics
end
