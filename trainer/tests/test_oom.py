"""CUDA out-of-memory handling, simulated on CPU: a model call that raises torch.cuda.OutOfMemoryError when its
micro-batch holds more than 2 sequences. With train.oomBatchHalving the micro-batch halves (accumulation doubles)
and the run gives the same losses as one that never ran out of memory; without it the run stops with exit code 3."""

import json
import math
import shutil

import pytest
import torch

from trainer import config, train
from trainer.errors import EXIT_OOM, OutOfMemory
from trainer.events import Collect

from .conftest import losses, pretrain_config


def _oom_above(limit: int, calls: list):
    """A stand-in for train.training_objective_for (the loss the loop trains on) that runs out of memory."""
    real = train.training_objective_for

    def objective_for(model, objective, contrastive):
        inner = real(model, objective, contrastive)

        def call(input_ids, *args, **kw):
            calls.append(input_ids.shape[0])
            if input_ids.shape[0] > limit:
                raise torch.cuda.OutOfMemoryError("simulated: CUDA out of memory")
            return inner(input_ids, *args, **kw)

        return call

    return objective_for


@pytest.fixture
def no_dropout_bert(tmp_path, tiny_bert):
    """The tiny BERT without dropout: a micro-batch split then changes nothing but float rounding."""
    path = tmp_path / "no-dropout"
    shutil.copytree(tiny_bert, path)
    cfg = json.loads((path / "config.json").read_text())
    cfg.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (path / "config.json").write_text(json.dumps(cfg))
    return str(path)


def _raw(tmp_path, tiny_bert, corpus, halving: bool):
    return pretrain_config(tmp_path, tiny_bert, [corpus["domain"]],
                           train={"maxSteps": 5, "batchSize": 8, "oomBatchHalving": halving})


def test_oom_halving_continues_with_the_same_data(tmp_path, no_dropout_bert, corpus, monkeypatch):
    reference = Collect()
    train.pretrain(config.parse(_raw(tmp_path / "ref", no_dropout_bert, corpus, True)), events=reference)
    calls: list[int] = []
    monkeypatch.setattr(train, "training_objective_for", _oom_above(2, calls))
    events = Collect()
    train.pretrain(config.parse(_raw(tmp_path / "oom", no_dropout_bert, corpus, True)), events=events)
    assert calls[:3] == [8, 4, 2] and set(calls[3:]) == {2}  # 8 → 4 → 2, then accumulate 4 micro-batches
    ref, got = losses(reference.items), losses(events.items)
    assert sorted(got) == [1, 2, 3, 4, 5]
    for step in ref:  # same sequences, same masks, token-weighted accumulation: same loss up to float rounding
        assert math.isclose(got[step], ref[step], rel_tol=1e-5), (step, got[step], ref[step])


def test_oom_without_halving_is_exit_code_3(tmp_path, tiny_bert, corpus, monkeypatch):
    monkeypatch.setattr(train, "training_objective_for", _oom_above(2, []))
    with pytest.raises(OutOfMemory, match="oomBatchHalving is off") as e:
        train.pretrain(config.parse(_raw(tmp_path, tiny_bert, corpus, False)), events=Collect())
    assert e.value.exit_code == EXIT_OOM == 3
