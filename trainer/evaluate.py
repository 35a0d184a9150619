"""Held-out evaluation: MLM loss / perplexity / masked-token accuracy (CLM: next-token) on domain and general text.

    python -m trainer evaluate --config eval.json

For each named model (e.g. base and adapted) and each set (domain, general — the forgetting probe), the first
`maxSequences` sequences of the set are evaluated. A sequence never spans two documents: each document is tokenised
on its own and cut into pieces of at most `seqLen` tokens (the last one padded; a piece of fewer than 2 tokens is
dropped), and each piece is masked with a generator seeded by (seed, a hash of the document's text, the piece's index)
— so every model and every run sees the same masked positions of the same text, and the numbers of a set split into
shards add up to the numbers of the whole set (a model with an extended vocabulary tokenises the text differently, so
its numbers compare per token of its own tokenizer). Metric events are named `<model>.<set>.<loss|perplexity|accuracy>`.

Sharded evaluation (the perplexity stage's fan-out) uses two phases of the same command:
  phase count   tokenizers only: how many of the first `maxSequences` (or `limits[model][set]`) sequences each file of
                each set holds, per model, in file order, stopping once every model has its share → counts.json
                {set: {model: [n per file]}};
  phase score   (the default) the first `limits[model][set]` sequences (default `maxSequences`) of each set →
                metrics.json (flat `<model>.<set>.<measure>`, `<model>.headless`) and sums.json {model: {set:
                {lossSum, correct, targets, sequences}}}: the sums of shards add up to the sums of the whole set.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass

import numpy as np
import torch

from .batch import Batch, Labelled, cut_batches, label_step, make_batches
from .config import EvaluateConfig, MaskingSpec
from .data import Packed, _batched, read_texts, rng_for, tokenize_corpus
from .errors import ConfigError
from .events import Events, log
from .masking import Masker
from .model import load_model_checked, load_tokenizer, objective_for
from .words import WORD_START, Segmenter, read_lexicon

MASK_STREAM = 0xE7A1  # the evaluation masks' generator key, beside the seed


def make_masker(tokenizer, masking: MaskingSpec) -> Masker:
    return Masker(masking.strategy, masking.rate, tokenizer.mask_token_id, len(tokenizer), tokenizer.all_special_ids)


def make_segmenter(masking: MaskingSpec, objective: str) -> Segmenter | None:
    if objective != "mlm" or masking.strategy == "token":
        return None
    if masking.language == "zh":
        try:
            import jieba  # noqa: F401
        except ImportError:
            raise ConfigError("masking.language: 'zh' needs jieba, which is not installed") from None
    lexicon = read_lexicon(masking.lexicon) if masking.lexicon else []
    return Segmenter(masking.language, lexicon)


def heldout_batches(paths: list[str], tokenizer, objective: str, *, seq_len: int, max_sequences: int,
                    text_field: str, packing: bool, masking: MaskingSpec, segmenter: Segmenter | None, seed: int,
                    batch_size: int) -> list[Batch]:
    """Fixed evaluation batches: the first `max_sequences` sequences of `paths`, masked with `seed`."""
    if not paths:
        return []
    seqs = tokenize_corpus(paths, tokenizer, seq_len, packing=packing, text_field=text_field, segmenter=segmenter,
                           append_eos=objective == "clm", max_sequences=max_sequences)
    if len(seqs) == 0:
        log.warning("held-out set %s holds no full sequence of %d tokens", paths, seq_len)
        return []
    masker = make_masker(tokenizer, masking) if objective == "mlm" else None
    return make_batches(seqs, batch_size, masker, rng_for(seed, MASK_STREAM))


@dataclass
class DocSequence:
    """One piece (at most seq_len tokens) of one document."""

    ids: np.ndarray  # [L] int32
    flags: np.ndarray | None  # [L] uint8 word flags (whole-word / lexicon masking)
    doc: int  # 64-bit hash of the document's text: with `piece`, what its mask is seeded by
    piece: int


def doc_key(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def document_sequences(paths: list[str], tokenizer, objective: str, *, seq_len: int, limit: int, text_field: str,
                       segmenter: Segmenter | None, batch_docs: int = 256) -> list[DocSequence]:
    """The first `limit` sequences of `paths`: each document on its own, cut into pieces of at most seq_len tokens."""
    out: list[DocSequence] = []
    if limit <= 0 or not paths:
        return out
    special = np.asarray(tokenizer.all_special_ids, dtype=np.int64)
    eos = tokenizer.eos_token_id
    for texts in _batched(read_texts(paths, text_field), batch_docs):
        enc = tokenizer(texts, add_special_tokens=True, return_offsets_mapping=segmenter is not None,
                        return_attention_mask=False, verbose=False)
        for i, text in enumerate(texts):
            ids = np.asarray(enc["input_ids"][i], dtype=np.int32)
            flags = None
            if segmenter is not None:
                offsets = np.asarray(enc["offset_mapping"][i], dtype=np.int64).reshape(-1, 2)
                flags = segmenter.token_flags(text, offsets, np.isin(ids, special))
            if objective == "clm" and eos is not None:
                ids = np.append(ids, np.int32(eos))
                if flags is not None:
                    flags = np.append(flags, np.uint8(1))
            key = doc_key(text)
            for piece, start in enumerate(range(0, len(ids), seq_len)):
                if len(ids) - start < 2:
                    continue
                f = None
                if flags is not None:
                    f = flags[start: start + seq_len].copy()
                    f[0] |= WORD_START  # a sequence never starts inside a unit
                out.append(DocSequence(ids[start: start + seq_len], f, key, piece))
                if len(out) >= limit:
                    return out
    return out


def document_batches(seqs: list[DocSequence], tokenizer, objective: str, *, seq_len: int, masking: MaskingSpec,
                     seed: int, batch_size: int) -> list[Batch]:
    """The sequences padded to seq_len, each masked (MLM) by its own generator, cut into micro-batches."""
    if not seqs:
        return []
    n = len(seqs)
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos if eos is not None else 0)
    ids = np.full((n, seq_len), pad, dtype=np.int32)
    lengths = np.asarray([len(s.ids) for s in seqs], dtype=np.int64)
    with_flags = seqs[0].flags is not None
    flags = np.ones((n, seq_len), dtype=np.uint8) if with_flags else None
    for r, s in enumerate(seqs):
        ids[r, : len(s.ids)] = s.ids
        if flags is not None:
            flags[r, : len(s.ids)] = s.flags
    if objective != "mlm":
        return cut_batches(label_step(Packed(ids, flags, lengths), None, None), batch_size, None)
    masker = make_masker(tokenizer, masking)
    inputs = np.empty((n, seq_len), dtype=np.int64)
    labels = np.empty((n, seq_len), dtype=np.int64)
    for r, s in enumerate(seqs):
        m = masker(ids[r: r + 1], None if flags is None else flags[r: r + 1],
                   rng_for(seed, MASK_STREAM, s.doc, s.piece), lengths[r: r + 1])
        inputs[r], labels[r] = m.input_ids[0], m.labels[0]
    real = np.arange(seq_len)[None, :] < lengths[:, None]
    return cut_batches(Labelled(inputs, labels, real, False), batch_size, masker)


def evaluate_batches(model, objective, batches: list[Batch], device: torch.device, autocast) -> dict[str, float]:
    """Mean loss per target token, its exp, and the share of targets predicted exactly."""
    return measures(sum_batches(model, objective, batches, device, autocast))


@torch.no_grad()
def sum_batches(model, objective, batches: list[Batch], device: torch.device, autocast) -> dict[str, float]:
    """Summed loss over target tokens, targets predicted exactly, targets: what shards add up."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    correct = torch.zeros((), device=device, dtype=torch.long)
    n = 0
    for b in batches:
        b = b.to(device)
        with autocast:
            loss, right = objective(*b.args(), with_accuracy=True)
        loss_sum += loss.double()
        correct += right
        n += b.n_targets
    model.train(was_training)
    return {"lossSum": loss_sum.item(), "correct": int(correct.item()), "targets": n}


