-- An example plugin: a task written in Lua and a learning-rate schedule, used by one recipe
-- through require. Install it with `spectral-lab plugins install plugins/toy` (see docs/plugins.md).
return {
  name = "toy",
  version = "1.0.0",
  description = "A noisy-sine regression task in Lua and a warm-up cosine schedule.",
  lab = "0.1.0",
  recipes = { "sine.lua" },
  modules = { "sine_task", "warmup" },
}
