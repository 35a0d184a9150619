"""Label review by clusters: k-means finds separated groups, the odd labels in pure clusters are the suspects,
overlapping clusters are listed as mixed, and `finetune` lists the planted flips of a noisy train set."""

import json

import numpy as np

from trainer import config
from trainer.events import Collect
from trainer.finetune import run
from trainer.label_review import kmeans, review

from .test_finetune import finetune_config


def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.array([[10.0, 0.0], [0.0, 10.0], [-10.0, -10.0]])
    x = np.concatenate([c + rng.normal(size=(30, 2)) for c in centers])
    return x, np.repeat(np.arange(3), 30)


def test_kmeans_recovers_separated_groups_and_is_deterministic():
    x, truth = _blobs()
    got = kmeans(x, 3, seed=1)
    # the same partition up to the cluster numbering
    assert len({(int(a), int(b)) for a, b in zip(got, truth)}) == 3
    assert np.array_equal(got, kmeans(x, 3, seed=1))


def test_the_odd_labels_of_pure_clusters_are_suspects_and_mixed_clusters_are_listed():
    x, labels = _blobs()
    labels = labels.copy()
    labels[[3, 40]] = [2, 0]  # two planted flips
    labels[60:75] = 0  # half of the third group relabeled: no clear majority there
    texts = [f"row {i}" for i in range(len(labels))]
    out = review(kmeans(x, 3, seed=1), labels, ["a", "b", "c"], texts, purity=0.6)
    assert [s["row"] for s in out["suspects"]] == [3, 40]
    assert out["suspects"][0] == {"cluster": out["suspects"][0]["cluster"], "size": 30, "majority": "a",
                                  "share": round(29 / 30, 4), "row": 3, "label": "c", "text": "row 3"}
    assert len(out["mixed"]) == 1 and out["mixed"][0]["labels"] == {"a": 15, "c": 15}
    assert out["flagged"] == 2 and out["clusters"] == 3


def test_finetune_lists_the_planted_flips_of_a_noisy_train_set(tmp_path, task_bert, task_data):
    rows = [json.loads(line) for line in open(task_data["cls4_noisy"], encoding="utf-8")]
    flipped = {i for i, r in enumerate(rows) if r["flipped"]}
    raw = finetune_config(tmp_path, {"base": task_bert}, task_data["cls4_noisy"], task_data["cls4_test"],
                          maxSteps=2, labelReview={"clusters": 8})
    events = Collect()
    m = run(config.parse(raw), events)
    r = m["labelReview"]
    suspects = {s["row"] for s in r["suspects"]}
    hit = len(suspects & flipped)
    print(f"label review: {len(suspects)} suspects, {hit} of {len(flipped)} flips; mixed {len(r['mixed'])}")
    # 10% of the rows are flipped; the encoder is a tiny random-init BERT (its embeddings are about bags of words):
    # the suspects must be far richer in flips than the rows at large (measured: 15 of 43, 15 of the 20 flips)
    assert hit / max(len(suspects), 1) >= 2.5 * len(flipped) / len(rows), (hit, len(suspects), len(flipped))
    assert hit >= len(flipped) // 2, (hit, len(suspects), len(flipped))
    assert r["model"] == "base" and r["flagged"] == len(r["suspects"])
    assert ("labelReview.flagged", r["flagged"]) in [(e["name"], e["value"]) for e in events.of("metric")]
    assert {s["text"] for s in r["suspects"]} <= {row["text"][:300] for row in rows}
