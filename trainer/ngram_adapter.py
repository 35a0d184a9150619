"""N-gram adapters (T-DNA, Diao et al. 2021): domain n-gram representations added to the lower layers of a frozen
encoder.

The n-grams are the mined lexicon's words and phrases, each as its token-id sequence under the model's tokenizer
(a term the tokenizer keeps in one piece needs no adapter, one with an unknown piece can never match: both are
skipped). Wherever a sequence of input ids spells an n-gram, that n-gram's representation is added to the hidden
states of each of the lower K layers at every position it covers (overlapping n-grams add up). The n-gram
encoder is an embedding table shared by the layers and one d×d map per adapted layer (identity at the start), so
each layer gets its own view of the n-gram at K·d² parameters beyond the table.

Matching runs on the ids the model sees, masks included: an n-gram with a masked piece does not fire, so the
adapter cannot leak an MLM target. Causal LMs are refused for the same reason (an n-gram starting at position t
would show the model the tokens after t).

On disk the adapter lives beside the model: ngram_adapter.json (the layers and the n-grams with their token-id
sequences) and ngram_adapter.safetensors (its weights); `attach_saved` puts it back on any model loaded from such
a directory, so every consumer of the adapted model (evaluate, finetune, pseudolabel, prompt) runs with it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .errors import ConfigError
from .events import log

CONFIG_FILE = "ngram_adapter.json"
WEIGHTS_FILE = "ngram_adapter.safetensors"
MODULE_NAME = "ngram_adapter"  # the attribute the adapter is registered under (its parameters' name prefix)
_HASH_BASE = 1_000_003  # rolling hash of a window of ids (int64, wrapping); a hit is then compared id by id


@dataclass(frozen=True)
class NgramVocab:
    """N-gram g (1-based; 0 is "none") is words[g - 1]; each token-id sequence in `sequences` spells n-gram
    `ngram_of[i]` (a word may have several spellings, e.g. with and without a leading space under byte-level BPE)."""

    words: list[str]
    sequences: list[tuple[int, ...]]
    ngram_of: list[int]

    def __len__(self) -> int:
        return len(self.words)

    def keep(self, ngrams: list[int]) -> NgramVocab:
        """The vocabulary of the given n-grams only (renumbered in that order)."""
        new_id = {g: i + 1 for i, g in enumerate(ngrams)}
        pairs = [(s, new_id[g]) for s, g in zip(self.sequences, self.ngram_of) if g in new_id]
        return NgramVocab([self.words[g - 1] for g in ngrams], [s for s, _ in pairs], [g for _, g in pairs])


@dataclass(frozen=True)
class VocabReport:
    candidates: int
    single_piece: int  # the tokenizer keeps them whole: nothing to add
    unknown: int  # a piece is the unknown token: the sequence never appears in the input
    duplicate: int  # spelled like an earlier word (e.g. another casing under a lower-casing tokenizer)


def build_vocab(words: list[str], tokenizer) -> tuple[NgramVocab, VocabReport]:
    """Every lexicon word that the tokenizer splits into two or more known pieces, in lexicon order."""
    unk = tokenizer.unk_token_id
    specials = set(tokenizer.all_special_ids)
    kept: list[str] = []
    sequences: list[tuple[int, ...]] = []
    ngram_of: list[int] = []
    seen: set[tuple[int, ...]] = set()
    single = unknown = duplicate = 0
    for word in words:
        spellings = []
        for text in dict.fromkeys((word, " " + word)):  # byte-level BPE spells a word inside a sentence with the space
            ids = tuple(tokenizer(text, add_special_tokens=False)["input_ids"])
            if len(ids) >= 2 and not (unk is not None and unk in ids) and ids not in seen and ids not in spellings:
                spellings.append(ids)
        if not spellings:
            ids = tuple(tokenizer(word, add_special_tokens=False)["input_ids"])
            if unk is not None and unk in ids or specials & set(ids):
                unknown += 1
            elif len(ids) < 2:
                single += 1
            else:
                duplicate += 1
            continue
        kept.append(word)
        for ids in spellings:
            seen.add(ids)
            sequences.append(ids)
            ngram_of.append(len(kept))
    return NgramVocab(kept, sequences, ngram_of), VocabReport(len(words), single, unknown, duplicate)


class NgramMatcher:
    """input_ids [B, T] → every (flat position b·T + t, n-gram id) such that an n-gram covers position t of row
    b. Vectorised per n-gram length: each window's rolling hash is looked up (searchsorted) among the n-grams'
    hashes of that length, then compared id by id, so a hash collision can only cost a match, never invent one."""

    def __init__(self, vocab: NgramVocab):
        self.vocab = vocab
        self._tables: dict[torch.device, list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor]]] = {}
        cpu = []
        by_len: dict[int, list[int]] = {}
        for i, s in enumerate(vocab.sequences):
            by_len.setdefault(len(s), []).append(i)
        for n, rows in sorted(by_len.items()):
            seqs = torch.tensor([vocab.sequences[i] for i in rows], dtype=torch.long)
            hashes = _window_hash(seqs)
            order = torch.argsort(hashes)
            hashes, seqs = hashes[order], seqs[order]
            ids = torch.tensor([vocab.ngram_of[i] for i in rows], dtype=torch.long)[order]
            unique = torch.ones_like(hashes, dtype=torch.bool)
            unique[1:] = hashes[1:] != hashes[:-1]
            if not bool(unique.all()):  # distinct sequences, equal hashes: keep the first
                log.warning("n-gram adapter: %d n-grams of length %d dropped (hash collision)",
                            int((~unique).sum()), n)
            cpu.append((n, hashes[unique], seqs[unique], ids[unique]))
        self._tables[torch.device("cpu")] = cpu

    def _on(self, device: torch.device):
        if device not in self._tables:
            self._tables[device] = [(n, h.to(device), s.to(device), i.to(device))
                                    for n, h, s, i in self._tables[torch.device("cpu")]]
        return self._tables[device]

    def _hits(self, input_ids: torch.Tensor):
        """Per n-gram length n: (n, which windows [B, T - n + 1] spell an n-gram, the n-gram each would be)."""
        ids = input_ids.long()
        for n, hashes, seqs, ngram_ids in self._on(ids.device):
            if ids.shape[1] < n:
                continue
            windows = ids.unfold(1, n, 1)  # [B, T - n + 1, n]
            h = _window_hash(windows)
            at = torch.searchsorted(hashes, h).clamp_(max=len(hashes) - 1)
            yield n, (hashes[at] == h) & (seqs[at] == windows).all(-1), ngram_ids[at]

    def match(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        length = input_ids.shape[1]
        positions, ngrams = [], []
        for n, hit, ngram_at in self._hits(input_ids):
            b, start = hit.nonzero(as_tuple=True)
            first = b * length + start
            positions.append((first[:, None] + torch.arange(n, device=first.device)).reshape(-1))
            ngrams.append(ngram_at[b, start].repeat_interleave(n))
        if not positions:
            empty = torch.zeros(0, dtype=torch.long, device=input_ids.device)
            return empty, empty
        return torch.cat(positions), torch.cat(ngrams)

    def counts(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Occurrences of each n-gram (index g; 0 unused) in the rows of input_ids."""
        total = torch.zeros(len(self.vocab) + 1, dtype=torch.long)
        for _, hit, ngram_at in self._hits(input_ids):
            total += torch.bincount(ngram_at[hit], minlength=len(total)).cpu()
        return total


