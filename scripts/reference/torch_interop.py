#!/usr/bin/env python3
"""Checks model export to and import from PyTorch end to end, with torch itself (which the tests
do not need; pip install torch and safetensors into a virtual environment to run this):

1. spectral-lab builds every cell (spectral, orthogonal, rnn, lstm, gru; both readouts; float32 and
   float64), runs a batch and writes model:export_torch; torch loads each file into nn.RNN / LSTM /
   GRU and a Linear exactly as docs/interop.md shows, runs the same batch, and compares outputs.
2. torch trains an nn.LSTM, nn.GRU and nn.RNN (kept as self.rnn, so their keys start "rnn.") for a
   few Adam steps and saves the state_dict with safetensors.torch.save_file; spectral-lab reads each
   with lab.models.from_torch and runs the batch; the outputs are compared. The nn.RNN also goes
   into a spectral cell (W factored by model:assign's SVD, the band set to hold its singular values).

Prints the largest relative difference ‖ours − torch‖/‖torch‖ of each and exits 1 if one is over
1e-5 (float32) or 1e-12 (float64).
    python3 scripts/reference/torch_interop.py [path/to/spectral-lab]
"""
import os
import subprocess
import sys
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", ".build", "debug", "spectral-lab")
TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-12}
worst = {}


def run_lab(folder, script):
    path = os.path.join(folder, "script.lua")
    with open(path, "w") as f:
        f.write(script)
    result = subprocess.run([BINARY, "run", path], cwd=folder, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"spectral-lab failed:\n{result.stderr}")
    return result.stderr


def record(what, ours, theirs):
    error = ((ours - theirs).norm() / theirs.norm()).item()
    print(f"{what:48s} {error:.2e}")
    key = ours.dtype
    worst[key] = max(worst.get(key, 0.0), error)


def torch_module(meta):
    kind, i, h = meta["torch_module"], int(meta["input_size"]), int(meta["hidden_size"])
    if kind == "RNN":
        return torch.nn.RNN(i, h, nonlinearity=meta["nonlinearity"])
    return {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind](i, h)


def exported(folder):
    cases = [(cell, act, readout, dtype) for cell, act in [("spectral", "relu"), ("spectral", "tanh"), ("orthogonal", "tanh"),
                                                           ("rnn", "relu"), ("lstm", None), ("gru", None)]
             for readout in ("last", "all") for dtype in ("float32", "float64")]
    lines = ["lab.seed(11)"]
    for cell, act, readout, dtype in cases:
        name = f"{cell}-{act}-{readout}-{dtype}"
        options = f'cell = "{cell}", input = 3, hidden = 16, output = 4, readout = "{readout}", dtype = "{dtype}"'
        if act:
            options += f', activation = "{act}"'
        if cell == "spectral":
            options += ", r = 0.5, reflectors = 16"
        lines += [f"do local m = lab.models.rnn {{ {options} }}",
                  f'  local x = lab.tensor.randn({{7, 5, 3}}, "{dtype}")',
                  f'  m:export_torch("{name}.safetensors")',
                  f'  lab.save("{name}.io.safetensors", {{ x = x, y = m:forward(x) }}) end']
    # leaky ReLU has no nn.RNN: export warns and writes the matrices all the same
    lines.append('lab.models.rnn { cell = "orthogonal", input = 3, hidden = 4, output = 1 }:export_torch("leaky.safetensors")')
    stderr = run_lab(folder, "\n".join(lines) + "\n")
    assert "torch.nn.RNN has no leaky_relu nonlinearity" in stderr, stderr
    for cell, act, readout, dtype in cases:
        name = f"{cell}-{act}-{readout}-{dtype}"
        path = os.path.join(folder, name + ".safetensors")
        # docs/interop.md's lines:
        sd = load_file(path)
        with safe_open(path, "pt") as f:
            meta = f.metadata()
        dtype = sd["weight_hh_l0"].dtype    # the modules first in the file's dtype: load_state_dict copies into theirs
        rnn, readout_layer = torch_module(meta).to(dtype), torch.nn.Linear(int(meta["hidden_size"]), int(meta["output_size"])).to(dtype)
        rnn.load_state_dict({k: v for k, v in sd.items() if not k.startswith("readout.")})
        readout_layer.load_state_dict({k.removeprefix("readout."): v for k, v in sd.items() if k.startswith("readout.")})
        io = load_file(os.path.join(folder, name + ".io.safetensors"))
        with torch.no_grad():
            states = rnn(io["x"])[0]
            y = readout_layer(states[-1] if meta["readout"] == "last" else states)
        record(f"export {name}", io["y"], y)


