"""The window between two progress lines: what the steps since the last line trained on, and how fast."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from .distributed import Ranks


@dataclass
class Window:
    steps: int
    mean_loss: float  # mean over the window's steps (all ranks' shares summed)
    tokens_per_sec: float
    flops_per_sec: float
    mean_contrastive: float | None = None  # the InfoNCE term's mean, the same way (contrastive pretraining)


class Interval:
    """Sums per step without a device sync (the loss stays a device tensor); `close` reads it once, then opens
    the next window."""

    def __init__(self, device: torch.device):
        self._device = device
        self._open()

    def _open(self) -> None:
        self.loss = torch.zeros((), device=self._device)
        self.contrastive: torch.Tensor | None = None
        self.steps = 0
        self.tokens = 0
        self.flops = 0.0
        self.t0 = time.perf_counter()

    def add(self, loss: torch.Tensor, tokens: int, flops: float, contrastive: torch.Tensor | None = None) -> None:
        self.loss += loss
        if contrastive is not None:
            self.contrastive = contrastive if self.contrastive is None else self.contrastive + contrastive
        self.steps += 1
        self.tokens += tokens
        self.flops += flops

    def close(self, ranks: Ranks) -> Window:
        mean_loss = ranks.sum_(self.loss).item() / self.steps  # .item() syncs: the elapsed time below is honest
        elapsed = time.perf_counter() - self.t0
        contrastive = ranks.sum_(self.contrastive).item() / self.steps if self.contrastive is not None else None
        window = Window(self.steps, mean_loss, self.tokens / elapsed, self.flops / elapsed, contrastive)
        self._open()
        return window
