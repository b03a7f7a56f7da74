#!/usr/bin/env python3
"""Writes scalars with TensorBoard's own event-file writer (tensorboard.summary.writer's
EventFileWriter, the TFRecord framing and masked CRC-32C of TensorBoard itself), for the test that
compares spectral-lab's event files with it byte for byte. Usage: tb_write.py FOLDER JSON, where
JSON is a list of [wall_time, step, tag, value]; each becomes one Event with a simple_value."""
import json, sys

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

writer = EventFileWriter(sys.argv[1])
for wall_time, step, tag, value in json.loads(sys.argv[2]):
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
    writer.add_event(event_pb2.Event(wall_time=wall_time, step=step, summary=summary))
writer.close()
