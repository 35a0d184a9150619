"""`python -m trainer longtail`: the pieces are the tokenizer's own, taken the way the term appears inside text
(byte-level BPE: after a space), the unknown token is flagged, and a bad config exits 2 naming the field."""

from __future__ import annotations

import json

from transformers import AutoTokenizer

from trainer.longtail import fragments

from .conftest import run_trainer, write_config


def test_pieces_are_the_tokenizers_own(tmp_path, tiny_bert, tiny_gpt2):
    bert = AutoTokenizer.from_pretrained(tiny_bert)
    gpt2 = AutoTokenizer.from_pretrained(tiny_gpt2)
    words = ["zyxwvutsr", "the", "梯度"]
    for row, word in zip(fragments(bert, words), words):
        assert row["tokens"] == bert.tokenize(word) and row["pieces"] == len(row["tokens"])
    rows = fragments(gpt2, ["zyxwvutsr"])
    assert rows[0]["tokens"] == gpt2.tokenize(" zyxwvutsr"), "byte-level BPE: the in-text form, after a space"
    unk = fragments(bert, ["梯度"])[0]
    assert unk["unknown"] == (bert.unk_token in bert.tokenize("梯度"))


def test_cli_writes_one_line_per_term_in_order(tmp_path, tiny_bert):
    terms = tmp_path / "lexicon.jsonl"
    terms.write_text("".join(json.dumps({"word": w, "freq": 3}) + "\n" for w in ["zyxwvutsr", "the", "zyxwvutsr"]))
    out = tmp_path / "out" / "fragments.jsonl"
    cfg = write_config(tmp_path / "cfg.json", {"command": "longtail", "model": tiny_bert, "terms": str(terms),
                                               "output": str(out)})
    code, events, _ = run_trainer("longtail", "--config", cfg)
    assert code == 0 and events[-1]["event"] == "done" and events[-1]["metrics"] == {"terms": 2}
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["word"] for r in rows] == ["zyxwvutsr", "the"], "deduplicated, in order"


def test_bad_config_exits_2_naming_the_field(tmp_path, tiny_bert):
    cfg = write_config(tmp_path / "cfg.json", {"command": "longtail", "model": tiny_bert,
                                               "terms": str(tmp_path / "missing.jsonl"), "output": "x"})
    code, _, stderr = run_trainer("longtail", "--config", cfg)
    assert code == 2 and "terms" in stderr
    cfg = write_config(tmp_path / "cfg2.json", {"command": "longtail", "model": tiny_bert, "output": "x"})
    code, _, stderr = run_trainer("longtail", "--config", cfg)
    assert code == 2 and "terms: required field missing" in stderr
