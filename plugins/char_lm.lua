-- char_lm: character-level language modelling, as in the Spectral-RNN paper's PTB experiment, on a
-- text of your own or, by default, the English text of Debian's fortunes package. Truncated BPTT:
-- the training text runs as `batch` parallel streams, seq_len characters per step, the state carried
-- from step to step. Reports bits per character on the validation and test splits. PTB's character
-- files (ptb.char.train.txt, …) work with --set path=DIR.
--   spectral-lab run char_lm --set cells=spectral,lstm --set minutes=10
local lab = require "lab"

lab.recipe {
  name = "char_lm",
  description = "Character-level language modelling (fortunes text by default, or PTB's character files); bits per character per cell.",
}

local p = lab.experiment.params({
  path = "/usr/share/games/fortunes", seq_len = 50, batch = 32, epochs = 1.0, eval_every = 500,
}, {
  path = "a text file, a directory of them, or a directory with PTB's ptb.char.{train,valid,test}.txt",
  seq_len = "characters per truncated-BPTT step",
  epochs = "passes over the training text (0: use steps)",
}, { seq_len = { min = 1, max = 2^20 }, epochs = { min = 0, instead_of = "steps" } })

lab.experiment.run {
  name = "char_lm", params = p,
  task = function() return lab.tasks.char_lm { path = p.path, seq_len = p.seq_len, batch = p.batch } end,
  result = function(row)
    local ln2 = math.log(2)
    row.eval_bpc = row.eval_loss and row.eval_loss / ln2
    row.test_bpc = row.test_loss and row.test_loss / ln2
  end,
  columns = { "cell", "steps", "seconds", "loss", "eval_bpc", "test_bpc", "grad_ratio_init", "grad_ratio_end" },
}
