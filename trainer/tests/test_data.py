"""Data: packing, padding, and the deterministic stream (positions, epochs, replay ratio)."""

import numpy as np
import pytest

from trainer.data import Packed, Stream, read_texts, rng_for, tokenize_corpus
from trainer.errors import ConfigError
from trainer.model import load_tokenizer
from trainer.words import Segmenter


def test_packing_concatenates_documents_into_full_sequences(tiny_bert, corpus):
    tok = load_tokenizer(tiny_bert)
    seqs = tokenize_corpus([corpus["domain"]], tok, 32, segmenter=Segmenter("en"))
    docs = list(read_texts([corpus["domain"]]))
    total = sum(len(x) for x in tok(docs)["input_ids"])
    assert seqs.ids.shape == (total // 32, 32) and seqs.lengths is None
    assert seqs.flags.shape == seqs.ids.shape and np.all(seqs.flags[:, 0] & 1)
    first = tok(docs[0])["input_ids"]
    assert seqs.ids[0, : len(first)].tolist() == first[:32]  # [CLS] doc [SEP] [CLS] next doc ...
    assert (seqs.ids == tok.cls_token_id).sum() >= len(docs) - 2


def test_no_packing_pads_each_document(tiny_bert, tiny_gpt2, corpus):
    tok = load_tokenizer(tiny_bert)
    seqs = tokenize_corpus([corpus["domain"]], tok, 16, packing=False, max_sequences=10)
    assert seqs.ids.shape == (10, 16) and seqs.lengths.max() == 16
    for row, n in zip(seqs.ids, seqs.lengths):
        assert row[n - 1] == tok.sep_token_id and np.all(row[n:] == tok.pad_token_id)
    gpt = load_tokenizer(tiny_gpt2)
    docs = list(read_texts([corpus["domain"]]))[:3]
    seqs = tokenize_corpus([corpus["domain"]], gpt, 16, append_eos=True, max_sequences=40)
    n0 = len(gpt(docs[0])["input_ids"])
    assert seqs.ids.shape == (40, 16) and seqs.ids.ravel()[n0] == gpt.eos_token_id  # documents end with <eos>


def _packed(n, t=4, offset=0):
    return Packed(np.arange(offset, offset + n * t, dtype=np.int32).reshape(n, t))


def test_stream_is_a_pure_function_of_the_position():
    stream = Stream(_packed(10), seed=3)
    whole = stream.batch(0, 25).ids
    parts = np.concatenate([Stream(_packed(10), seed=3).batch(p, n).ids for p, n in ((0, 7), (7, 11), (18, 7))])
    assert np.array_equal(whole, parts)  # resuming at any position continues the same sequence of batches
    rows = whole[:, 0] // 4
    assert sorted(rows[:10]) == list(range(10)) and sorted(rows[10:20]) == list(range(10))  # epochs are permutations
    assert not np.array_equal(rows[:10], rows[10:20])  # reshuffled every epoch
    assert not np.array_equal(Stream(_packed(10), seed=4).batch(0, 10).ids, whole[:10])


def test_replay_ratio_is_exact_and_evenly_spread():
    stream = Stream(_packed(50), seed=0, replay=_packed(20, offset=10_000), ratio=0.25)
    ids = stream.batch(0, 400).ids
    is_replay = ids[:, 0] >= 10_000
    assert is_replay.sum() == 100
    assert all(is_replay[i:i + 4].sum() == 1 for i in range(0, 400, 4))
    assert sorted((ids[is_replay][:20, 0] - 10_000) // 4) == list(range(20))  # replay has its own epochs
    assert not Stream(_packed(50), seed=0, replay=_packed(20), ratio=0.0).locate(np.arange(100))[0].any()


def test_a_corrupt_shard_is_a_config_error_naming_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n\n{"text": broken\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.jsonl:3: not a JSON record"):
        list(read_texts([str(bad)]))


def test_negative_seeds_are_allowed():
    a = Stream(_packed(10), seed=-7).batch(0, 10).ids
    assert np.array_equal(a, Stream(_packed(10), seed=-7).batch(0, 10).ids)
    assert rng_for(-1, 5).random() == rng_for(2**64 - 1, 5).random()
