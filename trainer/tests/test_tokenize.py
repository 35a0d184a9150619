"""`python -m trainer tokenize`: one document shard into the token shard a training run would build for it, and
pretraining from such shards (data.tokens): the same losses as from the documents, checked against the model."""

import json

import pytest

from trainer import config
from trainer.data import read_texts
from trainer.errors import ConfigError
from trainer.events import Collect
from trainer.model import load_tokenizer
from trainer.synthetic import write_jsonl
from trainer.token_shards import EncodeParams, ShardCache, shard_corpus
from trainer.train import pretrain
from trainer.words import Segmenter

from .conftest import losses, pretrain_config, run_trainer, write_config

WHOLE_WORD = {"strategy": "whole-word", "rate": 0.15, "language": "en"}


@pytest.fixture(scope="module")
def shards(tmp_path_factory, corpus):
    d = tmp_path_factory.mktemp("docs")
    docs = list(read_texts([corpus["domain"]]))
    return [write_jsonl(str(d / f"part-{i}.jsonl"), docs[a:b]) for i, (a, b) in enumerate([(0, 150), (150, len(docs))])]


def _tokenize(tmp, model: str, src: str, name: str, objective="mlm", masking=WHOLE_WORD, **extra) -> tuple[int, dict]:
    cfg = {"command": "tokenize", "model": {"path": model, "objective": objective}, "input": src,
           "output": str(tmp / f"{name}.tok"), "summary": str(tmp / f"{name}.json"), "masking": masking,
           "seqLen": 32, **extra}
    code, _, err = run_trainer("tokenize", "--config", write_config(tmp / f"{name}.cfg.json", cfg))
    assert code == 0, err
    return code, json.loads((tmp / f"{name}.json").read_text())


def test_the_command_writes_the_shard_a_training_run_builds_byte_for_byte(tmp_path, tiny_bert, shards):
    _, summary = _tokenize(tmp_path, tiny_bert, shards[1], "a")
    _, again = _tokenize(tmp_path, tiny_bert, shards[1], "b")  # a rerun after a crash, on another worker
    assert (tmp_path / "a.tok").read_bytes() == (tmp_path / "b.tok").read_bytes() and summary == again
    tok = load_tokenizer(tiny_bert)
    seg = Segmenter("en")
    cache = ShardCache(str(tmp_path / "cache"), 1 << 30)
    built = shard_corpus(shards[1:], tok, cache, EncodeParams.of(True, 32, "mlm", "text", seg), seg)
    assert cache.built == 1 and built.shards[0].meta["key"] == summary["key"]
    assert (tmp_path / "a.tok").read_bytes() == open(built.shards[0].path, "rb").read()
    assert summary["tokens"] == built.shards[0].tokens > 0 and summary["docs"] == built.shards[0].docs
    assert summary["encode"]["flags"].startswith("en:") and summary["dtype"] == "uint16"


def _pretrain(tmp, model, data, masking=WHOLE_WORD) -> list[dict]:
    tmp.mkdir()
    raw = pretrain_config(tmp, model, [], data={**data, "tokenCache": {"dir": str(tmp / "cache")}},
                          masking=masking, train={"maxSteps": 8, "batchSize": 4})
    events = Collect()
    pretrain(config.load(write_config(tmp / "cfg.json", raw)), events=events)
    return events.items


def test_pretraining_from_token_shards_trains_on_the_documents_stream_and_tokenises_nothing(tmp_path, tiny_bert, shards):
    tokens = [str(tmp_path / f"{i}.tok") for i in range(len(shards))]
    for i, src in enumerate(shards):
        _tokenize(tmp_path, tiny_bert, src, str(i))
    from_docs = _pretrain(tmp_path / "docs", tiny_bert, {"train": shards})
    from_tokens = _pretrain(tmp_path / "tokens", tiny_bert, {"tokens": tokens})
    assert losses(from_tokens) == losses(from_docs) and len(losses(from_docs)) == 8
    built = [e["value"] for e in from_tokens if e["event"] == "metric" and e["name"] == "data.tokenShardsBuilt"]
    assert built == [0]


def test_shards_of_another_tokenizer_or_other_settings_are_refused_by_name(tmp_path, tiny_bert, tiny_gpt2, shards):
    _tokenize(tmp_path, tiny_gpt2, shards[0], "gpt2", objective="clm")
    with pytest.raises(ConfigError, match=r"data\.tokens\[0\]: .*gpt2\.tok was tokenised with tokenizer \w+, but the model's"):
        _pretrain(tmp_path / "other-tokenizer", tiny_bert, {"tokens": [str(tmp_path / "gpt2.tok")]})
    _tokenize(tmp_path, tiny_bert, shards[0], "token-masking", masking={"strategy": "token", "rate": 0.15, "language": "en"})
    with pytest.raises(ConfigError, match=r"data\.tokens\[0\]: .* encoded with flags=None, this run encodes with flags='en:"):
        _pretrain(tmp_path / "other-flags", tiny_bert, {"tokens": [str(tmp_path / "token-masking.tok")]})
    with pytest.raises(ConfigError, match=r"data\.tokens: given beside data\.train"):
        _pretrain(tmp_path / "both", tiny_bert, {"train": shards, "tokens": [str(tmp_path / "gpt2.tok")]})
