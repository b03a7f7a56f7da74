import LuaBridge

/// lab.train and lab.schedule. The loop orchestrates Lua objects (a task's batch() method, logging
/// hooks, schedule functions), so it is written in Lua; every heavy step (forward, backward, the
/// update) is a Swift call. Ctrl-C stops it at the next Lua instruction.
enum Training {
    static let docs: [(String, String)] = [
        ("lab.train", "lab.train{model=, task=, optimizer=, steps= or epochs=, ...}: the standard training loop; logs step, loss, accuracy, lr, grad_norm, steps/s and ETA (and the tags) to metrics.jsonl; stops early at time_limit (evaluating and checkpointing there); checkpoints and resumes (run --resume); returns the last metrics"),
        ("lab.evaluate", "lab.evaluate(model, batches): mean loss and accuracy (nil for regression) over a list of batches; a stateful model reads them as one stream and keeps its training state"),
        ("lab.schedule.constant", "lab.schedule.constant(lr): function(step) returning lr"),
        ("lab.schedule.step", "lab.schedule.step{lr=, every=, gamma=0.1}: lr·gamma^⌊(step−1)/every⌋"),
        ("lab.schedule.exponential", "lab.schedule.exponential{lr=, gamma=}: lr·gamma^(step−1)"),
        ("lab.schedule.cosine", "lab.schedule.cosine{lr=, steps=, min=0}: cosine decay from lr to min over steps"),
        ("lab.schedule.warmup", "lab.schedule.warmup{steps=, after=}: linear ramp from 0 to after(steps) over steps, then the schedule after (a function or a number)"),
    ]

    static let count = LuaOptionKind.integer(0 ... Int.max)
    static let rate = LuaOptionKind.number(0, .greatestFiniteMagnitude)
    static let positive = LuaOptionKind.number(0, .greatestFiniteMagnitude, exclusiveLow: true)
    /// The options of the Lua functions below, checked by lab.check from their first line.
    static let declarations: [LuaOptions] = [
        LuaOptions("lab.train", [
            .init("model", .value("model"), required: true, help: "a model from lab.models (or any object with forward, backward, zero_grad)"),
            .init("task", .value("task"), required: true, help: "a task from lab.tasks, or a table with a batch() method"),
            .init("optimizer", .object("optimizer", prefixes: ["lab.Optimizer"]), required: true, help: "from lab.optim"),
            .init("steps", .integer(1 ... Int.max), help: "training steps (or give epochs)"),
            .init("epochs", positive, help: "passes over the task's data (a task with batches_per_epoch)"),
            .init("schedule", .value("function or number"), help: "the learning rate: a function of the step, or a number"),
            .init("clip", rate, default: 0, help: "clip the gradients' global norm to this (0: none)"),
            .init("every", count, default: 100, help: "log a metrics line every this many steps (0: at the end only)"),
            .init("on_log", .function, help: "called with each metrics table"),
            .init("eval_every", count, default: 0, help: "evaluate on task:eval_batches() every this many steps (0: none)"),
            .init("diagnostics", .table, help: "{every = n}: gradient and spectrum diagnostics every n steps (0: none)"),
            .init("checkpoint_every", count, default: 0, help: "write a checkpoint every this many steps (0: none)"),
            .init("time_limit", positive, help: "stop after this many seconds (evaluating and checkpointing there)"),
            .init("tags", .record, help: "fields added to every metrics line (not the loop's own: step, loss, lr, …)"),
        ]),
        LuaOptions("lab.train.diagnostics", [
            .init("every", count, default: 0, help: "every this many steps (0: none)"),
        ]),
        LuaOptions("lab.schedule.step", [
            .init("lr", rate, required: true, help: "the initial learning rate"),
            .init("every", .integer(1 ... Int.max), required: true, help: "steps between decays"),
            .init("gamma", rate, default: 0.1, help: "factor per decay"),
        ]),
        LuaOptions("lab.schedule.exponential", [
            .init("lr", rate, required: true, help: "the initial learning rate"),
            .init("gamma", rate, required: true, help: "factor per step"),
        ]),
        LuaOptions("lab.schedule.cosine", [
            .init("lr", rate, required: true, help: "the initial learning rate"),
            .init("steps", .integer(1 ... Int.max), required: true, help: "steps to decay over"),
            .init("min", rate, default: 0, help: "the final learning rate"),
        ]),
        LuaOptions("lab.schedule.warmup", [
            .init("steps", .integer(1 ... Int.max), required: true, help: "steps of the linear ramp from 0"),
            .init("after", .value("function or number"), required: true, help: "the schedule after the ramp (a function of the step, or a number)"),
        ]),
    ]

    static func install(in state: LuaState) throws {
        for d in declarations { state.declare(d) }
        try state.run(source, chunkName: "=lab.train")
        for (name, doc) in docs { state.document(function: name, doc) }
    }

    static let source = #"""
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

    -- Loss, its gradient and the accuracy (nil for regression) of one batch.
    local function evaluate(model, batch)
      local out = model:forward(batch.x)
      local kind = batch.loss or "mse"
      if kind == "mse" then
        local loss, grad = lab.loss.mse(out, batch.y)
        return loss, grad, nil
      elseif kind == "xent" then
        return lab.loss.cross_entropy(out, batch.y, batch.ignore and { ignore = batch.ignore } or nil)
      end
      error("batch.loss must be \"mse\" or \"xent\", got " .. tostring(kind), 0)
    end

