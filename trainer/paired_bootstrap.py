"""Paired comparison of two arms (e.g. base and adapted model) fine-tuned with the same seeds and scored on the same
test items: mean ± std over seeds per arm, and the difference of the means with a percentile interval from a paired
bootstrap over seeds × test items.

Each resample draws test items and seeds with replacement, once for both arms (that is the pairing), and recomputes
the measure (macro-F1 and accuracy from the predictions, entity F1 from per-sentence counts) on the drawn items for
every drawn seed. Seed noise (initialisation, batch order) and test-set noise both widen the interval; a difference
that survives both is one a promotion can rely on. Deterministic given `seed` (the resampling seed, not a
fine-tuning seed).

The one place the interval is computed: finetune.py writes it into metrics.json (the evaluate stage and promote read
it from there), bench/adapt/protocol.py calls it for every ablation arm. Measures match scores.py: macro-F1 over the
classes present in the drawn gold labels or predictions (scikit-learn's label set), strict micro entity F1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHOD = "paired bootstrap over seeds × test items (percentile)"
DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95
# resamples drawn and scored at a time (bounds memory at CHUNK × test items); part of the draw order, so fixed
CHUNK = 256


@dataclass(frozen=True)
class Outcomes:
    """One arm's per-item test outcomes: classification `predictions` (seeds × items label ids) with `gold` (items),
    or ner `entity_counts` (seeds × sentences × [true positive, predicted, gold] entities)."""

    seeds: tuple[int, ...]
    gold: np.ndarray | None = None
    predictions: np.ndarray | None = None
    entity_counts: np.ndarray | None = None

    @staticmethod
    def from_runs(runs: list[dict], gold: list[int] | None = None) -> Outcomes:
        """From finetune's per-seed scores ({seed, predictions | entityCounts, ...}) and metrics.json's testGold."""
        seeds = tuple(int(r["seed"]) for r in runs)
        if all("entityCounts" in r for r in runs):
            return Outcomes(seeds, entity_counts=np.asarray([r["entityCounts"] for r in runs], dtype=np.int64))
        if gold is None or not all("predictions" in r for r in runs):
            raise ValueError("paired bootstrap: the runs carry no per-item outcomes (predictions with testGold, or "
                             "entityCounts)")
        return Outcomes(seeds, gold=np.asarray(gold, dtype=np.int64),
                        predictions=np.asarray([r["predictions"] for r in runs], dtype=np.int64))

    @property
    def ner(self) -> bool:
        return self.entity_counts is not None

    @property
    def items(self) -> int:
        return int(self.entity_counts.shape[1] if self.ner else self.gold.shape[0])

    def check(self, name: str) -> None:
        runs = self.entity_counts if self.ner else self.predictions
        if not self.seeds:
            raise ValueError(f"paired bootstrap: arm {name} has no seeds")
        if runs.shape[0] != len(self.seeds):
            raise ValueError(f"paired bootstrap: arm {name} has {runs.shape[0]} runs for {len(self.seeds)} seeds")
        if not self.items:
            raise ValueError(f"paired bootstrap: arm {name} has no test items")
        if not self.ner and self.predictions.shape[1] != self.items:
            raise ValueError(f"paired bootstrap: arm {name} has {self.predictions.shape[1]} predictions per seed for "
                             f"{self.items} test items")


def measures(o: Outcomes) -> list[str]:
    return ["entityF1"] if o.ner else ["macroF1", "accuracy"]


def _f1(tp: np.ndarray, n_pred: np.ndarray, n_gold: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tp > 0, 2 * tp / np.maximum(n_pred + n_gold, 1), 0.0)


def _scores(o: Outcomes, s: int, items: np.ndarray, measure: str) -> np.ndarray:
    """The measure of seed index `s` on each row of `items` (resamples × drawn item indices) → (resamples,)."""
    if o.ner:
        if measure != "entityF1":
            raise ValueError(f"paired bootstrap: ner outcomes score entityF1, not {measure}")
        c = o.entity_counts[s][items].sum(axis=1)  # (resamples, 3)
        return _f1(c[:, 0], c[:, 1], c[:, 2])
    if measure not in ("macroF1", "accuracy"):
        raise ValueError(f"paired bootstrap: classification outcomes have no {measure}")
    g, p = o.gold[items], o.predictions[s][items]  # (resamples, n)
    if measure == "accuracy":
        return (g == p).mean(axis=1)
    k = int(max(o.gold.max(), o.predictions.max())) + 1
    rows = np.arange(items.shape[0])[:, None] * k
    size = items.shape[0] * k
    tp = np.bincount((rows + g)[g == p], minlength=size).reshape(-1, k)
    n_pred = np.bincount((rows + p).ravel(), minlength=size).reshape(-1, k)
    n_gold = np.bincount((rows + g).ravel(), minlength=size).reshape(-1, k)
    present = (n_pred + n_gold) > 0
    return (_f1(tp, n_pred, n_gold) * present).sum(axis=1) / np.maximum(present.sum(axis=1), 1)


def summarize_arm(o: Outcomes, measure: str) -> dict:
    """{mean, std (sample, n − 1; 0 with one seed), perSeed} of the measure on the whole test set."""
    o.check("a")
    every = np.arange(o.items)[None, :]
    per_seed = [float(_scores(o, s, every, measure)[0]) for s in range(len(o.seeds))]
    std = float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0
    return {"mean": float(np.mean(per_seed)), "std": std, "perSeed": per_seed}


def paired_difference(a: Outcomes, b: Outcomes, measure: str, confidence: float = DEFAULT_CONFIDENCE,
                      resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict:
    """mean(a) − mean(b) on the whole test set (positive: a is better) with its `confidence` interval. Both arms
    must have the same seeds (the same fine-tuning seed is the pair) and the same test items in the same order."""
    a.check("a")
    b.check("b")
    if a.ner != b.ner:
        raise ValueError("paired bootstrap: cannot pair ner with classification outcomes")
    if a.seeds != b.seeds:
        raise ValueError(f"paired bootstrap: the arms have different seeds ({', '.join(map(str, a.seeds))} vs "
                         f"{', '.join(map(str, b.seeds))})")
    if a.items != b.items:
        raise ValueError(f"paired bootstrap: the arms have {a.items} and {b.items} test items")
    if not a.ner and not np.array_equal(a.gold, b.gold):
        raise ValueError("paired bootstrap: the arms were scored on different gold labels")
    if not 0 < confidence < 1:
        raise ValueError(f"paired bootstrap: confidence {confidence} is not in (0, 1)")
    if resamples < 1:
        raise ValueError(f"paired bootstrap: resamples {resamples} is not a positive integer")
    n, n_seeds = a.items, len(a.seeds)
    whole = summarize_arm(a, measure)["mean"] - summarize_arm(b, measure)["mean"]

    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples)
    for start in range(0, resamples, CHUNK):
        m = min(CHUNK, resamples - start)
        items = rng.integers(0, n, size=(m, n))
        drawn = rng.integers(0, n_seeds, size=(m, n_seeds))
        per_seed = np.stack([_scores(a, s, items, measure) - _scores(b, s, items, measure) for s in range(n_seeds)])
        diffs[start:start + m] = per_seed[drawn, np.arange(m)[:, None]].mean(axis=1)
    tail = (1 - confidence) / 2
    lower, upper = np.quantile(diffs, [tail, 1 - tail])
    return {"measure": measure, "difference": float(whole), "lower": float(lower), "upper": float(upper),
            "confidence": confidence, "resamples": resamples, "seeds": n_seeds, "items": n, "method": METHOD}


def compare_to(reference: str, arms: dict[str, Outcomes], confidence: float = DEFAULT_CONFIDENCE,
               resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict:
    """{arm: {measure: paired difference arm − reference}} for every arm but the reference."""
    ref = arms[reference]
    return {name: {m: paired_difference(o, ref, m, confidence, resamples, seed) for m in measures(o)}
            for name, o in arms.items() if name != reference}


def versus_base(results: dict, gold: list[int] | None, interval) -> dict:
    """A fine-tuning's comparison with its base, where it applies: `comparison`, every model against "base" on the
    same seeds and test items (the interval a promotion can trust), and `delta`, adapted − base of the means.
    `results`: model → {seeds, mean}; `interval`: confidence, resamples, seed."""
    out: dict = {}
    if "base" in results and len(results) > 1:
        arms = {name: Outcomes.from_runs(r["seeds"], gold) for name, r in results.items()}
        out["comparison"] = compare_to("base", arms, interval.confidence, interval.resamples, interval.seed)
    if "base" in results and "adapted" in results:
        base, adapted = results["base"]["mean"], results["adapted"]["mean"]
        out["delta"] = {m: adapted[m] - base[m] for m in base
                        if isinstance(base[m], float) and m in adapted and m != "bestEpoch"}
    return out
