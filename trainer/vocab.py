"""Vocabulary extension from a domain lexicon (the `newwords` artifact).

Which words: in lexicon order, those the base tokenizer splits into at least `minSubtokens` pieces (or can only
write with its unknown token), up to `maxNewTokens`. How they are merged into the tokenizer — into the model's own
vocabulary wherever the word reaches the model as one pre-token, so that no AddedToken is needed:

  WordPiece (BERT)      a word that normalises and pre-tokenises to a single pre-token (Latin-script words) is a new
                        vocabulary entry; WordPiece's longest-match-first then emits it whole.
  byte-level BPE (GPT2) " word" (leading space, the form words take inside text) becomes a vocabulary entry and the
                        model's `ignore_merges` is switched on, so a pre-token found whole in the vocabulary is
                        emitted as is (what Llama-3's tokenizer does); no chain of intermediate merge tokens.
  anything else         words that span several pre-tokens — CJK words (BERT's normaliser splits every Chinese
                        character), multi-word terms — and every word for other model types become AddedTokens.
                        The tokenizers library matches all added tokens with one Aho-Corasick automaton, so even a
                        few thousand cost little; the metric `vocab.addedTokens` says how many took this path.

Embeddings are resized to a multiple of `padToMultipleOf` (Tensor Core friendly); each new row (input embedding,
untied output embedding, output bias) starts as the mean of the rows of the sub-tokens the word replaces.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import torch

from .events import log


@dataclass
class Extension:
    tokenizer: object  # the extended transformers tokenizer
    words: list[str] = field(default_factory=list)  # words added, in order
    pieces: dict[int, list[int]] = field(default_factory=dict)  # new id → base sub-token ids it replaces
    in_vocab: int = 0  # merged into the model's vocabulary
    added_tokens: int = 0  # fell back to AddedTokens


def _model_type(tok_json: dict) -> str:
    return tok_json["model"]["type"]


def extend_tokenizer(tokenizer, lexicon: list[str], max_new: int, min_subtokens: int, workdir: str) -> Extension:
    """Returns the extended tokenizer (saved in `workdir`) and which base pieces each new token replaces."""
    from tokenizers import AddedToken
    from transformers import AutoTokenizer

    backend = tokenizer.backend_tokenizer
    os.makedirs(workdir, exist_ok=True)
    tokenizer.save_pretrained(workdir)
    path = os.path.join(workdir, "tokenizer.json")
    with open(path, encoding="utf-8") as f:
        tok_json = json.load(f)
    kind = _model_type(tok_json)
    vocab: dict[str, int] = tok_json["model"]["vocab"] if kind in ("WordPiece", "BPE") else {}
    byte_level = kind == "BPE" and "ByteLevel" in json.dumps(tok_json.get("pre_tokenizer"))
    next_id = max([len(tokenizer)] + [t["id"] + 1 for t in tok_json["added_tokens"]] + [i + 1 for i in vocab.values()])

    chosen: list[tuple[str, str | None, list[int]]] = []  # (word, vocab entry or None → AddedToken, pieces)
    seen: set[str] = set()
    for word in lexicon:
        if len(chosen) >= max_new:
            break
        surface = " " + word if byte_level and not _is_cjk(word) else word
        pieces = tokenizer(surface, add_special_tokens=False)["input_ids"]
        if len(pieces) < min_subtokens and tokenizer.unk_token_id not in pieces:
            continue  # (a word the base tokenizer can only write as [UNK] is always a candidate)
        entry = _vocab_entry(backend, kind, byte_level, surface)
        key = entry or word
        if key in seen or (entry is not None and entry in vocab):
            continue
        seen.add(key)
        chosen.append((word, entry, pieces))

    in_vocab = [(w, e, p) for w, e, p in chosen if e is not None]
    for _, entry, _ in in_vocab:
        vocab[entry] = next_id
        next_id += 1
    if in_vocab and kind == "BPE":
        tok_json["model"]["ignore_merges"] = True
    with open(path, "w", encoding="utf-8") as f:
        json.dump(tok_json, f, ensure_ascii=False)
    extended = AutoTokenizer.from_pretrained(workdir)
    as_added = [(w, e, p) for w, e, p in chosen if e is None]
    if as_added:
        # normalized: matched after the normaliser (e.g. lower-casing) — but not for CJK words, whose characters
        # BERT's normaliser pads with spaces, nor for byte-level BPE, which has no normaliser.
        extended.add_tokens([AddedToken(w, normalized=not (byte_level or _is_cjk(w)), single_word=False)
                             for w, _, _ in as_added])

    ext = Extension(tokenizer=extended, in_vocab=len(in_vocab), added_tokens=len(as_added))
    for word, entry, pieces in chosen:
        new_id = extended.convert_tokens_to_ids(entry if entry is not None else word)
        ext.words.append(word)
        ext.pieces[new_id] = pieces
    if as_added:
        extended.save_pretrained(workdir)
    log.info("vocab: %d words added (%d in the model vocabulary, %d AddedTokens)", len(chosen), len(in_vocab),
             len(as_added))
    return ext


def _is_cjk(word: str) -> bool:
    import re

    from .words import _CJK

    return re.search(f"[{_CJK}]", word) is not None


def _vocab_entry(backend, kind: str, byte_level: bool, surface: str) -> str | None:
    """The vocabulary string for `surface` if it reaches the model as exactly one pre-token, else None."""
    if kind not in ("WordPiece", "BPE") or (byte_level and _is_cjk(surface)):
        return None  # CJK runs are one byte-level pre-token: the word would only match a run that is exactly it
    text = backend.normalizer.normalize_str(surface) if backend.normalizer is not None else surface
    pre = backend.pre_tokenizer.pre_tokenize_str(text) if backend.pre_tokenizer is not None else [(text, (0, 0))]
    if len(pre) != 1:
        return None
    if kind == "BPE" and not byte_level:
        return None  # BPE without byte-level pre-tokenization: merges/unk handling differ; use AddedTokens
    return pre[0][0]


@torch.no_grad()
def resize_embeddings(model, ext: Extension, pad_to_multiple_of: int) -> int:
    """Resize to len(tokenizer) rounded up to the multiple; new rows = mean of the replaced sub-token rows."""
    model.resize_token_embeddings(len(ext.tokenizer), pad_to_multiple_of=pad_to_multiple_of, mean_resizing=True)
    emb_in = model.get_input_embeddings().weight
    out = model.get_output_embeddings()
    emb_out = out.weight if out is not None and out.weight is not emb_in else None
    bias = getattr(out, "bias", None) if out is not None else None
    for new_id, pieces in ext.pieces.items():
        idx = torch.tensor(pieces, dtype=torch.long, device=emb_in.device)
        emb_in[new_id] = emb_in[idx].mean(0)
        if emb_out is not None:
            emb_out[new_id] = emb_out[idx].mean(0)
        if bias is not None:
            bias[new_id] = bias[idx].mean()
    return emb_in.shape[0]


def tokens_per_doc(tokenizer, texts: list[str]) -> float:
    if not texts:
        return 0.0
    ids = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    return sum(len(x) for x in ids) / len(texts)
