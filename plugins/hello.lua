-- hello: the smallest complete recipe, and the template for new ones.
-- A recipe names itself, declares its parameters (with defaults, which fix their types), then runs.
-- Run it:  spectral-lab run hello --set steps=5 --set greeting=hi
local lab = require "lab"

lab.recipe {
  name = "hello",
  description = "Greets, logs a decaying toy loss for a few steps, and saves a summary file.",
}

local p = lab.params({
  greeting = "hello",
  steps = 3,
  decay = 0.5,
}, {
  greeting = "what to say",
  steps = "how many steps to log",
  decay = "factor by which the toy loss shrinks each step",
})

print(p.greeting .. " from spectral-lab " .. lab.version)

local loss = 1.0
for step = 1, p.steps do
  loss = loss * p.decay
  lab.log { step = step, loss = loss }
end

local f = assert(io.open(lab.run_dir("summary.txt"), "w"))
f:write(string.format("%s: %d steps, final loss %.6g\n", p.greeting, p.steps, loss))
f:close()
print("wrote " .. lab.run_dir("summary.txt"))
