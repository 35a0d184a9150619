"""Prompt-based fine-tuning (PET, Schick & Schütze 2021; LM-BFF, Gao et al. 2021): classification as filling a
mask. Each text is put into a template with one mask slot ("{text} This package is about [MASK]."), and the MLM
head's logits at the mask, restricted to one label word per class (the verbalizer), are the class logits. The
adapted model's MLM head is used as it is, with no new randomly initialised classifier: what continued
pretraining taught the head about the domain's words counts from the first step, which matters most with very
few labels.

    PromptClassifier(mlm_model, mask_token_id, label_token_ids)   forward(input_ids, attention_mask).logits [B, K]
    encode_prompted(tokenizer, texts, template, max_length)      the text cut so that the template always fits
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np
import torch

from .config import MASK, TEXT
from .errors import ConfigError
from .ngram_adapter import attach_saved, save_model
from .taskdata import Encoded, _pad, pad_id

def label_token_ids(tokenizer, verbalizer: dict[str, str], labels: Sequence[str],
                    where: str = "prompt.verbalizer") -> list[int]:
    """One vocabulary id per label, in label order; a label without a word, or a word that is not one token of
    this model's vocabulary, is refused by name (the MLM head scores single tokens)."""
    missing = [label for label in labels if label not in verbalizer]
    if missing:
        raise ConfigError(f"{where}: no label word for {', '.join(map(repr, missing))} (every label needs one)")
    ids: list[int] = []
    for label in labels:
        word = verbalizer[label]
        # the word as it appears after a space in running text (RoBERTa/GPT-2 BPE mark that; WordPiece does not)
        pieces = tokenizer.tokenize(" " + word)
        if len(pieces) != 1:
            raise ConfigError(f"{where}.{label}: {word!r} is {len(pieces)} tokens {pieces} in this model's "
                              f"vocabulary; choose a word that is one token")
        token_id = tokenizer.convert_tokens_to_ids(pieces[0])
        if token_id == tokenizer.unk_token_id:
            raise ConfigError(f"{where}.{label}: {word!r} is not in this model's vocabulary (it reads as "
                              f"{tokenizer.unk_token}); choose a word that is one token")
        ids.append(token_id)
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{where}: two labels share a label word ({verbalizer})")
    return ids


def encode_prompted(tokenizer, texts: Sequence[str], template: str, max_length: int,
                    labels: np.ndarray | None = None) -> Encoded:
    """Template with the text in it, special tokens around; the text (not the template) is cut to fit
    max_length, so the mask slot is always present."""
    if tokenizer.mask_token is None:
        raise ConfigError("prompt: this model's tokenizer has no mask token (prompt-based fine-tuning needs an MLM)")
    before, after = template.split(TEXT)
    enc = lambda s: tokenizer(s.replace(MASK, tokenizer.mask_token), add_special_tokens=False)["input_ids"]  # noqa: E731
    head, tail = enc(before) if before.strip() else [], enc(after) if after.strip() else []
    specials = sum(map(len, _specials(tokenizer)))
    room = max_length - specials - len(head) - len(tail)
    if room < 1:
        raise ConfigError(f"prompt.template: {len(head) + len(tail)} template tokens leave no room for the text "
                          f"within data.maxLength {max_length}")
    first, last = _specials(tokenizer)
    bodies = tokenizer(list(texts), add_special_tokens=False)["input_ids"] if len(texts) else []
    rows = [first + head + body[:room] + tail + last for body in bodies]
    if not rows:
        return Encoded(np.zeros((0, 1), dtype=np.int64), np.zeros(0, dtype=np.int64), labels)
    ids, lengths = _pad(rows, pad_id(tokenizer))
    return Encoded(ids, lengths, labels)


def _specials(tokenizer) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after one sequence ([CLS] … [SEP], <s> … </s>), read off
    a tokenised probe: fast tokenizers have no public call that wraps already-cut ids."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    for k in range(len(full) - len(plain) + 1):
        if full[k: k + len(plain)] == plain:
            return full[:k], full[k + len(plain):]
    raise ConfigError("prompt: cannot tell where this tokenizer puts its special tokens")


class PromptClassifier(torch.nn.Module):
    """The MLM's logits at the mask slot, over the label words: a K-way classifier that fit() and predict_probs()
    use like any other (`.logits` [B, K])."""

    def __init__(self, mlm, mask_token_id: int, label_ids: list[int]):
        super().__init__()
        self.mlm = mlm
        self.mask_token_id = mask_token_id
        self.register_buffer("label_ids", torch.tensor(label_ids, dtype=torch.long), persistent=False)
        self.config = SimpleNamespace(num_labels=len(label_ids))

    def get_input_embeddings(self):
        return self.mlm.get_input_embeddings()

    def forward(self, input_ids, attention_mask=None):
        out = self.mlm(input_ids=input_ids, attention_mask=attention_mask).logits  # [B, L, V]
        rows, cols = (input_ids == self.mask_token_id).nonzero(as_tuple=True)
        if len(rows) != len(input_ids):
            raise ValueError("prompt: every row needs exactly one mask token (the template's slot)")
        return SimpleNamespace(logits=out[rows, cols][:, self.label_ids])

    def save_pretrained(self, path: str, **kw) -> None:
        save_model(self.mlm, path)


def load_prompt_model(path: str, tokenizer, label_ids: list[int], seed: int) -> PromptClassifier:
    from transformers import AutoModelForMaskedLM

    torch.manual_seed(seed)
    mlm = AutoModelForMaskedLM.from_pretrained(path, local_files_only=True, dtype=torch.float32)
    attach_saved(mlm, path)
    return PromptClassifier(mlm, tokenizer.mask_token_id, label_ids)
