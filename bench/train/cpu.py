"""CPU benchmark: tokens/s of our trainer vs transformers.Trainer + BertForMaskedLM + DataCollatorForLanguageModeling
on the same small BERT (4 layers × 256, BERT's 30,522-token vocabulary size: the shape of google's BERT-mini),
the same generated data, batch, sequence length and number of timed steps, in the same process. Target: ≥ 1.3×.

    ~/.cache/dapt/venv/bin/python bench/train/cpu.py [--steps 12 --batch 16 --seq 128 --rounds 2 --threads N]
    npm run bench:train -- --smoke    # (or --quick) test/bench.smoke.test.ts: tiny model, 2 steps, 1 round

Then (not with --smoke or --no-streaming) streaming.py: token shards vs the in-memory data path.

Rounds alternate ours/baseline so a change in machine load hits both; the ratio uses each side's best round.
"""

from __future__ import annotations

import argparse
import platform

import common
import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--vocab", type=int, default=30522)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--docs", type=int, default=3000)
    p.add_argument("--threads", type=int, default=0, help="torch threads for both (0: torch's default)")
    p.add_argument("--no-streaming", action="store_true",
                   help="skip streaming.py (token shards vs in-memory: tokens/s, tokenisation, peak RSS, latency)")
    p.add_argument("--smoke", "--quick", action="store_true",
                   help="smoke test: tiny model (common.TINY), seq 32, batch 4, 2 timed steps, 1 round")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    common.quiet()
    if a.smoke:
        from trainer.events import setup_logging

        setup_logging("WARNING")
        t = common.TINY
        a.layers, a.hidden, a.vocab, a.seq, a.batch, a.steps, a.warmup, a.rounds, a.docs = (
            t.layers, t.hidden, t.vocab_size, 32, 4, 2, 1, 1, 200)
        shape = t
    else:
        shape = common.ModelShape(a.layers, a.hidden, max(1, a.hidden // 64), 4 * a.hidden, a.vocab)
    setup = common.build(shape, a.docs)
    print(f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads; "
          f"torch {torch.__version__}; model {a.layers}×{a.hidden}, vocab {a.vocab}; seq {a.seq}, batch {a.batch}, "
          f"{a.steps} timed steps after {a.warmup}", flush=True)
    rows = []
    for _ in range(a.rounds):
        rows.append(common.run_ours(setup, seq_len=a.seq, batch=a.batch, warmup=a.warmup, steps=a.steps))
        rows.append(common.run_baseline(setup, seq_len=a.seq, batch=a.batch, warmup=a.warmup, steps=a.steps))
        print(common.table(rows[-2:]), flush=True)
    best = {name: max(r.tokens_per_sec for r in rows if r.name == name) for name in {r.name for r in rows}}
    print(common.table(rows))
    ratio = best["ours"] / best["transformers.Trainer"]
    if a.smoke:
        print(f"smoke run (tiny model, {a.steps} steps): not a measurement; ratio {ratio:.2f}x")
        return
    print(f"ratio ours / transformers.Trainer (best rounds): {ratio:.2f}x (target >= 1.3x)")
    if not a.no_streaming:
        import streaming

        streaming.main(["--rounds", str(a.rounds), "--steps", str(a.steps)])


if __name__ == "__main__":
    main()
