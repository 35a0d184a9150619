"""finetune: UDA consistency masking, confident learning on planted label flips, NER, imbalance, the CLI contract."""

import json

import numpy as np
import pytest

from trainer import config
from trainer.events import Collect
from trainer.finetune import run

from .conftest import run_trainer, write_config


def finetune_config(tmp_path, models: dict[str, str], train: str, test: str, **over) -> dict:
    cfg = {
        "command": "finetune", "task": "classification",
        "models": {name: {"path": path} for name, path in models.items()},
        "data": {"train": [train], "test": [test], "maxLength": 32},
        "seeds": [1], "epochs": 2, "batchSize": 16, "lr": 3e-3, "logEvery": 1,
        "outputDir": str(tmp_path / "out"), "device": "cpu",
    }
    for key, value in over.items():
        if key == "data":
            cfg["data"].update(value)
        else:
            cfg[key] = value
    return cfg


def _uda_run(tmp_path, task_bert, task_data, threshold: float) -> tuple[list[dict], dict]:
    raw = finetune_config(tmp_path, {"base": task_bert}, task_data["cls20_train"], task_data["cls20_test"],
                          data={"unlabeled": [task_data["cls20_pairs"]]}, maxSteps=6,
                          uda={"confidenceThreshold": threshold, "tsa": "linear", "unlabeledBatchRatio": 2})
    events = Collect()
    metrics = run(config.parse(raw), events)
    return events.of("progress"), metrics


def test_uda_consistency_is_masked_by_confidence(tmp_path, task_bert, task_data):
    # threshold 0: every pair counts; the sharpened target differs from p(augmented), so the KL is positive
    progress, metrics = _uda_run(tmp_path / "open", task_bert, task_data, 0.0)
    assert len(metrics["labels"]) == 20 and len(progress) == 6
    for e in progress:
        assert e["maskFraction"] == 1.0
        assert e["consistencyLoss"] > 0 and e["supervisedLoss"] > 0
        assert e["loss"] == pytest.approx(e["supervisedLoss"] + e["consistencyLoss"], rel=1e-5)
    assert metrics["uda"]["models"]["base"]["maskFraction"] == 1.0
    assert metrics["uda"]["pairs"] == 120 and metrics["uda"]["confidenceThreshold"] == 0.0

    # threshold 1: an untrained 20-way classifier is never certain, so no pair counts and the term is 0
    progress, metrics = _uda_run(tmp_path / "closed", task_bert, task_data, 1.0)
    for e in progress:
        assert e["maskFraction"] == 0.0 and e["consistencyLoss"] == 0.0
        assert e["loss"] == pytest.approx(e["supervisedLoss"], rel=1e-6)
    assert metrics["uda"]["models"]["base"]["consistencyLoss"] == 0.0


def test_uda_mask_follows_the_threshold():
    import torch

    from trainer.task_train import consistency

    logits = torch.tensor([[4.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 9.0]])  # confidences ~.96, ~.45, ~1.0
    aug = torch.zeros(3, 3)
    loss, mask = consistency(logits, aug, threshold=0.9, temperature=0.4)
    assert mask.tolist() == [1.0, 0.0, 1.0]
    target = (logits / 0.4).softmax(-1)
    kl = (target * (target.log() - aug.log_softmax(-1))).sum(-1)
    assert loss.item() == pytest.approx(((kl[0] + kl[2]) / 3).item(), rel=1e-5)


def test_confident_learning_finds_planted_label_flips(tmp_path, task_bert, task_data):
    rows = [json.loads(line) for line in open(task_data["cls4_noisy"], encoding="utf-8")]
    flipped = {i for i, r in enumerate(rows) if r["flipped"]}
    assert len(flipped) == 20  # 10% of 200
    raw = finetune_config(tmp_path, {"base": task_bert}, task_data["cls4_noisy"], task_data["cls4_test"],
                          maxSteps=2, noise={"method": "confident-learning", "folds": 4, "epochs": 10})
    metrics = run(config.parse(raw), Collect())
    flagged = set(metrics["noise"]["flagged"])
    hit = len(flagged & flipped)
    precision, recall = hit / max(len(flagged), 1), hit / len(flipped)
    assert recall >= 0.8 and precision >= 0.8, (precision, recall, sorted(flagged))
    assert metrics["noise"]["count"] == len(flagged)
    joint = np.asarray(metrics["noise"]["confidentJoint"])
    assert joint.shape == (4, 4) and joint.sum() - np.trace(joint) == len(flagged)


