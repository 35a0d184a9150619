"""Config loading: schema validation with field paths, defaults, file checks, exit code 2 through the CLI."""

import json

import pytest

from trainer import config
from trainer.errors import ConfigError

from .conftest import pretrain_config, run_trainer, write_config


def test_defaults_are_applied_and_typed(tmp_path, tiny_bert, corpus):
    cfg = config.parse(pretrain_config(tmp_path, tiny_bert, [corpus["domain"]]))
    assert isinstance(cfg, config.PretrainConfig)
    assert cfg.masking.strategy == "whole-word" and cfg.masking.rate == 0.15  # schema defaults
    assert cfg.data.seq_len == 32 and cfg.data.packing is True and cfg.data.text_field == "text"
    assert cfg.train.max_steps == 20 and cfg.train.schedule == "linear" and cfg.train.precision == "auto"
    assert cfg.raw["train"]["gradAccum"] == 1  # the saved config carries every default


def test_every_optional_field_parses(tmp_path, tiny_bert, corpus):
    raw = pretrain_config(
        tmp_path, tiny_bert, [corpus["domain"]],
        data={"eval": [corpus["domain_eval"]], "generalEval": [corpus["general_eval"]],
              "replay": {"paths": [corpus["general"]], "ratio": 0.2}, "packing": False, "evalMaxSequences": 4},
        masking={"strategy": "lexicon", "rate": 0.2, "lexicon": corpus["lexicon"], "language": "zh"},
        vocab={"lexicon": corpus["lexicon_jsonl"], "maxNewTokens": 5, "minSubtokens": 3, "padToMultipleOf": 8},
        train={"ema": {"decay": 0.99}, "swa": {"startFraction": 0.25}, "evalEvery": 5, "compile": False,
               "adapter": {"type": "lora", "r": 4, "targetModules": ["query"]}, "oomBatchHalving": True},
    )
    cfg = config.parse(raw)
    assert cfg.data.replay.ratio == 0.2 and cfg.data.general_eval == [corpus["general_eval"]]
    assert cfg.vocab.pad_to_multiple_of == 8 and cfg.vocab.min_subtokens == 3
    assert cfg.train.swa.start_fraction == 0.25 and cfg.train.ema.decay == 0.99
    assert cfg.train.adapter.r == 4 and cfg.train.adapter.alpha == 16 and cfg.train.adapter.target_modules == ["query"]


@pytest.mark.parametrize("mutate, expected", [
    (lambda c: c["train"].update(learningRate=1e-4), "train.learningRate: unknown field"),
    (lambda c: c.update(extra=1), "extra: unknown field"),
    (lambda c: c["model"].update(objective="seq2seq"), "model.objective:"),
    (lambda c: c["train"].update(maxSteps=0), "train.maxSteps:"),
    (lambda c: c["train"].pop("maxSteps"), "train.maxSteps: required field missing"),
    (lambda c: c["data"].update(train=[]), "data.train:"),
    (lambda c: c.update(masking={"rate": 1.5}), "masking.rate:"),
    (lambda c: c.update(command="finetunes"), "command:"),
])
def test_schema_violations_name_the_field(tmp_path, tiny_bert, corpus, mutate, expected):
    raw = pretrain_config(tmp_path, tiny_bert, [corpus["domain"]])
    mutate(raw)
    with pytest.raises(ConfigError) as e:
        config.parse(raw)
    assert expected in str(e.value)


def test_all_violations_reported_at_once(tmp_path, tiny_bert, corpus):
    raw = pretrain_config(tmp_path, tiny_bert, [corpus["domain"]], train={"lr": -1, "bogus": True})
    with pytest.raises(ConfigError) as e:
        config.parse(raw)
    assert "train.lr:" in str(e.value) and "train.bogus: unknown field" in str(e.value)


def test_missing_paths_are_named(tmp_path, tiny_bert, corpus):
    with pytest.raises(ConfigError, match=r"model\.path: model directory not found: /nonexistent/model"):
        config.parse(pretrain_config(tmp_path, "/nonexistent/model", [corpus["domain"]]))
    with pytest.raises(ConfigError, match=r"data\.train\[1\]: file not found: .*missing\.jsonl"):
        config.parse(pretrain_config(tmp_path, tiny_bert, [corpus["domain"], str(tmp_path / "missing.jsonl")]))
    with pytest.raises(ConfigError, match=r"masking\.lexicon: required"):
        config.parse(pretrain_config(tmp_path, tiny_bert, [corpus["domain"]], masking={"strategy": "lexicon"}))


def test_evaluate_config(tmp_path, tiny_bert, corpus):
    raw = {"command": "evaluate", "models": {"base": {"path": tiny_bert, "objective": "mlm"}},
           "data": {"domain": [corpus["domain_eval"]]}, "outputDir": str(tmp_path)}
    cfg = config.parse(raw)
    assert cfg.masking.strategy == "token" and cfg.seed == 1234 and cfg.data.max_sequences == 256
    raw["models"]["adapted"] = {"path": str(tmp_path / "nope"), "objective": "mlm"}
    with pytest.raises(ConfigError, match=r"models\.adapted\.path: model directory not found"):
        config.parse(raw)


def test_cli_exits_2_naming_the_field(tmp_path, tiny_bert, corpus):
    raw = pretrain_config(tmp_path, tiny_bert, [corpus["domain"]], train={"maxSteps": 5, "warmup": 3})
    rc, events, err = run_trainer("pretrain", "--config", write_config(tmp_path / "bad.json", raw))
    assert rc == 2 and events == []
    assert "train.warmup: unknown field" in err
    raw = pretrain_config(tmp_path, str(tmp_path / "no-model"), [corpus["domain"]])
    rc, _, err = run_trainer("pretrain", "--config", write_config(tmp_path / "bad2.json", raw))
    assert rc == 2 and str(tmp_path / "no-model") in err
    rc, _, err = run_trainer("evaluate", "--config", write_config(tmp_path / "bad3.json", raw))
    assert rc == 2 and "CLI command is 'evaluate'" in err
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    rc, _, err = run_trainer("pretrain", "--config", str(tmp_path / "broken.json"))
    assert rc == 2 and "not valid JSON" in err


def test_schema_file_is_the_generated_one():
    schema = json.loads(config.SCHEMA_PATH.read_text(encoding="utf-8"))
    commands = sorted(b["properties"]["command"]["const"] for b in schema["oneOf"])
    assert {"evaluate", "pretrain", "finetune", "pseudolabel"} <= set(commands)


def test_resume_config_differences_are_listed():
    from trainer.train import _changed_fields

    old = {"train": {"maxSteps": 10, "lr": 1e-3}, "outputDir": "a", "data": {"train": ["x"]}}
    new = {"train": {"maxSteps": 20, "lr": 1e-3}, "outputDir": "b", "data": {"train": ["x"], "seqLen": 64}}
    assert _changed_fields(old, new) == ["data.seqLen", "train.maxSteps"]
