"""Token shards: the file format, the local cache (reuse, damage, eviction), and the streaming corpus giving the
same sequences, the same stream and the same losses as the in-memory path."""

import os
import subprocess
import sys

import numpy as np
import pytest

from trainer.data import Stream, read_texts, tokenize_corpus
from trainer.model import load_tokenizer
from trainer.synthetic import write_jsonl
from trainer.token_shards import (EncodeParams, ShardCache, TokenShard, segmenter_identity, shard_corpus,
                                  write_shard)
from trainer.words import Segmenter

from .conftest import REPO, losses, pretrain_config, write_config


def _docs(ids_lists, flags=False):
    for ids in ids_lists:
        a = np.asarray(ids, dtype=np.int32)
        yield a, (a % 2).astype(np.uint8) if flags else None


@pytest.mark.parametrize("vocab,dtype", [(1000, np.uint16), (2**16, np.uint16), (2**16 + 1, np.uint32)])
def test_format_round_trip_dtype_boundaries_and_flags(tmp_path, vocab, dtype):
    docs = [[1, 2, 3], [], [vocab - 1, 0], [7] * 100]
    header = write_shard(str(tmp_path / "s.tok"), _docs(docs, flags=True), vocab, {"key": "k"})
    shard = TokenShard(str(tmp_path / "s.tok"))
    assert shard.ids.dtype == dtype and header["dtype"] == np.dtype(dtype).name
    assert shard.docs == 4 and shard.tokens == 105 and shard.meta == {"key": "k"}
    assert shard.offsets.tolist() == [0, 3, 3, 5, 105]
    for d, want in enumerate(docs):
        ids, flags = shard.document(d)
        assert ids.tolist() == want and flags.tolist() == [x % 2 for x in want]
    for name in ("ids", "flags", "offsets"):
        assert header["sections"][name] % 64 == 0  # aligned: memory-mappable as typed arrays


def test_no_flags_and_a_damaged_file_is_named(tmp_path):
    path = str(tmp_path / "s.tok")
    write_shard(path, _docs([[5, 6, 7]]), 100, {})
    assert TokenShard(path).flags is None
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 4)
    with pytest.raises(ValueError, match=r"s\.tok: truncated"):
        TokenShard(path)
    (tmp_path / "x.tok").write_bytes(b"{}\n")
    with pytest.raises(ValueError, match=r"x\.tok: not a token shard"):
        TokenShard(str(tmp_path / "x.tok"))


@pytest.fixture(scope="module")
def split_corpus(tmp_path_factory, corpus):
    """The domain corpus cut into three document shards (sequences cross the cuts when packing)."""
    d = tmp_path_factory.mktemp("split")
    docs = list(read_texts([corpus["domain"]]))
    cuts = [0, 37, 190, len(docs)]
    return [write_jsonl(str(d / f"part-{i}.jsonl"), docs[a:b]) for i, (a, b) in enumerate(zip(cuts, cuts[1:]))]


CASES = {  # model, packing, seq_len, masking segmenter, append_eos
    "bert-packed-whole-word": ("tiny_bert", True, 32, True, False),
    "bert-unpacked-whole-word": ("tiny_bert", False, 24, True, False),
    "bert-packed-token": ("tiny_bert", True, 48, False, False),
    "gpt2-packed-eos": ("tiny_gpt2", True, 32, False, True),
    "gpt2-unpacked-eos": ("tiny_gpt2", False, 16, False, True),
}


@pytest.mark.parametrize("case", CASES)
def test_shards_give_the_in_memory_sequences(request, tmp_path, split_corpus, case):
    model, packing, seq_len, words, eos = CASES[case]
    tok = load_tokenizer(request.getfixturevalue(model))
    seg = Segmenter("en") if words else None
    want = tokenize_corpus(split_corpus, tok, seq_len, packing=packing, segmenter=seg, append_eos=eos)
    cache = ShardCache(str(tmp_path / "cache"), 1 << 30)
    got = shard_corpus(split_corpus, tok, cache, EncodeParams(packing, seq_len, eos, "text", segmenter_identity(seg)),
                       seg)
    assert len(got) == len(want) > 0 and cache.built == 3
    rows = np.random.default_rng(0).permutation(len(want))
    batch = got.take(rows)
    assert np.array_equal(batch.ids, want.ids[rows])
    assert (batch.flags is None) == (want.flags is None)
    if want.flags is not None:
        assert np.array_equal(batch.flags, want.flags[rows])
    if not packing:
        assert np.array_equal(batch.lengths, want.lengths[rows])


