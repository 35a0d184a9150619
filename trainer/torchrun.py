"""`python -m trainer.torchrun N <trainer args>`: `torchrun --standalone --nproc_per_node=N -m trainer <args>` with the
trainer's exit codes and its SIGTERM contract (README, Contract).

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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or not argv[0].isdigit() or int(argv[0]) < 1:
        print("usage: python -m trainer.torchrun NPROC <trainer arguments>", file=sys.stderr)
        return 2
    nproc, rest = int(argv[0]), argv[1:]

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
        torchrun.run(torchrun.parse_args(["--standalone", f"--nproc_per_node={nproc}", "-m", "trainer", *rest]))
    except ChildFailedError as e:
        code = e.get_first_failure()[1].exitcode
        return code if code > 0 else 128 - code if code < 0 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
