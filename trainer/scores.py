"""Task metrics: accuracy, macro-F1 and per-class F1 (classification); strict entity-level F1 of BIO sequences (NER);
mean ± std over seeds.

Macro-F1 averages over the classes present in the gold labels or the predictions (scikit-learn's default label
set), so a class that neither occurs nor is predicted does not count as 0. NER scoring follows seqeval's strict
IOB2 mode: an entity is a B-X tag followed by I-X tags; an I-X that does not continue a B-X/I-X of the same type
starts no entity and breaks the one before; a predicted entity counts only with exactly the gold type, start and end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def _f1(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def classification_scores(gold: Sequence[int], pred: Sequence[int], labels: Sequence[str]) -> dict:
    """{accuracy, macroF1, perClassF1: {label: f1}} of label ids `pred` against `gold`."""
    n = len(gold)
    per_class: dict[str, float] = {}
    present = []
    for k, label in enumerate(labels):
        tp = sum(1 for g, p in zip(gold, pred) if g == k and p == k)
        n_pred = sum(1 for p in pred if p == k)
        n_gold = sum(1 for g in gold if g == k)
        per_class[label] = _f1(tp, n_pred, n_gold)[2]
        if n_pred or n_gold:
            present.append(per_class[label])
    return {
        "accuracy": sum(1 for g, p in zip(gold, pred) if g == p) / n if n else 0.0,
        "macroF1": sum(present) / len(present) if present else 0.0,
        "perClassF1": per_class,
    }


def entities(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """Strict IOB2 entities (type, start, end exclusive) of one tag sequence."""
    found: set[tuple[str, int, int]] = set()
    etype, start = None, 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, kind = tag.partition("-")
        if etype is not None and not (prefix == "I" and kind == etype):
            found.add((etype, start, i))
            etype = None
        if prefix == "B" and kind:
            etype, start = kind, i
    return found


def entity_counts(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> list[list[int]]:
    """Per sentence [true positive entities, predicted entities, gold entities]: what a paired bootstrap over test
    sentences needs to recompute the micro entity F1 of any resample (activities/paired-bootstrap.ts)."""
    out = []
    for g, p in zip(gold, pred):
        ge, pe = entities(g), entities(p)
        out.append([len(ge & pe), len(pe), len(ge)])
    return out


def entity_types(tags: Sequence[str]) -> list[str]:
    return sorted({t.partition("-")[2] for t in tags if t[:2] in ("B-", "I-")})


def ner_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], types: Sequence[str]) -> dict:
    """{entityF1, precision, recall, accuracy (per word), macroF1 (over entity types), perClassF1: {type: f1}}."""
    gold_e = [entities(g) for g in gold]
    pred_e = [entities(p) for p in pred]
    tp = sum(len(g & p) for g, p in zip(gold_e, pred_e))
    n_gold = sum(len(g) for g in gold_e)
    n_pred = sum(len(p) for p in pred_e)
    precision, recall, f1 = _f1(tp, n_pred, n_gold)
    per_type: dict[str, float] = {}
    present = []
    for t in types:
        t_tp = sum(sum(1 for e in g & p if e[0] == t) for g, p in zip(gold_e, pred_e))
        t_gold = sum(sum(1 for e in g if e[0] == t) for g in gold_e)
        t_pred = sum(sum(1 for e in p if e[0] == t) for p in pred_e)
        per_type[t] = _f1(t_tp, t_pred, t_gold)[2]
        if t_gold or t_pred:
            present.append(per_type[t])
    words = sum(len(g) for g in gold)
    right = sum(1 for g, p in zip(gold, pred) for a, b in zip(g, p) if a == b)
    return {
        "accuracy": right / words if words else 0.0,
        "macroF1": sum(present) / len(present) if present else 0.0,
        "perClassF1": per_type,
        "entityF1": f1,
        "precision": precision,
        "recall": recall,
    }


def _mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single seed)."""
    m = sum(values) / len(values)
    if len(values) < 2:
        return m, 0.0
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def summarize(runs: list[dict]) -> tuple[dict, dict]:
    """(mean, std) over seeds of every number in the runs' scores; nested dicts (perClassF1) key by key."""
    mean: dict = {}
    std: dict = {}
    for key, first in runs[0].items():
        if key == "seed":
            continue
        if isinstance(first, dict):
            mean[key], std[key] = summarize([r[key] for r in runs])
        elif isinstance(first, (int, float)):
            mean[key], std[key] = _mean_std([float(r[key]) for r in runs])
    return mean, std
