-- mlp: the paper's claim that the SVD parameterization serves any deep network, not only a recurrent
-- one. An MLP of `depth` hidden layers of `width` units classifies Fashion-MNIST images as flat
-- vectors (784 → width → … → width → 10), once with SVD layers (every σ kept in
-- [σ* − r, σ* + r]) and once with dense layers of the same shapes, from the same seed, under the
-- same optimizer. Each result gives the test accuracy, the seconds per epoch and the gradient ratio
-- ‖∂L/∂h_1‖ / ‖∂L/∂h_depth‖ (first hidden layer against last) at initialization and after
-- training; the per-layer profile and every parameter's gradient norm go to metrics.jsonl before the
-- first step and after every epoch, where `spectral-lab report` draws them.
--   spectral-lab run mlp --set depth=30 --set epochs=3
--   spectral-lab sweep mlp --grid depth=4,10,30 --seeds 1-3
local lab = require "lab"

lab.recipe {
  name = "mlp",
  description = "Deep MLPs on flat Fashion-MNIST: SVD layers against dense layers of the same shape (test accuracy, time per epoch, per-layer gradient norms).",
}

local p = lab.params({
  layers = { "svd", "dense" }, depth = 10, width = 128, activation = "relu",
  path = "/usr/share/datasets/fashion-mnist", valid = 5000, epochs = 5.0, batch = 128,
  optimizer = "adam", lr = 1e-3, lr_decay = 1.0,
  reflectors = 0, r = 0.01, sigma_star = 1.0, svd_init = "glorot", dense_init = "kaiming",
  every = 100, checkpoint_every = 0, seed = 0,
}, {
  layers = "layer kinds to train and compare, comma-separated",
  depth = "hidden layers",
  width = "units per hidden layer",
  activation = "φ between layers",
  path = "directory with the MNIST-format IDX files (train-images-idx3-ubyte(.gz), …)",
  valid = "training images held out for validation (the last ones; the gradient ratios are taken on the first 500)",
  epochs = "passes over the training images",
  batch = "images per batch",
  optimizer = "the optimizer, the same for both kinds",
  lr = "learning rate",
  lr_decay = "learning-rate factor per epoch (1: constant)",
  reflectors = "Householder reflectors per factor of an SVD layer (0: width, which reaches every W of rank width)",
  r = "SVD layers: singular values stay in [sigma_star − r, sigma_star + r]",
  sigma_star = "SVD layers: centre of the singular-value band",
  svd_init = "SVD layers' W: glorot (the authors' reflectors, every σ = σ*), haar or identity (σ*·Q)",
  dense_init = "dense layers' W: kaiming (N(0, 2/in), made for ReLU), glorot, torch (nn.Linear's default), haar (orthogonal)",
  every = "log a metrics line every this many steps",
  checkpoint_every = "write a checkpoint every this many steps (0: none); a resume skips the layer kinds that had finished",
  seed = "reseed before each kind (0: the run's --seed)",
}, {
  layers = { "svd", "dense", min_items = 1 }, depth = { min = 1, max = 62 }, width = { min = 1, max = 65536 },
  activation = { "relu", "tanh", "leaky_relu", "identity" }, valid = { min = 1, max = 2^20 }, epochs = { above = 0 },
  batch = { min = 1, max = 65536 }, optimizer = { "adam", "rmsprop", "sgd" }, lr = { min = 0 }, lr_decay = { min = 0 },
  reflectors = { min = 0 }, r = { min = 0 }, sigma_star = { above = 0 },
  svd_init = { "glorot", "haar", "identity" }, dense_init = { "kaiming", "glorot", "torch", "haar" },
  every = { min = 0 }, checkpoint_every = { min = 0 }, seed = { min = 0 },
})

local optimizers = { adam = lab.optim.adam, rmsprop = lab.optim.rmsprop, sgd = lab.optim.sgd }
-- Both kinds start from the same seed, so they see the same batches in the same order.
local seed = p.seed ~= 0 and p.seed or math.random(1, 2 ^ 31)

-- ‖∂L/∂h_1‖ / ‖∂L/∂h_depth‖ on the first held-out batch: ≪ 1 when gradients vanish towards the input.
local function grad_ratio(model, task)
  local b = task:eval_batches()[1]
  return lab.diagnostics.grad_norms(model, { x = b.x, y = b.y, loss = b.loss }).first_last_ratio
end

local rows = {}
for _, kind in ipairs(p.layers) do
  lab.seed(seed)
  local task = lab.tasks.mnist { path = p.path, batch = p.batch, valid = p.valid }
  local sizes = { task.input }
  for _ = 1, p.depth do sizes[#sizes + 1] = p.width end
  sizes[#sizes + 1] = task.output
  local o = { sizes = sizes, layers = kind, activation = p.activation }
  if kind == "svd" then
    o.reflectors = p.reflectors > 0 and p.reflectors or p.width
    o.r, o.sigma_star, o.init = p.r, p.sigma_star, p.svd_init
  else
    o.init = p.dense_init
  end
  local model = lab.models.mlp(o)
  print(string.format("== mlp: %s on %s", tostring(model), tostring(task)))
  local per_epoch = task:batches_per_epoch()
  local row = { task = "mlp", cell = kind, depth = p.depth, parameters = model:parameter_count() }
  row.grad_ratio_init = grad_ratio(model, task)
  -- Training time only: each logged line's steps over its rate, which leaves out the evaluations
  -- and diagnoses between lines. Kept in lab.train's state, so that a checkpoint saves it.
  local timing = { trained_seconds = 0, logged_step = 0 }
  local last = lab.train {
    name = kind, model = model, task = task, optimizer = optimizers[p.optimizer] { lr = p.lr },
    steps = math.ceil(p.epochs * per_epoch), schedule = lab.schedule.step { lr = p.lr, every = per_epoch, gamma = p.lr_decay },
    every = p.every, eval_every = per_epoch, diagnostics = { every = per_epoch },
    checkpoint_every = p.checkpoint_every > 0 and p.checkpoint_every or nil, state = timing,
    -- "cell" is the key a report groups a run's models by.
    tags = { task = "mlp", cell = kind, depth = p.depth },
    on_log = function(m)
      if m.steps_per_s then
        timing.trained_seconds = timing.trained_seconds + (m.step - timing.logged_step) / m.steps_per_s
        timing.logged_step = m.step
      end
    end,
  }
  row.steps, row.seconds = last.step, last.seconds
  row.seconds_per_epoch = timing.trained_seconds * per_epoch / last.step
  row.loss, row.eval_loss, row.eval_accuracy = last.loss, last.eval_loss, last.eval_accuracy
  row.test_loss, row.test_accuracy = lab.evaluate(model, task:test_batches())
  row.grad_ratio_end = grad_ratio(model, task)
  lab.result(row)
  rows[#rows + 1] = row
end
print()
lab.print_table(rows, { "cell", "depth", "parameters", "steps", "seconds_per_epoch", "loss", "eval_accuracy", "test_accuracy",
                        "grad_ratio_init", "grad_ratio_end" }, "mlp:")
