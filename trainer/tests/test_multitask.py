"""Multi-task fine-tuning: task sampling by size and temperature, one shared encoder with a head per task, the
per-task and macro-averaged metrics, and the config checks."""

import json

import numpy as np
import pytest
import torch

from trainer import config
from trainer.errors import ConfigError
from trainer.events import Collect
from trainer.finetune import run
from trainer.model import load_tokenizer
from trainer.multitask import fit_multitask, load_multitask_model, task_proportions, task_schedule
from trainer.task_train import Budget, Progress
from trainer.taskdata import encode_texts, label_ids
from trainer.synthetic import classification_examples, write_rows


def test_size_sampling_follows_the_data_and_temperature_flattens_it():
    sizes = {"big": 900, "small": 100}
    assert task_proportions(sizes, "size", 5.0) == pytest.approx({"big": 0.9, "small": 0.1})
    # T = 2: p ∝ √n → 30 : 10
    assert task_proportions(sizes, "temperature", 2.0) == pytest.approx({"big": 0.75, "small": 0.25})
    # a very high temperature is almost uniform; T = 1 is the size strategy
    assert task_proportions(sizes, "temperature", 100.0)["small"] == pytest.approx(0.5, abs=0.02)
    assert task_proportions(sizes, "temperature", 1.0) == pytest.approx(task_proportions(sizes, "size", 1.0))
    # the steps drawn follow the proportions
    for strategy, temperature in (("size", 1.0), ("temperature", 2.0)):
        p = task_proportions(sizes, strategy, temperature)
        draws = task_schedule(["big", "small"], p, 20_000, seed=3)
        assert np.mean(draws == 1) == pytest.approx(p["small"], abs=0.01)
        assert (task_schedule(["big", "small"], p, 50, seed=3) == draws[:50]).all()  # seeded


def _encoded(tokenizer, n_classes: int, seed: int, n: int = 32):
    rows = classification_examples(n, n_classes, seed=seed)
    labels = sorted({r["label"] for r in rows})
    return encode_texts(tokenizer, [r["text"] for r in rows], 32, label_ids([r["label"] for r in rows], labels, "t"))


def test_one_encoder_with_a_head_per_task(task_bert):
    tokenizer = load_tokenizer(task_bert)
    model = load_multitask_model(task_bert, {"four": ("classification", 4), "tags": ("ner", 5)}, seed=1)
    four, tags = model.for_task("four"), model.for_task("tags")
    assert four.model.encoder is tags.model.encoder  # one encoder object ...
    assert model.heads["four"].out_features == 4 and model.heads["tags"].out_features == 5  # ... two heads
    n_encoder = sum(1 for _ in model.encoder.parameters())
    assert sum(1 for _ in model.parameters()) == n_encoder + 4  # the heads' weight and bias on top, nothing else
    ids = torch.tensor([tokenizer("the drug helps")["input_ids"]])
    assert four(ids).logits.shape == (1, 4)
    assert tags(ids).logits.shape == (1, ids.shape[1], 5)

    # training only the task "four" moves the shared encoder and its own head; the other head is untouched
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    train = {"four": _encoded(tokenizer, 4, 0)}
    stats = fit_multitask(model, train, {"four": 1.0}, Budget(1, 8, 1e-3), 1, torch.device("cpu"),
                          Progress(Collect(), 4, 1))
    after = model.state_dict()
    assert stats["taskSteps"] == {"four": 4}
    assert not torch.equal(before["heads.four.weight"], after["heads.four.weight"])
    assert torch.equal(before["heads.tags.weight"], after["heads.tags.weight"])
    moved = [k for k in before if k.startswith("encoder.") and not torch.equal(before[k], after[k])]
    assert any("encoder.layer" in k for k in moved)


def test_with_dev_scores_the_best_epochs_weights_are_returned(task_bert):
    tokenizer = load_tokenizer(task_bert)
    model = load_multitask_model(task_bert, {"four": ("classification", 4), "two": ("classification", 2)}, seed=1)
    train = {"four": _encoded(tokenizer, 4, 0, n=24), "two": _encoded(tokenizer, 2, 1, n=8)}
    scripted = iter([0.1, 0.9, 0.2])  # epoch 2 is the best
    seen = []

    def dev_score(m):
        seen.append({k: v.detach().clone() for k, v in m.state_dict().items()})
        return next(scripted)

    # 32 rows, batches of 8: an epoch is 4 steps; 3 epochs
    stats = fit_multitask(model, train, {"four": 0.5, "two": 0.5}, Budget(3, 8, 1e-3), 1, torch.device("cpu"),
                          Progress(Collect(), 12, 1), dev_score=dev_score)
    assert stats["bestEpoch"] == 2 and len(seen) == 3
    after = model.state_dict()
    assert all(torch.equal(after[k], seen[1][k]) for k in after)
    assert not torch.equal(after["heads.four.weight"], seen[2]["heads.four.weight"])


def _multi(tmp_path, task_bert, task_data, **over) -> dict:
    raw = {
        "command": "finetune",
        "models": {"base": {"path": task_bert}, "adapted": {"path": task_bert}},
        "tasks": {
            "topics": {"task": "classification",
                       "data": {"train": [task_data["cls4_train"]], "test": [task_data["cls4_test"]], "maxLength": 32}},
            "entities": {"task": "ner",
                         "data": {"train": [task_data["ner_train"]], "test": [task_data["ner_test"]], "maxLength": 32}},
        },
        "seeds": [1, 2], "epochs": 3, "batchSize": 16, "lr": 3e-3, "logEvery": 2,
        "interval": {"resamples": 200},
        "outputDir": str(tmp_path / "out"), "device": "cpu",
    }
    raw.update(over)
    return raw


