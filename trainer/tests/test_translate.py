"""`python -m trainer translate`: the plumbing of back-translation with a tiny randomly initialised T5 (its output
is gibberish; what is checked is one output per input, in order, exit codes, and config errors naming the path)."""

from __future__ import annotations

import json

import pytest

from trainer.translate import split_sentences

from .conftest import run_trainer, write_config


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory, corpus) -> str:
    from trainer.tiny import TinySpec, make_tiny_model

    out = str(tmp_path_factory.mktemp("tiny-t5"))
    return make_tiny_model(TinySpec(arch="t5", vocab_size=300, hidden=32, layers=1), [corpus["general"], corpus["zh"]], out)


def test_split_sentences_rejoins_exactly():
    for text in ["One. Two! Three?\n\nFour", "合同约定。租金按月支付！好", "", "no end", "a.\n"]:
        pieces = split_sentences(text)
        assert "".join(s + sep for s, sep in pieces) == text
    assert [s for s, _ in split_sentences("One. Two!\nThree")] == ["One.", "Two!", "Three"]
    assert [s for s, _ in split_sentences("合同约定。租金按月支付！")] == ["合同约定。", "租金按月支付！"]


def _texts(tmp_path):
    texts = [{"id": f"d{i}", "text": t} for i, t in enumerate(
        ["The lessee shall pay the rent. The lessor shall repair.", "合同约定的租金应当按月支付。", "Line one\n\nLine two", "x"])]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    return texts, str(path)


def test_back_translation_gives_one_text_per_input_in_order(tmp_path, tiny_t5):
    texts, path = _texts(tmp_path)
    out = tmp_path / "out" / "bt.jsonl"
    cfg = {"command": "translate", "input": path, "output": str(out), "models": [{"path": tiny_t5}, {"path": tiny_t5}],
           "maxLength": 12, "batchSize": 3, "device": "cpu", "temperature": 0.9, "seed": 5}
    code, events, err = run_trainer("translate", "--config", write_config(tmp_path / "cfg.json", cfg))
    assert code == 0, err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [t["id"] for t in texts]
    assert all(isinstance(r["text"], str) for r in rows)
    assert rows[2]["text"].count("\n\n") == 1, "separators between sentences are kept"
    done = [e for e in events if e["event"] == "done"]
    assert done and done[0]["metrics"]["texts"] == 4 and done[0]["metrics"]["sentences"] == 6
    assert [e["value"] for e in events if e["event"] == "metric"][-1] == 4
    # Sampling is seeded: the same config gives the same output.
    first = out.read_text(encoding="utf-8")
    assert run_trainer("translate", "--config", write_config(tmp_path / "cfg.json", cfg))[0] == 0
    assert out.read_text(encoding="utf-8") == first


def test_bad_model_directory_is_a_config_error_naming_the_path(tmp_path, tiny_t5):
    _, path = _texts(tmp_path)
    missing = str(tmp_path / "no-such-model")
    cfg = {"command": "translate", "input": path, "output": str(tmp_path / "o.jsonl"),
           "models": [{"path": tiny_t5}, {"path": missing}], "device": "cpu"}
    code, _, err = run_trainer("translate", "--config", write_config(tmp_path / "cfg.json", cfg))
    assert code == 2
    assert f"models[1].path: model directory not found: {missing}" in err
    # A directory holding something else than a seq2seq model is named too.
    not_seq2seq = tmp_path / "empty-model"
    not_seq2seq.mkdir()
    (not_seq2seq / "config.json").write_text("{}", encoding="utf-8")
    cfg["models"] = [{"path": str(not_seq2seq)}]
    code, _, err = run_trainer("translate", "--config", write_config(tmp_path / "cfg.json", cfg))
    assert code == 2 and str(not_seq2seq) in err, err
