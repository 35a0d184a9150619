"""`python -m trainer.torchrun N <trainer args>`: `torchrun --standalone --nproc_per_node=N -m trainer <args>` with the
trainer's exit codes and its SIGTERM contract (README, Contract).

Several machines (one pretrain stage on `resources.nodes` workers): `python -m trainer.torchrun N --nodes M
--rendezvous HOST:PORT --rendezvous-id ID [--rendezvous-host] [--join-timeout S] <trainer args>` joins torchrun's c10d
rendezvous instead: the node started with --rendezvous-host hosts its store at HOST:PORT (the activity of node 0
picked the port and published the address through the workflow), every node waits up to S seconds for all M to
arrive, and a lost node fails the round on all of them (no elastic restarts: the stage's retry resumes every node
from the last stored checkpoint). Global ranks follow torchrun's order of the nodes, so rank 0, which alone writes
events, checkpoints and the model, may be on any node.

Plain torchrun answers SIGTERM by signalling its workers and SIGKILLing them 30 s later, then exits 1 — too soon
for a checkpoint of a large model, and not the 143 the activity expects. Here the launcher forwards SIGTERM to the
workers and keeps waiting; the ranks agree on the step to stop at (train.py), rank 0 checkpoints, all exit 143. A
worker failure exits with the first failed rank's code (2 bad config, 3 OOM, 143 terminated, 128+n for a signal).
Workers run in their own sessions; `python -m trainer` arms PR_SET_PDEATHSIG in each so none outlives this process.
"""

from __future__ import annotations

import glob
import os
import signal
import sys


def _children() -> list[int]:
    pids: list[int] = []
    for path in glob.glob(f"/proc/{os.getpid()}/task/*/children"):
        try:
            with open(path, encoding="ascii") as f:
                pids += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return pids


USAGE = ("usage: python -m trainer.torchrun NPROC [--nodes M --rendezvous HOST:PORT --rendezvous-id ID "
         "[--rendezvous-host] [--join-timeout SECONDS]] <trainer arguments>")


def rendezvous_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """torchrun's arguments for the leading node options of `argv` (none: --standalone), and the trainer's arguments."""
    opts: dict[str, str | bool] = {}
    rest = list(argv)
    while rest and rest[0].startswith("--"):
        name = rest.pop(0)
        if name == "--rendezvous-host":
            opts["host"] = True
        elif name in ("--nodes", "--rendezvous", "--rendezvous-id", "--join-timeout") and rest:
            opts[name[2:]] = rest.pop(0)
        else:
            raise ValueError(f"unknown or incomplete option {name}")
    if not opts:
        return ["--standalone"], rest
    missing = [f"--{k}" for k in ("nodes", "rendezvous", "rendezvous-id") if k not in opts]
    if missing:
        raise ValueError(f"several nodes need {', '.join(missing)}")
    nodes = str(opts["nodes"])
    if not nodes.isdigit() or int(nodes) < 1:
        raise ValueError(f"--nodes must be a positive integer, not {nodes!r}")
    conf = f"is_host={'true' if opts.get('host') else 'false'},join_timeout={int(float(str(opts.get('join-timeout', 600))))}"
    return [f"--nnodes={nodes}", "--rdzv-backend=c10d", f"--rdzv-endpoint={opts['rendezvous']}",
            f"--rdzv-id={opts['rendezvous-id']}", f"--rdzv-conf={conf}", "--max-restarts=0"], rest


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or not argv[0].isdigit() or int(argv[0]) < 1:
        print(USAGE, file=sys.stderr)
        return 2
    nproc = int(argv[0])
    try:
        launch, rest = rendezvous_args(argv[1:])
    except ValueError as e:
        print(f"{e}\n{USAGE}", file=sys.stderr)
        return 2

    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing import api as mp_api
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    raising = mp_api._terminate_process_handler

    def on_signal(signum, frame):
        if signum != signal.SIGTERM:
            return raising(signum, frame)
        for pid in _children():  # the workers checkpoint and exit 143; the agent sees that and returns
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        return None

    mp_api._terminate_process_handler = on_signal  # looked up when the agent registers its handlers
    try:
        torchrun.run(torchrun.parse_args([*launch, f"--nproc_per_node={nproc}", "-m", "trainer", *rest]))
    except ChildFailedError as e:
        code = e.get_first_failure()[1].exitcode
        return code if code > 0 else 128 - code if code < 0 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
