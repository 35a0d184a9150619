"""Checkpoints: `checkpointDir/step-N/`, written to a temporary directory and renamed, so a step-N directory only
ever exists complete (a crash mid-write leaves a `.tmp-*` directory that nothing reads).

  model.safetensors     trainable parameters by name (full training: all; LoRA: adapters + resized embeddings);
                        the frozen rest is rebuilt from the base model directory at resume
  ema.safetensors       EMA weights (when configured)       swa.safetensors  SWA running mean (when configured)
  optimizer.pt          optimizer state (AdamW moments)
  state.pt              step, data position, micro-batch size, SWA count, LR schedule position, loss log,
                        RNG states (python, numpy, torch CPU, every CUDA device); under DDP rank 0's
                        python/numpy/torch CPU states plus `rng["ranks"]`: each rank's torch CPU and CUDA
                        (its own device) state, so every rank resumes with its own dropout stream
  config.json           the full validated config            trainer_state.json  the readable part of state.pt
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file

from .distributed import Ranks
from .events import log

_STEP_DIR = re.compile(r"^step-(\d+)$")


def rng_state() -> dict:
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def rank_rng_state(device: torch.device) -> dict:
    """This rank's dropout RNG (torch CPU and its own CUDA device only: no context on the other GPUs)."""
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}


def set_rank_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


def _tensors(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in named.items()}


def save(root: str, step: int, *, params: dict[str, torch.Tensor], optimizer: dict, state: dict, config: dict,
         ema: dict[str, torch.Tensor] | None = None, swa: dict[str, torch.Tensor] | None = None) -> str:
    """Write checkpoint `root/step-{step}` atomically; returns its path."""
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, f"step-{step}")
    tmp = os.path.join(root, f".tmp-step-{step}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    save_file(_tensors(params), os.path.join(tmp, "model.safetensors"))
    if ema is not None:
        save_file(_tensors(ema), os.path.join(tmp, "ema.safetensors"))
    if swa is not None:
        save_file(_tensors(swa), os.path.join(tmp, "swa.safetensors"))
    torch.save(optimizer, os.path.join(tmp, "optimizer.pt"))
    torch.save(state, os.path.join(tmp, "state.pt"))
    with open(os.path.join(tmp, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    readable = {k: v for k, v in state.items() if isinstance(v, (int, float, str, bool))}
    with open(os.path.join(tmp, "trainer_state.json"), "w", encoding="utf-8") as f:
        json.dump(readable, f, indent=2)
    for name in os.listdir(tmp):  # durable before it becomes visible
        with open(os.path.join(tmp, name), "rb") as f:
            os.fsync(f.fileno())
    if os.path.exists(final):  # a rerun from an earlier checkpoint reached this step again
        shutil.rmtree(final)
    os.rename(tmp, final)
    return final


def save_checkpoint(root: str, step: int, *, state: dict, ranks: Ranks, device: torch.device,
                    params: dict[str, torch.Tensor], optimizer: dict, config: dict,
                    ema: dict[str, torch.Tensor] | None = None, swa: dict[str, torch.Tensor] | None = None) -> str:
    """The training loop's checkpoint, `state` plus the RNG states; returns its path.

    Under DDP every rank must call it (each rank's dropout RNG is gathered), rank 0 alone writes, and no rank
    returns before the checkpoint is complete."""
    tensors = dict(params=params, optimizer=optimizer, ema=ema, swa=swa, config=config)
    if not ranks.on:
        return save(root, step, state={**state, "rng": rng_state()}, **tensors)
    per_rank: list = [None] * ranks.world
    dist.all_gather_object(per_rank, rank_rng_state(device), group=ranks.group)
    path = os.path.join(root, f"step-{step}")
    if ranks.main:
        rng = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
               "cuda": [], "ranks": per_rank}
        path = save(root, step, state={**state, "rng": rng, "worldSize": ranks.world}, **tensors)
    dist.barrier(group=ranks.group)
    return path


def restore_rng_state(rng: dict, ranks: Ranks, device: torch.device, reseed: int) -> None:
    """The RNG states a checkpoint saved, for this rank. Resumed under another world size, dropout cannot continue
    exactly (data and masks still do): this rank's torch RNG is then seeded with `reseed`."""
    if not ranks.on:
        set_rng_state(rng)
        return
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    saved_ranks = rng.get("ranks") or []
    if len(saved_ranks) == ranks.world:
        set_rank_rng_state(saved_ranks[ranks.rank], device)
    else:
        log.warning("checkpoint has RNG states for %d ranks, running %d: dropout re-seeded", len(saved_ranks),
                    ranks.world)
        torch.manual_seed(reseed)


def latest(root: str) -> str | None:
    """The complete checkpoint with the highest step under `root`, or None."""
    if not os.path.isdir(root):
        return None
    steps = [(int(m.group(1)), name) for name in os.listdir(root) if (m := _STEP_DIR.match(name))]
    return os.path.join(root, max(steps)[1]) if steps else None


def load(path: str, device: torch.device) -> dict:
    """Everything `save` wrote, tensors on `device` (optimizer state included)."""
    out = {
        "params": load_file(os.path.join(path, "model.safetensors"), device=str(device)),
        "optimizer": torch.load(os.path.join(path, "optimizer.pt"), map_location=device, weights_only=False),
        "state": torch.load(os.path.join(path, "state.pt"), map_location="cpu", weights_only=False),
    }
    for name in ("ema", "swa"):
        file = os.path.join(path, f"{name}.safetensors")
        out[name] = load_file(file, device=str(device)) if os.path.exists(file) else None
    with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
        out["config"] = json.load(f)
    return out
