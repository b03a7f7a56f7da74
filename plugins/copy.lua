-- copy: the copying memory task (Arjovsky, Shah & Bengio 2016). Ten symbols from eight, T blanks
-- with a delimiter at the end, then the model must write the ten symbols back. Cross-entropy over all
-- T + 20 positions; a model that remembers nothing (blanks, then a guess) scores 10·log 8 / (T + 20),
-- which each result reports as its baseline.
-- By default (preset "linear") the recurrent cells are linear (activation identity) and start from
-- Henaff's rotations with all n reflectors: with that the spectral cell solves the task at T = 200 (see
-- docs/results.md); with the authors' ReLU it stays near the baseline. `--set preset=authors` gives
-- the paper's choices (ReLU, Glorot reflectors, n/4 of them); --set activation/init override either.
--   spectral-lab run copy --set T=200 --set cells=spectral,orthogonal,rnn,lstm
local lab = require "lab"

lab.recipe {
  name = "copy",
  description = "The copying memory task: reproduce 10 symbols after T blanks (cross-entropy; the memoryless baseline is 10·log 8/(T+20)); compares cells.",
}

local p = lab.experiment.params({
  T = 100, symbols = 8, length = 10, answer_only = false, steps = 3000, decay_every = 781, eval_every = 250,
  preset = "linear",
}, {
  T = "blanks between the symbols and the answer",
  symbols = "alphabet size",
  length = "symbols to copy",
  answer_only = "count the loss over the answer positions only (baseline log(symbols))",
  preset = "what activation and init \"auto\" mean: linear (identity activation, Henaff's rotations, all n reflectors: solves the task) or authors (ReLU, Glorot reflectors, n/4)",
}, { T = { min = 1, max = 2^20 }, symbols = { min = 1, max = 1024 }, length = { min = 1, max = 65536 },
     preset = { "linear", "authors" } })

lab.experiment.run {
  name = "copy", params = p,
  auto = p.preset == "linear" and { activation = "identity", init = "henaff" } or nil,
  task = function()
    return lab.tasks.copy { T = p.T, symbols = p.symbols, length = p.length, batch = p.batch,
                            loss_positions = p.answer_only and "answer" or "all" }
  end,
}