def test_stream_over_shards_equals_the_in_memory_stream(tiny_bert, corpus, split_corpus, tmp_path):
    tok = load_tokenizer(tiny_bert)
    seg = Segmenter("en")
    params = EncodeParams(True, 32, False, "text", segmenter_identity(seg))
    cache = ShardCache(str(tmp_path / "cache"), 1 << 30)
    mem = Stream(tokenize_corpus(split_corpus, tok, 32, segmenter=seg), 3,
                 tokenize_corpus([corpus["general"]], tok, 32, segmenter=seg), 0.3)
    shards = Stream(shard_corpus(split_corpus, tok, cache, params, seg), 3,
                    shard_corpus([corpus["general"]], tok, cache, params, seg), 0.3)
    n = len(mem.sources[0])
    for position in (0, 5, n - 3, 3 * n + 1):  # epoch boundaries included
        a, b = mem.batch(position, 16), shards.batch(position, 16)
        assert np.array_equal(a.ids, b.ids) and np.array_equal(a.flags, b.flags)


def test_cache_reuses_rebuilds_damage_and_evicts_by_size(tiny_bert, split_corpus, tmp_path):
    tok = load_tokenizer(tiny_bert)
    params = EncodeParams(True, 32, False, "text", None)
    cache = ShardCache(str(tmp_path / "cache"), 1 << 30)
    first = shard_corpus(split_corpus, tok, cache, params)
    want = first.take(np.arange(len(first))).ids
    damaged = first.shards[1].path
    del first  # its mappings: the damage below would fault a reader that still maps the file
    again = ShardCache(cache.dir, 1 << 30)  # a retry, a resume, another rank: same directory
    shard_corpus(split_corpus, tok, again, params)
    assert (again.built, again.reused) == (0, 3)
    # another tokenizer setting is another key
    other = ShardCache(cache.dir, 1 << 30)
    shard_corpus(split_corpus[:1], tok, other, EncodeParams(False, 32, False, "text", None))
    assert other.built == 1
    # a damaged shard is rebuilt, not read
    with open(damaged, "r+b") as f:
        f.truncate(100)
    healed = ShardCache(cache.dir, 1 << 30)
    corpus = shard_corpus(split_corpus, tok, healed, params)
    assert (healed.built, healed.reused) == (1, 2)
    assert np.array_equal(corpus.take(np.arange(len(corpus))).ids, want)
    # eviction: the least recently used beyond the limit; shards this process holds open stay
    lru = ShardCache(cache.dir, 1)  # smaller than any shard: all but the one in use go
    in_use = shard_corpus(split_corpus[2:], tok, lru, params).shards[0].path
    assert [f for f in os.listdir(cache.dir) if f.endswith(".tok")] == [os.path.basename(in_use)]
    assert lru.get(os.path.basename(in_use)[:-4], _fail) == in_use  # still readable, not rebuilt


def _fail(_path):
    raise AssertionError("rebuilt a shard that is in the cache")


def test_ranks_building_the_same_shard_at_once_build_it_once(tiny_bert, split_corpus, tmp_path):
    """Two processes (e.g. two DDP ranks) ask for the same shards: the lock makes one build and the other reuse."""
    code = ("import sys; from trainer.model import load_tokenizer; "
            "from trainer.token_shards import EncodeParams, ShardCache, shard_corpus; "
            "c = ShardCache(sys.argv[1], 1 << 30); "
            "shard_corpus(sys.argv[3:], load_tokenizer(sys.argv[2]), c, EncodeParams(True, 32, False, 'text', None)); "
            "print(c.built)")
    args = [sys.executable, "-c", code, str(tmp_path / "cache"), tiny_bert, *split_corpus]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    built = [int(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for p in procs]
    assert sum(built) == 3


def test_streaming_pretrain_logs_the_in_memory_losses_and_reuses_shards(tmp_path, tiny_bert, corpus, split_corpus):
    from trainer import config
    from trainer.events import Collect
    from trainer.train import pretrain

    def run(name: str, **data) -> list[dict]:
        (tmp_path / name).mkdir()
        raw = pretrain_config(tmp_path / name, tiny_bert, split_corpus,
                              data={"replay": {"paths": [corpus["general"]], "ratio": 0.3}, **data},
                              masking={"strategy": "whole-word", "rate": 0.15, "lexicon": corpus["lexicon"]},
                              train={"maxSteps": 12, "batchSize": 4, "gradAccum": 2})
        events = Collect()
        pretrain(config.load(write_config(tmp_path / name / "cfg.json", raw)), events=events)
        return events.items

    cache = {"tokenCache": {"dir": str(tmp_path / "tokens")}}
    memory, first, second = run("memory"), run("shards", **cache), run("again", **cache)
    assert losses(first) == losses(memory) and len(losses(memory)) == 12

    def metric(events, name):
        return next(e["value"] for e in events if e["event"] == "metric" and e["name"] == name)

    assert (metric(first, "data.tokenShardsBuilt"), metric(first, "data.tokenShardsReused")) == (4, 0)
    assert (metric(second, "data.tokenShardsBuilt"), metric(second, "data.tokenShardsReused")) == (0, 4)
    assert losses(second) == losses(memory)
