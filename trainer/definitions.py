"""Dictionary-enhanced MLM (in the spirit of Dict-BERT): definitions of the long-tail terms a sequence mentions are
appended to it as extra segments, so the model learns to use them when it predicts the masked text.

A step's sequences, after the stream and before masking (train.py `prepare`), become

    text[:k] [SEP] term₁: definition₁ [SEP] term₂: definition₂ [SEP]

for the distinct dictionary terms found in text[:k], in the order of their first occurrence. The text's tail is cut
to make room, so a sequence keeps its length (packed: exactly seqLen; unpacked: the real length grows into the
padding first, and the text is cut only when the padding is too short). Per sequence the appended tokens are at
most `maxDefinitionTokens` (default seqLen / 4) and a term's "term: definition" at most `perTermTokens`.

Choices:
  - Which terms: `inject: selected` reads the longtail stage's dictionary.jsonl and injects the terms its analysis
    selected (the `selected` flag); `all` injects every term the glossary defines (to show the difference).
  - Matching: each term is tokenized once as it appears inside text (longtail.fragments' surface form: after a space
    for byte-level BPE), as written, lower-cased and capitalised; an occurrence counts only on whole-word
    boundaries, read from the word flags of words.py (a term must start a word and the token after it must start
    one too). With `masking.strategy: token` the trainer builds those flags anyway when a dictionary is given.
  - Masking covers the text part only: the definitions are the knowledge the model should use to predict masked
    text (a masked rare term next to its own definition is the Dict-BERT signal); masking them would hide that
    knowledge, and the masking budget (rate × maskable tokens) stays that of the text. Packed.text_lengths tells
    the masker where the text ends. A masked term can be copied from its own `term: definition` segment, so the
    training loss is lower with definitions; masking them too changed nothing measurable in the synthetic check
    of bench/adapt/dictionary_synthetic.py (docs/benchmarks.md).
  - token_type_ids stay 0: the [SEP] marks the segments. The model call (model.MaskedLM), evaluation and
    fine-tuning take no token types, many encoders have a single type (RoBERTa, type_vocab_size 1), and a packed
    sequence already mixes several documents under type 0; giving definitions type 1 would need a second input
    through every path for a signal [SEP] already carries.
  - Held-out evaluation sequences get no definitions: the eval loss stays comparable with the base model's and with
    runs without a dictionary.

Everything is a pure function of the sequence's ids and flags, so a step's batch depends only on its position
(exact resume) and on neither the token-shard nor the in-memory path.

Fine-tuning (finetune `dictionary`, TextDefinitions): the same `text [SEP] term: definition ...` form on the example
texts, found on the text itself (words.Segmenter with the terms as lexicon); the text is never cut for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .data import Packed, json_lines
from .errors import ConfigError
from .events import log
from .longtail import _HAS_CJK, _byte_level
from .words import WORD_START, Segmenter, _norm


@dataclass(frozen=True)
class Entry:
    term: str
    definition: str
    selected: bool


def read_dictionary(path: str) -> list[Entry]:
    """dictionary.jsonl: one {term, definition, selected?} per line (the longtail stage's side file, or a glossary
    without flags). Every bad line is a ConfigError naming file and line."""
    out: list[Entry] = []
    for _, lineno, rec in json_lines([path]):  # a line that is not JSON: a ConfigError naming file and line
        term = rec.get("term") if isinstance(rec, dict) else None
        definition = rec.get("definition") if isinstance(rec, dict) else None
        if not isinstance(term, str) or not term.strip() or not isinstance(definition, str) or not definition.strip():
            raise ConfigError(f"dictionary.path {path}:{lineno}: expected {{\"term\": \"...\", \"definition\": "
                              f"\"...\"}} with non-empty strings")
        out.append(Entry(term.strip(), definition.strip(), rec.get("selected") is True))
    return out


@dataclass
class Injected:
    """What the definitions did to one step's sequences (counted when the step is trained)."""

    sequences: int  # sequences of the step
    with_definitions: int  # sequences that got at least one definition
    definitions: int  # definitions appended
    tokens: int  # tokens of the appended segments ([SEP]s included)
    term_counts: np.ndarray  # [K] how often each injectable term was appended


