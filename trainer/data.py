"""Training data: JSONL(.gz) shards → token ids → packed sequences → a deterministic, resumable stream.

  tokenize_corpus   documents (shard order, line order) are tokenised in batches with the fast tokenizer; with
                    packing (BERT: [CLS] doc [SEP], GPT: doc <eos>) they are concatenated and cut into full
                    seq_len sequences (the tail shorter than seq_len is dropped, as run_mlm.py's group_texts does);
                    without packing each document is truncated/padded to seq_len. For whole-word and lexicon
                    masking each token also gets word flags (words.py).
  Stream            slot p of the training stream is a sequence of either the domain corpus or the replay corpus:
                    slot p is replay iff floor((p+1)·ratio) > floor(p·ratio) (exactly `ratio` of all slots, evenly
                    spread); the k-th draw from a source reads sequence perm_e[k mod n] with e = k div n and perm_e
                    a permutation seeded by (seed, source, e). Everything is a pure function of p, so the data
                    position a checkpoint stores is one integer and a resume never replays or skips a sequence.

A corpus is either held in memory (tokenize_corpus: int32 ids, +1 byte of flags per token when masking needs
words) or read from memory-mapped token shards in a local cache (token_shards.ShardCorpus, the same sequences);
Stream only needs `len(corpus)` and `corpus.take(rows)`.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .errors import ConfigError


def rng_for(*keys: int) -> np.random.Generator:
    """A generator determined by integer keys (e.g. seed, data position); negative seeds are allowed."""
    return np.random.default_rng([k % 2**64 for k in keys])


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def open_text(path: str):
    """A JSONL file as text, by its first bytes: zstd (dapt's shards; a sequence of frames), gzip (shards written
    before, staged files) or plain. The name is not trusted: a stage may stage a shard under another name."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head == ZSTD_MAGIC:
        import zstandard

        raw = zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), read_across_frames=True, closefd=True)
        return io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8")
    if head[:2] == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def json_lines(paths: Iterable[str]) -> Iterator[tuple[str, int, object]]:
    """(path, line number, parsed value) of every non-blank line, in shard order. A line that is not JSON is a
    ConfigError (exit 2: a corrupt shard does not heal on retry), naming file and line."""
    for path in paths:
        with open_text(path) as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    yield path, lineno, json.loads(line)
                except json.JSONDecodeError as e:
                    raise ConfigError(f"{path}:{lineno}: not a JSON record ({e.msg})") from None


def read_texts(paths: Iterable[str], text_field: str = "text") -> Iterator[str]:
    """Documents in shard order, line order; blank lines and records without text are skipped."""
    for _, _, record in json_lines(paths):
        text = record.get(text_field) if isinstance(record, dict) else None
        if isinstance(text, str) and text.strip():
            yield text


