"""Models and objectives: loading a local Hugging Face model, the MLM/CLM losses, LoRA, FLOPs per step.

MaskedLM never computes logits for unmasked positions: the body's hidden states [B, T, d] are gathered at the masked
positions ([M, d], M ≈ 15% of B·T) before the LM head, so the head's d×V matmul runs on M rows instead of B·T
(for BERT-base at V = 30k that matmul is the largest single one of the model). Known heads: BERT family (`cls`),
RoBERTa/XLM-R family (`lm_head`), DistilBERT; anything else falls back to full logits, then the gather.
Losses are returned as sums over target tokens; the caller divides by the number of targets of the whole
optimizer step, so gradient accumulation weights every target token equally and a batch without targets gives
a loss of 0 (not NaN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from .events import log
from .robust import info_nce
from .ngram_adapter import attach_saved

IGNORE = -100


def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    tok.model_max_length = int(1e9)  # we cut sequences ourselves; silences the "longer than" warning
    return tok


def load_model(path: str, objective: str):
    return load_model_checked(path, objective).model


class Loaded(NamedTuple):
    model: torch.nn.Module
    head_missing: bool  # the checkpoint lacked LM-head weights: they start random
    unused_weights: bool  # the checkpoint held weights this model has no place for (e.g. BERT's pooler)


def load_model_checked(path: str, objective: str, overrides: dict | None = None) -> Loaded:
    """The model, whether its checkpoint lacked LM-head weights and whether it held weights the model does not use.

    Sentence-embedding checkpoints (e.g. all-MiniLM-L6-v2) ship the encoder only: transformers reports the head's
    keys as missing. Keys of the body (`<base_model_prefix>.…`) that are missing do not count: that is another
    problem, not a headless encoder. `overrides` (model.configOverrides) change the loaded config first."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM

    cls = AutoModelForMaskedLM if objective == "mlm" else AutoModelForCausalLM
    kwargs = dict(local_files_only=True, dtype=torch.float32, output_loading_info=True)
    if overrides:
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        apply_config_overrides(config, overrides)
        kwargs["config"] = config
    try:
        model, info = cls.from_pretrained(path, attn_implementation="sdpa", **kwargs)
    except (ValueError, ImportError) as e:  # architecture without SDPA support
        log.warning("SDPA attention unavailable for %s (%s): using the default attention", path, e)
        model, info = cls.from_pretrained(path, **kwargs)
    prefix = model.base_model_prefix + "."
    missing = [k for k in info.get("missing_keys") or () if not k.startswith(prefix)]
    attach_saved(model, path)  # an n-gram-adapted model (ngram_adapter.py) runs with its adapter
    return Loaded(model, bool(missing), bool(info.get("unexpected_keys")))


def _value_kind(value) -> str:
    """JSON's kinds of scalar: int and float are both numbers (bool is not one)."""
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def apply_config_overrides(config, overrides: dict) -> None:
    """Set each override on a transformers config. An unknown attribute, or a value of another kind than the
    config's (boolean, number, string; an int attribute takes integral numbers only), is a ConfigError naming it."""
    from .errors import ConfigError

    for key, value in overrides.items():
        where = f"model.configOverrides.{key}"
        if not hasattr(config, key):
            raise ConfigError(f"{where}: {type(config).__name__} has no attribute {key!r}")
        old = getattr(config, key)
        if old is not None and _value_kind(old) != _value_kind(value):
            raise ConfigError(f"{where}: expected a value of the type of the base config's {old!r} "
                              f"({type(old).__name__}), got {value!r}")
        if isinstance(old, int) and not isinstance(old, bool):
            if not float(value).is_integer():
                raise ConfigError(f"{where}: expected an integer (the base config has {old!r}), got {value!r}")
            value = int(value)
        elif isinstance(old, float):
            value = float(value)
        setattr(config, key, value)


def restore_config(model, path: str, keys) -> None:
    """Put the base model's values of `keys` back into model.config (overrides are for training only)."""
    if not keys:
        return
    from transformers import AutoConfig

    base = AutoConfig.from_pretrained(path, local_files_only=True)
    for key in keys:
        setattr(model.config, key, getattr(base, key))


