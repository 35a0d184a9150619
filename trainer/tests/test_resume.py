"""Exact resume: a run stopped by SIGTERM (exit 143 after a checkpoint) or killed by SIGKILL, then resumed with
--resume, logs the same per-step losses as an uninterrupted run; the data is neither replayed nor skipped."""

import os
import signal
import subprocess

import pytest

from .conftest import REPO, losses, parse_events, pretrain_config, run_trainer, trainer_cmd, trainer_env, write_config

STEPS = 40
REL_TOL = 1e-5  # measured: 0 (bit-identical on CPU); the bound leaves room for other BLAS builds


@pytest.fixture(scope="module", params=["memory", "token-shards"])
def resume_setup(request, tmp_path_factory, tiny_bert, corpus):
    """The config (replay, whole-word masking, dropout, EMA + SWA) and the losses of an uninterrupted run; the
    training data tokenised in memory, or streamed from token shards (a cache shared by the run and its resumes)."""
    tmp = tmp_path_factory.mktemp("resume")
    streaming = {"tokenCache": {"dir": str(tmp / "tokens")}} if request.param == "token-shards" else {}

    def cfg(name: str, **train) -> str:
        raw = pretrain_config(tmp / name, tiny_bert, [corpus["domain"], corpus["zh"]],
                              data={"replay": {"paths": [corpus["general"]], "ratio": 0.3}, **streaming},
                              masking={"strategy": "whole-word", "rate": 0.15, "lexicon": corpus["lexicon"]},
                              train={"maxSteps": STEPS, "batchSize": 4, "gradAccum": 2, "schedule": "cosine",
                                     "ema": {"decay": 0.9}, "swa": {"startFraction": 0.5}, **train})
        (tmp / name).mkdir()
        return write_config(tmp / name / "cfg.json", raw)

    full = losses(_in_process(cfg("full")))  # in this process: the same code and thread count as the CLI
    assert sorted(full) == list(range(1, STEPS + 1))
    return tmp, cfg, full


def _in_process(config_path: str, resume: str | None = None) -> list[dict]:
    from trainer import config
    from trainer.events import Collect
    from trainer.train import pretrain

    events = Collect()
    pretrain(config.load(config_path), resume=resume, events=events)
    return events.items


def _start(config: str) -> subprocess.Popen:
    return subprocess.Popen(trainer_cmd("pretrain", "--config", config), env=trainer_env(), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _assert_same(full: dict, resumed: dict, first_step: int):
    assert sorted(resumed) == list(range(first_step, STEPS + 1)), "resume must continue at the next step"
    for step, loss in resumed.items():
        assert abs(loss - full[step]) <= REL_TOL * abs(full[step]), (step, loss, full[step])


def test_sigterm_checkpoints_exits_143_and_resumes_exactly(resume_setup):
    tmp, cfg, full = resume_setup
    config = cfg("term")
    proc = _start(config)
    seen = []
    for line in proc.stdout:  # send SIGTERM once step 6 is logged; the step in flight finishes first
        seen.append(line)
        if '"progress"' in line and '"step":6,' in line:
            proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=60)
    err = proc.stderr.read()
    assert rc == 143, err
    events = parse_events("".join(seen))
    ckpts = [e for e in events if e["event"] == "checkpoint"]
    assert len(ckpts) == 1 and not any(e["event"] == "done" for e in events)
    k = ckpts[0]["step"]
    assert 6 <= k < STEPS and max(losses(events)) == k
    assert os.path.isdir(ckpts[0]["path"]) and ckpts[0]["path"].endswith(f"step-{k}")
    for f in ("model.safetensors", "optimizer.pt", "state.pt", "config.json", "ema.safetensors", "swa.safetensors"):
        assert os.path.isfile(os.path.join(ckpts[0]["path"], f)), f

    rc, resumed, err = run_trainer("pretrain", "--config", config, "--resume", ckpts[0]["path"])
    assert rc == 0, err
    _assert_same(full, losses(resumed), k + 1)
    assert resumed[-1]["event"] == "done"
    built = [e["value"] for e in resumed if e["event"] == "metric" and e["name"] == "data.tokenShardsBuilt"]
    assert built == ([0] if "tokenCache" in open(config).read() else []), "a resume tokenises nothing"


def test_sigkill_mid_run_then_resume_from_latest_checkpoint(resume_setup):
    tmp, cfg, full = resume_setup
    config = cfg("kill", checkpointEvery=5)
    proc = _start(config)
    for line in proc.stdout:  # hard kill right after the step-10 checkpoint is announced: no handler runs
        if '"checkpoint"' in line and '"step":10,' in line:
            proc.kill()
            break
    assert proc.wait(timeout=60) == -signal.SIGKILL
    ckpt_root = str(tmp / "kill" / "ckpt")
    # a half-written checkpoint would be a .tmp-* directory, which --resume ignores
    steps = losses(_in_process(config, resume=ckpt_root))
    first = min(steps)
    assert first >= 11 and first - 1 in (10, 15)  # resumed from the newest complete checkpoint, not from 0
    _assert_same(full, steps, first)


def test_resume_without_checkpoint_is_a_config_error(tmp_path, resume_setup):
    _, cfg, _ = resume_setup
    rc, events, err = run_trainer("pretrain", "--config", cfg("none"), "--resume", str(tmp_path))
    assert rc == 2 and events == [] and "--resume: no checkpoint found" in err
