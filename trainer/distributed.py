"""DDP plumbing for the training loop, kept out of it: where this process stands under torchrun, the process group
around a run, the loss wrapped for DistributedDataParallel, and the no_sync context of gradient accumulation.

In a plain process (world 1) every piece is a no-op, so train.py has one code path for both.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .events import log


@dataclass
class Ranks:
    """Where this process stands under torchrun (world 1: a plain single process, nothing distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    group: object = None  # a gloo group for CPU-side collectives (the SIGTERM flag, RNG states)

    @property
    def on(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @staticmethod
    def from_env() -> Ranks:
        world = int(os.environ.get("WORLD_SIZE", "1") or 1)
        if world <= 1:
            return Ranks()
        return Ranks(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))

    def device(self, device: torch.device) -> torch.device:
        """This rank's device: its own GPU under DDP on CUDA."""
        return torch.device("cuda", self.local_rank) if self.on and device.type == "cuda" else device

    def share(self, n: int) -> tuple[int, int]:
        """This rank's contiguous block of a step's n sequences."""
        return self.rank * n // self.world, (self.rank + 1) * n // self.world

    def any(self, flag: bool) -> bool:
        """True on every rank when it is true on any (a CPU all-reduce)."""
        if not self.on:
            return flag
        t = torch.tensor([1 if flag else 0], dtype=torch.int32)
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.group)
        return bool(t.item())

    def sum_(self, t: torch.Tensor) -> torch.Tensor:
        """`t` summed over ranks, in place (on the default group: NCCL for CUDA tensors)."""
        if self.on:
            dist.all_reduce(t)
        return t


@contextmanager
def process_group(ranks: Ranks, device: torch.device) -> Iterator[None]:
    """The process group for one run under torchrun (nothing in a plain process); log lines name the rank."""
    if not ranks.on:
        yield
        return
    for h in log.handlers:
        h.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s %(name)s [rank {ranks.rank}]: %(message)s"))
    if device.type == "cuda":
        torch.cuda.set_device(ranks.local_rank)
        dist.init_process_group("nccl", device_id=torch.device("cuda", ranks.local_rank))
        ranks.group = dist.new_group(backend="gloo")
    else:
        dist.init_process_group("gloo")
        ranks.group = dist.group.WORLD
    try:
        yield
    finally:
        dist.destroy_process_group()


class _Objective(torch.nn.Module):
    """The loss as a module, so DistributedDataParallel wraps the call the loop makes (MaskedLM / CausalLM use
    the body and head directly, not model.forward)."""

    def __init__(self, model, objective):
        super().__init__()
        self.model = model
        self.objective = objective

    def forward(self, *args):
        return self.objective(*args)


def wrap_ddp(model: torch.nn.Module, objective, device: torch.device, ranks: Ranks, seed: int):
    """The objective as DDP runs it (parameters and buffers broadcast from rank 0 here), or None in a plain
    process. Ranks other than 0 get their own dropout stream; rank 0 keeps the single-process seed."""
    if not ranks.on:
        return None
    DDP = torch.nn.parallel.DistributedDataParallel
    # no buffer broadcast in every forward (no batch norm here); the keyword was renamed in torch 2.15
    no_sync_buffers = ({"forward_sync_buffers": False}
                       if "forward_sync_buffers" in inspect.signature(DDP.__init__).parameters
                       else {"broadcast_buffers": False})
    ddp_model = DDP(_Objective(model, objective), device_ids=[device.index] if device.type == "cuda" else None,
                    **no_sync_buffers)
    if not ranks.main:
        torch.manual_seed(seed + 1_000_003 * ranks.rank)
    return ddp_model


def accumulating(ddp_model, last: bool) -> AbstractContextManager:
    """Gradient accumulation: DDP all-reduces on the step's last micro-batch only."""
    return ddp_model.no_sync() if ddp_model is not None and not last else nullcontext()
