"""Training runs on tiny models: the event contract, CLM, LoRA (merged output), EMA/SWA, and evaluation showing
that domain-adaptive training lowers the held-out domain loss."""

import json
import math

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

from trainer import config
from trainer.averaging import Averages
from trainer.evaluate import run as evaluate
from trainer.events import Collect
from trainer.train import pretrain

from .conftest import losses, pretrain_config, run_trainer, write_config


def _run(raw: dict, **kw) -> tuple[dict, Collect]:
    events = Collect()
    metrics = pretrain(config.parse(raw), events=events, **kw)
    return metrics, events


def test_cli_event_stream_matches_the_contract(tmp_path, tiny_bert, corpus):
    raw = pretrain_config(tmp_path, tiny_bert, [corpus["domain"]], data={"eval": [corpus["domain_eval"]]},
                          train={"maxSteps": 6, "logEvery": 2, "checkpointEvery": 3, "evalEvery": 3})
    rc, events, err = run_trainer("pretrain", "--config", write_config(tmp_path / "cfg.json", raw), log_level="INFO")
    assert rc == 0, err  # every stdout line parsed as JSON (run_trainer), logs went to stderr
    kinds = {"progress": {"event", "step", "total", "loss", "lr", "tokensPerSec"},
             "checkpoint": {"event", "step", "path"}, "metric": {"event", "name", "value", "step"},
             "done": {"event", "outputDir", "metrics"}}
    for e in events:
        assert set(e) == kinds[e["event"]], e  # no mfu on CPU
    assert [e["step"] for e in events if e["event"] == "progress"] == [2, 4, 6]
    assert [e["step"] for e in events if e["event"] == "checkpoint"] == [3, 6]
    assert {e["name"] for e in events if e["event"] == "metric"} == {
        "eval.domain.loss", "eval.domain.perplexity", "eval.domain.accuracy"}
    done = events[-1]
    assert done["event"] == "done" and done["outputDir"] == raw["outputDir"]
    assert all(isinstance(v, (int, float)) for v in done["metrics"].values())
    assert done["metrics"]["train.steps"] == 6 and "INFO trainer: pretrain:" in err


def test_clm_on_tiny_gpt2_learns_and_saves(tmp_path, tiny_gpt2, corpus):
    raw = pretrain_config(tmp_path, tiny_gpt2, [corpus["domain"]], objective="clm",
                          data={"eval": [corpus["domain_eval"]], "seqLen": 32},
                          train={"maxSteps": 30, "lr": 3e-3, "logEvery": 5})
    metrics, events = _run(raw)
    curve = [e["loss"] for e in events.of("progress")]
    assert curve[-1] < curve[0] - 1.0, curve
    assert math.isclose(metrics["eval.domain.perplexity"], math.exp(metrics["eval.domain.loss"]), rel_tol=1e-6)
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    assert model.config.model_type == "gpt2"


def test_lora_trains_adapters_only_and_saves_a_merged_model(tmp_path, tiny_bert, corpus):
    raw = pretrain_config(tmp_path, tiny_bert, [corpus["domain"]],
                          train={"maxSteps": 8, "lr": 1e-2, "adapter": {"type": "lora", "r": 4, "alpha": 8,
                                                                        "targetModules": ["query", "value"]}})
    _run(raw)
    base = load_file(f"{tiny_bert}/model.safetensors")
    merged_model = AutoModelForMaskedLM.from_pretrained(tmp_path / "out")
    merged = merged_model.state_dict()
    assert not any("lora" in k for k in merged)
    changed = {k for k in base if not torch.equal(base[k], merged[k])}
    assert changed and all(k.endswith(("query.weight", "value.weight")) for k in changed), changed
    # the checkpoint stores only what trains: the adapters
    raw["train"]["checkpointEvery"] = 4
    raw["outputDir"] = str(tmp_path / "out2")
    _run(raw)
    saved = load_file(str(tmp_path / "ckpt" / "step-4" / "model.safetensors"))
    assert saved and all("lora_" in k for k in saved)