@dataclass
class DictionaryTotals:
    """Injected counts summed over the trained steps; lives in the loop's state (saved in checkpoints)."""

    sequences: int = 0
    with_definitions: int = 0
    definitions: int = 0
    tokens: int = 0
    term_counts: list[int] = field(default_factory=list)

    def add(self, s: Injected) -> None:
        self.sequences += s.sequences
        self.with_definitions += s.with_definitions
        self.definitions += s.definitions
        self.tokens += s.tokens
        counts = np.asarray(self.term_counts or np.zeros(len(s.term_counts), np.int64), dtype=np.int64)
        self.term_counts = (counts + s.term_counts).tolist()

    def metrics(self, terms: int) -> dict[str, float]:
        share = self.with_definitions / self.sequences if self.sequences else 0.0
        return {"dictionary.terms": float(terms), "dictionary.sequences": float(self.sequences),
                "dictionary.sequencesWithDefinitions": float(self.with_definitions),
                "dictionary.sequenceShare": share, "dictionary.definitionsAppended": float(self.definitions),
                "dictionary.definitionTokens": float(self.tokens),
                "dictionary.termsUsed": float(sum(1 for c in self.term_counts if c > 0))}


class Definitions:
    """The injectable terms, tokenized once, and `inject` for a step's sequences (see module doc)."""

    def __init__(self, entries: list[Entry], inject: str, tokenizer, seq_len: int, max_tokens: int | None,
                 per_term_tokens: int):
        self.entries = [e for e in entries if inject == "all" or e.selected]
        self.seq_len = seq_len
        self.max_tokens = max_tokens if max_tokens is not None else seq_len // 4
        if self.max_tokens >= seq_len:
            raise ConfigError(f"dictionary.maxDefinitionTokens: {self.max_tokens} leaves no room for text in "
                              f"sequences of data.seqLen {seq_len}")
        self.sep = tokenizer.sep_token_id
        if self.sep is None:
            raise ConfigError("dictionary: the tokenizer has no separator token ([SEP]) to delimit definitions")
        byte_level = _byte_level(tokenizer)
        # first token id → [(term ids, entry index)], longest first: "atrial fibrillation" before "atrial"
        self._by_first: dict[int, list[tuple[tuple[int, ...], int]]] = {}
        self.segments: list[np.ndarray] = []  # per entry: "term: definition" ids, capped at per_term_tokens
        for k, e in enumerate(self.entries):
            forms = {e.term, e.term.lower(), e.term[:1].upper() + e.term[1:]}
            variants = set()
            for form in forms:
                surface = " " + form if byte_level and not _HAS_CJK.search(form) else form
                ids = tuple(tokenizer(surface, add_special_tokens=False)["input_ids"])
                if ids:
                    variants.add(ids)
            for ids in variants:
                self._by_first.setdefault(ids[0], []).append((ids, k))
            seg = tokenizer(f"{e.term}: {e.definition}", add_special_tokens=False)["input_ids"][:per_term_tokens]
            self.segments.append(np.asarray(seg, dtype=np.int64))
        for cands in self._by_first.values():
            cands.sort(key=lambda c: -len(c[0]))
        self._firsts = np.asarray(sorted(self._by_first), dtype=np.int64)
        self.unique_terms = len({_norm(e.term) for e in self.entries})

    def found(self, ids: np.ndarray, flags: np.ndarray, end: int) -> list[tuple[int, int]]:
        """(entry, end position of its first occurrence) per distinct entry occurring whole in ids[:end], in the
        order of first occurrence."""
        starts = np.flatnonzero(np.isin(ids[:end], self._firsts) & (flags[:end] & WORD_START).astype(bool))
        seen: dict[int, int] = {}
        for i in starts.tolist():
            for term, k in self._by_first[int(ids[i])]:
                j = i + len(term)
                if j > end or tuple(ids[i:j].tolist()) != term:
                    continue
                if j < end and not flags[j] & WORD_START:  # the term is the start of a longer word
                    continue
                seen.setdefault(k, j)
                break
        return sorted(seen.items(), key=lambda kv: kv[1])

    def inject(self, seqs: Packed) -> tuple[Packed, Injected]:
        """The step's sequences with definitions appended (module doc), and what was appended."""
        if seqs.flags is None:
            raise ValueError("definitions need word flags (the trainer builds a segmenter when a dictionary is set)")
        n, T = seqs.ids.shape
        ids = seqs.ids.copy()
        flags = seqs.flags.copy()
        lengths = seqs.lengths.copy() if seqs.lengths is not None else None
        text_lengths = np.full(n, T, dtype=np.int64) if lengths is None else lengths.copy()
        counts = np.zeros(len(self.entries), dtype=np.int64)
        with_defs = n_defs = n_tokens = 0
        for r in range(n):
            length = T if lengths is None else int(lengths[r])
            if lengths is not None and length and ids[r, length - 1] == self.sep:
                length -= 1  # a whole document's own closing [SEP] becomes the first segment's opening one
            chosen: list[int] = []
            cost = 1  # the closing [SEP]
            for k, end in self.found(seqs.ids[r], seqs.flags[r], length):
                extra = len(self.segments[k]) + 1  # its opening [SEP]
                keep = min(length, T - (cost + extra))  # the text left once this one is appended too
                if cost + extra > self.max_tokens or end > keep:
                    continue  # over the budget, or its occurrence would be cut away with the tail
                chosen.append(k)
                cost += extra
            if not chosen:
                continue
            keep = min(length, T - cost)
            tail = np.concatenate([np.concatenate([[self.sep], self.segments[k]]) for k in chosen] + [[self.sep]])
            ids[r, keep:keep + cost] = tail
            flags[r, keep:keep + cost] = WORD_START
            text_lengths[r] = keep
            if lengths is not None:
                lengths[r] = keep + cost
            counts[chosen] += 1
            with_defs += 1
            n_defs += len(chosen)
            n_tokens += cost
        return (Packed(ids, flags, lengths, text_lengths),
                Injected(n, with_defs, n_defs, n_tokens, counts))