class Wrapped(torch.nn.Module):
    def __init__(self, kind, i, h, o):
        super().__init__()
        self.rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](i, h) if kind != "rnn" else torch.nn.RNN(i, h, nonlinearity="tanh")
        self.fc = torch.nn.Linear(h, o)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][-1])


def imported(folder):
    # two nn.RNN seeds: a W of either determinant sign in each precision for the spectral import
    for kind, seed in [("lstm", 5), ("gru", 5), ("rnn", 5), ("rnn", 8)]:
        for dtype in (torch.float32, torch.float64):
            torch.manual_seed(seed)
            model = Wrapped(kind, 3, 12, 2).to(dtype)
            opt = torch.optim.Adam(model.parameters(), lr=1e-2)
            for _ in range(20):
                x, target = torch.randn(9, 8, 3, dtype=dtype), torch.randn(8, 2, dtype=dtype)
                loss = torch.nn.functional.mse_loss(model(x), target)
                opt.zero_grad()
                loss.backward()
                opt.step()
            name = f"trained-{kind}-{seed}-{str(dtype)[6:]}"
            save_file(model.state_dict(), os.path.join(folder, name + ".safetensors"))
            x = torch.randn(9, 8, 3, dtype=dtype)
            with torch.no_grad():
                y = model(x)
            save_file({"x": x}, os.path.join(folder, name + ".x.safetensors"))
            activation = ', activation = "tanh"' if kind == "rnn" else ""
            run_lab(folder, f'local m = lab.models.from_torch("{name}.safetensors", {{ cell = "{kind}", prefix = "rnn.", readout_prefix = "fc."{activation} }})\n'
                            f'lab.save("{name}.y.safetensors", {{ y = m:forward(lab.load("{name}.x.safetensors").x) }})\n')
            record(f"import {name}", load_file(os.path.join(folder, name + ".y.safetensors"))["y"], y)
            if kind == "rnn":
                spectral(folder, name, model, x, y)


def spectral(folder, name, model, x, y):
    """The trained nn.RNN into a spectral cell: W factored into reflectors and a band that holds
    its singular values; a W of negative determinant is out of a spectral cell's reach (equal
    reflector counts in U and V), and the import must say so."""
    w = model.rnn.weight_hh_l0.detach().double()
    s = torch.linalg.svdvals(w)
    sigma_star, r = ((s.max() + s.min()) / 2).item(), ((s.max() - s.min()) / 2 * 1.001).item()
    script = (f'local ok, m = pcall(lab.models.from_torch, "{name}.safetensors", {{ cell = "spectral", prefix = "rnn.", readout_prefix = "fc.", '
              f'activation = "tanh", sigma_star = {sigma_star!r}, r = {r!r}, strict = true }})\n'
              f'if not ok then print(m) else lab.save("{name}.spectral.safetensors", {{ y = m:forward(lab.load("{name}.x.safetensors").x) }}) end\n')
    path = os.path.join(folder, "script.lua")
    with open(path, "w") as f:
        f.write(script)
    result = subprocess.run([BINARY, "run", path], cwd=folder, capture_output=True, text=True)
    if torch.linalg.det(w) < 0:
        assert "det(W) < 0 is out of reach" in result.stdout, result.stdout + result.stderr
        print(f"{'import ' + name + ' into spectral':48s} refused: det(W) < 0 (as it must be)")
    else:
        record(f"import {name} into spectral", load_file(os.path.join(folder, name + ".spectral.safetensors"))["y"], y)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        exported(folder)
        imported(folder)
    failed = [d for d, e in worst.items() if e > TOLERANCE[d]]
    print("worst:", ", ".join(f"{str(d)[6:]} {e:.2e}" for d, e in worst.items()))
    sys.exit(1 if failed else 0)