def _window_hash(windows: torch.Tensor) -> torch.Tensor:
    """Σ ids[k]·BASE^k over the last dimension, in wrapping int64 arithmetic."""
    n = windows.shape[-1]
    powers = torch.ones(n, dtype=torch.long)
    for k in range(1, n):
        powers[k] = powers[k - 1] * _HASH_BASE
    return (windows.long() * powers.to(windows.device)).sum(-1)


class NgramAdapter(nn.Module):
    """The n-gram encoder: embeddings [N + 1, d] (row 0, "none", stays zero) and one d×d map per adapted layer."""

    def __init__(self, vocab: NgramVocab, hidden: int, layers: int, init: str = "zero", std: float = 0.02):
        super().__init__()
        self.vocab = vocab
        self.layers = layers
        self.init = init
        self.embeddings = nn.Embedding(len(vocab) + 1, hidden, padding_idx=0)
        self.layer_maps = nn.Parameter(torch.eye(hidden).repeat(layers, 1, 1))  # [K, d, d]
        with torch.no_grad():
            if init == "zero":  # the adapted model starts as the base model exactly
                self.embeddings.weight.zero_()
            else:
                self.embeddings.weight.normal_(0.0, std)
                self.embeddings.weight[0].zero_()
        self.matcher = NgramMatcher(vocab)

    def delta(self, layer: int, match: tuple[torch.Tensor, torch.Tensor], hidden: torch.Tensor) -> torch.Tensor:
        """What layer `layer` adds to its output hidden states [B, T, d]: each matched n-gram's representation,
        summed at every position it covers."""
        positions, ngrams = match
        reps = self.embeddings(ngrams) @ self.layer_maps[layer]  # [M, d]
        flat = hidden.new_zeros(hidden.shape[0] * hidden.shape[1], hidden.shape[2])
        return flat.index_add(0, positions, reps.to(hidden.dtype)).view_as(hidden)

    def config(self) -> dict:
        return {"version": 1, "layers": self.layers, "hidden": self.embeddings.weight.shape[1], "init": self.init,
                "ngrams": _vocab_json(self.vocab)}

    def trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def _vocab_json(vocab: NgramVocab) -> list[dict]:
    spellings: dict[int, list[list[int]]] = {}
    for s, g in zip(vocab.sequences, vocab.ngram_of):
        spellings.setdefault(g, []).append(list(s))
    return [{"word": w, "sequences": spellings[g]} for g, w in enumerate(vocab.words, start=1)]


