#!/usr/bin/env python3
"""Prints what a TensorBoard log folder holds as JSON, read with TensorBoard's own reader
(EventAccumulator), one TensorBoard run per folder that holds event files, the tag prefixed with the
run's folder relative to the log folder ("spectral/loss" for tb/spectral/):
  {"TAG": [[step, value], ...],                                   scalars
   "text:TAG": [[step, "markdown"], ...],                         text summaries
   "histo:TAG": [[step, min, max, num, [limits], [counts]], ...], histograms
   "hparams:RUN": {name: value, ...}}                             HParams session start info
The tests use it to check the event files spectral-lab writes; it needs `pip install tensorboard`
(scripts/test makes that venv)."""
import json, math, os, sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2


def number(x):
    return x if math.isfinite(x) else str(x)


out = {}
root = sys.argv[1]
for folder, _, files in sorted(os.walk(root)):
    if not any(f.startswith("events.out.tfevents.") for f in files):
        continue
    run = os.path.relpath(folder, root)
    prefix = "" if run == "." else run + "/"
    acc = EventAccumulator(folder, size_guidance={"scalars": 0, "tensors": 0, "histograms": 0})
    acc.Reload()
    tags = acc.Tags()
    for tag in tags["scalars"]:
        out[prefix + tag] = [[e.step, number(e.value)] for e in acc.Scalars(tag)]
    for tag in tags["histograms"]:
        out["histo:" + prefix + tag] = [[e.step, e.histogram_value.min, e.histogram_value.max, e.histogram_value.num,
                                         list(e.histogram_value.bucket_limit), list(e.histogram_value.bucket)]
                                        for e in acc.Histograms(tag)]
    for tag in tags["tensors"]:
        if tag.startswith("_hparams_/"):
            continue
        out["text:" + prefix + tag] = [[e.step, e.tensor_proto.string_val[0].decode("utf-8")] for e in acc.Tensors(tag)]
    for tag, content in acc.PluginTagToContent("hparams").items():
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        if data.WhichOneof("data") == "session_start_info":
            hp = data.session_start_info.hparams
            out["hparams:" + (run if run != "." else "")] = {k: json.loads(json.dumps(
                getattr(v, v.WhichOneof("kind")))) for k, v in hp.items()}
print(json.dumps(out, sort_keys=True))
