"""The adaptation ablation (issue #13 §2): which part of the pipeline earns the gain on a few-label task?

    python bench/adapt/protocol.py --bundle DIR --out OUT [--size cpu|cpu-hour|general-bert|gpu|smoke] [--seeds 1,2,3,4,5]

Arms, every one fine-tuned on the same labeled rows with the same seeds, step budget (maxSteps × batch size of
labeled rows), hyper-parameters and untouched test set:
  base            the base checkpoint
  general-cpt     base + continued MLM pretraining on general text for the same steps as the adapted model
                  (the DAPT paper's control: is it the domain, or just more pretraining?)
  adapted         base + continued MLM pretraining on domain text + the task's unlabeled text (DAPT + TAPT)
  adapted+pl      adapted, its fine-tuning data joined by pseudo-labels (a teacher fine-tuned from adapted labels
                  the unlabeled task text; kept at confidence >= threshold, balanced per class)
  adapted+pl+uda  adapted+pl with UDA consistency training on augmented pairs of the unlabeled text
Each arm: mean ± std over seeds, and its paired difference to base with a 95% interval (trainer/paired_bootstrap.py:
bootstrap over seeds × test items). The pseudo-label arms see extra labeled-looking rows and UDA adds unlabeled
batches per step: same number of optimizer steps, more compute — as in the methods' papers.

The bundle is everything the run reads, so it runs on a machine without network (bench/adapt/bundle.ts makes it):
  base/                      Hugging Face MLM checkpoint (config, weights, tokenizer)
  domain/*.jsonl general/*.jsonl    {text} documents
  task/train.jsonl dev.jsonl test.jsonl unlabeled.jsonl    {text, label} ({text} for unlabeled)
  pairs.jsonl                {text, augmented}: the augment stage's pairs of the unlabeled text (for UDA)
  bundle.json                what is in it (source, counts)

Writes OUT/results.json (arms, per-seed scores and per-item predictions, intervals, sizes, timings) and
OUT/table.md, and prints the table. Runs with the trainer's venv (npm run bench:adapt) or any Python with torch and
transformers (the GPU machine): the repository root must be importable (it adds it to sys.path).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, replace

# the load reports of every task model (its new classifier head) would drown the protocol's own lines
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

import importlib.util  # noqa: E402

from trainer import config as trainer_config  # noqa: E402
from trainer.events import Events, setup_logging  # noqa: E402
from trainer.paired_bootstrap import (DEFAULT_CONFIDENCE, Outcomes, compare_to, paired_difference,  # noqa: E402
                                     summarize_arm)

ARMS = ["base", "general-cpt", "adapted", "adapted+pl", "adapted+pl+uda"]


@dataclass(frozen=True)
class Size:
    """One protocol size: pretraining and fine-tuning budgets."""

    pretrain_steps: int
    pretrain_batch: int
    seq_len: int
    finetune_steps: int
    finetune_batch: int
    finetune_lr: float
    max_length: int
    pseudo_threshold: float
    teacher_steps: int
    resamples: int
    # continued pretraining's peak learning rate: a checkpoint pretrained at scale wants a small one, the small
    # general-bert base (infra/general-base.sh, pretrained at 1e-3) a larger one
    pretrain_lr: float = 1e-4


SIZES = {
    # mechanics only: a tiny model, a handful of steps
    "smoke": Size(pretrain_steps=4, pretrain_batch=8, seq_len=64, finetune_steps=6, finetune_batch=8, finetune_lr=1e-3,
                  max_length=48, pseudo_threshold=0.0, teacher_steps=6, resamples=200),
    # the 2-core machine shared with other work: a short DAPT (40 × 8 × 64 ≈ 20k domain tokens) and 2 epochs of
    # fine-tuning on the 160 labeled rows — what fits there in well under an hour, far below what the method needs
    "cpu": Size(pretrain_steps=40, pretrain_batch=8, seq_len=64, finetune_steps=20, finetune_batch=16,
                finetune_lr=2e-4, max_length=48, pseudo_threshold=0.5, teacher_steps=20, resamples=2000),
    # about an hour of the 2-core machine alone: 15x the CPU size's domain tokens (300 x 16 x 64 per pretrained
    # arm) and 6 epochs of fine-tuning, to see whether the CPU size's null result is only its size
    "cpu-hour": Size(pretrain_steps=300, pretrain_batch=16, seq_len=64, finetune_steps=60, finetune_batch=16,
                     finetune_lr=1e-4, max_length=64, pseudo_threshold=0.5, teacher_steps=60, resamples=2000),
    # the small general-bert base (infra/general-base.sh: 4 layers, hidden 256, pretrained here on general text):
    # ~10x faster per token than the MiniLM base, so the 2-core machine affords more pretraining in less time;
    # learning rates for a small model trained from scratch. 2,400 pretraining steps (4.9M tokens, 22–24 min an arm
    # here): at 600 no arm's gain showed (docs/benchmarks.md "A base that never saw the domain"); the whole ablation
    # took 97 min here (two parts, the second partly beside the test suite); `--pretrain-steps 600`
    # keeps the earlier budget
    "general-bert": Size(pretrain_steps=2400, pretrain_batch=32, seq_len=64, finetune_steps=150, finetune_batch=16,
                         finetune_lr=1e-3, max_length=64, pseudo_threshold=0.5, teacher_steps=150, resamples=2000,
                         pretrain_lr=5e-4),
    # one GPU, under 8 minutes: ~10x the domain tokens of the CPU size, longer fine-tuning
    "gpu": Size(pretrain_steps=1500, pretrain_batch=64, seq_len=128, finetune_steps=300, finetune_batch=16,
                finetune_lr=5e-5, max_length=128, pseudo_threshold=0.7, teacher_steps=300, resamples=4000),
}


def files(d: str) -> list[str]:
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith((".jsonl", ".jsonl.gz")))


# The configs are built here, not typed by people; where jsonschema is not installed (a bare GPU image) they go
# unvalidated — the CPU runs validate the same configs.
STRICT = importlib.util.find_spec("jsonschema") is not None


def parse(raw: dict):
    return trainer_config.parse(raw, strict=STRICT)


class Quiet(Events):
    """Events to memory only: the protocol prints its own progress."""

    def __init__(self):
        super().__init__(echo=False)


def merged(into: dict, extra: dict) -> dict:
    """`into` with `extra` laid over it, objects merged key by key (a technique's {"train": {"adapter": …}})."""
    out = dict(into)
    for k, v in extra.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def pretrain(name: str, base: str, train: list[str], out: str, size: Size, device: str,
             technique: dict | None = None) -> str:
    from trainer.train import pretrain as run

    # a finished arm of the same size is reused: a run stopped later (a crash, a machine taken away) restarts at
    # fine-tuning instead of pretraining again
    marker = os.path.join(out, "pretrained.json")
    done = {"name": name, "base": base, "train": train, "size": asdict(size), **({"technique": technique} if technique else {})}
    if os.path.exists(marker):
        with open(marker, encoding="utf-8") as f:
            if json.load(f) == done:
                print(f"  pretrained {name}: reused ({out})", flush=True)
                return out

    raw = {"command": "pretrain", "model": {"path": base, "objective": "mlm"},
           "data": {"train": train, "seqLen": size.seq_len},
           "masking": {"strategy": "whole-word", "rate": 0.15, "language": "en"},
           "train": {"maxSteps": size.pretrain_steps, "batchSize": size.pretrain_batch, "lr": size.pretrain_lr,
                     "warmupSteps": max(1, size.pretrain_steps // 10), "seed": 7, "logEvery": 50,
                     "checkpointEvery": 10 ** 6, "headWarmupSteps": "auto"},
           "outputDir": out, "checkpointDir": out + ".ckpt", "device": device}
    run(parse(merged(raw, technique or {})), events=Quiet())
    with open(marker, "w", encoding="utf-8") as f:
        json.dump(done, f)
    print(f"  pretrained {name}: {size.pretrain_steps} steps × {size.pretrain_batch} × {size.seq_len} tokens",
          flush=True)
    return out


def pretrain_metrics(out: str) -> dict:
    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as f:
        return json.load(f)["metrics"]


def pseudolabel(teacher: str, task: str, out: str, size: Size, device: str) -> str:
    from trainer.pseudolabel import run

    raw = {"command": "pseudolabel", "teacher": {"path": teacher},
           "data": {"train": [os.path.join(task, "train.jsonl")], "unlabeled": [os.path.join(task, "unlabeled.jsonl")],
                    "maxLength": size.max_length},
           "threshold": size.pseudo_threshold, "perClassCap": "balanced", "seed": 1, "maxSteps": size.teacher_steps,
           "epochs": 1000, "batchSize": size.finetune_batch, "lr": size.finetune_lr, "outputDir": out,
           "device": device}
    stats = run(parse(raw), events=Quiet())
    path = os.path.join(out, "pseudo.jsonl")
    with open(path, encoding="utf-8") as f:
        kept = sum(1 for _ in f)
    print(f"  pseudo-labels: {kept} rows kept (threshold {size.pseudo_threshold}, balanced)", flush=True)
    return path if kept else ""


# fine-tuning options every arm gets alike (--options: e.g. {"adversarial": {"method": "fgm"}}, {"rdrop": {}},
# {"prompt": {...}}): the toolbox's techniques through the same protocol
OPTIONS: dict = {}


def finetune(models: dict[str, str], train: list[str], task: str, out: str, size: Size, seeds: list[int], device: str,
             pairs: str | None = None, technique: dict | None = None) -> dict:
    from trainer.finetune import run

    data = {"train": train, "test": [os.path.join(task, "test.jsonl")], "maxLength": size.max_length}
    if os.path.exists(os.path.join(task, "dev.jsonl")):
        data["dev"] = [os.path.join(task, "dev.jsonl")]
    raw = {"command": "finetune", "task": "classification", "models": {k: {"path": v} for k, v in models.items()},
           "data": {**data, **({"unlabeled": [pairs]} if pairs else {})}, "seeds": seeds,
           "epochs": 1000, "maxSteps": size.finetune_steps, "batchSize": size.finetune_batch, "lr": size.finetune_lr,
           "outputDir": out, "device": device, "interval": {"resamples": 100}, **OPTIONS, **(technique or {})}
    if pairs:
        raw["uda"] = {"confidenceThreshold": 0.5, "unlabeledBatchRatio": 2}
    return run(parse(raw), events=Quiet())


def table(results: dict) -> str:
    rows = ["| arm | macro-F1 mean ± std | Δ macro-F1 vs base [95% CI] | accuracy mean ± std "
            "| Δ accuracy [95% CI] |",
            "|---|---|---|---|---|"]
    for arm in results["arms"]:
        s = results["summary"][arm]
        cells = [arm]
        for m in ("macroF1", "accuracy"):
            cells.append(f"{s[m]['mean']:.4f} ± {s[m]['std']:.4f}")
            d = results["comparison"].get(arm, {}).get(m)
            cells.append("—" if d is None else f"{d['difference']:+.4f} [{d['lower']:+.4f}, {d['upper']:+.4f}]"
                         + (" *" if d["lower"] > 0 or d["upper"] < 0 else ""))
        rows.append("| " + " | ".join(cells) + " |")
    out = "\n".join(rows) + "\n\n* the interval excludes 0\n"
    versus = results.get("versusReference") or {}
    if versus:
        out += "\n| technique arm | Δ macro-F1 vs its reference arm [95% CI] |\n|---|---|\n" + "".join(
            f"| {arm} (vs {results['techniques'][arm]['on']}) | {d['difference']:+.4f} [{d['lower']:+.4f}, "
            f"{d['upper']:+.4f}]{' *' if d['lower'] > 0 or d['upper'] < 0 else ''} |\n" for arm, d in versus.items())
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", required=True, help="folder with base/, domain/, general/, task/, pairs.jsonl")
    p.add_argument("--out", required=True, help="folder for results.json and table.md")
    p.add_argument("--size", choices=sorted(SIZES), default="cpu")
    p.add_argument("--seeds", default="1,2,3,4,5")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--arms", default=",".join(ARMS), help="a subset of the arms, in this order")
    p.add_argument("--options", default="{}", help="JSON of finetune options every arm gets (adversarial, rdrop, "
                   "contrastive, prompt, ema, ...)")
    p.add_argument("--techniques", default="{}", help="JSON {name: finetune options}: for each, one more arm "
                   "<ref>+<name> per --technique-on arm, fine-tuned from that arm's model with those options and "
                   "compared to base like every arm (a technique against its own reference: compare the rows); "
                   "\"{bundle}\" in a string is the bundle's folder")
    p.add_argument("--pretrain-techniques", default="{}", help="JSON {name: pretrain config laid over the adapted "
                   "arm's}: for each, one more arm adapted+<name>, pretrained like adapted with it, fine-tuned like every "
                   "arm and compared with adapted as well; \"{bundle}\" in a string is the bundle's folder")
    p.add_argument("--pretrain-steps", type=int, help="every pretrained arm's steps instead of the size's (the "
                   "arms keep equal budgets; the warm-up stays a tenth)")
    p.add_argument("--technique-on", default="base", help="the arms each technique is applied to (base, adapted)")
    a = p.parse_args()
    try:
        OPTIONS.update(json.loads(a.options))
        techniques = json.loads(a.techniques.replace("{bundle}", os.path.abspath(a.bundle)))
        pretrain_techniques = json.loads(a.pretrain_techniques.replace("{bundle}", os.path.abspath(a.bundle)))
    except json.JSONDecodeError as e:
        p.error(f"--options/--techniques/--pretrain-techniques: not JSON ({e})")
    if not isinstance(pretrain_techniques, dict) or not all(isinstance(v, dict) for v in pretrain_techniques.values()):
        p.error('--pretrain-techniques: expected a JSON object {"name": {pretrain config}, ...}')
    if not isinstance(techniques, dict) or not all(isinstance(v, dict) for v in techniques.values()):
        p.error('--techniques: expected a JSON object {"name": {finetune options}, ...}')
    setup_logging(os.environ.get("DAPT_TRAINER_LOG", "WARNING"))
    started = time.perf_counter()
    size = SIZES[a.size]
    if a.pretrain_steps is not None:
        if a.pretrain_steps < 1:
            p.error(f"--pretrain-steps: expected a positive number of steps, got {a.pretrain_steps}")
        size = replace(size, pretrain_steps=a.pretrain_steps)
    seeds = [int(s) for s in a.seeds.split(",")]
    arms = [x for x in ARMS if x in a.arms.split(",")]
    if "base" not in arms:
        p.error("--arms must include base (the reference of every interval)")
    refs = a.technique_on.split(",")
    for ref in refs:
        if ref not in ("base", "adapted") or ref not in arms:
            p.error(f"--technique-on {ref}: expected base or adapted, and among --arms")
    technique_arms = {f"{ref}+{name}": (ref, opts) for name, opts in techniques.items() for ref in refs}
    pretrained_arms = {f"adapted+{name}": cfg for name, cfg in pretrain_techniques.items()}
    if pretrained_arms and "adapted" not in arms:
        p.error("--pretrain-techniques: needs the adapted arm (their reference) in --arms")
    arms += list(technique_arms) + list(pretrained_arms)
    b = a.bundle
    for need in ("base", "domain", "general", "task", "pairs.jsonl"):
        if not os.path.exists(os.path.join(b, need)):
            p.error(f"--bundle {b}: no {need} (make one with npm run bench:adapt -- --bundle-only DIR)")
    os.makedirs(a.out, exist_ok=True)
    work = os.path.join(a.out, "work")
    task = os.path.join(b, "task")
    import torch

    device = a.device if a.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    print(f"bench:adapt {a.size}: arms {', '.join(arms)}; seeds {seeds}; device {device}; torch {torch.__version__}",
          flush=True)
    timings: dict[str, float] = {}

    def timed(key: str, f, *args, **kw):
        t = time.perf_counter()
        out = f(*args, **kw)
        timings[key] = round(time.perf_counter() - t, 1)
        return out

    base = os.path.join(b, "base")
    models = {"base": base}
    if "general-cpt" in arms:
        general = files(os.path.join(b, "general"))
        models["general-cpt"] = timed("pretrain general-cpt", pretrain, "general-cpt", base, general,
                                      os.path.join(work, "general-cpt"), size, device)
    adapted = None
    if any(x.startswith("adapted") for x in arms):
        domain = files(os.path.join(b, "domain")) + [os.path.join(task, "unlabeled.jsonl")]
        adapted = timed("pretrain adapted", pretrain, "adapted", base, domain, os.path.join(work, "adapted"), size,
                        device)
        if "adapted" in arms:
            models["adapted"] = adapted
        for arm, cfg in pretrained_arms.items():
            models[arm] = timed(f"pretrain {arm}", pretrain, arm, base, domain, os.path.join(work, arm), size, device,
                                technique=cfg)
    train = [os.path.join(task, "train.jsonl")]
    runs: dict[str, dict] = {}
    m = timed("finetune base/control/adapted", finetune, models, train, task, os.path.join(work, "ft"), size, seeds,
              device)
    gold = m["testGold"]
    runs.update(m["models"])

    def fine_tune_alone(arm: str, model: str, rows: list[str], pairs: str | None = None,
                        technique: dict | None = None) -> None:
        """An arm fine-tuned in its own run (other rows, UDA pairs or options), on the base arm's test set."""
        got = timed(f"finetune {arm}", finetune, {arm: model}, rows, task, os.path.join(work, arm), size, seeds, device,
                    pairs, technique)
        if got["testGold"] != gold:
            raise SystemExit(f"{arm}: a different test set than the base arm's")
        runs[arm] = got["models"][arm]

    pseudo = ""
    if any("+pl" in x for x in arms):
        pseudo = timed("pseudolabel", pseudolabel, adapted, task, os.path.join(work, "pl"), size, device)
    for arm, pairs in (("adapted+pl", None), ("adapted+pl+uda", os.path.join(b, "pairs.jsonl"))):
        if arm not in arms:
            continue
        fine_tune_alone(arm, adapted, train + ([pseudo] if pseudo else []), pairs=pairs)
    for arm, (ref, opts) in technique_arms.items():
        fine_tune_alone(arm, models[ref], train, technique=opts)

    outcomes = {arm: Outcomes.from_runs(runs[arm]["seeds"], gold) for arm in arms}
    comparison = compare_to("base", outcomes, resamples=size.resamples)
    # a technique on adapted is judged against adapted too: what the technique itself adds
    references = {**{arm: ref for arm, (ref, _) in technique_arms.items() if ref != "base"},
                  **{arm: "adapted" for arm in pretrained_arms}}
    versus_reference = {arm: paired_difference(outcomes[arm], outcomes[ref], "macroF1", DEFAULT_CONFIDENCE,
                                               size.resamples, 0) for arm, ref in references.items()}
    summary = {arm: {meas: summarize_arm(outcomes[arm], meas) for meas in ("macroF1", "accuracy")} for arm in arms}
    with open(os.path.join(b, "bundle.json"), encoding="utf-8") as f:
        bundle = json.load(f)
    results = {"schema": "bench-adapt/v1", "size": a.size, "options": OPTIONS,
               "techniques": {**{arm: {"on": ref, "options": opts} for arm, (ref, opts) in technique_arms.items()},
                              **{arm: {"on": "adapted", "pretrain": cfg} for arm, cfg in pretrained_arms.items()}},
               "sizes": asdict(size), "seeds": seeds, "arms": arms,
               "device": device, "machine": f"{platform.machine()} {os.cpu_count()} CPUs"
               + (f", {torch.cuda.get_device_name(0)}" if device == "cuda" else ""),
               "bundle": bundle, "summary": summary, "comparison": comparison, "versusReference": versus_reference, "timings": timings,
               "seconds": round(time.perf_counter() - started, 1),
               # what each pretrained arm's trainer measured (losses; a technique's own counts: definitions appended,
               # n-grams, InfoNCE)
               "pretrainMetrics": {arm: pretrain_metrics(models[arm]) for arm in arms if arm in models and arm != "base"},
               "runs": {arm: runs[arm]["seeds"] for arm in arms}, "testGold": gold}
    with open(os.path.join(a.out, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f)
    md = table(results)
    with open(os.path.join(a.out, "table.md"), "w", encoding="utf-8") as f:
        f.write(md)
    print(md, flush=True)
    print(f"bench:adapt {a.size}: done in {results['seconds']} s; {a.out}/results.json", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