def test_ema_and_swa_final_weights(tmp_path, tiny_bert, corpus):
    raw = pretrain_config(tmp_path, tiny_bert, [corpus["domain"]],
                          train={"maxSteps": 6, "ema": {"decay": 0.5}, "swa": {"startFraction": 0.5}})
    _run(raw)
    summary = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert summary["finalWeights"] == "swa"

    w = torch.nn.Parameter(torch.zeros(2))
    avg = Averages({"w": w}, ema_decay=0.5, swa_start=2)
    for step, value in enumerate([1.0, 2.0, 3.0, 5.0], start=1):
        with torch.no_grad():
            w.fill_(value)
        avg.update(step)
    assert torch.allclose(avg.swa["w"], torch.full((2,), 4.0))  # mean of steps 3 and 4
    ema = 0.0  # starts at the initial weights
    for value in [1.0, 2.0, 3.0, 5.0]:
        ema = 0.5 * ema + 0.5 * value
    assert torch.allclose(avg.ema["w"], torch.full((2,), ema))
    assert avg.final()[0] == "swa"


def test_domain_training_lowers_domain_loss(tmp_path, tiny_bert, corpus):
    """Same base, same budget: the model trained on domain text beats the one trained on general text on the
    domain held-out set (and vice versa) — the effect of the data, not of training at all."""
    common = dict(masking={"strategy": "token"}, train={"maxSteps": 60, "lr": 3e-3, "logEvery": 20})
    for name, shard in (("domain", corpus["domain"]), ("general", corpus["general"])):
        raw = pretrain_config(tmp_path / name, tiny_bert, [shard], **common)
        _run(raw)
    cfg = config.parse({
        "command": "evaluate",
        "models": {name: {"path": str(tmp_path / name / "out"), "objective": "mlm"}
                   for name in ("domain", "general")} | {"base": {"path": tiny_bert, "objective": "mlm"}},
        "data": {"domain": [corpus["domain_eval"]], "general": [corpus["general_eval"]], "seqLen": 32,
                 "maxSequences": 64},
        "outputDir": str(tmp_path / "eval"), "device": "cpu"})
    events = Collect()
    m = evaluate(cfg, events)
    print(json.dumps(m, indent=1))
    assert m["domain.domain.loss"] < min(m["general.domain.loss"], m["base.domain.loss"])
    assert m["general.general.loss"] < m["domain.general.loss"]
    assert m["domain.domain.accuracy"] > m["general.domain.accuracy"]
    assert {e["name"] for e in events.of("metric")} == set(m)
    assert events.items[-1]["event"] == "done" and events.items[-1]["metrics"] == m
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text()) == m


def test_evaluate_cli(tmp_path, tiny_bert, tiny_gpt2, corpus):
    raw = {"command": "evaluate",
           "models": {"bert": {"path": tiny_bert, "objective": "mlm"}, "gpt": {"path": tiny_gpt2, "objective": "clm"}},
           "data": {"domain": [corpus["domain_eval"]], "seqLen": 32, "maxSequences": 8},
           "masking": {"strategy": "whole-word", "rate": 0.15, "language": "en"},
           "outputDir": str(tmp_path / "eval"), "device": "cpu"}
    rc, events, err = run_trainer("evaluate", "--config", write_config(tmp_path / "eval.json", raw))
    assert rc == 0, err
    names = [e["name"] for e in events if e["event"] == "metric"]
    assert names == [f"{m}.domain.{k}" for m in ("bert", "gpt") for k in ("loss", "perplexity", "accuracy")]
    assert losses(events) == {}


@pytest.mark.parametrize("schedule", ["linear", "cosine", "constant"])
def test_lr_schedule(schedule):
    from trainer.model import lr_at

    lrs = [lr_at(s, 1.0, 4, 20, schedule) for s in range(20)]
    assert lrs[:4] == [0.25, 0.5, 0.75, 1.0]
    if schedule == "constant":
        assert set(lrs[4:]) == {1.0}
    else:
        assert all(a >= b for a, b in zip(lrs[4:], lrs[5:])) and lrs[-1] < 0.1


def test_tiny_model_cli(tmp_path, corpus):
    out = tmp_path / "gpt"
    rc, events, err = run_trainer("tiny-model", "--arch", "gpt2", "--corpus", corpus["general"], corpus["zh"],
                                  "--out", str(out), "--vocab-size", "500", "--layers", "1", "--hidden", "32")
    assert rc == 0, err
    assert events == [{"event": "done", "outputDir": str(out), "metrics": {}}]
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.n_layer == 1 and model.config.n_embd == 32 and model.config.vocab_size == 500
    rc, events, err = run_trainer("tiny-model", "--arch", "bert", "--corpus", str(tmp_path / "nope.jsonl"),
                                  "--out", str(tmp_path / "x"))
    assert rc == 2 and events == [] and "--corpus[0]: file not found" in err


