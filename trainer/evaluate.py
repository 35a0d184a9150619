"""Held-out evaluation: MLM loss / perplexity / masked-token accuracy (CLM: next-token) on domain and general text.

    python -m trainer evaluate --config eval.json

For each named model (e.g. base and adapted) and each set (domain, general — the forgetting probe), the first
`maxSequences` sequences of the set are masked once with a fixed seed, so every model and every run sees the same
masked positions of the same text (a model with an extended vocabulary tokenises the text differently, so its
numbers compare per token of its own tokenizer). Metric events are named `<model>.<set>.<loss|perplexity|accuracy>`.
"""

from __future__ import annotations

import json
import math
import os

import torch

from .batch import Batch, make_batches
from .config import EvaluateConfig, MaskingSpec
from .data import rng_for, tokenize_corpus
from .errors import ConfigError
from .events import Events, log
from .masking import Masker
from .model import load_model_checked, load_tokenizer, objective_for
from .words import Segmenter, read_lexicon


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
    return make_batches(seqs, batch_size, masker, rng_for(seed, 0xE7A1))


@torch.no_grad()
def evaluate_batches(model, objective, batches: list[Batch], device: torch.device, autocast) -> dict[str, float]:
    """Mean loss per target token, its exp, and the share of targets predicted exactly."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    n = 0
    for b in batches:
        b = b.to(device)
        with autocast:
            loss, right = objective(*b.args(), with_accuracy=True)
        loss_sum += loss.float()
        correct += right
        n += b.n_targets
    model.train(was_training)
    if n == 0:
        return {}
    loss = loss_sum.item() / n
    return {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "accuracy": correct.item() / n}


def pick_device(choice: str) -> torch.device:
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def autocast_for(device: torch.device, precision: str):
    bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)


def run(cfg: EvaluateConfig, events: Events | None = None) -> dict[str, float]:
    events = events or Events()
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    autocast = autocast_for(device, "auto")
    metrics: dict[str, float] = {}
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
            batches = heldout_batches(paths, tokenizer, spec.objective, seq_len=cfg.data.seq_len,
                                      max_sequences=cfg.data.max_sequences, text_field=cfg.data.text_field,
                                      packing=True, masking=cfg.masking, segmenter=segmenter, seed=cfg.seed,
                                      batch_size=cfg.batch_size)
            for key, value in evaluate_batches(model, objective, batches, device, autocast).items():
                metrics[f"{name}.{set_name}.{key}"] = value
                events.metric(f"{name}.{set_name}.{key}", value)
        del model
    os.makedirs(cfg.output_dir, exist_ok=True)
    with open(os.path.join(cfg.output_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
    events.done(cfg.output_dir, metrics)
    return metrics
