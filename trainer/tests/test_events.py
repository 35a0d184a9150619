"""The events the trainer writes against the schema the activity parses them with (trainer/events.schema.json)."""

import io
import json

import pytest

from trainer.events import Collect, Events, check_event


def test_written_events_match_the_shared_schema():
    out = io.StringIO()
    ev = Events(stream=out)
    ev.progress(3, 10, float("nan"), 1e-3, float("inf"), epoch=1, model="base", seed=2, supervisedLoss=0.5)
    ev.checkpoint(3, "step-3")
    ev.metric("eval.domain.loss", 6.5, step=3)
    ev.done("/out", {"train.steps": 10, "train.finalLoss": 6.1})
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    for e in lines:
        check_event(e)
    assert lines[0]["loss"] == -1.0 and lines[0]["tokensPerSec"] == 1e30, "no NaN or Infinity in JSON"


def test_a_broken_event_is_named_with_its_fields():
    with pytest.raises(ValueError, match=r"event 'progress' breaks events.schema.json: \(event\): 'loss' is a required"):
        check_event({"event": "progress", "step": 1, "total": 2, "lr": 0.1, "tokensPerSec": 1.0})
    with pytest.raises(ValueError, match=r"event 'checkpoint' breaks events.schema.json: step: -1 is less than"):
        check_event({"event": "checkpoint", "step": -1, "path": "x"})
    with pytest.raises(ValueError, match=r"unknown event 'heartbeat' \(known: progress, checkpoint, metric, done\)"):
        check_event({"event": "heartbeat"})
    with pytest.raises(ValueError, match="metric"):
        Collect().metric("", 1.0)  # an empty metric name
