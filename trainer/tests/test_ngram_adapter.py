"""N-gram adapters (T-DNA): the matcher, the vocabulary, the frozen base, save/load through every loading path, and
a tiny pretraining run where the adapter lowers the held-out MLM loss of a frozen base."""

import json
import random

import pytest
import torch
from safetensors.torch import load_file

from trainer import config
from trainer.errors import ConfigError
from trainer.evaluate import run as evaluate
from trainer.events import Collect
from trainer.model import load_model_checked, load_tokenizer
from trainer.ngram_adapter import (CONFIG_FILE, WEIGHTS_FILE, NgramAdapter, NgramMatcher, NgramVocab, attach,
                                   attached, build_vocab, save_model)
from trainer.task_train import load_task_model
from trainer.synthetic import write_jsonl
from trainer.train import pretrain

from .conftest import pretrain_config


def _pairs(matcher: NgramMatcher, ids: list[list[int]]) -> set[tuple[int, int, int]]:
    """(row, position, n-gram) of every match."""
    positions, ngrams = matcher.match(torch.tensor(ids))
    width = len(ids[0])
    return {(p // width, p % width, g) for p, g in zip(positions.tolist(), ngrams.tolist())}


def test_matcher_finds_overlapping_ngrams_and_ngrams_at_the_edges():
    vocab = NgramVocab(["ab", "bc", "abc", "yx"], [(1, 2), (2, 3), (1, 2, 3), (9, 8)], [1, 2, 3, 4])
    found = _pairs(NgramMatcher(vocab), [[1, 2, 3, 5, 9, 8],    # ab, bc, abc overlap; yx ends the row
                                         [1, 2, 7, 2, 3, 1]])   # ab starts the row; a lone 1 at the end is none
    assert found == {(0, 0, 1), (0, 1, 1), (0, 1, 2), (0, 2, 2), (0, 0, 3), (0, 1, 3), (0, 2, 3), (0, 4, 4),
                     (0, 5, 4), (1, 0, 1), (1, 1, 1), (1, 3, 2), (1, 4, 2)}
    assert _pairs(NgramMatcher(vocab), [[3, 2, 1]]) == set()  # order matters
    assert NgramMatcher(vocab).counts(torch.tensor([[1, 2, 3, 1, 2]])).tolist() == [0, 2, 1, 1, 0]


def test_vocabulary_skips_terms_of_one_piece_and_unknown_pieces(general_bert):
    tok = load_tokenizer(general_bert)
    vocab, report = build_vocab(["the", "cardiomyopathy", "heart failure", "☃☃☃", "Heart Failure"], tok)
    assert vocab.words == ["cardiomyopathy", "heart failure"]
    assert (report.single_piece, report.unknown, report.duplicate) == (1, 1, 1)  # the tokenizer lower-cases
    for seq, g in zip(vocab.sequences, vocab.ngram_of):
        assert tok.decode(list(seq)).replace(" ", "") == vocab.words[g - 1].replace(" ", "")


def _inputs(tok, texts):
    return tok(texts, return_tensors="pt", padding=True)


def test_zero_initialised_adapter_gives_exactly_the_base_outputs(general_bert):
    tok = load_tokenizer(general_bert)
    base = load_model_checked(general_bert, "mlm").model.eval()
    adapted = load_model_checked(general_bert, "mlm").model.eval()
    vocab, _ = build_vocab(["cardiomyopathy", "heart failure"], tok)
    attach(adapted, NgramAdapter(vocab, adapted.config.hidden_size, 2, "zero"))
    batch = _inputs(tok, ["the patient with cardiomyopathy and heart failure", "heart failure"])
    assert len(adapted.ngram_adapter.matcher.match(batch["input_ids"])[0]) > 0  # the n-grams are there
    with torch.no_grad():
        assert torch.equal(base(**batch).logits, adapted(**batch).logits)
        adapted.ngram_adapter.embeddings.weight[1:].normal_()
        assert not torch.equal(base(**batch).logits, adapted(**batch).logits)  # …and the adapter is in the path


def test_save_and_load_round_trip_through_every_loader(tmp_path, general_bert):
    tok = load_tokenizer(general_bert)
    model = load_model_checked(general_bert, "mlm").model.eval()
    vocab, _ = build_vocab(["cardiomyopathy", "heart failure", "atrial fibrillation"], tok)
    attach(model, NgramAdapter(vocab, model.config.hidden_size, 2, "normal", std=0.5))
    out = tmp_path / "adapted"
    save_model(model, str(out))
    tok.save_pretrained(out)
    assert (out / CONFIG_FILE).is_file() and (out / WEIGHTS_FILE).is_file()
    assert not any(k.startswith("ngram_adapter.") for k in load_file(str(out / "model.safetensors")))
    assert json.loads((out / CONFIG_FILE).read_text())["ngrams"][0]["word"] == "cardiomyopathy"
    batch = _inputs(tok, ["a cardiomyopathy with atrial fibrillation", "the heart failure ward"])
    loaded = load_model_checked(str(out), "mlm").model.eval()
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, loaded(**batch).logits)
    # fine-tuning's loader attaches it too, trainable (T-DNA fine-tunes the adapter with the model)
    task = load_task_model(str(out), "classification", ["a", "b"], seed=1)
    assert attached(task) is not None and attached(task).embeddings.weight.requires_grad
    with torch.no_grad():
        assert torch.equal(attached(task).embeddings.weight, attached(loaded).embeddings.weight)


def _adapter_config(tmp_path, model, corpus, **adapter):
    return pretrain_config(tmp_path, model, [corpus["domain"]],
                           data={"eval": [corpus["domain_eval"]], "evalMaxSequences": 64},
                           masking={"strategy": "token", "rate": 0.15, "language": "auto"},
                           train={"maxSteps": 100, "lr": 3e-2, "logEvery": 20, "headWarmupSteps": 0,
                                  "adapter": {"type": "ngram", "lexicon": corpus["lexicon_jsonl"], **adapter}})


# Each two-word phrase (an n-gram of two pieces: the base's tokenizer keeps general words whole) names the word
# after it. The base learns one pairing; the domain text uses another. The base's attention already carries the
# phrase to the next word, its frozen weights give the old word: only what the model makes of the phrase itself
# has to change, which is what an n-gram adapter can do (it cannot see a masked word: matching runs on the input).
_PHRASES = [f"{a} {n}" for a in ("old", "quiet", "busy", "bright") for n in ("city", "river")]
_WORDS = ["garden", "music", "window", "bridge", "kitchen", "museum", "village", "school"]


def _phrase_corpus(directory, n: int, seed: int, shift: int) -> str:
    rng = random.Random(seed)
    docs = [" ".join(f"{_PHRASES[i]} {_WORDS[(i + shift) % 8]} ." for i in rng.choices(range(8), k=4))
            for _ in range(n)]
    return write_jsonl(str(directory / f"phrases-{seed}-{shift}.jsonl"), docs)


@pytest.fixture(scope="module")
def phrase_base(tmp_path_factory, corpus) -> str:
    """A tiny BERT (tokenizer of general text) trained until it predicts each phrase's word of the base pairing
    (about 1500 steps: before that a tiny model predicts from unigram frequencies and ignores the context)."""
    from trainer.tiny import TinySpec, make_tiny_model

    tmp = tmp_path_factory.mktemp("phrase-base")
    model = make_tiny_model(TinySpec(arch="bert", vocab_size=400), [corpus["general"]], str(tmp / "init"))
    raw = pretrain_config(tmp, model, [_phrase_corpus(tmp, 300, seed=2, shift=0)],
                          masking={"strategy": "token", "rate": 0.15, "language": "auto"},
                          train={"maxSteps": 1500, "batchSize": 16, "lr": 2e-3, "logEvery": 500})
    pretrain(config.parse(raw), events=Collect())
    return str(tmp / "out")


def _evaluate(tmp_path, models: dict[str, str], shard: str) -> dict[str, float]:
    return evaluate(config.parse({"command": "evaluate", "outputDir": str(tmp_path / "eval"), "device": "cpu",
                                  "models": {k: {"path": v, "objective": "mlm"} for k, v in models.items()},
                                  "data": {"domain": [shard], "seqLen": 32, "maxSequences": 64}}), events=Collect())


def test_pretraining_trains_the_adapter_only_and_lowers_the_heldout_loss_of_the_frozen_base(tmp_path, phrase_base):
    lexicon = tmp_path / "lexicon.jsonl"
    lexicon.write_text("".join(json.dumps({"word": w}) + "\n" for w in ["garden", *_PHRASES, "heart failure"]))
    data = {"domain": _phrase_corpus(tmp_path, 300, seed=0, shift=3),
            "domain_eval": _phrase_corpus(tmp_path, 40, seed=1, shift=3), "lexicon_jsonl": str(lexicon)}
    metrics = pretrain(config.parse(_adapter_config(tmp_path, phrase_base, data, layers=1)), events=Collect())
    # every lexicon word is accounted for: kept, one piece already, or absent from the training data
    assert {k: metrics[f"adapter.{k}"] for k in ("ngrams", "singlePiece", "unknownPiece", "duplicate",
                                                  "belowMinFreq")} == \
        {"ngrams": 8, "singlePiece": 1, "unknownPiece": 0, "duplicate": 0, "belowMinFreq": 1}
    d = 64  # tiny BERT width
    assert metrics["adapter.layers"] == 1 and metrics["adapter.trainableParameters"] == (8 + 1) * d + d * d
    out = str(tmp_path / "out")
    base, saved = load_file(f"{phrase_base}/model.safetensors"), load_file(f"{out}/model.safetensors")
    assert set(base) <= set(saved) and all(torch.equal(base[k], saved[k]) for k in base)  # the base is frozen
    assert load_file(f"{out}/{WEIGHTS_FILE}")["embeddings.weight"][1:].abs().min() > 0  # zero at the start
    # the base uses the context: without it, a masked adjective, noun or word costs ln 4, ln 2 or ln 8 (≈ 1 nat per
    # token of "adjective noun word ." on average); the evaluate command loads the adapter with the model
    own = _evaluate(tmp_path, {"base": phrase_base}, _phrase_corpus(tmp_path, 40, seed=1, shift=0))
    assert own["base.domain.loss"] < 0.7, own
    scores = _evaluate(tmp_path, {"base": phrase_base, "adapted": out}, data["domain_eval"])
    assert scores["adapted.domain.loss"] < scores["base.domain.loss"] - 0.5, scores


def test_refusals_name_the_field(tmp_path, tiny_bert, tiny_gpt2, corpus):
    with pytest.raises(ConfigError, match="train.adapter: the ngram adapter is for MLM"):
        raw = _adapter_config(tmp_path, tiny_gpt2, corpus)
        raw["model"]["objective"] = "clm"
        pretrain(config.parse(raw), events=Collect())
    with pytest.raises(ConfigError, match="train.adapter.layers: 5 is more than the model's 2 layers"):
        pretrain(config.parse(_adapter_config(tmp_path, tiny_bert, corpus, layers=5)), events=Collect())
    with pytest.raises(ConfigError, match=r"train.adapter: none of the .* minFreq=100000"):
        pretrain(config.parse(_adapter_config(tmp_path, tiny_bert, corpus, minFreq=100000)), events=Collect())
    with pytest.raises(ConfigError, match="train.adapter.lexicon: file not found"):
        pretrain(config.parse(_adapter_config(tmp_path, tiny_bert, {**corpus, "lexicon_jsonl": "/nope"})),
                 events=Collect())
    with pytest.raises(ConfigError, match="train.adapter.init"):
        config.parse(_adapter_config(tmp_path, tiny_bert, corpus, init="ones"))
    # the union's errors are those of the branch `type` names
    with pytest.raises(ConfigError, match="train.adapter.r: unknown field"):
        config.parse(_adapter_config(tmp_path, tiny_bert, corpus, r=8))
    with pytest.raises(ConfigError, match="train.adapter: expected one of type='lora', type='ngram'"):
        config.parse(_adapter_config(tmp_path, tiny_bert, corpus, type="prefix"))