def load_definitions(spec, tokenizer, seq_len: int, objective: str) -> Definitions:
    """The trainer's `dictionary` section as Definitions; refused for CLM (Dict-BERT appends to MLM inputs)."""
    if objective != "mlm":
        raise ConfigError(f"dictionary: definitions are appended to masked-LM inputs only (model.objective is "
                          f"{objective})")
    defs = Definitions(read_dictionary(spec.path), spec.inject, tokenizer, seq_len, spec.max_definition_tokens,
                       spec.per_term_tokens)
    if not defs.entries:  # a longtail stage may find nothing that needs knowledge: train on, say so
        log.warning("dictionary %s: no term to inject with inject '%s'%s", spec.path, spec.inject,
                    " (the longtail stage selected none)" if spec.inject == "selected" else "")
    return defs


class TextDefinitions:
    """Fine-tuning's form of the same augmentation (finetune `dictionary`): after an example's text, the definitions
    of the dictionary terms it mentions, `text [SEP] term₁: definition₁ [SEP] term₂: definition₂` (the tokenizer
    adds the last [SEP]), so a fine-tuned model sees its inputs as dictionary-enhanced pretraining showed them.
    Terms are found as whole words in the text (words.Segmenter with the terms as its lexicon: case-insensitive,
    runs of whitespace as one space); the text is never cut for definitions, which fill what maxLength leaves."""

    def __init__(self, entries: list[Entry], inject: str, language: str = "auto"):
        self.entries = [e for e in entries if inject == "all" or e.selected]
        self._by_key = {_norm(e.term): e for e in self.entries}
        self._segmenter = Segmenter(language, [e.term for e in self.entries])
        self._found: dict[str, list[Entry]] = {}  # text → its terms: each set is encoded once per model

    def found(self, text: str) -> list[Entry]:
        """The distinct entries whose term occurs whole in `text`, in the order of first occurrence."""
        if text not in self._found:
            starts, ends, is_lex = self._segmenter.units(text)
            keys = (_norm(text[s:e]) for s, e, lex in zip(starts.tolist(), ends.tolist(), is_lex.tolist()) if lex)
            self._found[text] = [self._by_key[k] for k in dict.fromkeys(keys) if k in self._by_key]
        return self._found[text]

    def append(self, texts: list[str], sep: str) -> list[str]:
        return ["".join([text, *(f" {sep} {e.term}: {e.definition}" for e in self.found(text))]) for text in texts]

    def share(self, texts: list[str]) -> float:
        """The share of texts that get at least one definition."""
        return sum(1 for t in texts if self.found(t)) / len(texts) if texts else 0.0
