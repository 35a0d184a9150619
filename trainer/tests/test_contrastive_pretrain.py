"""Contrastive continual pretraining (config `contrastive`): MLM + weight × SimCSE InfoNCE between two dropout views.

The InfoNCE value of identical views is test_robust.py's; here the pretraining wiring: the MLM term is untouched,
the InfoNCE gradient reaches the encoder, the term is logged, learns, resumes exactly, two DDP ranks match one
process, and CLM is refused."""

import math
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from trainer import config
from trainer.errors import ConfigError
from trainer.events import Collect
from trainer.model import ContrastiveMaskedLM, MaskedLM, load_model
from trainer.train import pretrain

from .conftest import REPO, parse_events, pretrain_config, trainer_env, write_config

NO_DROPOUT = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}


def _run(raw: dict, resume: str | None = None) -> tuple[dict, list[dict]]:
    events = Collect()
    metrics = pretrain(config.parse(raw), resume=resume, events=events)
    return metrics, events.of("progress")


def _masked_batch(tiny_bert: str):
    """Four sequences of 12 tokens (the second padded after 8) with three masked positions each."""
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 100, (4, 12), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    positions = torch.tensor([1, 4, 7, 13, 15, 18, 25, 30, 33, 37, 40, 45])
    targets = ids.reshape(-1)[positions].clone()
    ids.view(-1)[positions] = 4  # stand-in [MASK] id: what the objective sees is all that matters here
    return load_model(tiny_bert, "mlm"), (ids, mask, positions, targets)


def test_the_mlm_term_is_plain_mlm_and_the_infonce_gradient_reaches_the_encoder(tiny_bert):
    model, args = _masked_batch(tiny_bert)
    model.eval()  # no dropout: the first view is exactly MaskedLM's forward
    plain, _ = MaskedLM(model)(*args)
    mlm, nce = ContrastiveMaskedLM(model, temperature=0.05, pooling="mean")(*args)
    assert torch.equal(mlm, plain)
    # without dropout the two views coincide: the loss is the identical-views InfoNCE of these pooled states
    assert math.isfinite(nce.item()) and nce.item() > 0
    model.train()
    _, nce = ContrastiveMaskedLM(model, temperature=0.05, pooling="cls")(*args)
    nce.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert grads["bert.encoder.layer.0.attention.self.query.weight"].abs().sum() > 0  # the body learns from it
    assert grads["bert.embeddings.word_embeddings.weight"].abs().sum() > 0
    # the MLM head is not on the InfoNCE path (only the tied decoder matrix, which is the word embeddings)
    assert grads["cls.predictions.transform.dense.weight"] is None


def test_weight_zero_trains_exactly_as_plain_mlm(tmp_path, tiny_bert, corpus):
    # dropout off: the extra forward then draws nothing that could change the MLM forwards after it
    def raw(name: str, **extra) -> dict:
        cfg = pretrain_config(tmp_path / name, tiny_bert, [corpus["domain"]],
                              train={"maxSteps": 6, "batchSize": 4, "gradAccum": 2}, **extra)
        cfg["model"]["configOverrides"] = NO_DROPOUT
        return cfg

    plain_metrics, plain = _run(raw("plain"))
    zero_metrics, zero = _run(raw("zero", contrastive={"weight": 0.0}))
    assert [e["loss"] for e in zero] == [e["loss"] for e in plain]
    a, b = load_file(str(tmp_path / "plain/out/model.safetensors")), load_file(str(tmp_path / "zero/out/model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert "contrastiveLoss" not in plain[0] and "train.finalContrastiveLoss" not in plain_metrics
    assert all(math.isfinite(e["contrastiveLoss"]) and e["contrastiveLoss"] > 0 for e in zero)
    assert zero_metrics["train.finalLoss"] == plain_metrics["train.finalLoss"]


def test_contrastive_pretraining_lowers_the_infonce_term_and_resumes_exactly(tmp_path, tiny_bert, corpus):
    def raw(name: str, **train) -> dict:
        return pretrain_config(tmp_path / name, tiny_bert, [corpus["domain"]],
                               contrastive={"weight": 1.0, "temperature": 0.1, "pooling": "mean"},
                               train={"maxSteps": 24, "batchSize": 4, "gradAccum": 2, "logEvery": 4, **train})

    metrics, full = _run(raw("full", checkpointEvery=12))
    nce = [e["contrastiveLoss"] for e in full]
    assert metrics["train.firstContrastiveLoss"] == nce[0] and metrics["train.finalContrastiveLoss"] == nce[-1]
    # chance level for 4 in-batch candidates is log 4; training on the term drives it well below where it started
    assert nce[-1] < 0.5 * nce[0], nce
    # the InfoNCE term depends on the dropout draws and the step's data only: a resumed run logs the same values
    _, resumed = _run(raw("full", checkpointEvery=12), resume=str(tmp_path / "full/ckpt/step-12"))
    assert [e["step"] for e in resumed] == [16, 20, 24]
    for e, f in zip(resumed, full[3:]):
        assert e["contrastiveLoss"] == pytest.approx(f["contrastiveLoss"], rel=1e-5)
        assert e["loss"] == pytest.approx(f["loss"], rel=1e-5)


def test_contrastive_is_refused_for_clm(tmp_path, tiny_gpt2, corpus):
    raw = pretrain_config(tmp_path, tiny_gpt2, [corpus["domain"]], objective="clm", contrastive={"weight": 0.1})
    with pytest.raises(ConfigError, match=r"contrastive: only with model.objective 'mlm' \(got 'clm'\)"):
        config.parse(raw)


def test_ddp_two_ranks_match_one_process_with_the_same_micro_batches(tmp_path, tiny_bert, corpus):
    # batchSize 4 × gradAccum 2: one process trains rows 0-3 then 4-7 of a step; two ranks train one of those
    # blocks each. The micro-batches (hence the in-batch negatives) are the same, so the losses must be too.
    def raw(name: str) -> dict:
        cfg = pretrain_config(tmp_path / name, tiny_bert, [corpus["domain"]], contrastive={"weight": 0.5},
                              train={"maxSteps": 6, "batchSize": 4, "gradAccum": 2})
        cfg["model"]["configOverrides"] = NO_DROPOUT  # ranks draw their own dropout: without it they compare
        return cfg

    _, single = _run(raw("single"))
    (tmp_path / "ddp").mkdir()
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                        "-m", "trainer", "pretrain", "--config", write_config(tmp_path / "ddp" / "cfg.json", raw("ddp"))],
                       env=trainer_env(), cwd=REPO, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-3000:]
    ddp = [e for e in parse_events(p.stdout) if e["event"] == "progress"]
    assert [e["step"] for e in ddp] == [e["step"] for e in single] == list(range(1, 7))
    for a, b in zip(single, ddp):
        assert b["contrastiveLoss"] == pytest.approx(a["contrastiveLoss"], rel=1e-4)
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4)
