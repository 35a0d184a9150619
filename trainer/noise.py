"""Label noise: confident learning (Northcutt et al. 2021) on out-of-fold probabilities.

    out_of_fold(fit_and_predict, labels, folds, seed)  stratified k folds; each fold's rows are predicted by a model
                                                       trained on the other folds, so no row is scored by a model
                                                       that saw its (possibly wrong) label
    confident_learning(probs, labels)                  per-class threshold t_j = mean p_j(x) over the rows labeled
                                                       j (the class's self-confidence); row x counts in the
                                                       confident joint at (given label, argmax_{j: p_j(x) ≥ t_j}
                                                       p_j(x)); the off-diagonal rows are flagged
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .data import rng_for


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold index of every row: each class's rows are shuffled and dealt round-robin."""
    fold = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        rows = rows[rng_for(seed, 0xF01D, int(c)).permutation(len(rows))]
        fold[rows] = (np.arange(len(rows)) + offset) % folds
        offset += len(rows)  # classes smaller than k do not all start in fold 0
    return fold


def out_of_fold(fit_and_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], labels: np.ndarray,
                n_classes: int, folds: int, seed: int) -> np.ndarray:
    """[N, K] probabilities; fit_and_predict(train_rows, heldout_rows) → probabilities of the held-out rows."""
    fold = stratified_folds(labels, folds, seed)
    probs = np.zeros((len(labels), n_classes), dtype=np.float64)
    for f in range(folds):
        held = np.flatnonzero(fold == f)
        if len(held):
            probs[held] = fit_and_predict(np.flatnonzero(fold != f), held)
    return probs


def confident_learning(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indices of rows flagged as mislabeled, the confident joint [K, K]: given label × estimated true label)."""
    n, k = probs.shape
    thresholds = np.full(k, np.inf)
    for j in range(k):
        rows = labels == j
        if rows.any():
            thresholds[j] = probs[rows, j].mean()
    above = probs >= thresholds[None, :]
    masked = np.where(above, probs, -np.inf)
    true = masked.argmax(1)
    counted = above.any(1)
    joint = np.zeros((k, k), dtype=np.int64)
    np.add.at(joint, (labels[counted], true[counted]), 1)
    flagged = np.flatnonzero(counted & (true != labels))
    return flagged, joint
