import LuaBridge

/// lab.experiment: what the paper's recipes share — the hyperparameters every comparison has, one
/// model per cell built from them, the same data and initialization stream for every cell, the
/// gradient profile before and after training, and one result line per cell plus a table. In Lua
/// because it only orchestrates lab functions.
enum Experiment {
    static let docs: [(String, String)] = [
        ("lab.experiment.params", "lab.experiment.params(defaults [, help]): lab.params with the hyperparameters every recipe shares (cells, hidden, reflectors, r, sigma_star, activation, init, optimizer, lr, lr_decay, decay_every, batch, steps, clip, minutes, every, eval_every, checkpoint_every, target, seed) added to the recipe's own; returns them"),
        ("lab.experiment.run", "lab.experiment.run{name=, params=, task=function() return task end [, result=function(row, model, task)] [, auto={activation=, init=}]}: trains one model per cell of params.cells on a fresh task each (same seed), prints and records one result per cell (lab.result) and a table; returns the rows"),
        ("lab.experiment.model", "lab.experiment.model(cell, params, task [, auto]): the recurrent model a recipe trains for this cell (activation \"auto\": auto.activation, or relu for spectral, leaky_relu for orthogonal, tanh otherwise; init \"auto\": auto.init, or the cell's own; reflectors 0: n/4, or n for init haar, henaff or cayley)"),
    ]

    static let runOptions = LuaOptions("lab.experiment.run", [
        .init("name", .string, default: "experiment", help: "the task's name in results and tables"),
        .init("params", .table, required: true, help: "from lab.experiment.params"),
        .init("task", .function, required: true, help: "function() returning a fresh task (called once per cell)"),
        .init("result", .function, help: "function(row, model, task): adds fields to a cell's result row"),
        .init("columns", .list(.string, count: 1 ... 64), help: "the table's columns (keys of the result rows)"),
        .init("auto", .table, help: "{activation=, init=}: what the shared activation = \"auto\" and init = \"auto\" mean for this recipe (default: relu for spectral, leaky_relu for orthogonal, tanh for rnn; each cell's own initialization)"),
    ])

    static func install(in state: LuaState) throws {
        state.declare(runOptions)
        try EmbeddedLua.run("lab/experiment.lua", in: state)
        for (name, doc) in docs { state.document(function: name, doc) }
    }
}
