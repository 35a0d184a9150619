"""Token shards: one document shard tokenised once, kept on disk, memory-mapped by every run that needs it.

A token shard is one file: an 8-byte magic, the header length (uint64 LE), a JSON header, then three arrays at
64-byte aligned offsets:

  ids      [tokens]   uint16 when the vocabulary fits, else uint32: every document's ids, documents in shard order
  flags    [tokens]   uint8 word flags (words.py), only when whole-word/lexicon masking needs them
  offsets  [docs + 1] int64: document d is ids[offsets[d]:offsets[d+1]] (the document boundaries)

The header records the dtype, counts, section offsets and `meta` (the key's inputs: source digest, tokenizer
digest, packing/seqLen/EOS/flags parameters), so a shard never passes for another. Documents are encoded exactly
as data.tokenize_corpus encodes them (the same `encode_documents`), so packing the concatenation of the shards
gives the same sequences as the in-memory path.

ShardCache keeps token shards under content keys in a local directory shared by retries, resumes, DDP ranks and
later runs (a lock per key: one process builds, the others wait and reuse), evicting the least recently used
shards beyond a size limit. ShardCorpus reads sequences from memory-mapped shards with the interface of
data.Packed (`len`, `take`), so data.Stream is unchanged; it holds O(#shards) index state in memory.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .data import Packed, encode_documents, read_texts
from .errors import ConfigError
from .events import log

MAGIC = b"DAPTTOK\x01"
FORMAT_VERSION = 1
ALIGN = 64


def file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def tokenizer_digest(tokenizer) -> str:
    """What decides the ids: the fast tokenizer's serialisation (vocabulary, added tokens, normaliser...), less
    the truncation and padding state that each call sets (EncodeParams holds what of it changes tokens)."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    spec.pop("truncation", None)
    spec.pop("padding", None)
    h = hashlib.sha256(json.dumps(spec, sort_keys=True).encode())
    h.update(json.dumps([type(tokenizer).__name__, tokenizer.all_special_ids, tokenizer.eos_token_id]).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class EncodeParams:
    """The parameters that change a shard's tokens (besides the source and the tokenizer)."""

    packing: bool
    seq_len: int  # only changes tokens without packing (documents are truncated to it)
    append_eos: bool
    text_field: str
    flags: str | None  # the segmenter's identity (language, lexicon digest) when masking needs word flags

    def as_meta(self) -> dict:
        return {"packing": self.packing, "seqLen": None if self.packing else self.seq_len,
                "appendEos": self.append_eos, "textField": self.text_field, "flags": self.flags}

    @staticmethod
    def of(packing: bool, seq_len: int, objective: str, text_field: str, segmenter) -> EncodeParams:
        """What a run with this objective and segmenter encodes: decoders (clm) get an EOS after each document."""
        return EncodeParams(packing, seq_len, objective != "mlm", text_field, segmenter_identity(segmenter))


def segmenter_identity(segmenter) -> str | None:
    if segmenter is None:
        return None
    words = "\n".join(sorted(segmenter.lexicon))
    return f"{segmenter.language}:{hashlib.sha256(words.encode()).hexdigest()}"


def shard_key(source_digest: str, tok_digest: str, params: EncodeParams) -> str:
    meta = {"format": FORMAT_VERSION, "source": source_digest, "tokenizer": tok_digest, **params.as_meta()}
    return hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()


# ------------------------------------------------------------------------------------------------ the file format

def write_shard(out_path: str, docs: Iterable[tuple[np.ndarray, np.ndarray | None]], vocab_size: int,
                meta: dict) -> dict:
    """Write the documents' (ids, flags) as a token shard at out_path (atomically: a temp file renamed last).
    Memory: one batch of documents; the arrays go through temporary files, then into the shard."""
    dtype = np.uint16 if vocab_size <= 2**16 else np.uint32
    d = os.path.dirname(os.path.abspath(out_path))
    with tempfile.TemporaryDirectory(dir=d, prefix=".tok-") as tmp:
        ids_f = open(os.path.join(tmp, "ids"), "wb")
        flags_f = open(os.path.join(tmp, "flags"), "wb")
        offsets = [0]
        has_flags = None
        with ids_f, flags_f:
            for ids, flags in docs:
                ids_f.write(np.asarray(ids, dtype=dtype).tobytes())
                if has_flags is None:
                    has_flags = flags is not None
                if flags is not None:
                    flags_f.write(np.asarray(flags, dtype=np.uint8).tobytes())
                offsets.append(offsets[-1] + len(ids))
        tokens = offsets[-1]
        has_flags = bool(has_flags) if has_flags is not None else meta.get("flags") is not None
        sizes = {"ids": tokens * np.dtype(dtype).itemsize, "flags": tokens if has_flags else 0,
                 "offsets": len(offsets) * 8}
        header = {"version": FORMAT_VERSION, "dtype": np.dtype(dtype).name, "tokens": tokens, "docs": len(offsets) - 1,
                  "flags": has_flags, "meta": meta}
        # section offsets depend on the header's length: lay out with room for the numbers, then pad
        sections: dict[str, int] = {}
        body = json.dumps({**header, "sections": {k: 10**15 for k in sizes}}).encode()
        pos = _align(len(MAGIC) + 8 + len(body))
        for k, size in sizes.items():
            sections[k] = pos
            pos = _align(pos + size)
        header["sections"] = sections
        body = json.dumps(header).encode()
        start = sections["ids"]
        part = os.path.join(tmp, "shard")
        with open(part, "wb") as f:
            f.write(MAGIC + struct.pack("<Q", len(body)) + body)
            f.write(b" " * (start - f.tell()))
            for name in ("ids", "flags"):
                if sizes[name]:
                    f.write(b"\0" * (sections[name] - f.tell()))
                    with open(os.path.join(tmp, name), "rb") as src:
                        shutil.copyfileobj(src, f, 1 << 20)
            f.write(b"\0" * (sections["offsets"] - f.tell()))
            f.write(np.asarray(offsets, dtype=np.int64).tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(part, out_path)
    return header


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


class TokenShard:
    """A token shard file, memory-mapped (read-only)."""

    def __init__(self, path: str):
        self.path = path
        try:
            with open(path, "rb") as f:
                magic = f.read(len(MAGIC))
                if magic != MAGIC:
                    raise ValueError("not a token shard (bad magic)")
                (n,) = struct.unpack("<Q", f.read(8))
                self.header = json.loads(f.read(n))
            h = self.header
            size = os.path.getsize(path)
            end = h["sections"]["offsets"] + (h["docs"] + 1) * 8
            if size < end:
                raise ValueError(f"truncated: {size} bytes, the header describes {end}")
            mm = np.memmap(path, mode="r", dtype=np.uint8)
            dtype = np.dtype(h["dtype"])
            s = h["sections"]
            self.ids = mm[s["ids"]: s["ids"] + h["tokens"] * dtype.itemsize].view(dtype)
            self.flags = mm[s["flags"]: s["flags"] + h["tokens"]] if h["flags"] else None
            self.offsets = mm[s["offsets"]: end].view(np.int64)
        except (OSError, ValueError, KeyError, struct.error, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: {e}") from None

    @property
    def meta(self) -> dict:
        return self.header["meta"]

    @property
    def tokens(self) -> int:
        return int(self.header["tokens"])

    @property
    def docs(self) -> int:
        return int(self.header["docs"])

    def document(self, d: int) -> tuple[np.ndarray, np.ndarray | None]:
        a, b = int(self.offsets[d]), int(self.offsets[d + 1])
        return self.ids[a:b], None if self.flags is None else self.flags[a:b]


def tokenize_file(src: str, out_path: str, tokenizer, params: EncodeParams, segmenter=None, meta: dict | None = None,
                  batch_docs: int = 256) -> dict:
    """One document shard → one token shard (the documents encoded as data.tokenize_corpus encodes them)."""
    docs = encode_documents(read_texts([src], params.text_field), tokenizer, params.seq_len, packing=params.packing,
                            segmenter=segmenter, append_eos=params.append_eos, batch_docs=batch_docs)
    return write_shard(out_path, docs, len(tokenizer), {**params.as_meta(), **(meta or {})})


# ------------------------------------------------------------------------------------------------ the local cache

class ShardCache:
    """Token shards by content key in a local directory, least recently used evicted beyond max_bytes.

    `get(key, produce)` returns the shard's path, calling produce(tmp_path) to build or download it when it is
    missing; a lock file per key makes concurrent processes (DDP ranks, parallel runs) build it once."""

    def __init__(self, directory: str, max_bytes: int):
        self.dir = directory
        self.max_bytes = max_bytes
        self.pinned: set[str] = set()  # shards this process has open: never evicted by it
        self.built = 0
        self.reused = 0
        os.makedirs(directory, exist_ok=True)

    def path(self, key: str) -> str:
        return os.path.join(self.dir, f"{key}.tok")

    def get(self, key: str, produce: Callable[[str], None]) -> str:
        path = self.path(key)
        with open(os.path.join(self.dir, f"{key}.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if os.path.exists(path) and _readable(path):
                os.utime(path)  # most recently used
                self.reused += 1
            else:
                tmp = os.path.join(self.dir, f".{key}.{os.getpid()}.part")
                try:
                    produce(tmp)
                    os.replace(tmp, path)
                finally:
                    if os.path.exists(tmp):
                        os.remove(tmp)
                self.built += 1
        self.pinned.add(path)
        self.evict()
        return path

    def evict(self) -> None:
        entries = []
        for name in os.listdir(self.dir):
            if name.endswith(".tok"):
                p = os.path.join(self.dir, name)
                try:
                    st = os.stat(p)
                except FileNotFoundError:
                    continue
                entries.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in entries)
        for _, size, p in sorted(entries):
            if total <= self.max_bytes:
                break
            if p in self.pinned:
                continue
            try:
                os.remove(p)  # a reader that has it mapped keeps its pages (POSIX unlink semantics)
                total -= size
            except FileNotFoundError:
                pass
        if total > self.max_bytes:
            log.warning("token cache %s: %d bytes in use exceed its limit of %d", self.dir, total, self.max_bytes)


def _readable(path: str) -> bool:
    try:
        TokenShard(path)
        return True
    except ValueError as e:
        log.warning("token cache: %s is damaged, rebuilding it (%s)", path, e)
        return False


# ------------------------------------------------------------------------------------------------ the corpus view

class ShardCorpus:
    """Sequences read from token shards, the same as data.tokenize_corpus over the same documents gives in memory.

    Packing: the shards' tokens, concatenated in order, cut into full seq_len sequences (the tail dropped);
    without packing one (truncated) document per row, padded. Index state: O(#shards) prefix sums."""

    def __init__(self, shards: list[TokenShard], seq_len: int, packing: bool, pad: int):
        self.shards = shards
        self.seq_len = seq_len
        self.packing = packing
        self.pad = pad
        self.has_flags = bool(shards) and shards[0].flags is not None
        self.tok_start = np.cumsum([0] + [s.tokens for s in shards]).astype(np.int64)
        self.doc_start = np.cumsum([0] + [s.docs for s in shards]).astype(np.int64)
        self._len = int(self.tok_start[-1] // seq_len) if packing else int(self.doc_start[-1])

    def __len__(self) -> int:
        return self._len

    def take(self, idx: np.ndarray) -> Packed:
        idx = np.asarray(idx, dtype=np.int64)
        return self._take_packed(idx) if self.packing else self._take_docs(idx)

    def _take_packed(self, idx: np.ndarray) -> Packed:
        T = self.seq_len
        pos = idx[:, None] * T + np.arange(T, dtype=np.int64)  # [B, T] positions in the concatenated tokens
        shard = np.searchsorted(self.tok_start, pos, side="right") - 1
        local = pos - self.tok_start[shard]
        ids = np.empty(pos.shape, dtype=np.int32)
        flags = np.empty(pos.shape, dtype=np.uint8) if self.has_flags else None
        for s in np.unique(shard):
            sel = shard == s
            src = self.shards[int(s)]
            ids[sel] = src.ids[local[sel]]
            if flags is not None:
                flags[sel] = src.flags[local[sel]]
        if flags is not None and len(idx):
            flags[:, 0] |= 1  # a sequence never starts inside a unit
        return Packed(ids, flags)

    def _take_docs(self, idx: np.ndarray) -> Packed:
        T = self.seq_len
        ids = np.full((len(idx), T), self.pad, dtype=np.int32)
        flags = np.ones((len(idx), T), dtype=np.uint8) if self.has_flags else None
        lengths = np.empty(len(idx), dtype=np.int64)
        shard = np.searchsorted(self.doc_start, idx, side="right") - 1
        for r, (d, s) in enumerate(zip(idx, shard)):
            doc_ids, doc_flags = self.shards[int(s)].document(int(d - self.doc_start[s]))
            lengths[r] = len(doc_ids)
            ids[r, : len(doc_ids)] = doc_ids
            if flags is not None:
                flags[r, : len(doc_ids)] = doc_flags
        return Packed(ids, flags, lengths)


def shard_corpus(paths: list[str], tokenizer, cache: ShardCache, params: EncodeParams, segmenter=None) -> ShardCorpus:
    """The document shards `paths` as a ShardCorpus, each tokenised once into the cache (or reused from it)."""
    tok = tokenizer_digest(tokenizer)
    shards = []
    for src in paths:
        key = shard_key(file_digest(src), tok, params)
        path = cache.get(key, lambda tmp, src=src, key=key: tokenize_file(
            src, tmp, tokenizer, params, segmenter, meta={"key": key, "tokenizer": tok}))
        shard = TokenShard(path)
        if shard.meta.get("key") != key:
            raise ConfigError(f"token cache {cache.dir}: {path} holds shard {shard.meta.get('key')}, not {key}")
        shards.append(shard)
    return ShardCorpus(shards, params.seq_len, params.packing, _pad_id(tokenizer))


def _pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (
        tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0)


def stored_corpus(paths: list[str], tokenizer, params: EncodeParams, where: str = "data.tokens",
                  cache: ShardCache | None = None) -> ShardCorpus:
    """Token shards built elsewhere (the tokenize stage) as a ShardCorpus, after checking that each was encoded
    with this tokenizer and these parameters: a shard of another tokenizer would feed the model wrong ids.
    `cache`: the local cache directory they were downloaded into, kept within its size (these shards pinned)."""
    tok = tokenizer_digest(tokenizer)
    expected = params.as_meta()
    shards = []
    for i, path in enumerate(paths):
        try:
            shard = TokenShard(path)
        except ValueError as e:
            raise ConfigError(f"{where}[{i}]: {e}") from None
        got = shard.meta.get("tokenizer")
        if got != tok:
            raise ConfigError(f"{where}[{i}]: {path} was tokenised with tokenizer {str(got)[:12]}, but the model's "
                              f"tokenizer is {tok[:12]} (another base model, or vocab.extend changed it): tokenize "
                              f"with this base model, or pretrain from the documents")
        for field_name, want in expected.items():
            if shard.meta.get(field_name) != want:
                raise ConfigError(f"{where}[{i}]: {path} was encoded with {field_name}={shard.meta.get(field_name)!r}"
                                  f", this run encodes with {field_name}={want!r}: tokenize with the same settings")
        shards.append(shard)
    if cache is not None:
        cache.pinned.update(os.path.join(cache.dir, os.path.basename(p)) for p in paths)  # as evict() names them
        cache.evict()
    return ShardCorpus(shards, params.seq_len, params.packing, _pad_id(tokenizer))

