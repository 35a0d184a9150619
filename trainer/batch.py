"""From sequences to model inputs: masking (MLM) or shifted labels (CLM), split into micro-batches, moved to device.

An optimizer step's sequences are masked together (one rng draw for the whole step) and only then split into
micro-batches, so the data of a step does not depend on the micro-batch size (which OOM halving may change).
MLM micro-batches carry the flat indices of their masked positions, padded to a fixed capacity (rate × tokens × 1.1,
rounded up to a multiple of 64; more only if a batch masks more), so torch.compile sees one shape per run; the
padding rows point at position 0 with target -100 and add nothing to the loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .data import Packed
from .definitions import Injected
from .masking import IGNORE, Masker

POSITIONS_MULTIPLE = 64
CAPACITY_SLACK = 1.1  # masked positions per micro-batch are padded to rate × tokens × this: one shape per run


def _round_up(n: int) -> int:
    return max(POSITIONS_MULTIPLE, -(-n // POSITIONS_MULTIPLE) * POSITIONS_MULTIPLE)


@dataclass
class Batch:
    """One micro-batch (numpy until `to(device)`)."""

    input_ids: np.ndarray | torch.Tensor  # [B, T] int64
    attention_mask: np.ndarray | torch.Tensor | None  # [B, T] int64, None when packed (no padding)
    positions: np.ndarray | torch.Tensor | None  # MLM: [M] flat indices of masked positions (padded)
    targets: np.ndarray | torch.Tensor  # MLM: [M] original ids (-100 on padding); CLM: [B, T] labels
    tokens: int  # real (non-padding) tokens
    n_targets: int  # tokens that carry a loss

    def to(self, device: torch.device) -> Batch:
        def move(x):
            if x is None:
                return None
            t = torch.from_numpy(np.ascontiguousarray(x))
            return t.pin_memory().to(device, non_blocking=True) if device.type == "cuda" else t

        return Batch(move(self.input_ids), move(self.attention_mask), move(self.positions), move(self.targets),
                     self.tokens, self.n_targets)

    def args(self) -> tuple:
        """Arguments for model.MaskedLM / model.CausalLM."""
        if self.positions is not None:
            return self.input_ids, self.attention_mask, self.positions, self.targets
        return self.input_ids, self.attention_mask, self.targets


def make_batches(seqs: Packed, micro: int, masker: Masker | None, rng: np.random.Generator | None) -> list[Batch]:
    """Mask (MLM, when `masker`) or label (CLM) all of `seqs`, then cut into micro-batches of `micro` sequences."""
    return cut_batches(label_step(seqs, masker, rng), micro, masker)


@dataclass
class Labelled:
    """A whole step's sequences after masking (MLM) or labelling (CLM), before the cut into micro-batches."""

    inputs: np.ndarray  # [N, T] int64
    labels: np.ndarray  # [N, T] int64, IGNORE where no loss
    real: np.ndarray | None  # [N, T] bool, None when packed (no padding)
    causal: bool

    def n_targets(self, lo: int = 0, hi: int | None = None) -> int:
        """Tokens that carry a loss in rows [lo, hi) (the same count the micro-batches sum to)."""
        lab = self.labels[lo:hi]
        return int((lab[:, 1:] != IGNORE).sum()) if self.causal else int((lab != IGNORE).sum())

    def tokens(self, lo: int = 0, hi: int | None = None) -> int:
        rows = self.inputs[lo:hi]
        return rows.size if self.real is None else int(self.real[lo:hi].sum())


def label_step(seqs: Packed, masker: Masker | None, rng: np.random.Generator | None) -> Labelled:
    """One rng draw for the whole step's sequences: the masks do not depend on how the step is cut afterwards."""
    n, T = seqs.ids.shape
    ids = seqs.ids.astype(np.int64)
    real = (np.arange(T)[None, :] < seqs.lengths[:, None]) if seqs.lengths is not None else None  # [N, T]
    if masker is not None:
        m = masker(ids, seqs.flags, rng, seqs.text_lengths if seqs.text_lengths is not None else seqs.lengths)
        inputs, labels = m.input_ids, m.labels
    else:
        inputs, labels = ids, ids if real is None else np.where(real, ids, IGNORE)
    return Labelled(inputs, labels, real, masker is None)


@dataclass
class StepBatches:
    """One optimizer step as this process trains it: its micro-batches (on the device) and the whole step's counts
    over all ranks' sequences (the loss is divided by `targets`, so every target token weighs the same however
    the step is cut). `position` and `micro` say which step and cut it is."""

    position: int
    micro: int
    batches: list[Batch]
    targets: int  # tokens that carry a loss
    tokens: int  # real (non-padding) tokens
    injected: Injected | None = None  # what definitions.py appended to the step's sequences (set by the trainer)


def step_batches(seqs: Packed, position: int, micro: int, masker: Masker | None, rng: np.random.Generator | None,
                 share: tuple[int, int], device: torch.device) -> StepBatches:
    """A step's sequences labelled together, then rows [share) (this rank's; all of them in one process) cut into
    micro-batches of `micro` and moved to `device`."""
    labelled = label_step(seqs, masker, rng)
    batches = [b.to(device) for b in cut_batches(labelled, micro, masker, *share)]
    return StepBatches(position, micro, batches, labelled.n_targets(), labelled.tokens())


def cut_batches(step: Labelled, micro: int, masker: Masker | None, lo: int = 0, hi: int | None = None) -> list[Batch]:
    """Rows [lo, hi) of a labelled step (all by default; one rank's share under DDP) as micro-batches of `micro`."""
    inputs, labels, real = step.inputs, step.labels, step.real
    T = inputs.shape[1]
    n = inputs.shape[0] if hi is None else hi
    out = []
    for lo in range(lo, n, micro):
        hi = min(n, lo + micro)
        mask = None if real is None else real[lo:hi].astype(np.int64)
        tokens = (hi - lo) * T if real is None else int(real[lo:hi].sum())
        if masker is not None:
            flat = labels[lo:hi].ravel()
            pos = np.flatnonzero(flat != IGNORE)
            size = max(_round_up(math.ceil(masker.rate * CAPACITY_SLACK * flat.size)), _round_up(len(pos)))
            positions = np.zeros(size, dtype=np.int64)
            targets = np.full(size, IGNORE, dtype=np.int64)
            positions[: len(pos)] = pos
            targets[: len(pos)] = flat[pos]
            out.append(Batch(inputs[lo:hi], mask, positions, targets, tokens, len(pos)))
        else:
            lab = labels[lo:hi]
            out.append(Batch(inputs[lo:hi], mask, None, lab, tokens, int((lab[:, 1:] != IGNORE).sum())))
    return out
