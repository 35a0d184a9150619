"""Vocabulary extension: new words become single ids, embedding rows start at the sub-token mean, size padded."""

import json

import torch
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

from trainer import config
from trainer.events import Collect
from trainer.model import load_model, load_tokenizer
from trainer.synthetic import DOMAIN_PHRASES_EN, DOMAIN_TERMS_EN, DOMAIN_TERMS_ZH
from trainer.train import pretrain
from trainer.vocab import extend_tokenizer, resize_embeddings

from .conftest import pretrain_config

LEXICON = DOMAIN_TERMS_EN + DOMAIN_PHRASES_EN + DOMAIN_TERMS_ZH + ["the", "city"]


def test_bert_extension_single_ids_and_mean_rows(tmp_path, general_bert):
    tok = load_tokenizer(general_bert)
    model = load_model(general_bert, "mlm")
    base_in = model.get_input_embeddings().weight.detach().clone()
    base_bias = model.cls.predictions.bias.detach().clone()
    base_size = len(tok)
    ext = extend_tokenizer(tok, LEXICON, max_new=1000, min_subtokens=2, workdir=str(tmp_path / "tok"))
    new = ext.tokenizer
    assert "the" not in ext.words and "city" not in ext.words  # already single tokens: not added
    assert set(DOMAIN_TERMS_EN) <= set(ext.words) and set(DOMAIN_TERMS_ZH) <= set(ext.words)
    assert ext.in_vocab == len(DOMAIN_TERMS_EN)  # Latin-script words went into the WordPiece vocabulary
    assert ext.added_tokens == len(DOMAIN_PHRASES_EN) + len(DOMAIN_TERMS_ZH)  # CJK and multi-word terms
    for word in DOMAIN_TERMS_EN + DOMAIN_PHRASES_EN + DOMAIN_TERMS_ZH:
        ids = new(f"the patient developed {word} yesterday", add_special_tokens=False)["input_ids"]
        word_ids = new(word, add_special_tokens=False)["input_ids"]
        assert len(word_ids) == 1 and word_ids[0] >= base_size, word
        assert word_ids[0] in ids
    assert new("心肌炎患者", add_special_tokens=False)["input_ids"][0] == new.convert_tokens_to_ids("心肌炎")

    rows = resize_embeddings(model, ext, 64)
    assert rows % 64 == 0 and rows >= len(new) and model.config.vocab_size == rows
    emb = model.get_input_embeddings().weight
    assert model.get_output_embeddings().weight is emb  # still tied
    for new_id, pieces in ext.pieces.items():
        assert len(pieces) >= 2 or pieces == [tok.unk_token_id]
        assert torch.allclose(emb[new_id], base_in[pieces].mean(0))
        assert torch.allclose(model.cls.predictions.bias[new_id], base_bias[pieces].mean())
    assert torch.equal(emb[:base_size], base_in)  # old rows untouched


def test_max_new_tokens_and_min_subtokens(tmp_path, general_bert):
    tok = load_tokenizer(general_bert)
    ext = extend_tokenizer(tok, LEXICON, max_new=3, min_subtokens=2, workdir=str(tmp_path / "a"))
    assert ext.words == [w for w in LEXICON if len(tok(w, add_special_tokens=False)["input_ids"]) >= 2][:3]
    pieces = {w: tok(w, add_special_tokens=False)["input_ids"] for w in DOMAIN_TERMS_EN}
    most = max(len(p) for p in pieces.values())
    ext = extend_tokenizer(tok, DOMAIN_TERMS_EN, max_new=100, min_subtokens=most, workdir=str(tmp_path / "b"))
    expected = [w for w, p in pieces.items() if len(p) >= most or tok.unk_token_id in p]
    assert sorted(ext.words) == sorted(expected) and len(expected) < len(DOMAIN_TERMS_EN)
    assert "catheterization" in ext.words and pieces["catheterization"] == [tok.unk_token_id]  # 'z' is unknown


def test_gpt2_extension_uses_the_bpe_vocabulary(tmp_path, tiny_gpt2):
    tok = load_tokenizer(tiny_gpt2)
    model = load_model(tiny_gpt2, "clm")
    base = model.get_input_embeddings().weight.detach().clone()
    words = ["cardiologist", "amiodarone", "heart failure", "心肌炎"]
    ext = extend_tokenizer(tok, words, max_new=10, min_subtokens=2, workdir=str(tmp_path / "tok"))
    new = ext.tokenizer
    for w in ["cardiologist", "amiodarone"]:
        assert len(new(" " + w)["input_ids"]) == 1, w  # " word": the form words take inside text
    assert len(new("心肌炎")["input_ids"]) == 1 and len(new("heart failure")["input_ids"]) == 1
    rows = resize_embeddings(model, ext, 64)
    assert rows % 64 == 0
    for new_id, pieces in ext.pieces.items():
        assert torch.allclose(model.get_input_embeddings().weight[new_id], base[pieces].mean(0))
    # untouched text tokenises as before
    text = "the patient visited the old city near the river."
    assert new(text)["input_ids"] == tok(text)["input_ids"]


def test_pretrain_with_vocab_extension_reports_and_saves(tmp_path, general_bert, corpus):
    raw = pretrain_config(tmp_path, general_bert, [corpus["domain"]], masking={"strategy": "token"},
                          vocab={"lexicon": corpus["lexicon_jsonl"]}, train={"maxSteps": 4})
    events = Collect()
    metrics = pretrain(config.parse(raw), events=events)
    reported = {e["name"]: e["value"] for e in events.of("metric")}
    assert reported["vocab.tokensAdded"] == len(DOMAIN_TERMS_EN + DOMAIN_PHRASES_EN + DOMAIN_TERMS_ZH)
    assert reported["vocab.tokensPerDocAfter"] < 0.8 * reported["vocab.tokensPerDocBefore"]
    assert metrics["vocab.embeddingRows"] % 64 == 0
    out = tmp_path / "out"
    model = AutoModelForMaskedLM.from_pretrained(out)
    tok = load_tokenizer(str(out))
    assert model.get_input_embeddings().weight.shape[0] == metrics["vocab.embeddingRows"]
    assert len(tok("cardiomyopathy", add_special_tokens=False)["input_ids"]) == 1
    assert json.loads((out / "metrics.json").read_text())["metrics"]["train.steps"] == 4
    assert AutoModelForCausalLM is not None