def test_two_tasks_scored_per_task_compared_and_macro_averaged(tmp_path, task_bert, task_data):
    events = Collect()
    m = run(config.parse(_multi(tmp_path, task_bert, task_data, taskSampling={"strategy": "size"})), events)
    assert m == json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert m["task"] == "multi-task" and set(m["tasks"]) == {"topics", "entities"}
    topics, entities = m["tasks"]["topics"], m["tasks"]["entities"]
    assert topics["task"] == "classification" and len(topics["testGold"]) == 80
    assert entities["task"] == "ner" and "entityF1" in entities["models"]["base"]["mean"]
    for t, primary in ((topics, "macroF1"), (entities, "entityF1")):
        assert [s["seed"] for s in t["models"]["adapted"]["seeds"]] == [1, 2]
        iv = t["comparison"]["adapted"][primary]  # the paired bootstrap per task
        assert iv["lower"] <= iv["difference"] <= iv["upper"] and iv["seeds"] == 2
        assert t["delta"]["accuracy"] == pytest.approx(
            t["models"]["adapted"]["mean"]["accuracy"] - t["models"]["base"]["mean"]["accuracy"])
    # the macro average weighs each task once, seed by seed, on each task's primary measure
    for i, seed_scores in enumerate(m["models"]["adapted"]["seeds"]):
        expected = (topics["models"]["adapted"]["seeds"][i]["macroF1"]
                    + entities["models"]["adapted"]["seeds"][i]["entityF1"]) / 2
        assert seed_scores["taskAverage"] == pytest.approx(expected)
    assert m["delta"]["taskAverage"] == pytest.approx(
        m["models"]["adapted"]["mean"]["taskAverage"] - m["models"]["base"]["mean"]["taskAverage"])
    # 200 + 120 rows, three epochs of batches of 16: 60 steps, drawn by size (200:120)
    assert m["budget"]["stepsPerRun"] == 60
    assert m["sampling"]["proportions"]["topics"] == pytest.approx(200 / 320)
    steps = m["sampling"]["taskSteps"]["base"]
    assert steps["topics"] + steps["entities"] == 60
    # the classification task is learnable in these shared steps: better than chance (0.25)
    assert topics["models"]["base"]["mean"]["accuracy"] > 0.4
    progress = events.of("progress")
    assert progress[-1]["step"] == progress[-1]["total"] == 2 * 2 * 60
    assert events.of("done")[0]["metrics"]["delta.taskAverage"] == pytest.approx(m["delta"]["taskAverage"])


def test_a_small_task_learns_from_a_large_related_one_through_the_shared_encoder(tmp_path, task_bert):
    """Built so multi-task should help: 8 labeled rows of a coarse task (classes 0-1 low, 2-3 high) are too few
    to learn which keywords mean what; a 200-row task on the fine classes of the same texts teaches the shared
    encoder. Same seeds and the same number of steps: alone, the small task stays near a constant guess."""
    def coarse(rows):
        return [{"text": r["text"], "label": "low" if r["label"] in ("c00", "c01") else "high"} for r in rows]

    files = {name: write_rows(str(tmp_path / f"{name}.jsonl"), rows) for name, rows in {
        "big": classification_examples(200, 4, seed=0), "big_test": classification_examples(40, 4, seed=1),
        "small": coarse(classification_examples(8, 4, seed=5)), "small_test": coarse(classification_examples(80, 4, seed=1)),
    }.items()}

    def data(name):
        return {"train": [files[name]], "test": [files[f"{name}_test"]], "maxLength": 32}

    common = {"command": "finetune", "models": {"base": {"path": task_bert}}, "seeds": [1, 2, 3], "batchSize": 16,
              "lr": 3e-3, "device": "cpu", "logEvery": 50}
    alone = run(config.parse({**common, "task": "classification", "data": data("small"), "epochs": 39,
                              "outputDir": str(tmp_path / "alone")}), Collect())
    together = run(config.parse({**common, "epochs": 3, "outputDir": str(tmp_path / "together"),
                                 "tasks": {"big": {"task": "classification", "data": data("big")},
                                           "small": {"task": "classification", "data": data("small")}},
                                 "taskSampling": {"strategy": "temperature", "temperature": 3}}), Collect())
    assert alone["budget"]["stepsPerRun"] == together["budget"]["stepsPerRun"] == 39
    f1_alone = alone["models"]["base"]["mean"]["macroF1"]
    f1_together = together["tasks"]["small"]["models"]["base"]["mean"]["macroF1"]
    assert f1_together > f1_alone + 0.3, (f1_alone, f1_together)
    # T = 3 gave the 8-row task a share of the steps far above its 8/208 of the rows
    share = together["sampling"]["proportions"]["small"]
    assert share == pytest.approx(8 ** (1 / 3) / (8 ** (1 / 3) + 200 ** (1 / 3))) and share > 0.2


@pytest.mark.parametrize("mutate, expected", [
    (lambda r: r.update(task="classification"), "tasks: give either tasks or"),
    (lambda r: r.update(uda={}), "tasks: uda not available with several tasks"),
    (lambda r: r.update(imbalance="weights"), "tasks: imbalance not available"),
    (lambda r: r["tasks"].pop("entities"), "tasks: at least two tasks"),
    (lambda r: r["tasks"]["topics"]["data"].update(test=["/nonexistent/t.jsonl"]), "tasks.topics.data.test[0]"),
    (lambda r: r.pop("tasks"), "task, data: required"),
])
def test_bad_multi_task_configs_name_the_field(tmp_path, task_bert, task_data, mutate, expected):
    raw = _multi(tmp_path, task_bert, task_data)
    mutate(raw)
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        config.parse(raw)