def head_parameters(model) -> dict[str, torch.nn.Parameter]:
    """The parameters outside the body (the LM head's own), by name; a decoder matrix tied to the input
    embeddings belongs to the body, so it is not among them."""
    body = {id(p) for p in _body(model).parameters()}
    return {n: p for n, p in model.named_parameters() if id(p) not in body}


def head_warmup_steps(setting: int | str, max_steps: int, head_missing: bool) -> int:
    """Steps at the start during which only the head trains. 'auto': a quarter of the run (at most 1000) when the
    head was missing, so its large early gradients (a random head) do not reach the encoder; else none."""
    if setting != "auto":
        return int(setting)
    return min(1000, max(1, round(0.25 * max_steps))) if head_missing else 0


def add_lora(model, r: int, alpha: float, dropout: float, target_modules: list[str] | None):
    """Wrap `model` with LoRA adapters (base frozen). Returns the PeftModel; `model` itself is modified in place,
    so the caller keeps using it (its submodules now hold the adapters)."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules, bias="none")
    return get_peft_model(model, config)


def _body(model):
    return getattr(model, model.base_model_prefix)


def _mlm_head(model):
    if hasattr(model, "cls") and hasattr(model.cls, "predictions"):  # BERT and its relatives
        return model.cls
    if hasattr(model, "lm_head"):  # RoBERTa, XLM-R, CamemBERT, Longformer, ...
        return model.lm_head
    if hasattr(model, "vocab_projector"):  # DistilBERT
        return lambda h: model.vocab_projector(model.vocab_layer_norm(model.activation(model.vocab_transform(h))))
    return None


class MaskedLM:
    """Loss over masked positions only (see module doc)."""

    def __init__(self, model):
        self.model = model
        self.body = _body(model)
        self.head = _mlm_head(model)
        if self.head is None:
            log.warning("%s: unknown MLM head, computing full logits", type(model).__name__)

    def __call__(self, input_ids, attention_mask, positions, targets, with_accuracy: bool = False):
        """input_ids [B, T]; positions [M] flat indices into B·T (padding rows point at 0 with target -100);
        targets [M]. Returns (sum of losses, number of correct predictions or None)."""
        return self._loss(input_ids, attention_mask, positions, targets, with_accuracy)[:2]

    def _loss(self, input_ids, attention_mask, positions, targets, with_accuracy: bool = False):
        """(sum of losses, correct count or None, the body's last hidden states [B, T, d])."""
        if self.head is None:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            hidden = out.hidden_states[-1]
            logits = out.logits.reshape(-1, out.logits.shape[-1]).index_select(0, positions)  # [M, V]
        else:
            hidden = self.body(input_ids=input_ids, attention_mask=attention_mask)[0]  # [B, T, d]
            logits = self.head(hidden.reshape(-1, hidden.shape[-1]).index_select(0, positions))  # [M, d] → [M, V]
        logits = logits.float()
        loss = F.cross_entropy(logits, targets, ignore_index=IGNORE, reduction="sum")
        correct = ((logits.argmax(-1) == targets) & (targets != IGNORE)).sum() if with_accuracy else None
        return loss, correct, hidden


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor | None, how: str) -> torch.Tensor:
    """[B, T, d] → [B, d]: the first ([CLS]) position, or the mean over real tokens (all of them when packed)."""
    if how == "cls":
        return hidden[:, 0]
    if attention_mask is None:
        return hidden.mean(1)
    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1)


class ContrastiveMaskedLM(MaskedLM):
    """MLM plus SimCSE's InfoNCE (robust.info_nce) between two dropout views of each sequence's pooled state.

    View 1 is the MLM forward's own hidden states (the masked input); view 2 is one more body forward over the
    same masked input, whose only difference is its dropout draw: the cost is one extra body forward (and its
    backward) per micro-batch, no extra head. The other sequences of the micro-batch are the negatives, so the term
    depends on the micro-batch size (OOM halving changes it; DDP ranks see their own micro-batches only).
    Training only: returns (sum of MLM losses, InfoNCE of this micro-batch, a mean over its rows); the loop adds
    weight × InfoNCE weighted by the micro-batch's share of the step's sequences. Evaluation uses plain MaskedLM.
    """

    def __init__(self, model, temperature: float, pooling: str):
        super().__init__(model)
        self.temperature = temperature
        self.pooling = pooling

    def __call__(self, input_ids, attention_mask, positions, targets):
        loss, _, hidden = self._loss(input_ids, attention_mask, positions, targets)
        second = (self.body(input_ids=input_ids, attention_mask=attention_mask)[0] if self.head is not None else
                  self.model(input_ids=input_ids, attention_mask=attention_mask,
                             output_hidden_states=True).hidden_states[-1])
        nce = info_nce(pool(hidden, attention_mask, self.pooling), pool(second, attention_mask, self.pooling),
                       self.temperature)
        return loss, nce


