local lab = require "lab"
lab.recipe { name = "toy_sine", description = "Predicts the next value of a noisy sine (the toy plugin's task and schedule)." }
local sine, warmup = require "toy.sine_task", require "toy.warmup"
local p = lab.params({ T = 50, noise = 0.1, steps = 300, hidden = 32, lr = 3e-3, cell = "spectral" }, {},
                     { T = { min = 2 }, noise = { min = 0 }, steps = { min = 1 }, hidden = { min = 1 },
                       cell = { "spectral", "orthogonal", "rnn", "lstm", "gru" } })
local task = sine.new { T = p.T, noise = p.noise, batch = 32 }
local model = lab.models.rnn { cell = p.cell, input = 1, hidden = p.hidden, output = 1, readout = "last" }
local last = lab.train { model = model, task = task, optimizer = lab.optim.adam { lr = p.lr }, steps = p.steps,
                         schedule = warmup.warmup_cosine(p.lr, 30, p.steps), every = 50, eval_every = 100 }
lab.result { task = tostring(task), cell = p.cell, loss = last.loss, eval_loss = last.eval_loss, steps = last.step }