def test_confident_learning_on_known_probabilities():
    from trainer.noise import confident_learning, stratified_folds

    labels = np.array([0, 0, 0, 1, 1, 1])
    probs = np.array([[.9, .1], [.8, .2], [.2, .8],  # row 2: labeled 0, looks like 1
                      [.1, .9], [.3, .7], [.6, .4]])  # row 5: labeled 1, p0 = .6 < t0 = mean(.9, .8, .2) = .633
    flagged, joint = confident_learning(probs, labels)
    assert flagged.tolist() == [2]
    assert joint.tolist() == [[2, 1], [0, 2]]  # row 5 is above no threshold (t1 = .667): not counted
    folds = stratified_folds(np.array([0] * 8 + [1] * 4), 4, seed=0)
    assert sorted(np.bincount(folds).tolist()) == [3, 3, 3, 3]


def test_ner_entity_f1_is_strict():
    from trainer.scores import entities, ner_scores

    assert entities(["B-DRUG", "I-DRUG", "O", "B-DIS", "B-DIS", "I-DIS"]) == {
        ("DRUG", 0, 2), ("DIS", 3, 4), ("DIS", 4, 6)}
    assert entities(["O", "I-DRUG", "I-DRUG", "B-DIS", "I-DRUG"]) == {("DIS", 3, 4)}  # stray I- starts nothing
    gold = [["B-DRUG", "I-DRUG", "O", "B-DIS"], ["O", "B-DIS", "O"]]
    pred = [["B-DRUG", "O", "O", "B-DIS"],  # DRUG cut short: wrong; DIS right
            ["O", "B-DIS", "B-DRUG"]]  # DIS right; a spurious DRUG
    s = ner_scores(gold, pred, ["DIS", "DRUG"])
    assert s["precision"] == pytest.approx(2 / 4) and s["recall"] == pytest.approx(2 / 3)
    assert s["entityF1"] == pytest.approx(2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3))
    assert s["perClassF1"] == {"DIS": 1.0, "DRUG": 0.0}
    assert s["macroF1"] == 0.5 and s["accuracy"] == pytest.approx(5 / 7)


def test_ner_tags_go_to_the_first_sub_token(task_bert):
    from trainer.model import IGNORE, load_tokenizer
    from trainer.taskdata import encode_words

    tok = load_tokenizer(task_bert)
    words = [["the", "patient", "warfarinaspirin", "aspirin"]]  # an unseen word splits into several pieces
    enc = encode_words(tok, words, [np.array([0, 0, 1, 2])], max_length=32)
    start = enc.word_starts[0]
    labeled = np.flatnonzero(enc.labels[0] != IGNORE)
    assert labeled.tolist() == start.tolist() and enc.labels[0, start].tolist() == [0, 0, 1, 2]
    assert (enc.labels[0, start[2] + 1: start[3]] == IGNORE).all() and start[3] - start[2] > 1


def test_ner_finetune_reports_entity_scores(tmp_path, task_bert, task_data):
    raw = finetune_config(tmp_path, {"base": task_bert}, task_data["ner_train"], task_data["ner_test"],
                          task="ner", epochs=4, lr=5e-3, imbalance="weights", ema={"decay": 0.9})
    metrics = run(config.parse(raw), Collect())
    assert metrics["labels"] == ["B-DISEASE", "B-DRUG", "I-DISEASE", "O", "I-DRUG"]
    seed = metrics["models"]["base"]["seeds"][0]
    assert set(seed) >= {"seed", "accuracy", "macroF1", "perClassF1", "entityF1", "precision", "recall"}
    assert set(seed["perClassF1"]) == {"DISEASE", "DRUG"}
    assert seed["entityF1"] > 0.5  # entities are fixed words after fixed cue words: learnable in a few epochs
    # per-sentence counts add up to the scores (what the paired bootstrap resamples)
    tp, n_pred, n_gold = (sum(c[i] for c in seed["entityCounts"]) for i in range(3))
    assert seed["precision"] == pytest.approx(tp / n_pred) and seed["recall"] == pytest.approx(tp / n_gold)
    assert "entityCounts" not in metrics["models"]["base"]["mean"] and "testGold" not in metrics


