#!/usr/bin/env python3
"""Writes PyTorch's own numbers as small safetensors fixtures for the Swift tests
(Tests/Fixtures/torch, TorchReferenceTests): finite differences prove that a backward pass matches
its forward, these prove that the forward is PyTorch's.

For nn.RNN (tanh, relu), nn.LSTM and nn.GRU, each with an nn.Linear readout on the last step (MSE
loss) or on every step (cross-entropy): the module's weights, an input batch (time first), the
readout's output, the loss, and the gradient of every weight and of the input. For torch.optim's
SGD with momentum (plain and Nesterov), RMSprop and Adam: a start, three given gradients, and the
parameters after each step.

Needs torch and safetensors (pip install them into a virtual environment; the tests do not):
    python3 scripts/reference/torch_fixtures.py [FOLDER]     (default Tests/Fixtures/torch)
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file

FOLDER = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "torch")

# (name, input, hidden, output, batch, steps, readout). Batch 33 runs as two parts on two cores in
# the workbench; an input of 11 takes its GEMM path, 2 and 3 its narrow-input loops.
SHAPES = [
    ("small", 3, 5, 2, 4, 6, "last"),
    ("parts", 2, 8, 3, 33, 5, "all"),
    ("wide_input", 11, 6, 4, 33, 2, "last"),
]
CELLS = {
    "rnn_tanh": lambda i, h: torch.nn.RNN(i, h, nonlinearity="tanh"),
    "rnn_relu": lambda i, h: torch.nn.RNN(i, h, nonlinearity="relu"),
    "lstm": lambda i, h: torch.nn.LSTM(i, h),
    "gru": lambda i, h: torch.nn.GRU(i, h),
}


def save(name, tensors, metadata):
    metadata = {k: str(v) for k, v in metadata.items()} | {"torch": torch.__version__}
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, os.path.join(FOLDER, name + ".safetensors"), metadata)


def recurrent(cell, shape, dtype):
    name, input, hidden, output, batch, steps, readout = shape
    torch.manual_seed(sum(map(ord, cell + name)))
    rnn = CELLS[cell](input, hidden).to(dtype)
    linear = torch.nn.Linear(hidden, output).to(dtype)
    x = torch.randn(steps, batch, input, dtype=dtype, requires_grad=True)
    states, _ = rnn(x)
    if readout == "last":
        y = linear(states[-1])
        target = torch.randn(batch, output, dtype=dtype)
        loss = torch.nn.functional.mse_loss(y, target)
    else:
        y = linear(states)
        target = torch.randint(0, output, (steps * batch,)).to(dtype)
        loss = torch.nn.functional.cross_entropy(y.reshape(-1, output), target.long())
    loss.backward()
    weights = dict(rnn.named_parameters()) | {"readout." + k: v for k, v in linear.named_parameters()}
    tensors = {k: v for k, v in weights.items()} | {"grad." + k: v.grad for k, v in weights.items()}
    tensors |= {"x": x, "grad.x": x.grad, "target": target, "y": y, "loss": loss.reshape(1)}
    tag = "f64" if dtype == torch.float64 else "f32"
    save(f"{cell}_{name}_{tag}", tensors, {
        "cell": cell, "input": input, "hidden": hidden, "output": output, "batch": batch, "steps": steps,
        "readout": readout, "loss": "mse" if readout == "last" else "cross_entropy"})


# (name, constructor, options as the workbench names them)
OPTIMIZERS = [
    ("sgd_momentum", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), {"rule": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": "false", "weight_decay": 0}),
    ("sgd_nesterov", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-3),
     {"rule": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": "true", "weight_decay": 1e-3}),
    ("rmsprop", lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6), {"rule": "rmsprop", "lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0}),
    ("adam", lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.95), eps=1e-7, weight_decay=0.01),
     {"rule": "adam", "lr": 0.01, "beta1": 0.8, "beta2": 0.95, "eps": 1e-7, "weight_decay": 0.01}),
]


def optimizer(name, make, options, dtype):
    torch.manual_seed(sum(map(ord, name)))
    params = {"a": torch.randn(3, 4, dtype=dtype), "b": torch.randn(5, dtype=dtype)}
    tensors = {"start." + k: v.clone() for k, v in params.items()}
    live = {k: torch.nn.Parameter(v.clone()) for k, v in params.items()}
    opt = make(list(live.values()))
    for step in (1, 2, 3):
        for k, p in live.items():
            p.grad = torch.randn_like(p)
            tensors[f"grad{step}.{k}"] = p.grad.clone()
        opt.step()
        for k, p in live.items():
            tensors[f"after{step}.{k}"] = p.detach().clone()
    tag = "f64" if dtype == torch.float64 else "f32"
    save(f"optim_{name}_{tag}", tensors, options)


if __name__ == "__main__":
    os.makedirs(FOLDER, exist_ok=True)
    for cell in CELLS:
        for shape in SHAPES:
            recurrent(cell, shape, torch.float64)
        recurrent(cell, SHAPES[1], torch.float32)
    for name, make, options in OPTIMIZERS:
        for dtype in (torch.float64, torch.float32):
            optimizer(name, make, options, dtype)
    total = sum(os.path.getsize(os.path.join(FOLDER, f)) for f in os.listdir(FOLDER))
    print(f"wrote {len(os.listdir(FOLDER))} fixtures, {total} bytes, to {os.path.normpath(FOLDER)}")
