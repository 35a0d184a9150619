"""DDP under torchrun (2 CPU processes, gloo): rank 0 alone reports, the model is written, and the per-step losses
equal a single-process run of the same config (the step's sequences are split between the ranks, gradients are
averaged back to the whole step's). Through `python -m trainer.torchrun` (the activity's launcher) SIGTERM makes
all ranks stop at one step, rank 0 checkpoints, the launcher exits 143, and --resume continues exactly."""

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from .conftest import REPO, losses, parse_events, pretrain_config, run_trainer, trainer_env, write_config

STEPS = 16
REL_TOL = 1e-3  # measured: 0 on CPU (the same micro-batches; only the reduction order could differ)


@pytest.fixture(scope="module")
def ddp_setup(tmp_path_factory, tiny_bert, corpus):
    tmp = tmp_path_factory.mktemp("ddp")
    model = tmp / "model"  # dropout draws differ between one process and two ranks: without it they compare
    shutil.copytree(tiny_bert, model)
    config = json.loads((model / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (model / "config.json").write_text(json.dumps(config))

    def cfg(name: str, **train) -> str:
        raw = pretrain_config(tmp / name, str(model), [corpus["domain"]],
                              train={"maxSteps": STEPS, "batchSize": 4, "gradAccum": 2, **train})
        (tmp / name).mkdir()
        return write_config(tmp / name / "cfg.json", raw)

    code, events, err = run_trainer("pretrain", "--config", cfg("single"))
    assert code == 0, err[-3000:]
    return tmp, cfg, losses(events)


def _assert_close(single: dict, ddp: dict):
    for step, loss in ddp.items():
        assert abs(loss - single[step]) <= REL_TOL * abs(single[step]), (step, loss, single[step])


def test_torchrun_two_ranks_match_one_process(ddp_setup):
    tmp, cfg, single = ddp_setup
    config = cfg("ddp", checkpointEvery=STEPS // 2)
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                        "-m", "trainer", "pretrain", "--config", config],
                       env=trainer_env(), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    events = parse_events(p.stdout)
    assert [e["step"] for e in events if e["event"] == "progress"] == list(range(1, STEPS + 1)), \
        "one progress event per step (rank 0 only)"
    assert [e["step"] for e in events if e["event"] == "checkpoint"] == [STEPS // 2, STEPS]
    assert sum(e["event"] == "done" for e in events) == 1
    _assert_close(single, losses(events))

    from transformers import AutoModelForMaskedLM

    AutoModelForMaskedLM.from_pretrained(str(tmp / "ddp" / "out"))
    state = json.loads((tmp / "ddp" / "ckpt" / f"step-{STEPS}" / "trainer_state.json").read_text())
    assert state["worldSize"] == 2 and state["position"] == STEPS * 8


def _launcher(*args: str) -> list[str]:
    return [sys.executable, "-m", "trainer.torchrun", "2", *args]


def test_sigterm_stops_all_ranks_checkpoints_exits_143_and_resumes(ddp_setup):
    tmp, cfg, single = ddp_setup
    config = cfg("term")
    proc = subprocess.Popen(_launcher("pretrain", "--config", config), env=trainer_env(), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    # Read to EOF rather than break + communicate(): communicate() reads the raw pipe and would drop lines already
    # buffered by this iterator (a step's event lost under load).
    for line in proc.stdout:
        seen += parse_events(line)
        if seen and seen[-1]["event"] == "progress" and seen[-1]["step"] == 3:
            os.kill(proc.pid, signal.SIGTERM)
    rc = proc.wait(timeout=120)
    err = proc.stderr.read()
    assert rc == 143, err[-3000:]
    saved = [e for e in seen if e["event"] == "checkpoint"]
    assert len(saved) == 1 and not any(e["event"] == "done" for e in seen), seen
    stopped = saved[0]["step"]
    assert 3 <= stopped < STEPS and os.path.isdir(saved[0]["path"])
    assert [e["step"] for e in seen if e["event"] == "progress"] == list(range(1, stopped + 1))

    p = subprocess.run(_launcher("pretrain", "--config", config, "--resume", str(tmp / "term" / "ckpt")),
                       env=trainer_env(), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    resumed = losses(parse_events(p.stdout))
    assert sorted(resumed) == list(range(stopped + 1, STEPS + 1)), "resume must continue at the next step"
    _assert_close(single, resumed)


def test_launcher_passes_the_trainer_exit_code(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"command": "pretrain"}))
    p = subprocess.run(_launcher("pretrain", "--config", str(tmp_path / "bad.json")), env=trainer_env(), cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr[-3000:]
    assert p.stdout == ""
