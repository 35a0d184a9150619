"""Head warm-up: a base checkpoint without its MLM head (a sentence-embedding encoder) gets a random head that
trains alone for the first train.headWarmupSteps steps ('auto': a quarter of the run); the encoder is
bit-identical until then and trains after; resume across the boundary is exact; a model with its head gets none."""

import pytest
import torch

from trainer import checkpoint as ckpt

from .conftest import losses, pretrain_config, write_config

STEPS = 12  # 'auto' → round(0.25 · 12) = 3 warm-up steps
WARMUP = 3


@pytest.fixture(scope="module")
def headless_bert(tmp_path_factory, tiny_bert) -> str:
    """tiny_bert saved as a bare BertModel: encoder weights only, no `cls.predictions.*` keys."""
    from transformers import AutoTokenizer, BertForMaskedLM

    out = tmp_path_factory.mktemp("headless-bert")
    BertForMaskedLM.from_pretrained(tiny_bert).bert.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(out)
    return str(out)


def _run(tmp, name: str, model: str, corpus, resume: str | None = None, **train) -> tuple[list[dict], str]:
    from trainer import config
    from trainer.events import Collect
    from trainer.train import pretrain

    (tmp / name).mkdir(exist_ok=True)
    raw = pretrain_config(tmp / name, model, [corpus["domain"]], train={"maxSteps": STEPS, "batchSize": 4, **train})
    events = Collect()
    pretrain(config.load(write_config(tmp / name / "cfg.json", raw)), resume=resume, events=events)
    return events.items, str(tmp / name / "ckpt")


def _done(events: list[dict]) -> dict:
    return next(e for e in events if e["event"] == "done")["metrics"]


def _encoder(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {n: p for n, p in params.items() if n.startswith("bert.")}


@pytest.fixture(scope="module")
def warmup_run(tmp_path_factory, headless_bert, corpus):
    tmp = tmp_path_factory.mktemp("warmup")
    events, ckpt_dir = _run(tmp, "full", headless_bert, corpus, checkpointEvery=1)
    return tmp, events, ckpt_dir


def test_headless_base_warms_up_the_head_alone_then_trains_the_encoder(warmup_run, headless_bert):
    from transformers import BertForMaskedLM

    _, events, ckpt_dir = warmup_run
    metrics = _done(events)
    assert metrics["model.headInitialised"] == 1.0 and metrics["train.headWarmupSteps"] == WARMUP
    base = BertForMaskedLM.from_pretrained(headless_bert).state_dict()
    cpu = torch.device("cpu")
    at = {s: ckpt.load(f"{ckpt_dir}/step-{s}", cpu)["params"] for s in (1, WARMUP, WARMUP + 1)}
    encoder = _encoder(at[WARMUP])
    assert encoder and "bert.embeddings.word_embeddings.weight" in encoder
    for n, p in encoder.items():
        assert torch.equal(p, base[n]), f"{n} changed during the head warm-up"
    head = {n: p for n, p in at[1].items() if n.startswith("cls.")}
    assert head and any(not torch.equal(p, base[n]) for n, p in head.items()), "the head must train in warm-up"
    changed = [n for n, p in _encoder(at[WARMUP + 1]).items() if not torch.equal(p, base[n])]
    assert len(changed) == len(encoder), f"after the warm-up every encoder tensor trains ({len(changed)} did)"


def test_resume_across_the_warmup_boundary_is_exact(warmup_run, headless_bert, corpus):
    tmp, events, ckpt_dir = warmup_run
    full = losses(events)
    assert sorted(full) == list(range(1, STEPS + 1))
    resumed_events, _ = _run(tmp, "resumed", headless_bert, corpus, resume=f"{ckpt_dir}/step-{WARMUP - 1}",
                             checkpointEvery=1)
    resumed = losses(resumed_events)
    assert sorted(resumed) == list(range(WARMUP, STEPS + 1))
    for step, loss in resumed.items():
        assert abs(loss - full[step]) <= 1e-5 * abs(full[step]), (step, loss, full[step])


def test_model_with_its_head_gets_no_warmup_by_default_and_an_explicit_one_on_request(tmp_path, tiny_bert, corpus):
    events, _ = _run(tmp_path, "auto", tiny_bert, corpus, maxSteps=2)
    metrics = _done(events)
    assert "model.headInitialised" not in metrics and "train.headWarmupSteps" not in metrics
    events, _ = _run(tmp_path, "explicit", tiny_bert, corpus, maxSteps=2, headWarmupSteps=1)
    assert _done(events)["train.headWarmupSteps"] == 1 and "model.headInitialised" not in _done(events)


def test_evaluate_flags_a_headless_model(tmp_path, headless_bert, tiny_bert, corpus):
    from trainer import config
    from trainer.evaluate import run as evaluate
    from trainer.events import Collect

    cfg = config.parse({
        "command": "evaluate",
        "models": {"base": {"path": headless_bert, "objective": "mlm"},
                   "adapted": {"path": tiny_bert, "objective": "mlm"}},
        "data": {"domain": [corpus["domain_eval"]], "seqLen": 32, "maxSequences": 16},
        "outputDir": str(tmp_path / "eval"), "device": "cpu"})
    m = evaluate(cfg, Collect())
    assert m["base.headless"] == 1.0 and "adapted.headless" not in m
    assert "base.domain.loss" in m and "adapted.domain.loss" in m
