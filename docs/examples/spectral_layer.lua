-- The SVD-parameterized layer, end to end: build one, look at its spectrum, train it with a
-- hand-written loop, and watch the singular values stay inside [σ* − r, σ* + r].
--   spectral-lab run docs/examples/spectral_layer.lua
local lab = require "lab"
local p = lab.params { n = 8, r = 0.5, steps = 1500, lr = 0.05 }

lab.seed(1)
local layer = lab.svd.linear(p.n, p.n, { r = p.r, bias = false })
print(layer)
print("initial singular values", table.concat(layer:singular_values(), " "))   -- all σ* = 1

-- A target map whose singular values run from 0.1 to 3: outside the band [0.5, 1.5].
local U = lab.householder.matrix(lab.tensor.randn(p.n, p.n))
local V = lab.householder.matrix(lab.tensor.randn(p.n, p.n))
local S = lab.tensor.zeros(p.n, p.n)
for i = 1, p.n do S[{i, i}] = 0.1 + 2.9 * (i - 1) / (p.n - 1) end
local target = U:matmul(S):matmul(V:t())

local function distance() return (layer:matrix() - target):norm() end
print(string.format("‖W − target‖ at the start: %.4f", distance()))

-- The identity as the batch: forward gives Wᵀ (one row per basis vector), so the loss below is
-- exactly ‖W − target‖² and its gradient exact.
local x = lab.tensor.eye(p.n)
for step = 1, p.steps do
  local diff = layer:forward(x) - target:t()
  local loss = diff:dot(diff)
  layer:zero_grad()
  layer:backward(diff * 2)
  for name, param in pairs(layer:parameters()) do
    param:add_(layer:gradients()[name], -p.lr)            -- plain SGD, in place
  end
  layer:renormalize()                                    -- the authors' practice; W is unchanged
  if step % 250 == 0 then
    lab.log { step = step, loss = loss, sigma_max = layer:spectral_norm(), sigma_min = layer:singular_values()[p.n] }
  end
end

-- The best W inside the band keeps the target's singular vectors and clips its singular values.
local best = 0
for i = 1, p.n do
  local s = S[{i, i}]
  local clipped = math.max(1 - p.r, math.min(1 + p.r, s))
  best = best + (s - clipped) ^ 2
end
print(string.format("‖W − target‖ at the end: %.4f (the closest W in the band: %.4f)", distance(), math.sqrt(best)))
local sv = layer:singular_values()
print(string.format("final singular values: max %.4f, min %.4f (band %.2f … %.2f)",
                    sv[1], sv[#sv], 1 - p.r, 1 + p.r))
assert(sv[1] <= 1 + p.r and sv[#sv] >= 1 - p.r, "a singular value left the band")
