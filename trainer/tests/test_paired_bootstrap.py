"""The paired bootstrap (trainer/paired_bootstrap.py): identical arms give an interval on 0, a clear gain an interval
above 0, small cases are checked by hand, and the measures agree with scores.py."""

from __future__ import annotations

import random

import numpy as np
import pytest

from trainer.paired_bootstrap import Outcomes, compare_to, paired_difference, summarize_arm
from trainer.scores import classification_scores

GOLD = [i % 3 for i in range(300)]
SEEDS = (1, 2, 3, 4, 5)


def arm(p: float, salt: int, gold=GOLD, seeds=SEEDS, k: int = 3) -> Outcomes:
    """Each prediction right with probability p, else another class."""
    preds = []
    for s in seeds:
        r = random.Random(s * 7919 + salt)
        preds.append([g if r.random() < p else (g + 1 + r.randrange(k - 1)) % k for g in gold])
    return Outcomes(tuple(seeds), gold=np.array(gold), predictions=np.array(preds))


def test_identical_arms_give_an_interval_of_zero():
    a = arm(0.6, 1)
    for measure in ("macroF1", "accuracy"):
        d = paired_difference(a, a, measure, resamples=300)
        assert (d["lower"], d["difference"], d["upper"]) == (0.0, 0.0, 0.0)


def test_same_quality_contains_zero_about_centred():
    d = paired_difference(arm(0.6, 1), arm(0.6, 2), "macroF1", resamples=1000)
    assert d["lower"] < 0 < d["upper"]
    assert abs(d["lower"] + d["upper"]) / 2 < (d["upper"] - d["lower"]) / 4


def test_clear_gain_excludes_zero_and_flips_with_the_order():
    good, bad = arm(0.8, 1), arm(0.5, 2)
    d = paired_difference(good, bad, "macroF1", resamples=1000)
    assert d["lower"] > 0.15 and d["lower"] <= d["difference"] <= d["upper"]
    r = paired_difference(bad, good, "macroF1", resamples=1000)
    assert r["difference"] == pytest.approx(-d["difference"]) and r["upper"] < 0


def test_deterministic_given_the_resampling_seed():
    a, b = arm(0.7, 1), arm(0.6, 2)
    x = paired_difference(a, b, "accuracy", resamples=400, seed=3)
    assert paired_difference(a, b, "accuracy", resamples=400, seed=3) == x
    y = paired_difference(a, b, "accuracy", resamples=400, seed=4)
    assert y["lower"] != x["lower"] and abs(y["lower"] - x["lower"]) < 0.02


def test_by_hand_macro_f1_accuracy_mean_std():
    # class 0: tp 1, predicted 1, gold 2 -> F1 2/3; class 1: tp 2, predicted 3, gold 2 -> F1 4/5; macro 11/15
    o = Outcomes((1, 2), gold=np.array([0, 0, 1, 1]), predictions=np.array([[0, 1, 1, 1], [0, 0, 1, 1]]))
    f = summarize_arm(o, "macroF1")
    assert f["perSeed"] == pytest.approx([11 / 15, 1.0])
    assert f["mean"] == pytest.approx(13 / 15) and f["std"] == pytest.approx(2 ** 0.5 * 2 / 15)
    assert summarize_arm(o, "accuracy")["perSeed"] == [0.75, 1.0]
    # a class neither in gold nor predicted does not count (scikit-learn's label set), as in scores.py
    gap = Outcomes((1,), gold=np.array([0, 2]), predictions=np.array([[0, 2]]))
    assert summarize_arm(gap, "macroF1")["mean"] == 1.0


def test_macro_f1_matches_scores_py():
    a = arm(0.55, 9, k=3)
    for s in range(len(SEEDS)):
        ref = classification_scores(GOLD, a.predictions[s].tolist(), ["a", "b", "c"])["macroF1"]
        assert summarize_arm(a, "macroF1")["perSeed"][s] == pytest.approx(ref)


def test_by_hand_one_seed_two_items():
    # a is right on both items, b on item 0 only. Draws of two items: {0,0} -> 0, mixed -> 0.5, {1,1} -> 1 with
    # probabilities 1/4, 1/2, 1/4: the 95% interval spans [0, 1]; the middle 40% all lie on 0.5.
    a = Outcomes((7,), gold=np.array([0, 1]), predictions=np.array([[0, 1]]))
    b = Outcomes((7,), gold=np.array([0, 1]), predictions=np.array([[0, 0]]))
    d = paired_difference(a, b, "accuracy", resamples=4000)
    assert (d["lower"], d["difference"], d["upper"]) == (0.0, 0.5, 1.0)
    narrow = paired_difference(a, b, "accuracy", resamples=4000, confidence=0.4)
    assert (narrow["lower"], narrow["upper"]) == (0.5, 0.5)


def test_by_hand_seeds_are_resampled_too():
    # one item, always right for a; b right with seed 1, wrong with seed 2: drawn seed pairs {1,1} -> 0,
    # mixed -> 0.5, {2,2} -> 1
    a = Outcomes((1, 2), gold=np.array([0]), predictions=np.array([[0], [0]]))
    b = Outcomes((1, 2), gold=np.array([0]), predictions=np.array([[0], [1]]))
    d = paired_difference(a, b, "accuracy", resamples=4000)
    assert (d["lower"], d["difference"], d["upper"]) == (0.0, 0.5, 1.0)


def test_ner_entity_f1_from_sentence_counts():
    o = Outcomes.from_runs([{"seed": 1, "entityCounts": [[1, 1, 1], [1, 2, 1], [0, 0, 2]]}])
    assert summarize_arm(o, "entityF1")["mean"] == pytest.approx(4 / 7)  # tp 2, predicted 3, gold 4
    d = paired_difference(o, o, "entityF1", resamples=50)
    assert (d["lower"], d["difference"], d["upper"]) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="ner outcomes score entityF1"):
        paired_difference(o, o, "macroF1")


def test_compare_to_the_reference_arm():
    arms = {"base": arm(0.5, 1), "same": arm(0.5, 1), "better": arm(0.8, 2)}
    c = compare_to("base", arms, resamples=300)
    assert set(c) == {"same", "better"} and set(c["better"]) == {"macroF1", "accuracy"}
    assert c["same"]["macroF1"]["upper"] == 0.0 and c["better"]["accuracy"]["lower"] > 0


def test_mismatched_arms_are_refused():
    a = arm(0.6, 1)
    with pytest.raises(ValueError, match=r"different seeds \(1, 2, 3, 4, 5 vs 1, 2, 3\)"):
        paired_difference(a, arm(0.6, 1, seeds=(1, 2, 3)), "macroF1")
    with pytest.raises(ValueError, match="300 and 299 test items"):
        paired_difference(a, arm(0.6, 1, gold=GOLD[1:]), "macroF1")
    with pytest.raises(ValueError, match=r"confidence 1 is not in \(0, 1\)"):
        paired_difference(a, a, "macroF1", confidence=1)
    with pytest.raises(ValueError, match="no per-item outcomes"):
        Outcomes.from_runs([{"seed": 1, "macroF1": 0.5}])
