"""Streaming training data (token shards, trainer/token_shards.py) against the in-memory path, on CPU:

  1. training tokens/s, in-memory vs token shards, same model and sequences, rounds alternating (target >= 0.98x);
  2. tokenisation per core: our token-shard writer vs HuggingFace `datasets.map(batched=True)` with the same fast
     tokenizer, one thread each (TOKENIZERS_PARALLELISM=false), side by side. `datasets` is not a trainer
     requirement: it runs from a bench-only venv (DAPT_BENCH_PYTHON, default ~/.cache/dapt/bench-venv, a venv
     whose .pth file adds the trainer venv's packages), skipped with a note where there is none;
  3. peak RSS of `python -m trainer pretrain` at two corpus sizes (1 and 10 shards of the same size), in memory
     and streaming (cold: the shards are built in that run; warm: reused), and the first-step latency cold/warm.

    ~/.cache/dapt/venv/bin/python bench/train/streaming.py [--shard-docs 10000 --shards 10 --rounds 2]
    npm run bench:train                      # cpu.py runs this after its Trainer comparison
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH_PYTHON = os.environ.get("DAPT_BENCH_PYTHON", os.path.expanduser("~/.cache/dapt/bench-venv/bin/python"))


def training_rate(setup: common.Setup, *, seq: int, batch: int, warmup: int, steps: int, rounds: int) -> float:
    cache = {"tokenCache": {"dir": os.path.join(setup.workdir, "tokens")}}
    rows = []
    for _ in range(rounds):
        rows.append(common.run_ours(setup, seq_len=seq, batch=batch, warmup=warmup, steps=steps, name="in-memory"))
        rows.append(common.run_ours(setup, seq_len=seq, batch=batch, warmup=warmup, steps=steps, name="token shards",
                                    data=cache))
        print(common.table(rows[-2:]), flush=True)
    best = {n: max(r.tokens_per_sec for r in rows if r.name == n) for n in ("in-memory", "token shards")}
    ratio = best["token shards"] / best["in-memory"]
    print(f"training tokens/s, token shards / in-memory (best rounds): {ratio:.3f}x (target >= 0.98x)", flush=True)
    return ratio


# --------------------------------------------------------------------------- tokenisation per core

OURS = """
import json, sys, time
from trainer.model import load_tokenizer
from trainer.token_shards import EncodeParams, tokenize_file
tok = load_tokenizer(sys.argv[1])
t = time.perf_counter()
h = tokenize_file(sys.argv[2], sys.argv[3], tok, EncodeParams(True, 128, False, "text", None), batch_docs=1000)
print(json.dumps({"tokens": h["tokens"], "docs": h["docs"], "seconds": time.perf_counter() - t}))
"""

DATASETS = """
import json, sys, time
import datasets
from trainer.model import load_tokenizer
datasets.disable_progress_bars()
datasets.disable_caching()
tok = load_tokenizer(sys.argv[1])
t = time.perf_counter()
ds = datasets.load_dataset("json", data_files=sys.argv[2], split="train", cache_dir=sys.argv[3])
out = ds.map(lambda b: tok(b["text"], return_attention_mask=False), batched=True, batch_size=1000,
             remove_columns=["text"])
