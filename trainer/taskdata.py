"""Labeled task data for fine-tuning: JSONL(.gz) rows → label ids → padded sub-token arrays.

classification  rows {text, label} (field names from the config); labels are strings (numbers are read as their
                decimal text). Texts are truncated to maxLength sub-tokens.
ner             rows {tokens: [word...], tags: [BIO tag...]}; each word's tag goes to its first sub-token, the
                other sub-tokens get -100 (no loss, no prediction). Evaluation is per word: a word cut off by
                maxLength is predicted O.
UDA pairs       rows {text, augmented}: the original and its label-preserving rewrite.

A bad row (not JSON, missing field, a label outside `labels`) is a ConfigError naming file and line: retrying
does not mend data.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .data import json_lines
from .errors import ConfigError
from .model import IGNORE


def read_records(paths: Sequence[str]) -> Iterator[tuple[str, int, dict]]:
    """(path, line number, record) of every non-blank line; each must be a JSON object."""
    for path, lineno, record in json_lines(paths):
        if not isinstance(record, dict):
            raise ConfigError(f"{path}:{lineno}: not a JSON object")
        yield path, lineno, record


def _text(record: dict, name: str, where: str) -> str:
    value = record.get(name)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: field {name!r} missing or not a string")
    return value


def _label(record: dict, name: str, where: str) -> str:
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ConfigError(f"{where}: field {name!r} missing or not a string")
    return str(value)


@dataclass
class TextRows:
    """Classification rows as read: texts and string labels (None for unlabeled documents)."""

    texts: list[str]
    labels: list[str] | None


def read_classification(paths: Sequence[str], text_field: str, label_field: str | None) -> TextRows:
    texts, labels = [], []
    for path, lineno, record in read_records(paths):
        where = f"{path}:{lineno}"
        texts.append(_text(record, text_field, where))
        if label_field is not None:
            labels.append(_label(record, label_field, where))
    return TextRows(texts, labels if label_field is not None else None)


def read_pairs(paths: Sequence[str], text_field: str) -> tuple[list[str], list[str]]:
    """UDA pairs: (originals, augmented)."""
    originals, augmented = [], []
    for path, lineno, record in read_records(paths):
        where = f"{path}:{lineno}"
        originals.append(_text(record, text_field, where))
        augmented.append(_text(record, "augmented", where))
    return originals, augmented


@dataclass
class WordRows:
    """NER rows as read: words and their BIO tags."""

    words: list[list[str]]
    tags: list[list[str]]


def read_ner(paths: Sequence[str], tokens_field: str, tags_field: str) -> WordRows:
    words, tags = [], []
    for path, lineno, record in read_records(paths):
        where = f"{path}:{lineno}"
        w, t = record.get(tokens_field), record.get(tags_field)
        if not isinstance(w, list) or not all(isinstance(x, str) for x in w):
            raise ConfigError(f"{where}: field {tokens_field!r} missing or not a list of strings")
        if not isinstance(t, list) or not all(isinstance(x, str) for x in t):
            raise ConfigError(f"{where}: field {tags_field!r} missing or not a list of strings")
        if len(w) != len(t):
            raise ConfigError(f"{where}: {len(w)} {tokens_field} but {len(t)} {tags_field}")
        words.append(w)
        tags.append(t)
    return WordRows(words, tags)


def bio_tags(labels: Sequence[str]) -> list[str]:
    """The tag set of configured NER labels: BIO tags as given, or entity types expanded to O, B-X, I-X."""
    if all(x == "O" or x[:2] in ("B-", "I-") for x in labels):
        tags = list(labels)
        if "O" not in tags:
            tags.insert(0, "O")
        for x in list(tags):  # every B-X needs its I-X (and the reverse) to tag multi-word entities
            kind = x[2:]
            for prefix in ("B-", "I-"):
                if x != "O" and prefix + kind not in tags:
                    tags.append(prefix + kind)
        return tags
    return ["O"] + [f"{p}-{t}" for t in labels for p in ("B", "I")]


def label_ids(values: Sequence[str], labels: Sequence[str], what: str) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({v for v in values if v not in index})
    if unknown:
        raise ConfigError(f"{what}: labels not in the label set {list(labels)}: {unknown[:10]}")
    return np.asarray([index[v] for v in values], dtype=np.int64)


@dataclass
class Encoded:
    """Padded sub-token ids. labels: [N] class ids (classification) or [N, L] tag ids with -100 (NER)."""

    ids: np.ndarray  # [N, L] int64
    lengths: np.ndarray  # [N]
    labels: np.ndarray | None = None
    word_starts: list[np.ndarray] | None = None  # NER: sub-token position of each word's first piece (-1: cut off)

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def concat(parts: list[Encoded], pad: int) -> Encoded:
        """Rows of several labeled sets, padding widened to the longest."""
        width = max(p.ids.shape[1] for p in parts)
        ids = np.full((sum(len(p) for p in parts), width), pad, dtype=np.int64)
        row = 0
        for p in parts:
            ids[row: row + len(p), : p.ids.shape[1]] = p.ids
            row += len(p)
        return Encoded(ids, np.concatenate([p.lengths for p in parts]), np.concatenate([p.labels for p in parts]))

    def take(self, idx: np.ndarray) -> Encoded:
        return Encoded(self.ids[idx], self.lengths[idx], None if self.labels is None else self.labels[idx],
                       None if self.word_starts is None else [self.word_starts[i] for i in idx])


def _pad(rows: list[list[int]], pad: int) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.asarray([len(r) for r in rows], dtype=np.int64)
    ids = np.full((len(rows), max(1, int(lengths.max()) if len(rows) else 1)), pad, dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
    return ids, lengths


def pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


def encode_texts(tokenizer, texts: Sequence[str], max_length: int, labels: np.ndarray | None = None) -> Encoded:
    if not texts:
        return Encoded(np.zeros((0, 1), dtype=np.int64), np.zeros(0, dtype=np.int64), labels)
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, return_attention_mask=False, verbose=False)
    ids, lengths = _pad(enc["input_ids"], pad_id(tokenizer))
    return Encoded(ids, lengths, labels)


def encode_words(tokenizer, words: Sequence[Sequence[str]], tag_ids: Sequence[np.ndarray] | None,
                 max_length: int) -> Encoded:
    """NER: the first sub-token of each word carries its tag id, the others -100."""
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError("models: NER needs a fast tokenizer (word alignment), this model has a slow one")
    enc = tokenizer([list(w) for w in words], is_split_into_words=True, truncation=True, max_length=max_length,
                    return_attention_mask=False, verbose=False)
    ids, lengths = _pad(enc["input_ids"], pad_id(tokenizer))
    labels = np.full(ids.shape, IGNORE, dtype=np.int64)
    starts = []
    for i in range(len(words)):
        first = np.full(len(words[i]), -1, dtype=np.int64)
        previous = None
        for pos, w in enumerate(enc.word_ids(i)):
            if w is not None and w != previous:
                first[w] = pos
                if tag_ids is not None:
                    labels[i, pos] = tag_ids[i][w]
            previous = w
        starts.append(first)
    return Encoded(ids, lengths, labels if tag_ids is not None else None, starts)