class CausalLM:
    """Next-token loss: the body's hidden states [B, T, d] → LM head → logits [B, T-1, V] against ids shifted."""

    def __init__(self, model):
        self.model = model
        self.body = _body(model)
        self.head = model.get_output_embeddings()

    def __call__(self, input_ids, attention_mask, labels, with_accuracy: bool = False):
        """labels [B, T]: input ids with -100 at padding. Returns (sum of losses, correct count or None)."""
        hidden = self.body(input_ids=input_ids, attention_mask=attention_mask)[0]  # [B, T, d]
        logits = self.head(hidden[:, :-1]).float()  # [B, T-1, V]
        targets = labels[:, 1:]  # [B, T-1]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE,
                               reduction="sum")
        correct = ((logits.argmax(-1) == targets) & (targets != IGNORE)).sum() if with_accuracy else None
        return loss, correct


def objective_for(model, objective: str):
    return MaskedLM(model) if objective == "mlm" else CausalLM(model)


def training_objective_for(model, objective: str, contrastive):
    """The loss the loop trains on: the plain objective, or MLM + InfoNCE when `contrastive` (config.py checked
    that the objective is MLM)."""
    if contrastive is None:
        return objective_for(model, objective)
    return ContrastiveMaskedLM(model, contrastive.temperature, contrastive.pooling)


@dataclass(frozen=True)
class FlopsModel:
    """Training FLOPs ≈ tokens · (6·N + 12·L·d·T) + head rows · 6·N_head (nanoGPT/PaLM accounting).

    N: parameters of the body's matmuls (embedding tables excluded), L layers, d width, T sequence length;
    head rows: masked tokens (MLM) or all tokens (CLM); N_head: the head's matmul parameters (d×V, plus d×d for a
    BERT-style transform). LoRA runs are counted the same way (an upper bound: frozen weights need no weight grads).
    """

    n_body: int
    n_head: int
    layers: int
    width: int

    def per_step(self, tokens: int, head_rows: int, seq_len: int) -> float:
        return tokens * (6.0 * self.n_body + 12.0 * self.layers * self.width * seq_len) + head_rows * 6.0 * self.n_head


def flops_model(model, objective: str) -> FlopsModel:
    body = _body(model)
    embeddings = {id(m.weight) for m in body.modules() if isinstance(m, torch.nn.Embedding)}
    n_body = sum(p.numel() for p in body.parameters() if id(p) not in embeddings and p.dim() >= 2)
    cfg = model.config
    width = cfg.hidden_size
    vocab = model.get_input_embeddings().weight.shape[0]
    n_head = width * vocab + (width * width if objective == "mlm" else 0)  # MLM heads: a d×d transform first
    return FlopsModel(n_body=n_body, n_head=n_head, layers=cfg.num_hidden_layers, width=width)


def peak_flops(device: torch.device) -> float | None:
    """Peak FLOP/s for MFU: env DAPT_PEAK_TFLOPS, else 989 TFLOP/s (H100 SXM dense bf16) on CUDA; None on CPU."""
    import os

    if device.type != "cuda":
        return None
    return float(os.environ.get("DAPT_PEAK_TFLOPS", "989")) * 1e12


def lr_at(step: int, base_lr: float, warmup: int, total: int, schedule: str) -> float:
    """Learning rate for optimizer step `step` (0-based): linear warmup, then linear/cosine decay to 0 or constant."""
    if warmup > 0 and step < warmup:
        return base_lr * (step + 1) / warmup
    if schedule == "constant" or total <= warmup:
        return base_lr
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule == "cosine":
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    return base_lr * (1.0 - progress)