def measures(sums: dict) -> dict[str, float]:
    """loss, perplexity, accuracy from sums (nothing when the set has no target)."""
    n = sums["targets"]
    if not n:
        return {}
    loss = sums["lossSum"] / n
    return {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "accuracy": sums["correct"] / n}


def pick_device(choice: str) -> torch.device:
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def autocast_for(device: torch.device, precision: str):
    bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)


def _limit(cfg: EvaluateConfig, model: str, set_name: str) -> int:
    return (cfg.limits or {}).get(model, {}).get(set_name, cfg.data.max_sequences)


def count(cfg: EvaluateConfig, events: Events | None = None) -> dict:
    """Phase count: per set, per model, how many of its first sequences each file holds (see module doc)."""
    events = events or Events()
    sets = {"domain": cfg.data.domain, "general": cfg.data.general}
    out: dict = {name: {} for name, paths in sets.items() if paths}
    for model_name, spec in cfg.models.items():
        tokenizer = load_tokenizer(spec.path)
        for set_name, paths in sets.items():
            if not paths:
                continue
            left = _limit(cfg, model_name, set_name)
            per_file = []
            for path in paths:
                n = len(document_sequences([path], tokenizer, spec.objective, seq_len=cfg.data.seq_len, limit=left,
                                           text_field=cfg.data.text_field, segmenter=None))
                per_file.append(n)
                left -= n
            out[set_name][model_name] = per_file
    os.makedirs(cfg.output_dir, exist_ok=True)
    with open(os.path.join(cfg.output_dir, "counts.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)
    events.done(cfg.output_dir, {f"{m}.{s}.sequences": float(sum(n)) for s, per in out.items() for m, n in per.items()})
    return out


def run(cfg: EvaluateConfig, events: Events | None = None) -> dict[str, float]:
    if cfg.phase == "count":
        count(cfg, events)
        return {}
    events = events or Events()
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    autocast = autocast_for(device, "auto")
    metrics: dict[str, float] = {}
    sums: dict = {}
    sets = {"domain": cfg.data.domain, "general": cfg.data.general}
    for name, spec in cfg.models.items():
        tokenizer = load_tokenizer(spec.path)
        model, headless, _ = load_model_checked(spec.path, spec.objective)
        model.to(device)
        if headless:  # its loss is a random head's: not comparable with a trained head's
            log.warning("%s (%s) has no LM head weights: its loss is that of a random head", name, spec.path)
            metrics[f"{name}.headless"] = 1.0
            events.metric(f"{name}.headless", 1.0)
        objective = objective_for(model, spec.objective)
        segmenter = make_segmenter(cfg.masking, spec.objective)
        for set_name, paths in sets.items():
            if not paths:
                continue
            seqs = document_sequences(paths, tokenizer, spec.objective, seq_len=cfg.data.seq_len,
                                      limit=_limit(cfg, name, set_name), text_field=cfg.data.text_field,
                                      segmenter=segmenter)
            if not seqs:
                log.warning("held-out set %s holds no sequence of at least 2 tokens", paths)
            batches = document_batches(seqs, tokenizer, spec.objective, seq_len=cfg.data.seq_len,
                                       masking=cfg.masking, seed=cfg.seed, batch_size=cfg.batch_size)
            s = sum_batches(model, objective, batches, device, autocast)
            s["sequences"] = len(seqs)
            sums.setdefault(name, {})[set_name] = s
            for key, value in measures(s).items():
                metrics[f"{name}.{set_name}.{key}"] = value
                events.metric(f"{name}.{set_name}.{key}", value)
        del model
    os.makedirs(cfg.output_dir, exist_ok=True)
    with open(os.path.join(cfg.output_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
    with open(os.path.join(cfg.output_dir, "sums.json"), "w", encoding="utf-8") as f:
        json.dump(sums, f, indent=2)
    events.done(cfg.output_dir, metrics)
    return metrics
