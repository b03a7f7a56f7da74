-- copy: the copying memory task (Arjovsky, Shah & Bengio 2016). Ten symbols from eight, T blanks
-- with a delimiter at the end, then the model must write the ten symbols back. Cross-entropy over all
-- T + 20 positions; a model that remembers nothing (blanks, then a guess) scores 10·log 8 / (T + 20),
-- which each result reports as its baseline.
--   spectral-lab run copy --set T=200 --set cells=spectral,orthogonal,rnn,lstm
local lab = require "lab"

lab.recipe {
  name = "copy",
  description = "The copying memory task: reproduce 10 symbols after T blanks (cross-entropy; the memoryless baseline is 10·log 8/(T+20)); compares cells.",
}

local p = lab.experiment.params({
  T = 100, symbols = 8, length = 10, answer_only = false, steps = 3000, decay_every = 781, eval_every = 250,
}, {
  T = "blanks between the symbols and the answer",
  symbols = "alphabet size",
  length = "symbols to copy",
  answer_only = "count the loss over the answer positions only (baseline log(symbols))",
}, { T = { min = 1, max = 2^20 }, symbols = { min = 1, max = 1024 }, length = { min = 1, max = 65536 } })

lab.experiment.run {
  name = "copy", params = p,
  task = function()
    return lab.tasks.copy { T = p.T, symbols = p.symbols, length = p.length, batch = p.batch,
                            loss_positions = p.answer_only and "answer" or "all" }
  end,
}