def test_config_overrides_change_the_training_model_not_the_saved_one(tmp_path, tiny_bert, corpus):
    from trainer.model import load_model_checked

    with open(f"{tiny_bert}/config.json", encoding="utf-8") as f:
        base = json.load(f)
    assert base["hidden_dropout_prob"] > 0 and base["attention_probs_dropout_prob"] > 0
    off = {"hidden_dropout_prob": 0, "attention_probs_dropout_prob": 0.0}
    model = load_model_checked(tiny_bert, "mlm", off).model
    dropouts = [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and all(p == 0.0 for p in dropouts)
    assert isinstance(model.config.hidden_dropout_prob, float)  # a JSON 0 on a float attribute stays a float
    assert model.bert.encoder.layer[0].attention.self.dropout.p == 0.0  # what the SDPA call reads in training

    raw = pretrain_config(tmp_path, tiny_bert, [corpus["domain"]], train={"maxSteps": 3})
    raw["model"]["configOverrides"] = off
    _run(raw)
    saved = json.loads((tmp_path / "out" / "config.json").read_text(encoding="utf-8"))
    assert saved["hidden_dropout_prob"] == base["hidden_dropout_prob"]
    assert saved["attention_probs_dropout_prob"] == base["attention_probs_dropout_prob"]


@pytest.mark.parametrize("overrides, message", [
    ({"hidden_dropout": 0.0}, "model.configOverrides.hidden_dropout: BertConfig has no attribute 'hidden_dropout'"),
    ({"hidden_dropout_prob": "none"}, "model.configOverrides.hidden_dropout_prob: expected a value of the type"),
    ({"num_hidden_layers": 1.5}, "model.configOverrides.num_hidden_layers: expected an integer"),
])
def test_bad_config_overrides_exit_2_naming_the_field(tmp_path, tiny_bert, corpus, overrides, message):
    raw = pretrain_config(tmp_path, tiny_bert, [corpus["domain"]], train={"maxSteps": 2})
    raw["model"]["configOverrides"] = overrides
    rc, _, err = run_trainer("pretrain", "--config", write_config(tmp_path / "cfg.json", raw))
    assert rc == 2 and message in err, err
    assert not (tmp_path / "out").exists()


def test_base_weights_the_mlm_model_drops_are_carried_into_the_saved_model(tmp_path, tiny_bert, corpus):
    # BERT's pooler: the MLM model is built without it, the sequence classifier fine-tuned later reads it
    import shutil

    from transformers import AutoModelForSequenceClassification, BertConfig, BertForPreTraining

    base_dir = tmp_path / "base-with-pooler"
    shutil.copytree(tiny_bert, base_dir)
    torch.manual_seed(3)
    BertForPreTraining(BertConfig.from_pretrained(tiny_bert)).save_pretrained(base_dir)  # pooler + NSP head
    base = load_file(base_dir / "model.safetensors")
    assert "bert.pooler.dense.weight" in base

    raw = pretrain_config(tmp_path, str(base_dir), [corpus["domain"]], train={"maxSteps": 3})
    metrics, _ = _run(raw)
    saved = load_file(tmp_path / "out" / "model.safetensors")
    for name in ("bert.pooler.dense.weight", "bert.pooler.dense.bias"):
        assert torch.equal(saved[name], base[name]), name
    assert not any(k.startswith("cls.seq_relationship") for k in saved)  # the NSP head is no body weight
    assert not torch.equal(saved["bert.encoder.layer.0.attention.self.query.weight"],
                           base["bert.encoder.layer.0.attention.self.query.weight"])  # the body did train
    assert metrics["model.baseWeightsCarried"] == 2
    _, info = AutoModelForSequenceClassification.from_pretrained(tmp_path / "out", num_labels=3,
                                                                 output_loading_info=True)
    assert not [k for k in info["missing_keys"] if "pooler" in k], info["missing_keys"]

    # a base without a pooler (the MLM fixture): nothing carried, nothing invented
    raw = pretrain_config(tmp_path / "plain", tiny_bert, [corpus["domain"]], train={"maxSteps": 2})
    metrics, _ = _run(raw)
    assert "model.baseWeightsCarried" not in metrics
    assert not any("pooler" in k for k in load_file(tmp_path / "plain" / "out" / "model.safetensors"))

