#!/usr/bin/env python3
"""Prints every scalar and text summary in a TensorBoard log folder as JSON, read with
TensorBoard's own reader (EventAccumulator): {"tag": [[step, value], ...], "text:tag": [[step,
"markdown"]], ...}. The tests use it to check the event files
spectral-lab writes; it needs `pip install tensorboard` (scripts/test makes that venv)."""
import json, math, sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

accumulator = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "tensors": 0})
accumulator.Reload()
scalars = {tag: [[e.step, e.value if math.isfinite(e.value) else str(e.value)] for e in accumulator.Scalars(tag)]
           for tag in accumulator.Tags()["scalars"]}
# Text summaries (the Text plugin's string tensors), as "text:TAG": [[step, "markdown"], ...].
texts = {"text:" + tag: [[e.step, e.tensor_proto.string_val[0].decode("utf-8")] for e in accumulator.Tensors(tag)]
         for tag in accumulator.Tags()["tensors"]}
print(json.dumps({**scalars, **texts}, sort_keys=True))
