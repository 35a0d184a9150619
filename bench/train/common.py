"""Shared by bench/train/cpu.py and gpu.py: one BERT model + WordPiece tokenizer built from generated text, the same
packed sequences for both trainers, and two timed runs in the same process:

  ours      trainer.train.pretrain (MLM loss on masked positions only, packing, fused AdamW + bf16 on CUDA)
  baseline  transformers.Trainer + BertForMaskedLM + DataCollatorForLanguageModeling, defaults otherwise
            (SDPA attention, as our trainer; bf16 on CUDA)

Both use token-level masking at 15%, the same batch, sequence length and sequences; each is timed after warm-up
steps (compilation, allocator) over a fixed number of steps or a time window, between two CUDA syncs.
MFU counts the model FLOPs a masked-LM step needs: tokens · (6·N + 12·L·d·T) + masked · 6·(d·V + d²)
(trainer.model.FlopsModel); the baseline does more arithmetic than that (logits at every position), not counted.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import torch  # noqa: E402

from trainer import config  # noqa: E402
from trainer.data import tokenize_corpus  # noqa: E402
from trainer.events import Events  # noqa: E402
from trainer.model import flops_model, load_tokenizer  # noqa: E402
from trainer.synthetic import documents, synthetic_words, write_jsonl  # noqa: E402
from trainer.tiny import train_tokenizer  # noqa: E402

MASK_RATE = 0.15


@dataclass(frozen=True)
class ModelShape:
    layers: int
    hidden: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int = 512


BERT_BASE = ModelShape(layers=12, hidden=768, heads=12, intermediate=3072, vocab_size=30522)  # the GPU benchmarks
TINY = ModelShape(layers=2, hidden=64, heads=2, intermediate=256, vocab_size=1000)  # their --quick CPU smoke tests
PEAKS = {"989T": 989e12, "790T": 790e12}  # H100 SXM dense bf16 (datasheet) and the measured matmul peak


@dataclass
class Setup:
    workdir: str
    model_dir: str
    shards: list[str]
    shape: ModelShape


@dataclass
class Result:
    name: str
    seq_len: int
    batch: int
    steps: int
    seconds: float
    tokens_per_sec: float
    flops_per_sec: float

    def mfu(self, peak: float) -> float:
        return self.flops_per_sec / peak


def quiet() -> None:
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def gpu_or_quick(quick: bool) -> str | None:
    """The device of a GPU benchmark ("cuda", or "cpu" for a --quick smoke test); None, said on stderr, when it
    needs CUDA and there is none. Silences transformers and the trainer's INFO logs."""
    from trainer.events import setup_logging

    quiet()
    setup_logging("WARNING")
    if quick:
        return "cpu"
    if not torch.cuda.is_available():
        print("no CUDA device: run with --quick for a CPU smoke test", file=sys.stderr)
        return None
    return "cuda"


def build(shape: ModelShape, n_docs: int, seed: int = 0, workdir: str | None = None) -> Setup:
    """Generated Zipfian text over pseudo-words → WordPiece tokenizer (shape.vocab_size) → random-init BERT."""
    from transformers import BertConfig, BertForMaskedLM

    workdir = workdir or tempfile.mkdtemp(prefix="dapt-bench-")
    words = synthetic_words(max(2000, shape.vocab_size), seed)
    docs = documents("zipf", n_docs, seed, lexicon=words)
    shard = write_jsonl(os.path.join(workdir, "train.jsonl"), docs)
    tokenizer = train_tokenizer("bert", iter(docs), shape.vocab_size)
    torch.manual_seed(seed)
    model = BertForMaskedLM(BertConfig(vocab_size=len(tokenizer), hidden_size=shape.hidden,
                                       num_hidden_layers=shape.layers, num_attention_heads=shape.heads,
                                       intermediate_size=shape.intermediate,
                                       max_position_embeddings=shape.max_positions,
                                       pad_token_id=tokenizer.pad_token_id))
    model_dir = os.path.join(workdir, "model")
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    return Setup(workdir, model_dir, [shard], shape)


