"""GPU benchmark, one prepared call (< 6 minutes on one H100): BERT-base-size MLM — 12 layers × 768, 12 heads,
vocabulary 30,522, random init; WordPiece tokenizer trained on generated text, no network — at sequence 128 and
512 with bf16: our trainer (torch.compile, fused AdamW, loss on masked positions only; data streamed from token
shards, trainer/token_shards.py) and, in the same process,
transformers.Trainer + BertForMaskedLM + DataCollatorForLanguageModeling (bf16, SDPA) on the same sequences.
Prints tokens/s, MFU against 989 TFLOP/s (H100 SXM dense bf16) and against the ~790 TFLOP/s measured matmul peak,
and the ratio to the baseline. Targets: MFU >= 40%, >= 1.6x the baseline.

    python bench/train/gpu.py              # GPU machine (torch + transformers; jieba/peft/jsonschema not needed)
    python bench/train/gpu.py --quick      # CPU smoke test: tiny model, a few steps, no compile
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import torch  # noqa: E402

PEAKS = common.PEAKS


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CPU smoke test: tiny model, a few steps")
    p.add_argument("--seqs", default="128,512")
    p.add_argument("--tokens-per-step", type=int, default=32768, help="batch = this / seq")
    p.add_argument("--seconds", type=float, default=15.0, help="timed window per run, after warm-up")
    p.add_argument("--warmup", type=int, default=12, help="steps before the window (compilation, autotuning)")
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--workers", type=int, default=0, help="baseline DataLoader workers (Trainer's default: 0)")
    p.add_argument("--docs", type=int, default=16000)
    p.add_argument("--budget", type=float, default=340.0, help="skip a run that would end after this many s")
    a = p.parse_args()
    t_start = time.perf_counter()
    quick = a.quick
    device = common.gpu_or_quick(quick)
    if device is None:
        return 1
    shape = common.TINY if quick else common.BERT_BASE
    seqs = [32, 64] if quick else [int(s) for s in a.seqs.split(",")]
    timing = dict(steps=3) if quick else dict(seconds=a.seconds)
    warmup = 2 if quick else a.warmup
    import transformers

    print(f"device: {torch.cuda.get_device_name(0) if device == 'cuda' else platform.machine() + ' CPU'}; "
          f"python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}",
          flush=True)
    setup = common.build(shape, 300 if quick else a.docs)
    print(f"model: {shape.layers}x{shape.hidden}, vocab {shape.vocab_size}; setup {time.perf_counter() - t_start:.0f}s",
          flush=True)

    rows: list[common.Result] = []
    for seq in seqs:
        batch = max(1, (2048 if quick else a.tokens_per_step) // seq)
        for name in ("ours", "baseline"):
            compiling = name == "ours" and not (quick or a.no_compile)
            need = (0 if quick else a.seconds) + (90 if compiling else 25)  # window + warm-up/compile estimate
            if time.perf_counter() - t_start + need > a.budget:
                print(f"skipping {name} at seq {seq}: it would not end within {a.budget:.0f}s", flush=True)
                continue
            t0 = time.perf_counter()
            if name == "ours":
                r = common.run_ours(setup, seq_len=seq, batch=batch, warmup=warmup, device=device,
                                    precision="fp32" if quick else "bf16", compile=compiling,
                                    log_every=1 if quick else 2, **timing,
                                    data={"tokenCache": {"dir": os.path.join(setup.workdir, "tokens")}})
            else:
                r = run_baseline(setup, seq_len=seq, batch=batch, warmup=min(warmup, 5), device=device,
                                 bf16=not quick, workers=a.workers, **timing)
            rows.append(r)
            print(common.table([r], PEAKS) + f"   (run {time.perf_counter() - t0:.0f}s)", flush=True)
            if device == "cuda":
                torch.cuda.empty_cache()

    print("\n" + common.table(rows, PEAKS))
    for seq in seqs:
        ours = [r for r in rows if r.seq_len == seq and r.name == "ours"]
        base = [r for r in rows if r.seq_len == seq and r.name != "ours"]
        if ours and base:
            print(f"seq {seq}: ours / {base[0].name} = {ours[0].tokens_per_sec / base[0].tokens_per_sec:.2f}x "
                  f"(target >= 1.6x); ours MFU {100 * ours[0].mfu(PEAKS['989T']):.1f}% of 989 TFLOP/s, "
                  f"{100 * ours[0].mfu(PEAKS['790T']):.1f}% of 790 (target >= 40%)")
    print(f"total {time.perf_counter() - t_start:.0f}s")
    return 0


def run_baseline(setup, **kw) -> common.Result:
    """transformers.Trainer; without accelerate (which Trainer needs) the same model + collator in a plain loop."""
    try:
        import accelerate  # noqa: F401
    except ImportError:
        return common.run_baseline_manual(setup, **kw)
    return common.run_baseline(setup, **kw)


if __name__ == "__main__":
    sys.exit(main())
