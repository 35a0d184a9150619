"""The event stream: one JSON object per line on stdout.

The events' schema is shared with the activity, which parses every line with it: schemas/trainer-events.ts,
generated into events.schema.json here (`dapt schema --trainer-events`). `Collect` checks each event it collects
against that file, so every trainer test that collects events also checks the contract.
Logs go to stderr through `log`. An `Events` object can also collect events in memory (tests, benchmarks).
"""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger("trainer")

SCHEMA_PATH = Path(__file__).with_name("events.schema.json")


@cache
def _validators() -> dict[str, Any]:
    """One validator per event kind (the schema's oneOf branches), so errors name the fields of that kind."""
    import jsonschema

    with open(SCHEMA_PATH, encoding="utf-8") as f:
        schema = json.load(f)
    return {b["properties"]["event"]["const"]: jsonschema.Draft202012Validator(b) for b in schema["oneOf"]}


def check_event(event: dict[str, Any]) -> None:
    """Raises ValueError naming the event and every field that breaks the shared schema."""
    validator = _validators().get(event.get("event"))
    if validator is None:
        raise ValueError(f"unknown event {event.get('event')!r} (known: {', '.join(_validators())})")
    errors = sorted(validator.iter_errors(event), key=lambda e: list(e.absolute_path))
    if errors:
        what = "; ".join(f"{'.'.join(map(str, e.absolute_path)) or '(event)'}: {e.message}" for e in errors)
        raise ValueError(f"event {event.get('event')!r} breaks {SCHEMA_PATH.name}: {what}")


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def _num(x: float) -> float | int:
    """JSON has no NaN/Infinity: send a finite number (the TS side validates numbers)."""
    if isinstance(x, int):
        return x
    x = float(x)
    if math.isnan(x):
        return -1.0
    if math.isinf(x):
        return 1e30 if x > 0 else -1e30
    return x


class Events:
    """Writes events as JSON lines to `stream` (stdout by default) and/or hands them to `sink`."""

    def __init__(self, stream=None, sink: Callable[[dict], None] | None = None, echo: bool = True):
        self.stream = stream if stream is not None else sys.stdout
        self.sink = sink
        self.echo = echo

    def emit(self, event: dict[str, Any]) -> None:
        if self.sink is not None:
            self.sink(event)
        if self.echo:
            self.stream.write(json.dumps(event, separators=(",", ":")) + "\n")
            self.stream.flush()

    def progress(self, step: int, total: int, loss: float, lr: float, tokens_per_sec: float,
                 mfu: float | None = None, **extra: Any) -> None:
        """`extra`: the optional fields of the progress event (epoch, model, seed, supervisedLoss, ...)."""
        ev: dict[str, Any] = {"event": "progress", "step": step, "total": total, "loss": _num(loss), "lr": _num(lr),
                              "tokensPerSec": _num(tokens_per_sec)}
        if mfu is not None:
            ev["mfu"] = _num(mfu)
        for key, value in extra.items():
            if value is not None:
                ev[key] = _num(value) if isinstance(value, (int, float)) else value
        self.emit(ev)

    def checkpoint(self, step: int, path: str) -> None:
        self.emit({"event": "checkpoint", "step": step, "path": path})

    def metric(self, name: str, value: float, step: int | None = None) -> None:
        ev: dict[str, Any] = {"event": "metric", "name": name, "value": _num(value)}
        if step is not None:
            ev["step"] = step
        self.emit(ev)

    def done(self, output_dir: str, metrics: dict[str, float]) -> None:
        self.emit({"event": "done", "outputDir": output_dir, "metrics": {k: _num(v) for k, v in metrics.items()}})


class Collect(Events):
    """In-memory events (no stdout): `.items` holds every event dict, each checked against the shared schema."""

    def __init__(self, echo: bool = False):
        self.items: list[dict] = []
        super().__init__(sink=self._collect, echo=echo)

    def _collect(self, event: dict) -> None:
        check_event(event)
        self.items.append(event)

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.items if e["event"] == kind]
