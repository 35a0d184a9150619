"""Weight averages of the trainable parameters, kept in fp32 beside the model.

EMA: ema ← ema + (1 - decay)·(θ - ema) after every optimizer step. With ema_warmup the decay of step t is
min(decay, (1 + t) / (10 + t)) (tf.train.ExponentialMovingAverage's num_updates): fine-tuning runs of a few hundred
steps would otherwise average mostly the initial weights.
SWA: the plain mean of θ over the optimizer steps after `start` = round(maxSteps · (1 - startFraction)).
The final model takes the SWA mean when SWA is on, else the EMA when EMA is on, else θ itself.
"""

from __future__ import annotations

import torch


class Averages:
    def __init__(self, params: dict[str, torch.Tensor], ema_decay: float | None, swa_start: int | None,
                 ema_warmup: bool = False):
        self.params = params
        self.ema_decay = ema_decay
        self.ema_warmup = ema_warmup
        self.swa_start = swa_start
        self.ema = _copy(params) if ema_decay is not None else None
        self.swa = _copy(params) if swa_start is not None else None
        self.swa_count = 0

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Call after optimizer step `step` (1-based)."""
        current = list(self.params.values())
        if self.ema is not None:
            decay = min(self.ema_decay, (1 + step) / (10 + step)) if self.ema_warmup else self.ema_decay
            torch._foreach_lerp_(list(self.ema.values()), current, 1.0 - decay)
        if self.swa is not None and step > self.swa_start:
            self.swa_count += 1
            torch._foreach_lerp_(list(self.swa.values()), current, 1.0 / self.swa_count)

    def load(self, ema: dict | None, swa: dict | None, swa_count: int) -> None:
        with torch.no_grad():
            for mine, saved in ((self.ema, ema), (self.swa, swa)):
                if mine is not None and saved is not None:
                    for k, v in mine.items():
                        v.copy_(saved[k])
        self.swa_count = swa_count

    def final(self) -> tuple[str, dict[str, torch.Tensor] | None]:
        """Which weights the final model takes ('swa' | 'ema' | 'last') and those weights (None: keep θ)."""
        if self.swa is not None and self.swa_count > 0:
            return "swa", self.swa
        if self.ema is not None:
            return "ema", self.ema
        return "last", None


def _copy(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().float().clone() for k, v in params.items()}
