-- adding: the adding problem (Hochreiter & Schmidhuber 1997), as in the Spectral-RNN paper.
-- Each step's input is (value ~ U(0,1), marker); one marker falls in each half of the sequence and
-- the target is the sum of the two marked values. Always answering 1 scores MSE 1/6 ≈ 0.167, so a
-- cell that learns gets well under that; the paper's bar is 0.01.
--   spectral-lab run adding                                  (spectral cell, T = 100, < 2 min)
--   spectral-lab run adding --set T=400 --set cells=spectral,orthogonal,rnn,lstm --set steps=5000
local lab = require "lab"

lab.recipe {
  name = "adding",
  description = "The adding problem: sum the two marked values of a length-T sequence (MSE; always answering 1 scores 0.167); compares cells.",
}

local p = lab.experiment.params({
  T = 100, steps = 2000, target = 0.01, decay_every = 781, eval_every = 250,
}, {
  T = "sequence length",
  decay_every = "steps per learning-rate decay (781: one epoch of the authors' 100 000 training sequences at batch 128)",
}, { T = { min = 1, max = 2^20 } })

lab.experiment.run {
  name = "adding", params = p,
  task = function() return lab.tasks.adding { T = p.T, batch = p.batch } end,
}
