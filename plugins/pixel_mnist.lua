-- pixel_mnist: pixel-by-pixel (and permuted) MNIST-style classification, as in the Spectral-RNN
-- paper: each 28×28 image is read one pixel per step (784 steps) and classified from the last state.
-- Default data: Fashion-MNIST from Debian's dataset-fashion-mnist; MNIST's own IDX files work the
-- same (--set path=DIR). A long run is resumable: give it checkpoint_every, then
--   spectral-lab run --resume runs/<its directory>
-- continues from its newest checkpoint (with minutes set, for another budget of that length).
--   spectral-lab run pixel_mnist --set minutes=30 --set checkpoint_every=200
--   spectral-lab run pixel_mnist --set permuted=true --set cells=lstm --set minutes=30
local lab = require "lab"

lab.recipe {
  name = "pixel_mnist",
  description = "Pixel-by-pixel (optionally permuted) Fashion-MNIST/MNIST classification over 784 steps; test accuracy per cell.",
}

local p = lab.experiment.params({
  path = "/usr/share/datasets/fashion-mnist", permuted = false, permutation_seed = 1, valid = 5000,
  epochs = 1.0, eval_every = 200, every = 20,
}, {
  path = "directory with train-images-idx3-ubyte(.gz), train-labels-…, t10k-images-…, t10k-labels-…",
  permuted = "read the pixels in one fixed random order",
  permutation_seed = "seed of that order",
  valid = "training images held out for validation (the last ones)",
  epochs = "passes over the training images (0: use steps)",
}, { permutation_seed = { min = 0, only = { permuted = true } }, valid = { min = 0, max = 2^20 }, epochs = { min = 0, instead_of = "steps" } })

lab.experiment.run {
  name = p.permuted and "permuted_pixel_mnist" or "pixel_mnist", params = p,
  task = function()
    -- The task takes a permutation seed only for a permuted order, and so does the recipe (declared above).
    return lab.tasks.pixel_mnist { path = p.path, permuted = p.permuted, permutation_seed = p.permuted and p.permutation_seed or nil,
                                   batch = p.batch, valid = p.valid }
  end,
}