def _vocab_from_json(ngrams: list[dict]) -> NgramVocab:
    words, sequences, ngram_of = [], [], []
    for g, entry in enumerate(ngrams, start=1):
        words.append(entry["word"])
        for s in entry["sequences"]:
            sequences.append(tuple(int(i) for i in s))
            ngram_of.append(g)
    return NgramVocab(words, sequences, ngram_of)


def encoder_layers(model) -> nn.ModuleList:
    """The body's stack of layers: `encoder.layer` (BERT, RoBERTa, XLM-R, ELECTRA, …) or `transformer.layer`
    (DistilBERT). Anything else is refused by name: the adapter adds to those layers' outputs."""
    body = model.base_model
    for path in (("encoder", "layer"), ("transformer", "layer")):
        obj = body
        for part in path:
            obj = getattr(obj, part, None)
        if isinstance(obj, nn.ModuleList):
            return obj
    raise ConfigError(f"train.adapter: the n-gram adapter needs a BERT-family encoder (layers at encoder.layer or "
                      f"transformer.layer); {type(model).__name__} has neither")


def attach(model, adapter: NgramAdapter) -> None:
    """Register the adapter on `model` (so its parameters train, move and are checkpointed with the model) and
    hook it in: a pre-hook on the body matches the n-grams of the input ids once per forward, a hook on each of
    the lower K layers adds their representations to the layer's output."""
    if attached(model) is not None:
        raise ConfigError("train.adapter: the model already has an n-gram adapter (its directory holds "
                          f"{CONFIG_FILE}): continue training it without train.adapter, or start from its base")
    layers = encoder_layers(model)
    if adapter.layers > len(layers):
        raise ConfigError(f"train.adapter.layers: {adapter.layers} is more than the model's {len(layers)} layers")
    if adapter.embeddings.weight.shape[1] != model.config.hidden_size:
        raise ValueError(f"n-gram adapter of width {adapter.embeddings.weight.shape[1]} on a model of hidden size "
                         f"{model.config.hidden_size}")
    model.add_module(MODULE_NAME, adapter)
    current: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def capture(_module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is None:
            raise ValueError("the n-gram adapter needs input_ids (a forward with inputs_embeds only cannot match)")
        current["match"] = adapter.matcher.match(ids)

    def add(layer: int):
        def hook(_module, _args, output):
            hidden = output[0] if isinstance(output, tuple) else output
            hidden = hidden + adapter.delta(layer, current["match"], hidden)
            return (hidden, *output[1:]) if isinstance(output, tuple) else hidden
        return hook

    model.base_model.register_forward_pre_hook(capture, with_kwargs=True)
    for k in range(adapter.layers):
        layers[k].register_forward_hook(add(k))


def freeze_base(model) -> None:
    """Only the adapter trains."""
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(MODULE_NAME + "."))


def attached(model) -> NgramAdapter | None:
    return getattr(model, MODULE_NAME, None)


