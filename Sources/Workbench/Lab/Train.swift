import LuaBridge

/// lab.train and lab.schedule. The loop orchestrates Lua objects (a task's batch() method, logging
/// hooks, schedule functions), so it is written in Lua; every heavy step (forward, backward, the
/// update) is a Swift call. Ctrl-C stops it at the next Lua instruction.
enum Training {
    static let docs: [(String, String)] = [
        ("lab.train", "lab.train{model=, task=, optimizer=, steps= or epochs=, ...}: the standard training loop; logs step, loss, accuracy, lr, grad_norm, steps/s, ETA and the seconds trained (and the tags) to metrics.jsonl; stops early at time_limit (evaluating and checkpointing there); checkpoints into checkpoints/<name>/ and resumes (run --resume: a training that had finished is not repeated); returns the last metrics"),
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
            .init("every", count, default: 100, help: "log a metrics line every this many steps (0: only at the end and at evaluations and diagnoses)"),
            .init("on_log", .function, help: "called with each metrics table"),
            .init("eval_every", count, default: 0, help: "evaluate on task:eval_batches() every this many steps, logging a metrics line then too (0: none)"),
            .init("diagnostics", .table, help: "{every = n}: gradient and spectrum diagnostics every n steps (0: none)"),
            .init("checkpoint_every", count, default: 0, help: "write a checkpoint every this many steps (0: none)"),
            .init("time_limit", positive, help: "stop after this many seconds (evaluating and checkpointing there)"),
            .init("tags", .record, help: "fields added to every metrics line (not the loop's own: step, loss, lr, …)"),
            .init("name", .string, defaultText: "train, then train-2, … by call", help: "its checkpoints' folder, checkpoints/<name>/ (each lab.train of a run needs its own)"),
            .init("state", .table, help: "a table of your own (numbers, strings, booleans) saved with each checkpoint and restored into on resume: on_log's bookkeeping"),
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
        try EmbeddedLua.run("lab/train.lua", in: state)
        for (name, doc) in docs { state.document(function: name, doc) }
    }
}