tokens = sum(len(x) for x in out["input_ids"])
print(json.dumps({"tokens": tokens, "docs": len(out), "seconds": time.perf_counter() - t}))
"""


def _one_core_env() -> dict:
    env = dict(os.environ, PYTHONPATH=REPO, TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1",
               RAYON_NUM_THREADS="1", HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    return env


def tokenize_rates(model_dir: str, shard: str, workdir: str, rounds: int) -> None:
    runs = {"ours (token shard)": [sys.executable, "-c", OURS, model_dir, shard, os.path.join(workdir, "rate.tok")]}
    if os.path.exists(BENCH_PYTHON):
        runs["datasets.map(batched=True)"] = [BENCH_PYTHON, "-c", DATASETS, model_dir, shard,
                                              os.path.join(workdir, "hf-cache")]
    else:
        print(f"datasets: no bench venv at {BENCH_PYTHON}: its side is skipped "
              "(python -m venv it, add a .pth naming the trainer venv's site-packages, pip install datasets)")
    best: dict[str, float] = {}
    for r in range(rounds):
        for name, cmd in runs.items():
            shutil.rmtree(os.path.join(workdir, "hf-cache"), ignore_errors=True)
            out = subprocess.run(cmd, env=_one_core_env(), capture_output=True, text=True, cwd=REPO)
            if out.returncode:
                print(f"{name}: failed: {out.stderr[-2000:]}")
                continue
            res = json.loads(out.stdout.strip().splitlines()[-1])
            rate = res["tokens"] / res["seconds"]
            best[name] = max(best.get(name, 0.0), rate)
            print(f"round {r + 1}: {name:28s} {res['docs']:>7,} docs {res['tokens']:>11,} tokens "
                  f"{res['seconds']:7.2f} s  {rate / 1e6:6.3f} M tokens/s (one core)", flush=True)
    if len(best) == 2:
        ours, hf = best["ours (token shard)"], best["datasets.map(batched=True)"]
        print(f"tokenisation per core, ours / datasets.map (best rounds): {ours / hf:.2f}x (target >= 1x)")


# --------------------------------------------------------------------------- peak RSS, first-step latency

def _corpus(setup: common.Setup, shards: int, workdir: str) -> list[str]:
    """`shards` shards of the same size: the bench shard with a per-shard word in front of each document, so
    each has its own content (its own token shard) and about the same number of tokens."""
    out = []
    with open(setup.shards[0], encoding="utf-8") as f:
        lines = [json.loads(line)["text"] for line in f if line.strip()]
    for i in range(shards):
        path = os.path.join(workdir, f"part-{i:03d}.jsonl")
        if not os.path.exists(path):
            with open(path, "w", encoding="utf-8") as f:
                for text in lines:
                    f.write(json.dumps({"text": f"s{i} {text}"}) + "\n")
        out.append(path)
    return out


# A child's ru_maxrss counts the pages of the process it was forked from (Linux keeps the larger of the old and
# the new image's high-water mark across exec), and this bench holds a model and corpora: the trainer is started
# from a small launcher instead, which writes the trainer's own peak RSS (KiB) to a file.
LAUNCH = """
import os, subprocess, sys
p = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(p.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _pretrain(setup: common.Setup, shards: list[str], workdir: str, name: str, cache: str | None) -> dict:
    """One `python -m trainer pretrain` (3 steps) in a child: its peak RSS and the time to its first step."""
    out = os.path.join(workdir, name)
    shutil.rmtree(out, ignore_errors=True)
    data = {"train": shards, "seqLen": 128, **({"tokenCache": {"dir": cache}} if cache else {})}
    raw = {"command": "pretrain", "model": {"path": setup.model_dir, "objective": "mlm"}, "data": data,
           "masking": {"strategy": "token", "rate": 0.15},
           "train": {"maxSteps": 3, "batchSize": 8, "lr": 1e-4, "warmupSteps": 0, "logEvery": 1,
                     "checkpointEvery": 10**9},
           "outputDir": out, "checkpointDir": out + "-ckpt", "device": "cpu"}
    cfg = os.path.join(workdir, f"{name}.json")
    with open(cfg, "w") as f:
        json.dump(raw, f)
    env = dict(os.environ, PYTHONPATH=REPO, DAPT_LOG_LEVEL="WARNING")
    rss_file = os.path.join(workdir, f"{name}.rss")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, rss_file, sys.executable, "-m", "trainer", "pretrain",
                             "--config", cfg], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=open(os.path.join(workdir, f"{name}.log"), "w"), text=True)
    first = None
    built = None
    for line in proc.stdout:
        e = json.loads(line)
        if e["event"] == "progress" and first is None:
            first = time.perf_counter() - t0
        if e["event"] == "metric" and e["name"] == "data.tokenShardsBuilt":
            built = int(e["value"])
    if proc.wait():
        with open(os.path.join(workdir, f"{name}.log")) as f:
            raise RuntimeError(f"pretrain {name} exited {proc.returncode}: {f.read()[-3000:]}")
    with open(rss_file) as f:
        return {"rss_mb": int(f.read()) / 1024, "first_step_s": first, "built": built}


