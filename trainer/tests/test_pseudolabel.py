"""pseudolabel: the confidence threshold, per-class caps (a number, 'balanced'), noisy-student rounds, the CLI."""

import json

import numpy as np
import pytest

from trainer import config
from trainer.events import Collect
from trainer.pseudolabel import run, select

from .conftest import run_trainer, write_config


def pseudolabel_config(tmp_path, teacher: str, task_data, **over) -> dict:
    cfg = {
        "command": "pseudolabel", "teacher": {"path": teacher},
        "data": {"train": [task_data["cls4_train"]], "unlabeled": [task_data["cls4_unlabeled"]], "maxLength": 32},
        "threshold": 0.5, "seed": 3, "epochs": 8, "batchSize": 16, "lr": 3e-3, "logEvery": 5,
        "outputDir": str(tmp_path / "out"), "device": "cpu",
    }
    cfg.update(over)
    return cfg


def _rows(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "out" / "pseudo.jsonl").read_text().splitlines()]


def test_select_threshold_and_caps():
    probs = np.array([[.95, .05], [.6, .4], [.97, .03], [.2, .8], [.91, .09], [.1, .9], [.5, .5]])
    kept, stats = select(probs, 0.9, None)
    assert kept.tolist() == [2, 0, 4, 5] and stats == {0: {"kept": 3, "candidates": 3}, 1: {"kept": 1, "candidates": 1}}
    kept, stats = select(probs, 0.9, 2)
    assert kept.tolist() == [2, 0, 5]  # the two most confident of class 0
    kept, stats = select(probs, 0.75, "balanced")
    assert kept.tolist() == [2, 0, 5, 3] and [s["kept"] for s in stats.values()] == [2, 2]
    kept, stats = select(probs, 0.99, "balanced")
    assert kept.tolist() == [] and stats[0] == {"kept": 0, "candidates": 0}


@pytest.mark.parametrize("cap", [7, "balanced"])
def test_threshold_and_per_class_cap_are_respected(tmp_path, task_bert, task_data, cap):
    stats = run(config.parse(pseudolabel_config(tmp_path, task_bert, task_data, perClassCap=cap)), Collect())
    rows = _rows(tmp_path)
    assert rows and all(r["confidence"] >= 0.5 and r["round"] == 1 for r in rows)
    counts = {label: sum(r["label"] == label for r in rows) for label in stats["labels"]}
    assert {label: s["kept"] for label, s in stats["perClass"].items()} == counts
    with_candidates = [label for label, s in stats["perClass"].items() if s["candidates"]]
    assert len(with_candidates) >= 3  # the teacher learned the task: most classes get confident documents
    if cap == "balanced":
        assert len({counts[label] for label in with_candidates}) == 1
        assert counts[with_candidates[0]] == min(stats["perClass"][label]["candidates"] for label in with_candidates)
    else:
        assert all(c <= cap for c in counts.values())
        assert all(counts[label] == min(cap, s["candidates"]) for label, s in stats["perClass"].items())
    # pseudo-labels agree with the generator's classes (the unlabeled documents carry their true label)
    truth = {json.loads(line)["text"]: json.loads(line)["label"] for line in open(task_data["cls4_unlabeled"])}
    assert sum(truth[r["text"]] == r["label"] for r in rows) / len(rows) >= 0.8


def test_noisy_student_rounds_via_cli(tmp_path, task_bert, task_data):
    raw = pseudolabel_config(tmp_path, task_bert, task_data, rounds=2, threshold=0.5, maxSteps=40)
    rc, events, err = run_trainer("pseudolabel", "--config", write_config(tmp_path / "pl.json", raw), timeout=240)
    assert rc == 0, err
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert [r["round"] for r in stats["rounds"]] == [1, 2]
    assert stats["rounds"][0]["teacher"] == "fine-tuned" and stats["rounds"][1]["teacher"] == "student of round 1"
    assert stats["rounds"][0]["kept"] > 0  # the student learned from pseudo-labeled rows too
    rows = _rows(tmp_path)
    assert len(rows) == stats["rounds"][1]["kept"] and all(r["round"] == 2 and r["confidence"] >= 0.5 for r in rows)
    progress = [e for e in events if e["event"] == "progress"]
    assert {e["model"] for e in progress} == {"teacher", "student1"} and progress[-1]["step"] == progress[-1]["total"]
    assert events[-1]["event"] == "done" and events[-1]["metrics"]["pseudolabel.kept"] == len(rows)


def test_a_classifier_teacher_is_used_as_it_is(tmp_path, task_bert, task_data):
    ft = {"command": "finetune", "task": "classification", "models": {"base": {"path": task_bert}},
          "data": {"train": [task_data["cls4_train"]], "test": [task_data["cls4_test"]], "maxLength": 32},
          "seeds": [1], "epochs": 8, "lr": 3e-3, "outputDir": str(tmp_path / "ft"), "device": "cpu",
          "saveModel": {"model": "base"}}
    from trainer.finetune import run as finetune

    finetune(config.parse(ft), Collect())
    events = Collect()
    stats = run(config.parse(pseudolabel_config(tmp_path, str(tmp_path / "ft" / "model"), task_data)), events)
    assert stats["rounds"][0]["teacher"] == "given" and events.of("progress") == []
    assert stats["rounds"][0]["kept"] > 0


def test_bad_config_exits_2(tmp_path, task_bert, task_data):
    raw = pseudolabel_config(tmp_path, task_bert, task_data, perClassCap="even")
    rc, events, err = run_trainer("pseudolabel", "--config", write_config(tmp_path / "bad.json", raw))
    assert rc == 2 and events == [] and "perClassCap" in err
    raw = pseudolabel_config(tmp_path, task_bert, task_data, threshold=1.5)
    with pytest.raises(config.ConfigError, match="threshold:"):
        config.parse(raw)


def test_chunked_length_sorted_scoring_keeps_the_row_order(task_bert):
    import torch

    from trainer.model import load_tokenizer
    from trainer.task_train import load_task_model, predict_probs, predict_texts
    from trainer.taskdata import encode_texts

    tok = load_tokenizer(task_bert)
    model = load_task_model(task_bert, "classification", ["a", "b", "c"], seed=0).eval()
    texts = ["the patient developed stenosis and received aspirin after myocarditis . " * (i % 4 + 1)
             for i in range(11)]
    cpu = torch.device("cpu")
    chunked = predict_texts(model, tok, texts, 64, batch_size=3, device=cpu, chunk=4)
    whole = predict_probs(model, encode_texts(tok, texts, 64), batch_size=16, device=cpu)
    assert np.allclose(chunked, whole, atol=1e-5)