_FLOPS: dict[str, object] = {}


def model_flops_per_step(setup: Setup, tokens: int, seq_len: int) -> float:
    """Model FLOPs of `tokens` training tokens at 15% masking (trainer.model.FlopsModel)."""
    if setup.model_dir not in _FLOPS:
        from transformers import BertForMaskedLM

        _FLOPS[setup.model_dir] = flops_model(BertForMaskedLM.from_pretrained(setup.model_dir), "mlm")
    return _FLOPS[setup.model_dir].per_step(tokens, round(MASK_RATE * tokens), seq_len)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def run_ours(setup: Setup, *, seq_len: int, batch: int, warmup: int, steps: int | None = None,
             seconds: float | None = None, device: str = "cpu", precision: str = "auto",
             compile: bool = False, log_every: int = 1, config_overrides: dict | None = None,
             after_window: Callable[[int], bool] | None = None, name: str = "ours",
             data: dict | None = None) -> Result:
    """Our trainer, timed from the progress event of step `warmup` to the last one (each follows a sync).

    `config_overrides`: the trainer's model.configOverrides (e.g. dropout off); `after_window(step)`: called on each
    step once the timed window has closed, the run ends when it returns True (gpu-profile.py profiles there);
    `data`: more of the trainer's data section (e.g. tokenCache: stream from token shards)."""
    from trainer.train import pretrain

    out = os.path.join(setup.workdir, f"{name}-{seq_len}")
    model = {"path": setup.model_dir, "objective": "mlm"}
    if config_overrides:
        model["configOverrides"] = config_overrides
    raw = {"command": "pretrain", "model": model,
           "data": {"train": setup.shards, "seqLen": seq_len, **(data or {})},
           "masking": {"strategy": "token", "rate": MASK_RATE},
           "train": {"maxSteps": 10**9, "batchSize": batch, "lr": 1e-4, "warmupSteps": 0, "schedule": "constant",
                     "logEvery": log_every, "checkpointEvery": 10**9, "precision": precision, "compile": compile},
           "outputDir": out, "checkpointDir": out + "-ckpt", "device": device}
    cfg = config.parse(raw, strict=_has_jsonschema())
    marks: list[tuple[int, float]] = []  # (step, time) at each progress event
    window_start: list[float] = []
    window_end: list[tuple[int, float]] = []

    def sink(event: dict) -> None:
        if event["event"] == "progress":
            now = time.perf_counter()
            marks.append((event["step"], now))
            if event["step"] >= warmup and not window_start:
                window_start.append(now)

    def window_over(step: int) -> bool:
        if steps is not None:
            return step >= warmup + steps
        return bool(window_start) and time.perf_counter() - window_start[0] >= seconds and step % log_every == 0

    def stop(step: int) -> bool:
        if not window_end and window_over(step):
            window_end.append(marks[-1])
        return bool(window_end) and (after_window is None or after_window(step))

    pretrain(cfg, events=Events(sink=sink, echo=False), stop=stop)
    (s0, t0), (s1, t1) = next(m for m in marks if m[0] >= warmup), window_end[0]
    tokens = (s1 - s0) * batch * seq_len
    flops = model_flops_per_step(setup, tokens, seq_len)
    return Result(name, seq_len, batch, s1 - s0, t1 - t0, tokens / (t1 - t0), flops / (t1 - t0))


