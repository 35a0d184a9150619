"""MLM masking over a batch of token ids, vectorised in numpy (no per-sequence Python loop).

Strategies (masking.strategy):
  token       every maskable token is its own unit (BERT's original masking)
  whole-word  units are words (words.py: Latin words, jieba words for Chinese, lexicon entries merged)
  lexicon     ERNIE-style knowledge masking: half of each sequence's budget goes to whole lexicon spans (entities,
              domain terms) first, the rest to whole words chosen uniformly among the remaining units

Per sequence the budget is round(rate × maskable tokens); units are taken in a random order while the tokens taken
so far are below the budget (the last unit may overshoot by its length - 1). Special tokens (CLS/SEP/PAD...) and
padding are never masked. Masked tokens: 80% → [MASK], 10% → a random regular token, 10% unchanged; labels are
the original ids at masked positions and -100 elsewhere. The randomness comes from the `rng` passed in, which the
trainer derives from (seed, position in the data stream), so masks never depend on batch layout or on a resume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .words import LEXICON, WORD_START

IGNORE = -100
LEXICON_SHARE = 0.5  # lexicon strategy: share of the budget reserved for lexicon spans


@dataclass
class Masked:
    input_ids: np.ndarray  # [B, T] int64, corrupted
    labels: np.ndarray  # [B, T] int64, original id where masked else -100

    @property
    def n_masked(self) -> int:
        return int((self.labels != IGNORE).sum())


class Masker:
    def __init__(self, strategy: str, rate: float, mask_id: int, vocab_size: int, special_ids: list[int]):
        if mask_id is None:
            raise ValueError("the tokenizer has no mask token: MLM needs one")
        self.strategy = strategy
        self.rate = rate
        self.mask_id = mask_id
        self.special_ids = np.asarray(sorted(set(special_ids)), dtype=np.int64)
        self.regular_ids = np.setdiff1d(np.arange(vocab_size, dtype=np.int64), self.special_ids)

    def __call__(self, ids: np.ndarray, flags: np.ndarray | None, rng: np.random.Generator,
                 lengths: np.ndarray | None = None) -> Masked:
        ids = np.asarray(ids, dtype=np.int64)
        B, T = ids.shape
        maskable = ~np.isin(ids, self.special_ids)  # [B, T]
        if lengths is not None:
            maskable &= np.arange(T)[None, :] < lengths[:, None]
        # Units: a unit starts at every WORD_START token (every token for the token strategy) and at each row start.
        if self.strategy == "token" or flags is None:
            start = np.ones((B, T), dtype=bool)
        else:
            start = (flags & WORD_START).astype(bool) | ~maskable
            start[:, 0] = True
        unit = np.cumsum(start.ravel()) - 1  # [B*T] global unit id of each token
        n_units = int(unit[-1]) + 1
        flat_maskable = maskable.ravel()
        unit_len = np.bincount(unit, weights=flat_maskable, minlength=n_units).astype(np.int64)  # maskable tokens
        unit_row = np.repeat(np.arange(B), T)[start.ravel()]  # row of each unit
        budget = np.rint(self.rate * maskable.sum(axis=1)).astype(np.int64)  # [B]

        if self.strategy == "lexicon" and flags is not None:
            lex_tok = (flags.ravel() & LEXICON).astype(bool) & flat_maskable
            unit_lex = np.bincount(unit, weights=lex_tok, minlength=n_units) > 0
            chosen = _choose(unit_lex & (unit_len > 0), unit_len, unit_row, np.rint(budget * LEXICON_SHARE), B, rng)
            used = np.bincount(unit_row, weights=unit_len * chosen, minlength=B)
            chosen |= _choose(~chosen & (unit_len > 0), unit_len, unit_row, np.maximum(budget - used, 0), B, rng)
        else:
            chosen = _choose(unit_len > 0, unit_len, unit_row, budget, B, rng)

        masked = (chosen[unit] & flat_maskable).reshape(B, T)
        labels = np.where(masked, ids, IGNORE)
        r = rng.random((B, T))
        corrupted = ids.copy()
        corrupted[masked & (r < 0.8)] = self.mask_id
        swap = masked & (r >= 0.8) & (r < 0.9)
        corrupted[swap] = rng.choice(self.regular_ids, size=int(swap.sum()))
        return Masked(corrupted, labels)


def _choose(eligible: np.ndarray, unit_len: np.ndarray, unit_row: np.ndarray, budget: np.ndarray, n_rows: int,
            rng: np.random.Generator) -> np.ndarray:
    """Per row, take eligible units in random order while the row's taken length is below its budget."""
    n = len(unit_len)
    key = rng.random(n)
    order = np.lexsort((key, ~eligible, unit_row))  # by row, eligible first, then random
    lens = np.where(eligible, unit_len, 0)[order]
    rows = unit_row[order]
    before = np.cumsum(lens) - lens  # tokens taken before this unit, counted from the batch start
    row_total = np.bincount(rows, weights=lens, minlength=n_rows)
    row_offset = np.concatenate([[0], np.cumsum(row_total)[:-1]])
    take_sorted = (lens > 0) & (before - row_offset[rows] < budget[rows])
    chosen = np.zeros(n, dtype=bool)
    chosen[order] = take_sorted
    return chosen
