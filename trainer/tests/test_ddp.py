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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node(config: str, rdzv: str, rdzv_id: str, host: bool, join_timeout: int = 60, *extra: str) -> subprocess.Popen:
    """One node of a multi-node run: one rank through the launcher's c10d rendezvous."""
    args = ["1", "--nodes", "2", "--rendezvous", rdzv, "--rendezvous-id", rdzv_id, "--join-timeout", str(join_timeout)]
    args += ["--rendezvous-host"] if host else []
    return subprocess.Popen([sys.executable, "-m", "trainer.torchrun", *args, "pretrain", "--config", config, *extra],
                            env=trainer_env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_nodes_through_c10d_rendezvous_match_one_process(ddp_setup):
    """Two launchers as two machines (one rank each): one rendezvous, rank 0's node alone reports, same losses."""
    tmp, cfg, single = ddp_setup
    rdzv = f"127.0.0.1:{_free_port()}"
    nodes = [_node(cfg(f"node{i}", checkpointEvery=STEPS // 2), rdzv, "two-nodes", host=i == 0) for i in range(2)]
    outs = [p.communicate(timeout=180) for p in nodes]
    for p, (_, err) in zip(nodes, outs):
        assert p.returncode == 0, err[-3000:]
    reported = [parse_events(out) for out, _ in outs]
    assert sorted(len(e) > 0 for e in reported) == [False, True], "exactly one node (global rank 0's) writes events"
    events = next(e for e in reported if e)
    assert [e["step"] for e in events if e["event"] == "checkpoint"] == [STEPS // 2, STEPS]
    _assert_close(single, losses(events))
    state = json.loads(open(next(e["path"] for e in events if e["event"] == "checkpoint" and e["step"] == STEPS)
                            + "/trainer_state.json").read())
    assert state["worldSize"] == 2


def test_a_node_lost_mid_run_fails_the_other_and_a_node_that_never_comes_times_out(ddp_setup):
    tmp, cfg, _ = ddp_setup
    rdzv = f"127.0.0.1:{_free_port()}"
    nodes = [_node(cfg(f"lost{i}"), rdzv, "lost", host=i == 0) for i in range(2)]
    reporter = None
    while reporter is None:  # the node of global rank 0 prints the events
        import select

        ready, _, _ = select.select([p.stdout for p in nodes], [], [], 120)
        assert ready, "no progress within 120 s"
        for p in nodes:
            if p.stdout in ready and '"step":2' in p.stdout.readline():
                reporter = p
    other = nodes[1 - nodes.index(reporter)]
    other.kill()  # SIGKILL of the launcher: its rank dies with it (PR_SET_PDEATHSIG)
    reporter.communicate(timeout=120)
    assert reporter.returncode not in (0, None), "the surviving node fails instead of hanging or finishing alone"

    alone = _node(cfg("alone"), f"127.0.0.1:{_free_port()}", "alone", host=True, join_timeout=3)
    _, err = alone.communicate(timeout=120)
    assert alone.returncode != 0 and "timeout" in err.lower(), err[-2000:]


def test_launcher_rejects_incomplete_node_options(tmp_path):
    p = subprocess.run(_launcher("--nodes", "2", "pretrain", "--config", "x.json"), env=trainer_env(), cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "several nodes need --rendezvous, --rendezvous-id" in p.stderr, p.stderr


def test_launcher_passes_the_trainer_exit_code(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"command": "pretrain"}))
    p = subprocess.run(_launcher("pretrain", "--config", str(tmp_path / "bad.json")), env=trainer_env(), cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr[-3000:]
    assert p.stdout == ""