def test_imbalance_weights_and_resampling():
    from trainer.task_train import _order, inverse_frequency

    labels = np.array([0] * 90 + [1] * 10)
    w = inverse_frequency(labels, 3)
    assert w.tolist() == pytest.approx([100 / (2 * 90), 100 / (2 * 10), 1.0])
    drawn = labels[_order(100, seed=1, epoch=0, labels=labels, resample=True)]
    assert 30 <= (drawn == 1).sum() <= 70  # class-balanced in expectation (50), vs 10 without resampling
    assert sorted(_order(100, 1, 0, labels, resample=False).tolist()) == list(range(100))


def test_cli_two_models_same_budget_metrics_and_saved_model(tmp_path, task_bert, task_data):
    raw = finetune_config(tmp_path, {"base": task_bert, "adapted": task_bert}, task_data["cls4_train"],
                          task_data["cls4_test"], data={"dev": [task_data["cls4_test"]]}, seeds=[1, 2], maxSteps=5,
                          imbalance="resample", saveModel={"model": "adapted", "seed": 2})
    rc, events, err = run_trainer("finetune", "--config", write_config(tmp_path / "ft.json", raw), timeout=240)
    assert rc == 0, err
    progress = [e for e in events if e["event"] == "progress"]
    assert [e["step"] for e in progress] == list(range(1, 21)) and {e["total"] for e in progress} == {20}
    assert [(e["model"], e["seed"]) for e in progress[::5]] == [("base", 1), ("base", 2), ("adapted", 1),
                                                                 ("adapted", 2)]
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["task"] == "classification" and metrics["labels"] == ["c00", "c01", "c02", "c03"]
    base, adapted = metrics["models"]["base"], metrics["models"]["adapted"]
    assert [s["seed"] for s in base["seeds"]] == [1, 2]
    # the same model, seeds, batches and budget: identical numbers, so every delta is 0
    assert base["seeds"] == adapted["seeds"]
    # per-item predictions beside the test rows' gold ids: the accuracy is recomputable from them
    gold = metrics["testGold"]
    for s in base["seeds"]:
        assert len(s["predictions"]) == len(gold)
        assert s["accuracy"] == pytest.approx(sum(p == g for p, g in zip(s["predictions"], gold)) / len(gold))
    assert metrics["delta"] and all(v == 0 for v in metrics["delta"].values())
    assert set(base["mean"]) == {"accuracy", "macroF1", "perClassF1", "bestEpoch"}
    assert base["std"]["accuracy"] >= 0
    assert metrics["budget"] == {"trainRows": 200, "stepsPerRun": 5, "epochs": 2, "batchSize": 16, "seeds": [1, 2]}
    assert "bestEpoch" not in metrics["delta"]
    done = events[-1]
    assert done["event"] == "done" and "delta.macroF1" in done["metrics"] and "base.accuracy" in done["metrics"]
    from transformers import AutoModelForSequenceClassification

    saved = AutoModelForSequenceClassification.from_pretrained(str(tmp_path / "out" / "model"))
    assert saved.config.id2label == {0: "c00", 1: "c01", 2: "c02", 3: "c03"}


def test_defaults_match_the_contract(tmp_path, task_bert, task_data):
    raw = {"command": "finetune", "task": "classification", "models": {"base": {"path": task_bert}},
           "data": {"train": [task_data["cls4_train"]], "test": [task_data["cls4_test"]],
                    "unlabeled": [task_data["cls20_pairs"]]},
           "outputDir": str(tmp_path), "uda": {}, "noise": {"method": "confident-learning"}, "ema": {}}
    cfg = config.parse(raw)
    assert cfg.seeds == [1, 2, 3] and cfg.epochs == 3 and cfg.imbalance == "none" and cfg.device == "auto"
    assert cfg.data.text_field == "text" and cfg.data.label_field == "label" and cfg.data.max_length == 128
    assert cfg.data.tokens_field == "tokens" and cfg.data.tags_field == "tags" and cfg.data.dev is None
    assert (cfg.uda.weight, cfg.uda.confidence_threshold, cfg.uda.temperature, cfg.uda.tsa,
            cfg.uda.unlabeled_batch_ratio) == (1, 0.8, 0.4, "none", 3)
    assert (cfg.noise.folds, cfg.noise.action, cfg.noise.weight) == (4, "drop", 0.2) and cfg.ema.decay == 0.999
    pl = config.parse({"command": "pseudolabel", "teacher": {"path": task_bert},
                       "data": {"train": [task_data["cls4_train"]], "unlabeled": [task_data["cls4_unlabeled"]]},
                       "outputDir": str(tmp_path)})
    assert (pl.threshold, pl.rounds, pl.per_class_cap, pl.data.max_length) == (0.9, 1, None, 128)


