"""Shared fixtures: generated corpora, tiny models built with trainer.tiny, config and subprocess helpers.

Everything is built once per session in a temporary directory; no download happens (HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
# Tiny models: one thread is fastest, and far faster than two spinning OpenMP threads on a busy machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[2]

from trainer.events import check_event  # noqa: E402
from trainer.synthetic import DOMAIN_PHRASES_EN, DOMAIN_TERMS_EN, DOMAIN_TERMS_ZH, documents, write_jsonl  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _quiet():
    import torch
    import transformers

    torch.set_num_threads(1)
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, str]:
    """Paths of generated shards and lexicons."""
    d = tmp_path_factory.mktemp("corpus")
    files = {
        "domain": write_jsonl(str(d / "domain.jsonl"), documents("domain", 400, seed=0)),
        "domain_eval": write_jsonl(str(d / "domain_eval.jsonl"), documents("domain", 60, seed=1)),
        "general": write_jsonl(str(d / "general.jsonl.gz"), documents("general", 400, seed=0)),
        "general_eval": write_jsonl(str(d / "general_eval.jsonl.gz"), documents("general", 60, seed=1)),
        "zh": write_jsonl(str(d / "zh.jsonl"), documents("zh", 200, seed=0)),
    }
    lexicon = DOMAIN_TERMS_EN + DOMAIN_PHRASES_EN + DOMAIN_TERMS_ZH
    (d / "lexicon.txt").write_text("\n".join(lexicon) + "\n", encoding="utf-8")
    (d / "lexicon.jsonl").write_text("".join(json.dumps({"word": w, "score": 1.0}, ensure_ascii=False) + "\n"
                                             for w in lexicon), encoding="utf-8")
    files["lexicon"] = str(d / "lexicon.txt")
    files["lexicon_jsonl"] = str(d / "lexicon.jsonl")
    return files


def _tiny(tmp_path_factory, name: str, arch: str, shards: list[str], vocab_size: int) -> str:
    from trainer.tiny import TinySpec, make_tiny_model

    return make_tiny_model(TinySpec(arch=arch, vocab_size=vocab_size), shards, str(tmp_path_factory.mktemp(name)))


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory, corpus) -> str:
    """BERT (2 layers × 64) whose WordPiece vocabulary was trained on all registers."""
    return _tiny(tmp_path_factory, "tiny-bert", "bert", [corpus["general"], corpus["domain"], corpus["zh"]], 1000)


@pytest.fixture(scope="session")
def general_bert(tmp_path_factory, corpus) -> str:
    """BERT whose small vocabulary saw general text only: domain terms split into several pieces."""
    return _tiny(tmp_path_factory, "general-bert", "bert", [corpus["general"]], 120)


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory, corpus) -> str:
    return _tiny(tmp_path_factory, "tiny-gpt2", "gpt2", [corpus["general"], corpus["domain"]], 400)


def pretrain_config(tmp: Path, model: str, shards: list[str], objective: str = "mlm", **sections) -> dict:
    """A pretrain config (JSON shape, camelCase) with small defaults; `sections` override top-level keys and merge
    into `data`/`train`."""
    cfg = {
        "command": "pretrain",
        "model": {"path": model, "objective": objective},
        "data": {"train": shards, "seqLen": 32},
        "train": {"maxSteps": 20, "batchSize": 8, "lr": 2e-3, "warmupSteps": 2, "logEvery": 1,
                  "checkpointEvery": 1000, "seed": 7},
        "outputDir": str(tmp / "out"),
        "checkpointDir": str(tmp / "ckpt"),
        "device": "cpu",
    }
    for key, value in sections.items():
        if key in ("data", "train") and isinstance(value, dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    return cfg


def write_config(path: Path, cfg: dict) -> str:
    path.write_text(json.dumps(cfg), encoding="utf-8")
    return str(path)


def trainer_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "trainer", *args]


def trainer_env(log_level: str = "WARNING") -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["DAPT_LOG_LEVEL"] = log_level
    return env


def run_trainer(*args: str, timeout: float = 120, log_level: str = "WARNING") -> tuple[int, list[dict], str]:
    """Run `python -m trainer ARGS` to completion: (exit code, events from stdout, stderr)."""
    p = subprocess.run(trainer_cmd(*args), env=trainer_env(log_level), cwd=REPO, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, parse_events(p.stdout), p.stderr


def parse_events(stdout: str) -> list[dict]:
    """The trainer's stdout as events, each checked against the schema the activity parses them with."""
    events = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    for e in events:
        check_event(e)
    return events


def losses(events: list[dict]) -> dict[int, float]:
    return {e["step"]: e["loss"] for e in events if e["event"] == "progress"}


# ------------------------------------------------------------------------------ labeled tasks (finetune, pseudolabel)

@pytest.fixture(scope="session")
def task_data(tmp_path_factory) -> dict[str, str]:
    """Generated labeled sets (trainer.synthetic): 4 and 20 classes, UDA pairs, NER rows; and a corpus of them all."""
    from trainer.synthetic import classification_examples, ner_examples, uda_pairs, write_rows

    d = tmp_path_factory.mktemp("task")
    rows = {
        "cls4_train": classification_examples(200, 4, seed=0),
        "cls4_test": classification_examples(80, 4, seed=1),
        "cls4_noisy": classification_examples(200, 4, seed=2, flip=0.1),
        "cls4_unlabeled": classification_examples(200, 4, seed=3),
        "cls20_train": classification_examples(120, 20, seed=0),
        "cls20_test": classification_examples(40, 20, seed=1),
        "cls20_pairs": uda_pairs(120, 20, seed=0),
        "ner_train": ner_examples(120, seed=0),
        "ner_test": ner_examples(40, seed=1),
    }
    files = {name: write_rows(str(d / f"{name}.jsonl"), r) for name, r in rows.items()}
    corpus = [{"text": r["text"]} for name, r_ in rows.items() if name.startswith("cls") for r in r_]
    corpus += [{"text": r["augmented"]} for r in rows["cls20_pairs"]]
    corpus += [{"text": " ".join(r["tokens"])} for r in rows["ner_train"]]
    files["corpus"] = write_rows(str(d / "corpus.jsonl"), corpus)
    return files


@pytest.fixture(scope="session")
def task_bert(tmp_path_factory, task_data) -> str:
    """A tiny BERT whose vocabulary holds the task words whole (class keywords, entities)."""
    return _tiny(tmp_path_factory, "task-bert", "bert", [task_data["corpus"]], 600)
