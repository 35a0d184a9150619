"""Dictionary-enhanced MLM (definitions.py): which definitions are appended where, within what budget, masked how,
and a pretrain run with a dictionary (metrics, exact resume, the token-shard path)."""

import json
import os
import tempfile

import numpy as np
import pytest
from transformers import AutoTokenizer

from trainer import config
from trainer.batch import label_step
from trainer.data import Packed, Stream, rng_for, tokenize_corpus
from trainer.definitions import Definitions, Entry, TextDefinitions, load_definitions, read_dictionary
from trainer.errors import ConfigError
from trainer.events import Collect
from trainer.finetune import run
from trainer.masking import IGNORE, Masker
from trainer.train import pretrain
from trainer.words import Segmenter

from .conftest import _tiny, pretrain_config, write_config
from .test_finetune import finetune_config

ENTRIES = [
    Entry("cardiomyopathy", "a disease of the heart muscle", selected=True),
    Entry("arrhythmia", "an irregular heartbeat", selected=False),
    Entry("heart failure", "the heart cannot pump enough blood", selected=True),
]
T = 192  # room for a sentence and three definitions in the tiny general vocabulary's many pieces


@pytest.fixture(scope="module")
def tok(general_bert):
    """A vocabulary of general text only: the domain terms are several pieces each."""
    return AutoTokenizer.from_pretrained(general_bert)


def _seqs(tok, texts: list[str]) -> Packed:
    """One unpacked sequence of length T per text, with words.py flags."""
    return _tokenize(tok, texts, T, packing=False)