@pytest.mark.parametrize("mutate, expected", [
    (lambda c: c.update(task="regression"), "task:"),
    (lambda c: c.update(uda={"tsa": "cubic"}), "uda.tsa:"),
    (lambda c: c.update(uda={}), "data.unlabeled: required when uda is set"),
    (lambda c: c.update(noise={"method": "confident-learning", "folds": 1}), "noise.folds:"),
    (lambda c: c.update(saveModel={"model": "large"}), "saveModel.model: 'large' is not one of models"),
    (lambda c: c["data"].pop("test"), "data.test: required field missing"),
    (lambda c: c.update(seeds=[]), "seeds:"),
])
def test_bad_config_exits_2_naming_the_field(tmp_path, task_bert, task_data, mutate, expected):
    raw = finetune_config(tmp_path, {"base": task_bert}, task_data["cls4_train"], task_data["cls4_test"])
    mutate(raw)
    with pytest.raises(config.ConfigError) as e:
        config.parse(raw)
    assert expected in str(e.value)


def test_cli_bad_config_and_bad_rows_exit_2(tmp_path, task_bert, task_data):
    raw = finetune_config(tmp_path, {"base": task_bert}, task_data["cls4_train"], task_data["cls4_test"],
                          imbalance="inverse")
    rc, events, err = run_trainer("finetune", "--config", write_config(tmp_path / "bad.json", raw))
    assert rc == 2 and events == [] and "imbalance:" in err
    (tmp_path / "test.jsonl").write_text('{"text": "a b", "label": "c99"}\n', encoding="utf-8")
    raw = finetune_config(tmp_path, {"base": task_bert}, task_data["cls4_train"], str(tmp_path / "test.jsonl"))
    rc, _, err = run_trainer("finetune", "--config", write_config(tmp_path / "bad2.json", raw))
    assert rc == 2 and "data.test: labels not in the label set" in err and "c99" in err


def test_a_pretrain_checkpoint_fine_tunes_against_its_base(tmp_path, task_bert, task_data):
    """The real flow: `pretrain` writes an MLM checkpoint (here with vocabulary extension: a resized embedding
    matrix), `finetune` loads it next to its base under the same budget and reports adapted − base."""
    from trainer.train import pretrain

    from .conftest import pretrain_config

    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("warfarinaspirin\ncardiologistward\n", encoding="utf-8")
    raw = pretrain_config(tmp_path / "pt", task_bert, [task_data["corpus"]], train={"maxSteps": 6},
                          vocab={"lexicon": str(lexicon), "padToMultipleOf": 8})
    assert pretrain(config.parse(raw), events=Collect())["vocab.tokensAdded"] >= 1
    adapted = str(tmp_path / "pt" / "out")
    ft = finetune_config(tmp_path, {"base": task_bert, "adapted": adapted}, task_data["cls4_train"],
                         task_data["cls4_test"], seeds=[1, 2], maxSteps=4)
    metrics = run(config.parse(ft), Collect())
    assert set(metrics["models"]) == {"base", "adapted"}
    for name in ("base", "adapted"):
        assert [s["seed"] for s in metrics["models"][name]["seeds"]] == [1, 2]
    assert metrics["delta"]["macroF1"] == pytest.approx(
        metrics["models"]["adapted"]["mean"]["macroF1"] - metrics["models"]["base"]["mean"]["macroF1"])