def save_model(model, out: str, state_dict: dict | None = None) -> None:
    """model.save_pretrained(out), with an attached adapter written beside the model (its own two files) rather
    than into the model's weights, so the directory still loads with from_pretrained as a plain model."""
    from safetensors.torch import save_file

    adapter = attached(model)
    if adapter is not None:
        prefix = MODULE_NAME + "."
        state_dict = {k: v for k, v in (state_dict if state_dict is not None else model.state_dict()).items()
                      if not k.startswith(prefix)}
        os.makedirs(out, exist_ok=True)
        save_file({k: v.detach().contiguous().cpu() for k, v in adapter.state_dict().items()},
                  os.path.join(out, WEIGHTS_FILE))
        with open(os.path.join(out, CONFIG_FILE), "w", encoding="utf-8") as f:
            json.dump(adapter.config(), f, ensure_ascii=False)
    model.save_pretrained(out, safe_serialization=True, state_dict=state_dict)


def attach_saved(model, path: str) -> NgramAdapter | None:
    """Put back the adapter saved beside the model in `path`, if there is one (trainable: in fine-tuning the
    adapter trains with the model, as in T-DNA). None when the directory holds no adapter."""
    config_path = os.path.join(path, CONFIG_FILE)
    if not os.path.isfile(config_path):
        return None
    from safetensors.torch import load_file

    with open(config_path, encoding="utf-8") as f:
        cfg = json.load(f)
    adapter = NgramAdapter(_vocab_from_json(cfg["ngrams"]), int(cfg["hidden"]), int(cfg["layers"]), cfg.get("init", "zero"))
    weights_path = os.path.join(path, WEIGHTS_FILE)
    if not os.path.isfile(weights_path):
        raise FileNotFoundError(f"{path}: {CONFIG_FILE} without {WEIGHTS_FILE}")
    adapter.load_state_dict(load_file(weights_path))
    attach(model, adapter)
    log.info("%s: n-gram adapter attached (%d n-grams, lower %d layers)", path, len(adapter.vocab), adapter.layers)
    return adapter


COUNT_SEQUENCES = 100_000  # minFreq counts n-grams in the first this many training sequences (enough to rank)


def add_for_training(spec, model, tokenizer, corpus, objective: str) -> tuple[NgramAdapter, dict[str, float]]:
    """Build the n-gram vocabulary of `spec` (config.NgramAdapterSpec) from its lexicon, the tokenizer and the
    training corpus (a data.Corpus), attach the adapter and freeze the base. Returns it with its adapter.* metrics."""
    from .words import read_lexicon

    if objective != "mlm":
        raise ConfigError("train.adapter: the ngram adapter is for MLM encoders: in a causal LM an n-gram would "
                          "show each position the tokens after it")
    words = read_lexicon(spec.lexicon)
    candidates, report = build_vocab(words, tokenizer)
    counts = torch.zeros(len(candidates) + 1, dtype=torch.long)
    if len(candidates):
        matcher = NgramMatcher(candidates)
        for start in range(0, min(len(corpus), COUNT_SEQUENCES), 1024):
            idx = np.arange(start, min(start + 1024, len(corpus), COUNT_SEQUENCES))
            counts += matcher.counts(torch.from_numpy(corpus.take(idx).ids.astype(np.int64)))
    frequent = [g for g in range(1, len(candidates) + 1) if counts[g] >= spec.min_freq]
    vocab = candidates.keep(frequent[: spec.max_ngrams])
    if not len(vocab):
        raise ConfigError(
            f"train.adapter: none of the {len(words)} lexicon words ({spec.lexicon}) is an n-gram for this model: "
            f"{report.single_piece} are one token, {report.unknown} have an unknown piece, "
            f"{len(candidates) - len(frequent)} occur fewer than minFreq={spec.min_freq} times in the training data")
    adapter = NgramAdapter(vocab, model.config.hidden_size, spec.layers, spec.init,
                           std=getattr(model.config, "initializer_range", 0.02))
    attach(model, adapter)
    freeze_base(model)
    metrics = {"adapter.ngrams": float(len(vocab)), "adapter.layers": float(spec.layers),
               "adapter.trainableParameters": float(adapter.trainable_parameters()),
               "adapter.lexiconWords": float(len(words)), "adapter.singlePiece": float(report.single_piece),
               "adapter.unknownPiece": float(report.unknown), "adapter.duplicate": float(report.duplicate),
               "adapter.belowMinFreq": float(len(candidates) - len(frequent)),
               "adapter.overMaxNgrams": float(max(0, len(frequent) - spec.max_ngrams))}
    log.info("n-gram adapter: %d n-grams on the lower %d layers, %d parameters", len(vocab), spec.layers,
             adapter.trainable_parameters())
    return adapter, metrics
