"""Where the GPU time of a BERT-base MLM step goes at sequence 512, in one prepared call (< 6 minutes on one H100).

bench/train/gpu.py measured our trainer at 27% MFU at seq 128 but 17% at seq 512, although the model FLOPs per
token grow by only 8% between the two: something that scales with T² costs far more than its FLOPs. This script
answers which, on the device, in one go:

  1. SDPA alone at the step's shape (64 × 12 heads × 512 × 64, bf16, forward + backward), per backend (flash,
     memory-efficient, cuDNN, math), with attention dropout 0 and 0.1: does the kernel we expect run, and how fast.
  2. Our trainer at seq 512 as gpu.py runs it (torch.compile, bf16, dropout 0.1 as BERT's config has it), then
     torch.profiler over a few steps: the top CUDA kernels by time, and the share of attention, GEMM, fused
     elementwise (Triton), optimizer and copy kernels.
  3. The same with SDPA restricted to the flash kernel (it raises, saying why, if flash refuses these inputs),
     with attention dropout 0, and with all dropout 0 (the trainer's model.configOverrides).

    python bench/train/gpu-profile.py            # on the device machine; writes tables to $OUT when set
    python bench/train/gpu-profile.py --quick    # CPU smoke test: tiny model, a few steps, no compile
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import nullcontext

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

PEAK = common.PEAKS["989T"]
CATEGORIES = [  # first match wins; kernel names as CUDA reports them
    ("attention", ("flash", "fmha", "attention", "cudnn_sdpa", "sdpa")),
    ("gemm", ("gemm", "cutlass", "sm90_xmma", "nvjet", "cublas", "matmul")),
    ("optimizer", ("adam", "multi_tensor", "foreach", "norm")),
    ("copy", ("memcpy", "memset", "copy")),
    ("triton (fused elementwise)", ("triton",)),
]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seq", type=int, default=512)
    p.add_argument("--tokens-per-step", type=int, default=32768)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--profile-steps", type=int, default=3)
    p.add_argument("--docs", type=int, default=12000)
    p.add_argument("--budget", type=float, default=330.0, help="skip a variant that would end after this many s")
    a = p.parse_args()
    t_start = time.perf_counter()
    quick = a.quick
    device = common.gpu_or_quick(quick)
    if device is None:
        return 1
    out_dir = os.environ.get("OUT")
    shape = common.TINY if quick else common.BERT_BASE
    seq = 32 if quick else a.seq
    batch = max(1, (2048 if quick else a.tokens_per_step) // seq)
    print(f"device: {torch.cuda.get_device_name(0) if not quick else 'CPU'}; torch {torch.__version__}", flush=True)

    lines = ["## 1. SDPA alone: forward + backward, ms per call"]
    lines += sdpa_table(batch, shape.heads, seq, shape.hidden // shape.heads, device)
    print("\n".join(lines), flush=True)

    setup = common.build(shape, 300 if quick else a.docs)
    from torch.nn.attention import SDPBackend, sdpa_kernel

    flash_only = [SDPBackend.FLASH_ATTENTION] if device == "cuda" else [SDPBackend.MATH]
    no_attention_dropout = {"attention_probs_dropout_prob": 0.0}
    variants = [("dropout 0.1 (BERT config)", None, None),
                ("flash kernel only", None, flash_only),
                ("attention dropout 0", no_attention_dropout, None),
                ("all dropout 0", {**no_attention_dropout, "hidden_dropout_prob": 0.0}, None)]
    timing = dict(steps=3) if quick else dict(seconds=a.seconds)
    rows = []
    for i, (label, overrides, backends) in enumerate(variants):
        if not quick and time.perf_counter() - t_start + a.seconds + 80 > a.budget:
            print(f"skipping {label}: it would not end within {a.budget:.0f}s", flush=True)
            continue
        profiler = Profiler(a.profile_steps if i == 0 else 0, device)
        try:
            with sdpa_kernel(backends) if backends else nullcontext():
                r = common.run_ours(setup, seq_len=seq, batch=batch, warmup=2 if quick else a.warmup,
                                    device=device, precision="fp32" if quick else "bf16", compile=not quick,
                                    log_every=1, config_overrides=overrides, after_window=profiler.step,
                                    name=f"v{i}", **timing)
        except Exception as e:  # noqa: BLE001 — a variant that cannot run is a finding, not the end of the call
            lines.append(f"{label}: failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
            print(lines[-1], flush=True)
            continue
        rows.append((label, r))
        print(f"{label:<28} {r.tokens_per_sec:>12,.0f} tokens/s   MFU {100 * r.mfu(PEAK):5.1f}% of 989 TFLOP/s",
              flush=True)
        if profiler.table:
            lines += ["", "## 2. Our trainer, profiled steps: CUDA time by kind", *profiler.shares,
                      "", "top kernels:", profiler.table]
            print("\n".join(lines[-(len(profiler.shares) + 4):]), flush=True)
        if device == "cuda":
            torch.cuda.empty_cache()
    lines += ["", f"## 3. Our trainer at seq {seq}, batch {batch}" + (" (fp32, eager)" if quick else ", compile, bf16")]
    lines += [f"{label:<28} {r.tokens_per_sec:>12,.0f} tokens/s   MFU {100 * r.mfu(PEAK):5.1f}%" for label, r in rows]
    lines.append(f"total {time.perf_counter() - t_start:.0f}s")
    report = "\n".join(lines)
    print("\n" + report)
    if out_dir:
        with open(os.path.join(out_dir, "gpu-profile.txt"), "w") as f:
            f.write(report + "\n")
    return 0


def sdpa_table(batch: int, heads: int, seq: int, head_dim: int, device: str) -> list[str]:
    from torch.nn.attention import SDPBackend, sdpa_kernel

    dtype = torch.float32 if device == "cpu" else torch.bfloat16
    backends = [("math", SDPBackend.MATH)]
    if device == "cuda":
        backends = [("flash", SDPBackend.FLASH_ATTENTION), ("efficient", SDPBackend.EFFICIENT_ATTENTION),
                    ("cudnn", SDPBackend.CUDNN_ATTENTION)] + backends
    flops = 4 * batch * heads * seq * seq * head_dim * 3  # QKᵀ and PV, forward + backward (2×)
    out = [f"{'backend':<12}{'dropout 0':>12}{'dropout 0.1':>14}   (TFLOP/s at dropout 0)"]
    for name, backend in backends:
        cells = []
        for p in (0.0, 0.1):
            q, k, v = (torch.randn(batch, heads, seq, head_dim, device=device, dtype=dtype, requires_grad=True)
                       for _ in range(3))
            try:
                with sdpa_kernel(backend):
                    ms = _time(lambda: F.scaled_dot_product_attention(q, k, v, dropout_p=p).sum().backward(), device)
                cells.append(ms)
            except RuntimeError as e:  # the backend refuses this input: say so, it is the finding
                cells.append(None)
                print(f"  {name} dropout {p}: unavailable ({str(e).splitlines()[0][:100]})", flush=True)
        fmt = [f"{c:10.2f}ms" if c is not None else f"{'n/a':>12}" for c in cells]
        rate = f"   ({flops / (cells[0] / 1e3) / 1e12:.0f})" if cells[0] else ""
        out.append(f"{name:<12}{fmt[0]:>12}{fmt[1]:>14}{rate}")
    return out


def _time(fn, device: str, reps: int = 10) -> float:
    for _ in range(3):
        fn()
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / reps * 1e3


class Profiler:
    """After the timed window: torch.profiler over `steps` training steps, then the run stops."""

    def __init__(self, steps: int, device: str):
        self.steps, self.device = steps, device
        self.prof = None
        self.started_at = None
        self.table = ""
        self.shares: list[str] = []

    def step(self, step: int) -> bool:
        if self.steps == 0:
            return True
        if self.prof is None:
            acts = [torch.profiler.ProfilerActivity.CPU]
            if self.device == "cuda":
                acts.append(torch.profiler.ProfilerActivity.CUDA)
            self.prof = torch.profiler.profile(activities=acts)
            self.prof.__enter__()
            self.started_at = step
            return False
        if step - self.started_at < self.steps:
            return False
        if self.device == "cuda":
            torch.cuda.synchronize()
        self.prof.__exit__(None, None, None)
        self._summarise()
        return True

    def _summarise(self) -> None:
        cuda = self.device == "cuda"
        events = [e for e in self.prof.key_averages() if (e.device_type.name == "CUDA") == cuda]
        key = "self_device_time_total" if cuda else "self_cpu_time_total"
        events.sort(key=lambda e: getattr(e, key, 0), reverse=True)
        total = sum(getattr(e, key, 0) for e in events) or 1
        by_kind: dict[str, float] = {}
        for e in events:
            kind = next((k for k, words in CATEGORIES if any(w in e.key.lower() for w in words)), "other")
            by_kind[kind] = by_kind.get(kind, 0) + getattr(e, key, 0)
        per_step_ms = total / 1e3 / self.steps
        self.shares = [f"{k:<28}{100 * v / total:6.1f}%  {v / 1e3 / self.steps:8.2f} ms/step"
                       for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])]
        self.shares.append(f"{'(all kernels)':<28}{100.0:6.1f}%  {per_step_ms:8.2f} ms/step")
        self.table = "\n".join(f"{100 * getattr(e, key, 0) / total:6.1f}%  {e.count:5d}×  {e.key[:110]}"
                               for e in events[:25])


if __name__ == "__main__":
    sys.exit(main())
