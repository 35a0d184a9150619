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


def _split(src: str, dest, parts: int) -> list[str]:
    """The lines of `src` as `parts` consecutive {text} shards (the documents the stage writes per shard)."""
    lines = [json.loads(line) for line in open(src) if line.strip()]
    size = -(-len(lines) // parts)
    out = []
    for i in range(parts):
        path = dest / f"shard-{i}.jsonl"
        path.write_text("".join(json.dumps({"text": r["text"]}) + "\n" for r in lines[i * size:(i + 1) * size]))
        out.append(str(path))
    return out


def _read_candidates(out_dir, counts: list[int]) -> list[np.ndarray]:
    from trainer.pseudolabel import CANDIDATE

    rec = np.fromfile(out_dir / "candidates.bin", dtype=CANDIDATE)
    bounds = np.cumsum([0] + counts)
    return [rec[bounds[c]:bounds[c + 1]] for c in range(len(counts))]


@pytest.mark.parametrize("cap", [None, 9, "balanced"])
def test_phases_per_shard_keep_the_single_pass_rows(tmp_path, task_bert, task_data, cap):
    """teacher → label per shard → the global threshold/cap over the shards' candidates = run()'s kept rows."""
    over = {"perClassCap": cap} if cap is not None else {}
    single = run(config.parse(pseudolabel_config(tmp_path, task_bert, task_data, **over)), Collect())
    expected = [(r["text"], r["label"], r["confidence"]) for r in _rows(tmp_path)]

    teacher = run(config.parse(pseudolabel_config(tmp_path / "t", task_bert, task_data, phase="teacher",
                                                  outputDir=str(tmp_path / "t")) | {"data": {
        "train": [task_data["cls4_train"]], "maxLength": 32}}), Collect())
    assert teacher["given"] is False and (tmp_path / "t" / "model" / "config.json").is_file()
    assert json.loads((tmp_path / "t" / "teacher.json").read_text()) == teacher
    order = teacher["order"]
    shards = _split(task_data["cls4_unlabeled"], tmp_path, 3)
    texts = [json.loads(line)["text"] for s in shards for line in open(s)]
    per_class: list[list[tuple]] = [[] for _ in order]  # (conf, shard, pos)
    offsets, docs = [], 0
    for i, shard in enumerate(shards):
        out = tmp_path / f"label-{i}"
        events = Collect()
        raw = {"command": "pseudolabel", "phase": "label", "teacher": {"path": str(tmp_path / "t" / "model")},
               "labels": order, "data": {"unlabeled": [shard], "maxLength": 32}, "threshold": 0.5,
               "batchSize": 16, "seed": 3, "outputDir": str(out), "device": "cpu"}
        got = run(config.parse(raw), events)
        assert events.items[-1]["event"] == "done"
        assert got["docs"] == sum(1 for _ in open(shard))
        for c, rec in enumerate(_read_candidates(out, got["counts"])):
            assert all(rec["conf"] >= 0.5)
            keys = list(zip((-rec["conf"]).tolist(), rec["pos"].tolist()))
            assert keys == sorted(keys), "confidence descending, then position"
            per_class[c] += [(float(x), i, int(p)) for x, p in zip(rec["conf"], rec["pos"])]
        offsets.append(docs)
        docs += got["docs"]
    totals = [len(x) for x in per_class]
    limit = (min([n for n in totals if n], default=0) if cap == "balanced" else cap)
    kept = []
    for c, cands in enumerate(per_class):
        ranked = sorted(cands, key=lambda x: (-x[0], x[1], x[2]))
        for conf, shard, pos in ranked[:limit] if limit is not None else ranked:
            kept.append((texts[offsets[shard] + pos], order[c], conf))
    assert [(t, label) for t, label, _ in kept] == [(t, label) for t, label, _ in expected]
    assert np.allclose([c for *_, c in kept], [c for *_, c in expected], atol=1e-6)
    assert single["perClass"] == {order[c]: {"kept": min(n, limit) if limit is not None else n, "candidates": n}
                                  for c, n in enumerate(totals)}


def test_student_phase_learns_from_the_given_rows(tmp_path, task_bert, task_data):
    rows = tmp_path / "pseudo.jsonl"
    rows.write_text("".join(json.dumps({"text": r["text"], "label": r["label"]}) + "\n"
                            for r in map(json.loads, open(task_data["cls4_unlabeled"]))))
    labels = sorted({json.loads(line)["label"] for line in open(task_data["cls4_train"])})
    events = Collect()
    out = run(config.parse(pseudolabel_config(tmp_path, task_bert, task_data, phase="student", round=2, labels=labels,
                                              maxSteps=6) | {"data": {
        "train": [task_data["cls4_train"]], "pseudo": [str(rows)], "maxLength": 32}}), events)
    assert out == {"round": 2, "rows": 200}
    assert (tmp_path / "out" / "model" / "model.safetensors").is_file()
    assert {e["model"] for e in events.of("progress")} == {"student2"}


def test_phase_configs_name_what_is_missing(tmp_path, task_bert, task_data):
    with pytest.raises(config.ConfigError, match="labels: phase label"):
        config.parse(pseudolabel_config(tmp_path, task_bert, task_data, phase="label"))
    raw = pseudolabel_config(tmp_path, task_bert, task_data, phase="teacher")
    raw["data"] = {"unlabeled": [task_data["cls4_unlabeled"]]}
    with pytest.raises(config.ConfigError, match="data.train: phase teacher"):
        config.parse(raw)