def memory_and_latency(setup: common.Setup, n_shards: int, workdir: str) -> None:
    from trainer.model import load_tokenizer
    from trainer.token_shards import EncodeParams, TokenShard, tokenize_file

    shards = _corpus(setup, n_shards, workdir)
    probe = os.path.join(workdir, "probe.tok")
    tokenize_file(shards[0], probe, load_tokenizer(setup.model_dir), EncodeParams(True, 128, False, "text", None))
    per_shard = TokenShard(probe).tokens
    print(f"corpus: {n_shards} shards of {per_shard / 1e6:.2f}M tokens", flush=True)
    rows = []
    for n in (1, n_shards):
        cache = os.path.join(workdir, f"tokens-{n}")
        shutil.rmtree(cache, ignore_errors=True)
        mem = _pretrain(setup, shards[:n], workdir, f"memory-{n}", None)
        cold = _pretrain(setup, shards[:n], workdir, f"cold-{n}", cache)
        warm = _pretrain(setup, shards[:n], workdir, f"warm-{n}", cache)
        assert cold["built"] == n and warm["built"] == 0, (cold, warm)
        rows.append((n * per_shard, mem, cold, warm))
        print(f"{n * per_shard / 1e6:6.1f}M tokens: peak RSS in-memory {mem['rss_mb']:7.0f} MB, token shards cold "
              f"{cold['rss_mb']:7.0f} MB, warm {warm['rss_mb']:7.0f} MB; first step in-memory "
              f"{mem['first_step_s']:6.1f} s, cold {cold['first_step_s']:6.1f} s, warm {warm['first_step_s']:6.1f} s",
              flush=True)
    (small, m0, c0, w0), (large, m1, c1, w1) = rows
    print(f"peak RSS {large / small:.0f}x the corpus: in-memory {m1['rss_mb'] / m0['rss_mb']:.2f}x, "
          f"token shards warm {w1['rss_mb'] / w0['rss_mb']:.2f}x, cold {c1['rss_mb'] / c0['rss_mb']:.2f}x "
          "(target <= 1.2x)")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shard-docs", type=int, default=10000, help="documents per shard (~2M tokens at the default)")
    p.add_argument("--shards", type=int, default=10, help="shards of the large corpus (the small one is 1)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--what", default="train,tokenize,memory")
    a = p.parse_args(argv)
    common.quiet()
    what = set(a.what.split(","))
    workdir = tempfile.mkdtemp(prefix="dapt-bench-stream-")
    for sub in ("t", "m"):
        os.makedirs(os.path.join(workdir, sub))
    try:
        if "train" in what:  # the bench model of cpu.py (4 x 256, BERT's vocabulary size)
            setup = common.build(common.ModelShape(4, 256, 4, 1024, 30522), 3000, workdir=os.path.join(workdir, "t"))
            training_rate(setup, seq=128, batch=16, warmup=3, steps=a.steps, rounds=a.rounds)
        if what & {"tokenize", "memory"}:
            setup = common.build(common.ModelShape(2, 64, 2, 256, 30522), a.shard_docs,
                                 workdir=os.path.join(workdir, "m"))
            if "tokenize" in what:
                tokenize_rates(setup.model_dir, setup.shards[0], setup.workdir, a.rounds)
            if "memory" in what:
                memory_and_latency(setup, a.shards, setup.workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