def _tokenize(tok, texts: list[str], seq_len: int, packing: bool) -> Packed:
    """The texts as the trainer tokenises a corpus (tokenize_corpus), whole-word flags included."""
    with tempfile.TemporaryDirectory(prefix="dapt-definitions-") as d:
        path = os.path.join(d, "docs.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps({"text": t}) + "\n")
        return tokenize_corpus([path], tok, seq_len, packing=packing, segmenter=Segmenter("en"))


def _segment(tok, e: Entry) -> list[int]:
    return [tok.sep_token_id] + tok(f"{e.term}: {e.definition}", add_special_tokens=False)["input_ids"]


def _tail(seqs: Packed, r: int) -> list[int]:
    end = int(seqs.lengths[r]) if seqs.lengths is not None else seqs.seq_len
    return seqs.ids[r, int(seqs.text_lengths[r]):end].tolist()


def test_only_selected_terms_get_definitions_and_all_gets_every_defined_one(tok):
    text = "the patient developed arrhythmia and cardiomyopathy after heart failure ."
    seqs = _seqs(tok, [text])
    assert len(tok.tokenize("cardiomyopathy")) > 1  # a real multi-piece match
    sel, got = Definitions(ENTRIES, "selected", tok, T, 100, 40).inject(seqs)
    assert _tail(sel, 0) == _segment(tok, ENTRIES[0]) + _segment(tok, ENTRIES[2]) + [tok.sep_token_id]
    assert (got.with_definitions, got.definitions, got.term_counts.tolist()) == (1, 2, [1, 1])
    every, got = Definitions(ENTRIES, "all", tok, T, 120, 40).inject(seqs)
    # in the order of first occurrence in the text
    assert _tail(every, 0) == (_segment(tok, ENTRIES[1]) + _segment(tok, ENTRIES[0]) + _segment(tok, ENTRIES[2])
                               + [tok.sep_token_id])
    assert got.definitions == 3
    # the text before the definitions is untouched (unpacked: it grew into the padding); its closing [SEP] opens
    # the first definition: one [SEP] between text and definitions
    n = int(seqs.lengths[0])
    assert seqs.ids[0, n - 1] == tok.sep_token_id and every.text_lengths[0] == n - 1
    assert every.ids[0, :n].tolist() == seqs.ids[0, :n].tolist() and every.ids[0, n] != tok.sep_token_id
    assert every.lengths[0] == n - 1 + len(_tail(every, 0))


def test_no_term_no_definition_and_whole_words_only(tok):
    seqs = _seqs(tok, ["the river crossed the city .", "a cardiomyopathyx is not the term ."])
    out, got = Definitions(ENTRIES, "all", tok, T, 40, 32).inject(seqs)
    assert got.with_definitions == 0 and got.definitions == 0
    assert np.array_equal(out.ids, seqs.ids) and np.array_equal(out.lengths, seqs.lengths)
    assert out.text_lengths.tolist() == seqs.lengths.tolist()  # nothing appended: the whole text, [SEP] too


def test_budget_length_and_cut_tail_on_packed_sequences(tok):
    docs = [f"the ward saw cardiomyopathy and heart failure and arrhythmia {'again ' * (i % 7)}." for i in range(40)]
    seqs = _tokenize(tok, docs, 48, packing=True)
    budget = 20
    defs = Definitions(ENTRIES, "all", tok, 48, budget, 12)
    out, got = defs.inject(seqs)
    assert out.ids.shape == seqs.ids.shape and out.lengths is None  # packed sequences stay full
    assert got.with_definitions > 0
    for r in range(len(seqs)):
        keep = int(out.text_lengths[r])
        assert 48 - keep <= budget
        assert out.ids[r, :keep].tolist() == seqs.ids[r, :keep].tolist()  # the text's head, the tail cut
        if keep < 48:  # each appended term occurs whole in the kept text
            tail = out.ids[r, keep:].tolist()
            assert tail[0] == tail[-1] == tok.sep_token_id
            for k, e in enumerate(ENTRIES):
                seg = _segment(tok, e)[1:13]
                if _contains(tail, seg):
                    assert _contains(out.ids[r, :keep].tolist(), tok(e.term, add_special_tokens=False)["input_ids"])
    assert got.tokens == int((48 - out.text_lengths).sum())


def _contains(seq: list[int], part: list[int]) -> bool:
    return any(seq[i:i + len(part)] == part for i in range(len(seq) - len(part) + 1))


def test_masking_stays_in_the_text_and_a_step_is_a_pure_function_of_its_position(tok):
    docs = [f"the valve showed cardiomyopathy then heart failure {'slowly ' * (i % 5)}." for i in range(60)]
    stream = Stream(_tokenize(tok, docs, 96, packing=True), seed=3)
    defs = Definitions(ENTRIES, "selected", tok, 96, 40, 32)
    masker = Masker("whole-word", 0.3, tok.mask_token_id, len(tok), tok.all_special_ids)

    def step(position):
        seqs, got = defs.inject(stream.batch(position, 8))
        return seqs, got, label_step(seqs, masker, rng_for(7, position))

    a_seqs, a_got, a = step(16)
    b_seqs, b_got, b = step(16)
    assert np.array_equal(a.inputs, b.inputs) and np.array_equal(a.labels, b.labels)
    assert a_got.term_counts.tolist() == b_got.term_counts.tolist() and a_got.with_definitions > 0
    cols = np.arange(96)[None, :]
    in_defs = cols >= a_seqs.text_lengths[:, None]
    assert (a.labels[in_defs] == IGNORE).all() and (a.inputs[in_defs] == a_seqs.ids[in_defs]).all()
    assert (a.labels[~in_defs] != IGNORE).any()


def test_dictionary_file_clm_and_budget_errors(tmp_path, tok, tiny_gpt2):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"term": "x", "definition": "y"}\n{"term": "", "definition": "y"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.jsonl:2"):
        read_dictionary(str(bad))
    (tmp_path / "garbled.jsonl").write_text("term: definition\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"garbled.jsonl:1: not a JSON record"):
        read_dictionary(str(tmp_path / "garbled.jsonl"))
    good = tmp_path / "dictionary.jsonl"
    good.write_text('{"term": "cardiomyopathy", "definition": "heart muscle disease", "selected": true}\n',
                    encoding="utf-8")
    spec = config.DictionarySpec(str(good))
    with pytest.raises(ConfigError, match="masked-LM inputs only"):
        load_definitions(spec, AutoTokenizer.from_pretrained(tiny_gpt2), 32, "clm")
    with pytest.raises(ConfigError, match="maxDefinitionTokens: 32 leaves no room"):
        Definitions(ENTRIES, "all", tok, 32, 32, 8)
    with pytest.raises(ConfigError, match="dictionary.path: file not found"):
        config.DictionarySpec(str(tmp_path / "nope.jsonl"))


@pytest.fixture(scope="module")
def dictionary_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("dict") / "dictionary.jsonl"
    rows = [{"term": "cardiomyopathy", "definition": "a disease of the heart muscle", "selected": True},
            {"term": "fibrillation", "definition": "fast irregular twitching of the heart", "selected": False},
            {"term": "heart failure", "definition": "the heart cannot pump enough blood", "selected": True}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def _pretrain(tmp, model, corpus, dictionary, stop=None, resume=None, **data):
    raw = pretrain_config(tmp, model, [corpus["domain"]], data={"seqLen": 64, **data},
                          masking={"strategy": "token", "rate": 0.15, "language": "en"},
                          train={"maxSteps": 6, "batchSize": 4, "checkpointEvery": 3, "logEvery": 1},
                          dictionary=dictionary)
    events = Collect()
    metrics = pretrain(config.load(write_config(tmp / "cfg.json", raw)), resume=resume, events=events, stop=stop)
    return metrics, {e["step"]: e["loss"] for e in events.items if e["event"] == "progress"}


def test_pretrain_with_a_dictionary_reports_and_resumes_exactly(tmp_path, general_bert, corpus, dictionary_file):
    spec = {"path": dictionary_file, "inject": "selected", "maxDefinitionTokens": 24, "perTermTokens": 10}
    (tmp_path / "full").mkdir()
    full, full_losses = _pretrain(tmp_path / "full", general_bert, corpus, spec)
    assert full["dictionary.terms"] == 2 and full["dictionary.sequences"] == 24
    assert 0 < full["dictionary.sequencesWithDefinitions"] <= 24
    assert full["dictionary.sequenceShare"] == full["dictionary.sequencesWithDefinitions"] / 24
    assert full["dictionary.termsUsed"] == 2 and full["dictionary.definitionsAppended"] >= full[
        "dictionary.sequencesWithDefinitions"]
    # inject all: the unselected term is used too
    (tmp_path / "all").mkdir()
    every, _ = _pretrain(tmp_path / "all", general_bert, corpus, {**spec, "inject": "all"})
    assert every["dictionary.termsUsed"] == 3 and every["dictionary.definitionsAppended"] > full[
        "dictionary.definitionsAppended"]
    # stopped after the checkpoint at step 3, resumed: the same losses and the same totals
    (tmp_path / "part").mkdir()
    _pretrain(tmp_path / "part", general_bert, corpus, spec, stop=lambda step: step >= 3)
    resumed, resumed_losses = _pretrain(tmp_path / "part", general_bert, corpus, spec,
                                        resume=str(tmp_path / "part" / "ckpt"))
    assert sorted(resumed_losses) == [4, 5, 6]
    for step, loss in resumed_losses.items():
        assert loss == pytest.approx(full_losses[step], rel=1e-5)
    assert {k: v for k, v in resumed.items() if k.startswith("dictionary.")} == {
        k: v for k, v in full.items() if k.startswith("dictionary.")}
    # token shards: the same sequences, so the same losses
    (tmp_path / "shards").mkdir()
    _, shard_losses = _pretrain(tmp_path / "shards", general_bert, corpus, spec,
                                tokenCache={"dir": str(tmp_path / "tokens")})
    assert shard_losses == pytest.approx(full_losses, rel=1e-5)


# ------------------------------------------------------------------------------------------ fine-tuning: finetune `dictionary`

_ORGANS = ["heart", "lung", "kidney", "liver"]
_SYLLABLES = ["zor", "vex", "plim", "tar", "quon", "dry", "fel", "mab", "suk", "rin", "gob", "tesh"]


@pytest.fixture(scope="module")
def organ_task(tmp_path_factory):
    """Made-up disease names whose definitions name the organ; the label is that organ. Train and test use disjoint
    names and the same sentences, so the text alone says nothing about a test example's label: only its
    definition does."""
    import random

    rnd = random.Random(0)
    names = sorted({"".join(rnd.sample(_SYLLABLES, 3)) for _ in range(400)})[:160]
    organ = {n: _ORGANS[i % 4] for i, n in enumerate(names)}
    frames = ["the patient was treated for {} last week .", "a case of {} was seen in the clinic .",
              "doctors talked about {} at the meeting .", "her father had {} for years ."]

    def rows(pool, k):
        return [{"text": rnd.choice(frames).format(n), "label": organ[n]} for n in rnd.choices(pool, k=k)]

    d = tmp_path_factory.mktemp("organs")
    files = {}
    for name, data in (("train", rows(names[:80], 240)), ("test", rows(names[80:], 120))):
        files[name] = str(d / f"{name}.jsonl")
        (d / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
    files["dictionary"] = str(d / "dictionary.jsonl")
    (d / "dictionary.jsonl").write_text("".join(
        json.dumps({"term": n, "definition": f"a disease of the {organ[n]}", "selected": i % 2 == 0}) + "\n"
        for i, n in enumerate(names)), encoding="utf-8")
    corpus = [{"text": r["text"] + f" a disease of the {r['label']}"} for r in rows(names, 400)]
    files["corpus"] = str(d / "corpus.jsonl")
    (d / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus), encoding="utf-8")
    return files


def test_text_definitions_whole_words_order_and_selection():
    defs = TextDefinitions(ENTRIES, "all")
    text = "Heart  failure after cardiomyopathy, then cardiomyopathyx and arrhythmia."
    assert [e.term for e in defs.found(text)] == ["heart failure", "cardiomyopathy", "arrhythmia"]
    assert TextDefinitions(ENTRIES, "selected").append([text, "nothing here"], "[SEP]") == [
        text + " [SEP] heart failure: the heart cannot pump enough blood [SEP] cardiomyopathy: a disease of the "
               "heart muscle", "nothing here"]


def test_finetune_with_definitions_classifies_unseen_terms(tmp_path_factory, organ_task):
    """The label is in the definition only: with definitions appended, test terms never seen in training are
    classified by their definition; without, the model is near chance (measured: 1.0 vs 0.35 macro-F1, chance 0.25;
    with only the selected half of the terms defined, 0.33: the model then learns the training names instead)."""
    model = _tiny(tmp_path_factory, "organ-bert", "bert", [organ_task["corpus"]], 300)
    scores = {}
    for name, over in (("plain", {}), ("all", {"dictionary": {"path": organ_task["dictionary"], "inject": "all"}}),
                       ("selected", {"dictionary": {"path": organ_task["dictionary"], "inject": "selected"}})):
        tmp = tmp_path_factory.mktemp(f"ft-{name}")
        raw = finetune_config(tmp, {"base": model}, organ_task["train"], organ_task["test"], epochs=8, **over)
        scores[name] = run(config.parse(raw), Collect())
    f1 = {name: m["models"]["base"]["mean"]["macroF1"] for name, m in scores.items()}
    assert f1["all"] >= 0.9 and f1["plain"] <= 0.5, f1
    assert "dictionary" not in scores["plain"]
    every, half = scores["all"]["dictionary"], scores["selected"]["dictionary"]
    assert every["examplesWithDefinitions"] == {"train": 1.0, "test": 1.0} and every["terms"] == 160
    assert half["terms"] == 80 and 0.3 < half["examplesWithDefinitions"]["test"] < 0.7


def test_finetune_dictionary_is_refused_for_ner_and_prompt(tmp_path, general_bert, organ_task):
    dictionary = {"path": organ_task["dictionary"], "inject": "all"}
    for over, message in (({"task": "ner"}, "ner tags label words"),
                          ({"prompt": {"template": "{text} it is [MASK] .", "verbalizer": {"a": "x", "b": "y"}}},
                           "a prompt template holds the text")):
        raw = finetune_config(tmp_path, {"base": general_bert}, organ_task["train"], organ_task["test"],
                              dictionary=dictionary, **over)
        with pytest.raises(ConfigError, match=f"dictionary: .*{message}"):
            config.parse(raw)