def test_ablation_arms_differ_only_in_their_own_rows_and_uda(tmp_path, task_bert, task_data):
    """An ablation's arms: the same encoder fine-tuned as base, with extra rows only it sees (pseudo-labels), and
    with UDA only it uses; everything else (seeds, shared rows, budget) alike, every arm compared with base."""
    extra = tmp_path / "pseudo.jsonl"
    train_rows = (open(task_data["cls4_train"], encoding="utf-8").read().splitlines())
    extra.write_text("\n".join(train_rows[:40]) + "\n", encoding="utf-8")
    raw = finetune_config(tmp_path, {"base": task_bert}, task_data["cls4_train"], task_data["cls4_test"],
                          data={"unlabeled": [task_data["cls20_pairs"]]}, epochs=1, seeds=[1, 2],
                          uda={"confidenceThreshold": 0.0, "unlabeledBatchRatio": 1}, interval={"resamples": 200})
    raw["models"] = {"base": {"path": task_bert, "uda": False}, "twin": {"path": task_bert, "uda": False},
                     "pl": {"path": task_bert, "train": [str(extra)], "uda": False},
                     "pl+uda": {"path": task_bert, "train": [str(extra)]}}
    events = Collect()
    metrics = run(config.parse(raw), events)
    progress = events.of("progress")
    steps = {name: sum(1 for e in progress if e["model"] == name) for name in raw["models"]}
    # 200 shared rows → 13 steps of 16 per seed; 240 with the 40 extra rows → 15
    assert steps == {"base": 26, "twin": 26, "pl": 30, "pl+uda": 30}
    assert {e["total"] for e in progress} == {112}
    assert not any("consistencyLoss" in e for e in progress if e["model"] != "pl+uda")
    assert all(e["consistencyLoss"] > 0 for e in progress if e["model"] == "pl+uda")
    runs = metrics["models"]
    assert runs["twin"]["seeds"] == runs["base"]["seeds"]  # nothing but the name differs
    assert runs["pl"]["seeds"] != runs["base"]["seeds"]
    assert set(metrics["comparison"]) == {"twin", "pl", "pl+uda"}
    assert metrics["comparison"]["twin"]["macroF1"]["difference"] == 0
    assert metrics["budget"]["trainRows"] == 200 and set(metrics["uda"]["models"]) == {"pl+uda"}


def test_an_arms_rows_with_an_unknown_label_are_refused(tmp_path, task_bert, task_data):
    extra = tmp_path / "pseudo.jsonl"
    extra.write_text('{"text": "a b", "label": "c99"}\n', encoding="utf-8")
    raw = finetune_config(tmp_path, {"base": task_bert}, task_data["cls4_train"], task_data["cls4_test"])
    raw["models"]["pl"] = {"path": task_bert, "train": [str(extra)]}
    with pytest.raises(config.ConfigError) as e:
        run(config.parse(raw), Collect())
    assert "models.pl.train: labels not in the label set" in str(e.value) and "c99" in str(e.value)


def test_balanced_subsets_keep_small_classes_whole_and_undersample_large_ones():
    from trainer.task_train import balanced_subsets

    labels = np.repeat([0, 1, 2], [90, 10, 30])  # median class size 30
    subsets = balanced_subsets(labels, 3, seed=1)
    for rows in subsets:
        assert np.bincount(labels[rows]).tolist() == [30, 10, 30]
        assert set(np.flatnonzero(labels == 1)) <= set(rows.tolist())  # the rare class always whole
    assert not np.array_equal(subsets[0], subsets[1])  # fresh draws of the large class per member
    assert all(np.array_equal(a, b) for a, b in zip(subsets, balanced_subsets(labels, 3, seed=1)))


def test_an_imbalance_ensemble_averages_its_members_probabilities(tmp_path, task_bert, task_data):
    import torch

    from trainer.task_train import AveragedClassifier

    class Fixed(torch.nn.Module):
        def __init__(self, p):
            super().__init__()
            self.p = torch.tensor(p)
            self.config = None

        def forward(self, input_ids, attention_mask=None):
            from types import SimpleNamespace
            return SimpleNamespace(logits=self.p.log().expand(len(input_ids), -1))

    avg = AveragedClassifier([Fixed([0.9, 0.1]), Fixed([0.3, 0.7])])
    got = avg(input_ids=torch.zeros((2, 3), dtype=torch.long)).logits.softmax(-1)
    assert torch.allclose(got, torch.tensor([[0.6, 0.4], [0.6, 0.4]]))

    raw = finetune_config(tmp_path, {"base": task_bert}, task_data["cls4_train"], task_data["cls4_test"], epochs=1,
                          imbalance="ensemble", ensembleMembers=2)
    events = Collect()
    metrics = run(config.parse(raw), events)
    progress = events.of("progress")
    # the 4 classes are balanced (50 each): both members train on all 200 rows, 13 steps of 16 each
    assert len(progress) == 26 and {e["total"] for e in progress} == {26}
    assert metrics["models"]["base"]["seeds"][0]["accuracy"] >= 0
    with pytest.raises(config.ConfigError, match="saveModel: an imbalance ensemble"):
        config.parse({**raw, "saveModel": {"model": "base"}})
