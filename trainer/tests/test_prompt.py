"""Prompt-based fine-tuning: the template's slots, label words that must be single tokens, the text cut so the mask
always fits, the classifier's logits being the MLM head's at the mask, and `finetune` end to end."""

import json

import pytest
import torch

from trainer import config
from trainer.events import Collect
from trainer.finetune import run
from trainer.model import load_tokenizer
from trainer.prompt import encode_prompted, label_token_ids, load_prompt_model

from .test_finetune import finetune_config

LABELS = ["c00", "c01", "c02", "c03"]


def _words(task_data) -> dict[str, str]:
    """A distinct word per label from its train rows (whole words of the tiny vocabulary, which was trained on
    these rows): the mechanism needs one-token words, not meaningful ones."""
    words: dict[str, str] = {}
    for line in open(task_data["cls4_train"], encoding="utf-8"):
        row = json.loads(line)
        for w in row["text"].split():
            if row["label"] not in words and w.isalpha() and w not in words.values():
                words[row["label"]] = w
    return words


def test_label_words_must_be_single_tokens_and_every_label_needs_one(task_bert, task_data):
    tok = load_tokenizer(task_bert)
    words = _words(task_data)
    ids = label_token_ids(tok, words, LABELS)
    assert len(set(ids)) == 4 and all(tok.convert_ids_to_tokens(i) == words[lab] for i, lab in zip(ids, LABELS))
    two = words["c00"] + words["c02"]  # known pieces, no whole-word entry: WordPiece splits it
    with pytest.raises(config.ConfigError, match=rf"prompt.verbalizer.c01: '{two}' is \d+ tokens .* choose a word"):
        label_token_ids(tok, {**words, "c01": two}, LABELS)
    with pytest.raises(config.ConfigError, match=r"prompt.verbalizer.c01: 'ŋŋŋ' is not in this model's vocabulary"):
        label_token_ids(tok, {**words, "c01": "ŋŋŋ"}, LABELS)
    with pytest.raises(config.ConfigError, match=r"prompt.verbalizer: no label word for 'c03'"):
        label_token_ids(tok, {k: v for k, v in words.items() if k != "c03"}, LABELS)
    with pytest.raises(config.ConfigError, match="share a label word"):
        label_token_ids(tok, {**words, "c01": words["c00"]}, LABELS)


def test_the_text_is_cut_so_that_the_mask_always_fits(task_bert):
    tok = load_tokenizer(task_bert)
    long = " ".join(["word"] * 200)
    enc = encode_prompted(tok, [long, "short text"], "{text} it is [MASK] .", max_length=24)
    assert enc.ids.shape[1] <= 24 and list(enc.lengths) == [24, int(enc.lengths[1])]
    for row, n in zip(enc.ids, enc.lengths):
        assert (row[:n] == tok.mask_token_id).sum() == 1
        assert row[0] == tok.cls_token_id and row[n - 1] == tok.sep_token_id
    with pytest.raises(config.ConfigError, match="leave no room for the text"):
        encode_prompted(tok, ["x"], "{text} " + "very " * 30 + "[MASK]", max_length=16)


def test_the_class_logits_are_the_mlm_heads_at_the_mask(task_bert, task_data):
    tok = load_tokenizer(task_bert)
    ids = label_token_ids(tok, _words(task_data), LABELS)
    model = load_prompt_model(task_bert, tok, ids, seed=1).eval()
    enc = encode_prompted(tok, ["alpha beta", "gamma"], "[MASK] : {text}", max_length=16)
    x = torch.from_numpy(enc.ids)
    mask = (x != tok.pad_token_id).long()
    with torch.no_grad():
        got = model(input_ids=x, attention_mask=mask).logits
        full = model.mlm(input_ids=x, attention_mask=mask).logits
    assert got.shape == (2, 4)
    assert torch.equal(got, full[:, 1][:, ids])  # the mask sits right after [CLS]


@pytest.mark.parametrize("mutate, expected", [
    (lambda c: c.update(prompt={"template": "{text} no slot", "verbalizer": {"a": "b"}}), "prompt.template: must hold [MASK]"),
    (lambda c: c.update(prompt={"template": "[MASK] only", "verbalizer": {"a": "b"}}), "prompt.template: must hold {text}"),
    (lambda c: c.update(task="ner", prompt={"template": "{text} [MASK]", "verbalizer": {"a": "b"}}), "prompt: prompt-based"),
])
def test_bad_prompt_configs_name_the_field(tmp_path, task_bert, task_data, mutate, expected):
    raw = finetune_config(tmp_path, {"base": task_bert}, task_data["cls4_train"], task_data["cls4_test"])
    mutate(raw)
    with pytest.raises(config.ConfigError) as e:
        config.parse(raw)
    assert expected in str(e.value)


def test_finetune_prompt_based_trains_the_mlm_and_saves_it(tmp_path, task_bert, task_data):
    raw = finetune_config(tmp_path, {"base": task_bert}, task_data["cls4_train"], task_data["cls4_test"],
                          maxSteps=8, prompt={"template": "{text} . [MASK]", "verbalizer": _words(task_data)},
                          saveModel={"model": "base"}, adversarial={"epsilon": 0.1})
    events = Collect()
    m = run(config.parse(raw), events)
    losses = [e["loss"] for e in events.of("progress")]
    assert len(losses) == 8 and all(x == x for x in losses)
    assert set(m["models"]["base"]["mean"]) >= {"accuracy", "macroF1"}
    from transformers import AutoModelForMaskedLM

    saved = AutoModelForMaskedLM.from_pretrained(str(tmp_path / "out" / "model"))  # the MLM itself, head included
    assert saved.config.vocab_size == load_tokenizer(task_bert).vocab_size