    -- Mean loss and accuracy over a list of batches, without touching gradients. A stateful model
    -- reads the batches as one stream (from zeros, honouring batch.reset) and gets its training
    -- state back afterwards.
    function lab.evaluate(model, batches)
      if type(batches) ~= "table" then error("lab.evaluate: batches must be a list of batches, got " .. type(batches), 2) end
      local stateful = model.stateful
      local saved = stateful and model:carried_state()
      if stateful then model:reset_state() end
      local el, ea, n, na = 0, 0, 0, 0
      for _, b in ipairs(batches) do
        if b.reset and stateful then model:reset_state() end
        local l, _, a = evaluate(model, b)
        el, n = el + l, n + 1
        if a then ea, na = ea + a, na + 1 end
      end
      if stateful then model:set_carried_state(saved) end
      return n > 0 and el / n or nil, na > 0 and ea / na or nil
    end

    local function finite(x) return x == x and x ~= math.huge and x ~= -math.huge end

    -- The fields lab.train writes into a metrics line itself: tags may not overwrite them.
    local reserved = {}
    for k in ("step loss lr grad_norm steps_per_s eta_s accuracy stopped eval_loss eval_accuracy grad_first_last_ratio " ..
              "sigma_max sigma_min condition_number orthogonality_drift"):gmatch("%S+") do reserved[k] = true end
    local reserved_list = {}
    for k in pairs(reserved) do reserved_list[#reserved_list + 1] = k end
    table.sort(reserved_list)
    reserved_list = table.concat(reserved_list, ", ")

    function lab.train(o)
      o = check("lab.train", o, 2)
      local model, task, opt = o.model, o.task, o.optimizer
      if type(task.batch) ~= "function" then error("lab.train: the task has no batch() method", 2) end
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
      local last_time = clock()
      local deadline = o.time_limit and last_time + o.time_limit
      local sum_loss, sum_acc, count, acc_count = 0, 0, 0, 0
      local metrics
      local first = 1
      if lab.checkpoint.resuming() then
        local step, state = lab.checkpoint.restore(model, opt)
        if step then
          first = step + 1
          sum_loss, sum_acc, count, acc_count = state.sum_loss or 0, state.sum_acc or 0, state.count or 0, state.acc_count or 0
          if state.last_step then metrics = { step = state.last_step, loss = state.last_loss } end
          if state.task_state and type(task.set_state) == "function" then task:set_state(state.task_state) end
          print(string.format("resumed from the checkpoint at step %d", step))
        end
      end
      local last_checkpoint
      for step = first, steps do
        if lr_of then opt.lr = lr_of(step) end
        local batch = task:batch()
        if batch.reset and model.reset_state then model:reset_state() end   -- a new stream begins
        local loss, grad, acc = evaluate(model, batch)
        if not finite(loss) then
          error(string.format("training stopped at step %d: the loss is %s%s%s", step, tostring(loss),
                metrics and string.format(" (last logged at step %d: loss %.6g)", metrics.step, metrics.loss) or "",
                last_checkpoint and string.format("; the last good checkpoint is at step %d", last_checkpoint) or ""), 2)
        end
        model:zero_grad()
        model:backward(grad)
        if o.clip > 0 then lab.optim.clip_grad_norm(model, o.clip) end
        local grad_norm = opt:step(model)
        sum_loss, count = sum_loss + loss, count + 1
        if acc then sum_acc, acc_count = sum_acc + acc, acc_count + 1 end

        local out_of_time = deadline ~= nil and step < steps and clock() >= deadline
        if due(every, step) or step == steps or out_of_time then
          local now = clock()
          local rate = count / math.max(now - last_time, 1e-9)
          metrics = { step = step, loss = sum_loss / count, lr = opt.lr, grad_norm = grad_norm,
                      steps_per_s = rate, eta_s = (steps - step) / rate }
          if acc_count > 0 then metrics.accuracy = sum_acc / acc_count end
          if o.tags then for k, v in pairs(o.tags) do metrics[k] = v end end
          if out_of_time then metrics.stopped = "time_limit" end
          if o.eval_every > 0 and (due(o.eval_every, step) or step == steps or out_of_time) and type(task.eval_batches) == "function" then
            metrics.eval_loss, metrics.eval_accuracy = lab.evaluate(model, task:eval_batches())
          end
          if diag_every > 0 and (due(diag_every, step) or step == steps) then
            local b = task:batch()
            local g = lab.diagnostics.grad_norms(model, { x = b.x, y = b.y, loss = b.loss, ignore = b.ignore })
            metrics.grad_first_last_ratio = g.first_last_ratio
            local s = lab.diagnostics.spectrum(model)
            metrics.sigma_max, metrics.sigma_min = s.spectral_norm, s.singular_values[#s.singular_values]
            metrics.condition_number, metrics.orthogonality_drift = s.condition_number, s.orthogonality_drift
            for name, norm in pairs(lab.diagnostics.gradient_norms(model)) do metrics["grad_norm." .. name] = norm end
          end
          lab.log(metrics)
          if o.on_log then o.on_log(metrics) end
          sum_loss, sum_acc, count, acc_count = 0, 0, 0, 0
          last_time = clock()
        end
        if o.checkpoint_every > 0 and (due(o.checkpoint_every, step) or step == steps or out_of_time) then
          lab.checkpoint.save(step, model, opt, { sum_loss = sum_loss, sum_acc = sum_acc, count = count, acc_count = acc_count,
                                                  last_step = metrics and metrics.step, last_loss = metrics and metrics.loss,
                                                  task_state = type(task.state) == "function" and task:state() or nil })
          last_checkpoint = step
        end
        if out_of_time then
          print(string.format("time limit of %gs reached at step %d of %d", o.time_limit, step, steps))
          break
        end
      end
      return metrics
    end
    """#
}
