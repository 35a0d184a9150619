"""Does dictionary-enhanced pretraining (pretrain `dictionary`, trainer/definitions.py) put a term's definition into
the term's own representation? A synthetic check on the CPU, recorded in docs/benchmarks.md.

    PYTHONPATH=. python bench/adapt/dictionary_synthetic.py [--steps 3000] [--out /tmp/dict-synthetic]

160 made-up disease names ("zorvexplim"); each name's organ (heart, lung, kidney, liver) is said only by its
definition ("a disease of the heart"). Pretraining text: neutral sentences naming four of them each. A tiny BERT is
pretrained three ways for the same steps: plain MLM; with the definitions appended (unmasked, the trainer's
behaviour); with the definitions appended and masked too (the masker given no text/definition boundary: a patch of
this script, not a trainer option), then every model is fine-tuned WITHOUT definitions on sentences naming 80 of
the names (label: the organ) and tested on sentences naming the other 80: only knowledge of a name's definition
carried in the weights can beat chance (macro-F1 0.25).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

from trainer import config, definitions
from trainer.events import Collect
from trainer.finetune import run as finetune
from trainer.tiny import TinySpec, make_tiny_model
from trainer.train import pretrain

ORGANS = ["heart", "lung", "kidney", "liver"]
SYLLABLES = ["zor", "vex", "plim", "tar", "quon", "dry", "fel", "mab", "suk", "rin", "gob", "tesh"]
FRAMES = ["the patient was treated for {} last week .", "a case of {} was seen in the clinic .",
          "doctors talked about {} at the meeting .", "her father had {} for years ."]


def write(path: str, rows: list[dict]) -> str:
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--out", default="/tmp/dict-synthetic")
    args = ap.parse_args()
    d = os.path.join(args.out, "data")
    os.makedirs(d, exist_ok=True)
    rnd = random.Random(0)
    names = sorted({"".join(rnd.sample(SYLLABLES, 3)) for _ in range(400)})[:160]
    organ = {n: ORGANS[i % 4] for i, n in enumerate(names)}

    def rows(pool: list[str], k: int) -> list[dict]:
        return [{"text": rnd.choice(FRAMES).format(n), "label": organ[n]} for n in rnd.choices(pool, k=k)]

    train = write(f"{d}/train.jsonl", rows(names[:80], 240))
    test = write(f"{d}/test.jsonl", rows(names[80:], 240))
    glossary = write(f"{d}/dictionary.jsonl", [{"term": n, "definition": f"a disease of the {organ[n]}",
                                                "selected": True} for n in names])
    corpus_rows = [{"text": " ".join(rnd.choice(FRAMES).format(n) for n in rnd.sample(names, 4))} for _ in range(3000)]
    corpus = write(f"{d}/corpus.jsonl", corpus_rows)
    vocab = write(f"{d}/vocab.jsonl", [{"text": f"a disease of the {o}"} for o in ORGANS] * 50 + corpus_rows[:1000])
    base = make_tiny_model(TinySpec(arch="bert", vocab_size=400, layers=2, hidden=64), [vocab], f"{d}/base")

    inject = definitions.Definitions.inject

    def inject_masked(self, seqs):  # the "masked" arm: the masker sees no boundary, definitions are masked too
        out, got = inject(self, seqs)
        out.text_lengths = None
        return out, got

    models = {"base": base}
    for arm in ("plain", "unmasked", "masked"):
        out = os.path.join(args.out, arm)
        raw = {"command": "pretrain", "model": {"path": base, "objective": "mlm"},
               "data": {"train": [corpus], "seqLen": 64}, "masking": {"strategy": "whole-word", "language": "en"},
               "train": {"maxSteps": args.steps, "batchSize": 16, "lr": 1e-3, "warmupSteps": 20, "logEvery": 50,
                         "checkpointEvery": 10**6, "seed": 1},
               "outputDir": f"{out}/model", "checkpointDir": f"{out}/ckpt", "device": "cpu"}
        if arm != "plain":
            raw["dictionary"] = {"path": glossary, "inject": "all", "maxDefinitionTokens": 24}
        definitions.Definitions.inject = inject_masked if arm == "masked" else inject
        t = time.time()
        m = pretrain(config.parse(raw), events=Collect())
        definitions.Definitions.inject = inject
        print(f"{arm}: {time.time() - t:.0f} s, final training loss {m['train.finalLoss']:.3f}, sequences with "
              f"definitions {m.get('dictionary.sequenceShare', 0):.0%}", flush=True)
        models[arm] = f"{out}/model"

    raw = {"command": "finetune", "task": "classification", "models": {k: {"path": v} for k, v in models.items()},
           "data": {"train": [train], "test": [test], "maxLength": 32}, "seeds": [1, 2, 3], "epochs": 8,
           "batchSize": 16, "lr": 1e-3, "logEvery": 50, "outputDir": f"{args.out}/finetune", "device": "cpu"}
    m = finetune(config.parse(raw), Collect())
    for name, r in m["models"].items():
        diff = m.get("comparison", {}).get(name, {}).get("macroF1")
        vs = f"  − base {diff['difference']:+.3f} [{diff['lower']:+.3f}, {diff['upper']:+.3f}]" if diff else ""
        print(f"{name}: macro-F1 {r['mean']['macroF1']:.3f} ± {r['std']['macroF1']:.3f}{vs}")


if __name__ == "__main__":
    main()
