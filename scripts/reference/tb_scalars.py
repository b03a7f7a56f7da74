#!/usr/bin/env python3
"""Prints every scalar in a TensorBoard log folder as JSON, read with TensorBoard's own reader
(EventAccumulator): {"tag": [[step, value], ...], ...}. The tests use it to check the event files
spectral-lab writes; it needs `pip install tensorboard` (scripts/test makes that venv)."""
import json, math, sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

accumulator = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
accumulator.Reload()
print(json.dumps({tag: [[e.step, e.value if math.isfinite(e.value) else str(e.value)] for e in accumulator.Scalars(tag)]
                  for tag in accumulator.Tags()["scalars"]}, sort_keys=True))