def run_baseline(setup: Setup, *, seq_len: int, batch: int, warmup: int, steps: int | None = None,
                 seconds: float | None = None, device: str = "cpu", bf16: bool = False,
                 workers: int = 0) -> Result:
    """transformers.Trainer on the same sequences, timed between CUDA syncs after `warmup` optimizer steps."""
    from transformers import (
        BertForMaskedLM,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    tokenizer = load_tokenizer(setup.model_dir)
    seqs = tokenize_corpus(setup.shards, tokenizer, seq_len)
    dataset = [{"input_ids": torch.from_numpy(row.astype("int64"))} for row in seqs.ids]
    model = BertForMaskedLM.from_pretrained(setup.model_dir, attn_implementation="sdpa")
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=MASK_RATE)

    class Clock(TrainerCallback):
        def __init__(self):
            self.start: tuple[int, float] | None = None
            self.end: tuple[int, float] | None = None

        def on_step_end(self, args, state, control, **kw):
            if state.global_step == warmup:
                _sync(device)
                self.start = (state.global_step, time.perf_counter())
            elif self.start is not None:
                done = (state.global_step - warmup >= steps) if steps is not None else (
                    time.perf_counter() - self.start[1] >= seconds)
                if done:
                    _sync(device)
                    self.end = (state.global_step, time.perf_counter())
                    control.should_training_stop = True
            return control

    clock = Clock()
    args = TrainingArguments(output_dir=os.path.join(setup.workdir, f"hf-{seq_len}"),
                             per_device_train_batch_size=batch, max_steps=10**6, learning_rate=1e-4,
                             lr_scheduler_type="constant", bf16=bf16, use_cpu=device == "cpu", report_to="none",
                             save_strategy="no", logging_strategy="no", disable_tqdm=True,
                             dataloader_num_workers=workers, seed=0)
    Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator, callbacks=[clock]).train()
    (s0, t0), (s1, t1) = clock.start, clock.end
    tokens = (s1 - s0) * batch * seq_len
    flops = model_flops_per_step(setup, tokens, seq_len)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return Result("transformers.Trainer", seq_len, batch, s1 - s0, t1 - t0, tokens / (t1 - t0), flops / (t1 - t0))


def _has_jsonschema() -> bool:
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        return False
    return True


def table(rows: list[Result], peaks: dict[str, float] | None = None) -> str:
    head = f"{'trainer':<22}{'seq':>5}{'batch':>6}{'steps':>6}{'seconds':>9}{'tokens/s':>12}"
    head += "".join(f"{'MFU@' + k:>12}" for k in (peaks or {}))
    lines = [head]
    for r in rows:
        line = f"{r.name:<22}{r.seq_len:>5}{r.batch:>6}{r.steps:>6}{r.seconds:>9.1f}{r.tokens_per_sec:>12,.0f}"
        line += "".join(f"{100 * r.mfu(p):>11.1f}%" for p in (peaks or {}).values())
        lines.append(line)
    return "\n".join(lines)


def run_baseline_manual(setup: Setup, *, seq_len: int, batch: int, warmup: int, steps: int | None = None,
                        seconds: float | None = None, device: str = "cpu", bf16: bool = False,
                        workers: int = 0) -> Result:
    """Fallback when `accelerate` (needed by transformers.Trainer) is missing: BertForMaskedLM (SDPA) +
    DataCollatorForLanguageModeling + fused AdamW + bf16 autocast, a plain loop — what Trainer does per step."""
    from transformers import BertForMaskedLM, DataCollatorForLanguageModeling

    tokenizer = load_tokenizer(setup.model_dir)
    seqs = tokenize_corpus(setup.shards, tokenizer, seq_len)
    rows = [{"input_ids": torch.from_numpy(r.astype("int64"))} for r in seqs.ids]
    model = BertForMaskedLM.from_pretrained(setup.model_dir, attn_implementation="sdpa").to(device).train()
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=MASK_RATE)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0, fused=True)
    start = None
    step = 0
    while True:
        lo = (step * batch) % max(1, len(rows) - batch)
        b = {k: v.to(device, non_blocking=True) for k, v in collator(rows[lo:lo + batch]).items()}
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            loss = model(**b).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        if step == warmup:
            _sync(device)
            start = (step, time.perf_counter())
        elif start is not None and ((step - warmup >= steps) if steps is not None
                                    else time.perf_counter() - start[1] >= seconds):
            _sync(device)
            end = (step, time.perf_counter())
            break
    (s0, t0), (s1, t1) = start, end
    tokens = (s1 - s0) * batch * seq_len
    del model, optimizer
    return Result("HF model+collator loop", seq_len, batch, s1 - s0, t1 - t0, tokens / (t1 - t0),
                  model_flops_per_step(setup, tokens, seq_len) / (t1 - t0))