def _batched(it: Iterator[str], n: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for x in it:
        batch.append(x)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class Packed:
    """A tokenised corpus as fixed-length sequences."""

    ids: np.ndarray  # [N, T] int32
    flags: np.ndarray | None = None  # [N, T] uint8 word flags (words.py), None when masking needs no words
    lengths: np.ndarray | None = None  # [N] real lengths (no packing: the rest is padding), None when packed
    # [N] where the text ends and appended definitions begin (definitions.py; only masking reads it), None: no
    # definitions. Set on a step's sequences after the stream, so take/concat need not carry it.
    text_lengths: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def seq_len(self) -> int:
        return self.ids.shape[1]

    def take(self, idx: np.ndarray) -> Packed:
        return Packed(self.ids[idx], None if self.flags is None else self.flags[idx],
                      None if self.lengths is None else self.lengths[idx])

    @staticmethod
    def concat(parts: list[Packed], order: np.ndarray) -> Packed:
        """Rows of several Packed batches (same layout), then reordered by `order`."""
        ids = np.concatenate([p.ids for p in parts])[order]
        flags = None if parts[0].flags is None else np.concatenate([p.flags for p in parts])[order]
        lengths = None if parts[0].lengths is None else np.concatenate([p.lengths for p in parts])[order]
        return Packed(ids, flags, lengths)


def encode_documents(texts: Iterable[str], tokenizer, seq_len: int, *, packing: bool = True, segmenter=None,
                     append_eos: bool = False, batch_docs: int = 256) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """(ids int32, word flags or None) of each document, in order: what tokenize_corpus and token shards
    (token_shards.py) both build from, so the two paths see the same tokens. Without packing a document is
    truncated to seq_len (EOS included)."""
    special = np.asarray(tokenizer.all_special_ids, dtype=np.int64)
    eos = tokenizer.eos_token_id
    for batch in _batched(iter(texts), batch_docs):
        enc = tokenizer(batch, add_special_tokens=True, return_offsets_mapping=segmenter is not None,
                        return_attention_mask=False, verbose=False,
                        truncation=not packing, max_length=None if packing else seq_len - int(append_eos))
        for i, text in enumerate(batch):
            ids = np.asarray(enc["input_ids"][i], dtype=np.int32)
            flags = None
            if segmenter is not None:
                offsets = np.asarray(enc["offset_mapping"][i], dtype=np.int64).reshape(-1, 2)
                flags = segmenter.token_flags(text, offsets, np.isin(ids, special))
            if append_eos and eos is not None:
                ids = np.append(ids, np.int32(eos))
                if flags is not None:
                    flags = np.append(flags, np.uint8(1))
            yield ids, flags


class Corpus(Protocol):
    """What Stream reads: a number of sequences, and rows of them as a Packed batch."""

    def __len__(self) -> int: ...

    def take(self, idx: np.ndarray) -> Packed: ...


def tokenize_corpus(paths: list[str], tokenizer, seq_len: int, *, packing: bool = True, text_field: str = "text",
                    segmenter=None, append_eos: bool = False, max_sequences: int | None = None,
                    batch_docs: int = 256) -> Packed:
    """Tokenise every document of `paths` into a Packed corpus (see module doc).

    segmenter: a words.Segmenter → per-token word flags; append_eos: add the EOS id after each document (decoders,
    whose tokenizers add no special tokens); max_sequences: stop early (held-out sets).
    """
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos if eos is not None else 0)
    chunks_ids: list[np.ndarray] = []
    chunks_flags: list[np.ndarray] = []
    buffered = 0  # packing: tokens buffered
    rows_ids: list[np.ndarray] = []  # no packing: one row per document
    rows_flags: list[np.ndarray] = []
    lengths: list[int] = []

    def enough() -> bool:
        n = buffered // seq_len if packing else len(rows_ids)
        return max_sequences is not None and n >= max_sequences

    for ids, flags in encode_documents(read_texts(paths, text_field), tokenizer, seq_len, packing=packing,
                                       segmenter=segmenter, append_eos=append_eos, batch_docs=batch_docs):
        if packing:
            chunks_ids.append(ids)
            if flags is not None:
                chunks_flags.append(flags)
            buffered += len(ids)
        else:
            rows_ids.append(ids)
            if flags is not None:
                rows_flags.append(flags)
            lengths.append(len(ids))
        if enough():
            break

    if packing:
        n = buffered // seq_len
        if max_sequences is not None:
            n = min(n, max_sequences)
        ids = np.concatenate(chunks_ids)[: n * seq_len].reshape(n, seq_len) if n else np.zeros((0, seq_len), np.int32)
        flags = None
        if segmenter is not None:
            flags = (np.concatenate(chunks_flags)[: n * seq_len].reshape(n, seq_len) if n
                     else np.zeros((0, seq_len), np.uint8))
            if n:
                flags[:, 0] |= 1  # a sequence never starts inside a unit
        return Packed(ids, flags)

    n = len(rows_ids) if max_sequences is None else min(len(rows_ids), max_sequences)
    ids = np.full((n, seq_len), pad, dtype=np.int32)
    flags = np.ones((n, seq_len), dtype=np.uint8) if segmenter is not None else None
    for r in range(n):
        ids[r, : lengths[r]] = rows_ids[r]
        if flags is not None:
            flags[r, : lengths[r]] = rows_flags[r]
    return Packed(ids, flags, np.asarray(lengths[:n], dtype=np.int64))


class Stream:
    """The training stream: slot p → one sequence, a pure function of (seed, p); see module doc."""

    def __init__(self, domain: Corpus, seed: int, replay: Corpus | None = None, ratio: float = 0.0):
        if len(domain) == 0 and ratio < 1:
            raise ValueError("the training data holds no full sequence: add data or lower seqLen")
        if replay is not None and ratio > 0 and len(replay) == 0:
            raise ValueError("the replay data holds no full sequence: add data or lower seqLen")
        self.sources = [domain, replay]
        self.seed = seed
        self.ratio = ratio if replay is not None else 0.0
        self._perms: dict[tuple[int, int], np.ndarray] = {}

    def _perm(self, source: int, epoch: int) -> np.ndarray:
        key = (source, epoch)
        if key not in self._perms:
            if len(self._perms) > 8:
                self._perms.clear()
            n = len(self.sources[source])
            self._perms[key] = rng_for(self.seed, source, epoch).permutation(n)
        return self._perms[key]

    def locate(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(source, k) for each slot: source 0 = domain, 1 = replay; k = how many earlier draws from that source."""
        replay_before = np.floor(slots * self.ratio).astype(np.int64)
        is_replay = np.floor((slots + 1) * self.ratio).astype(np.int64) > replay_before
        k = np.where(is_replay, replay_before, slots - replay_before)
        return is_replay.astype(np.int64), k

    def batch(self, position: int, count: int) -> Packed:
        """The `count` sequences at slots position .. position+count-1."""
        slots = np.arange(position, position + count, dtype=np.int64)
        source, k = self.locate(slots)
        parts, where = [], []
        for s in (0, 1):
            sel = np.flatnonzero(source == s)
            if len(sel) == 0:
                continue
            corpus = self.sources[s]
            n = len(corpus)
            kk = k[sel]
            rows = np.empty(len(sel), dtype=np.int64)
            for epoch in np.unique(kk // n):  # one or two epochs per batch
                in_epoch = kk // n == epoch
                rows[in_epoch] = self._perm(s, int(epoch))[kk[in_epoch] % n]
            parts.append(corpus.take(rows))
            where.append(sel)
        order = np.argsort(np.concatenate(where), kind="stable")
        return Packed.concat(parts, order)
