"""Multi-task fine-tuning: several labeled tasks, one shared encoder, one head per task (finetune with `tasks`).

Each model (base, adapted) is fine-tuned once per seed on all the tasks together. A step trains one task: the
task is drawn with probability p_t ∝ n_t^(1/T) over the tasks' train rows n_t (strategy size: T = 1, the
proportions of the data; temperature T > 1 flattens them so a small task is not drowned by a large one, as in
multilingual/multi-task mixing), then the next batch of that task's epoch permutation is taken; the encoder and
that task's head get its cross-entropy. The step budget is that of the tasks' rows pooled (epochs over Σ n_t,
capped by maxSteps), so a multi-task run costs what one run over all the rows would. With dev sets (any task's),
the weights tested are those of the epoch (ceil(Σ n_t / batch) steps) with the best mean dev score over those tasks.

Output (metrics.json): {task: "multi-task", tasks: {name: <the single-task metrics of that task: task, labels,
models {name: {seeds, mean, std}}, testGold?, comparison (paired bootstrap vs base), delta>}, models: {name:
{seeds: [{seed, taskAverage, accuracy, macroF1}], mean, std}} (the macro average over tasks, per seed),
delta: {taskAverage, accuracy, macroF1}, sampling: {strategy, temperature, proportions, trainRows},
budget}. taskAverage is the mean over tasks of each task's primary measure (macroF1, ner: entityF1).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F

from .config import FinetuneConfig
from .data import rng_for
from .events import Events, log
from .model import IGNORE, load_tokenizer, lr_at
from .ngram_adapter import attach_saved
from .paired_bootstrap import versus_base
from .scores import summarize
from .task_train import Budget, Progress, Window
from .taskdata import Encoded


def task_proportions(sizes: dict[str, int], strategy: str, temperature: float) -> dict[str, float]:
    """p_t ∝ n_t^(1/T) (size: T = 1): the chance that a step trains task t."""
    t = 1.0 if strategy == "size" else temperature
    weights = {name: float(n) ** (1.0 / t) for name, n in sizes.items()}
    total = sum(weights.values())
    return {name: w / total for name, w in weights.items()}


def task_schedule(names: list[str], proportions: dict[str, float], steps: int, seed: int) -> np.ndarray:
    """The task (index into names) each step trains: independent draws by the proportions, seeded."""
    return rng_for(seed, 0x3A5D).choice(len(names), size=steps, p=[proportions[t] for t in names])


class MultiTaskModel(torch.nn.Module):
    """One encoder, one linear head per task: on the first token's state (classification) or on every token (ner)."""

    def __init__(self, encoder, heads: dict[str, tuple[str, int]], dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.kinds = {name: kind for name, (kind, _) in heads.items()}
        self.heads = torch.nn.ModuleDict({name: torch.nn.Linear(hidden, k) for name, (_, k) in heads.items()})
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, task: str, input_ids, attention_mask=None):
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        x = states[:, 0] if self.kinds[task] == "classification" else states
        return SimpleNamespace(logits=self.heads[task](self.dropout(x)))

    def for_task(self, task: str) -> TaskView:
        return TaskView(self, task)


class TaskView(torch.nn.Module):
    """One task's model as the single-task scorers (predict_probs, predict_words) call it."""

    def __init__(self, model: MultiTaskModel, task: str):
        super().__init__()
        self.model, self.task = model, task
        self.config = SimpleNamespace(num_labels=model.heads[task].out_features)

    def forward(self, input_ids, attention_mask=None):
        return self.model(self.task, input_ids, attention_mask)


def load_multitask_model(path: str, heads: dict[str, tuple[str, int]], seed: int) -> MultiTaskModel:
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(path, local_files_only=True)
    torch.manual_seed(seed)  # the heads' initialisation
    encoder = AutoModel.from_pretrained(path, config=config, local_files_only=True, dtype=torch.float32)
    attach_saved(encoder, path)
    dropout = next((getattr(config, a) for a in ("hidden_dropout_prob", "dropout") if hasattr(config, a)), 0.1)
    return MultiTaskModel(encoder, heads, float(dropout))


class _Batches:
    """A task's batches: its rows in a fresh permutation per pass (seeded by seed, task and pass)."""

    def __init__(self, n: int, batch_size: int, seed: int, key: int):
        self.n, self.batch_size, self.seed, self.key = n, batch_size, seed, key
        self.passes, self.order, self.pos = 0, np.zeros(0, dtype=np.int64), 0

    def next(self) -> np.ndarray:
        if self.pos >= len(self.order):
            self.order = rng_for(self.seed, 0x3A5C, self.key, self.passes).permutation(self.n)
            self.passes, self.pos = self.passes + 1, 0
        idx = self.order[self.pos: self.pos + self.batch_size]
        self.pos += len(idx)
        return idx


def fit_multitask(model: MultiTaskModel, train: dict[str, Encoded], proportions: dict[str, float], budget: Budget,
                  seed: int, device: torch.device, progress: Progress, *, name: str = "model", autocast=None,
                  dev_score: Callable[[MultiTaskModel], float] | None = None) -> dict:
    """Train in place (module doc); returns {steps, taskSteps: {task: steps it was drawn}, bestEpoch?}. With
    dev_score, the model is scored after every epoch's worth of steps (ceil(Σ n_t / batch)) and the best epoch's
    weights are the ones returned."""
    from .task_train import _batch

    torch.manual_seed(seed)
    autocast = autocast or torch.autocast(device.type, enabled=False)
    model.to(device).train()
    names = list(train)
    total = budget.steps(sum(len(e) for e in train.values()))
    warmup = round(budget.warmup_ratio * total)
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": budget.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=budget.lr)
    draws = task_schedule(names, proportions, total, seed)
    batches = {t: _Batches(len(train[t]), budget.batch_size, seed, i) for i, t in enumerate(names)}
    counts = dict.fromkeys(names, 0)
    window = Window()
    per_epoch = max(1, math.ceil(sum(len(e) for e in train.values()) / budget.batch_size))
    best: tuple[float, dict | None, int] = (-math.inf, None, 0)
    for step in range(total):
        task = names[draws[step]]
        counts[task] += 1
        lr = lr_at(step, budget.lr, warmup, total, "linear")
        for group in optimizer.param_groups:
            group["lr"] = lr
        ids, mask, labels = _batch(train[task], batches[task].next(), device)
        with autocast:
            logits = model(task, ids, mask).logits.float()
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        window.add(int(mask.sum()), loss=loss.item())
        progress.step += 1
        if (step + 1) % progress.log_every == 0 or step + 1 == total:
            elapsed = max(time.perf_counter() - window.start, 1e-9)
            progress.events.progress(progress.step, progress.total, window.means()["loss"], lr, window.tokens / elapsed,
                                     model=name, seed=seed)
            window = Window()
        if dev_score is not None and ((step + 1) % per_epoch == 0 or step + 1 == total):
            model.eval()
            score = dev_score(model)
            model.train()
            if score > best[0]:
                best = (score, {k: v.detach().clone() for k, v in model.state_dict().items()}, math.ceil((step + 1) / per_epoch))
    model.eval()
    stats: dict = {"steps": total, "taskSteps": counts}
    if best[1] is not None:
        model.load_state_dict(best[1])
        stats["bestEpoch"] = best[2]
    return stats


def _primary(kind: str) -> str:
    return "entityF1" if kind == "ner" else "macroF1"


def run(cfg: FinetuneConfig, events: Events) -> dict:
    """The multi-task finetune command (module doc)."""
    import json
    import os

    from .evaluate import autocast_for, pick_device
    from .finetune import TaskSets

    device = pick_device(cfg.device)
    autocast = autocast_for(device, "auto")
    # each task read and scored as the single-task command does, through a config of that task alone
    sets = {name: TaskSets(dataclasses.replace(cfg, tasks=None, task=t.task, data=t.data, labels=t.labels))
            for name, t in cfg.tasks.items()}
    sizes = {name: len(s.ids["train"]) for name, s in sets.items()}
    sampling = cfg.task_sampling
    proportions = task_proportions(sizes, sampling.strategy, sampling.temperature)
    budget = Budget(cfg.epochs, cfg.batch_size, cfg.lr, cfg.weight_decay, cfg.warmup_ratio, cfg.max_steps)
    steps = budget.steps(sum(sizes.values()))
    progress = Progress(events, len(cfg.seeds) * len(cfg.models) * steps, cfg.log_every)
    log.info("finetune: %d tasks %s, %d models × %d seeds, task proportions %s", len(sets), sizes, len(cfg.models),
             len(cfg.seeds), {k: round(v, 3) for k, v in proportions.items()})
    heads = {name: (s.cfg.task, len(s.labels)) for name, s in sets.items()}

    per_task: dict[str, dict[str, list[dict]]] = {name: {} for name in sets}
    task_steps: dict[str, dict[str, list[int]]] = {}
    for model_name, spec in cfg.models.items():
        tokenizer = load_tokenizer(spec.path)
        train = {name: s.encode(tokenizer, "train") for name, s in sets.items()}
        test = {name: s.encode(tokenizer, "test") for name, s in sets.items()}
        dev = {name: s.encode(tokenizer, "dev") for name, s in sets.items() if "dev" in s.rows}

        def dev_score(model: MultiTaskModel, dev=dev) -> float:
            """The mean over the tasks with a dev set of their primary measure (the best epoch is tested)."""
            return float(np.mean([sets[t].scores(model.for_task(t), d, "dev", device, autocast, cfg.batch_size)
                                  [_primary(sets[t].cfg.task)] for t, d in dev.items()]))

        for seed in cfg.seeds:
            model = load_multitask_model(spec.path, heads, seed)
            stats = fit_multitask(model, train, proportions, budget, seed, device, progress, name=model_name,
                                  autocast=autocast, dev_score=dev_score if dev else None)
            for name, n in stats["taskSteps"].items():
                task_steps.setdefault(model_name, {}).setdefault(name, []).append(n)
            for name, s in sets.items():
                scores = s.scores(model.for_task(name), test[name], "test", device, autocast, cfg.batch_size)
                best = {"bestEpoch": stats["bestEpoch"]} if "bestEpoch" in stats else {}
                per_task[name].setdefault(model_name, []).append({"seed": seed, **scores, **best})
            del model

    tasks_out: dict[str, dict] = {}
    flat: dict[str, float] = {}
    for name, s in sets.items():
        results = {}
        for model_name, runs in per_task[name].items():
            mean, std = summarize(runs)
            results[model_name] = {"seeds": runs, "mean": mean, "std": std}
        out: dict = {"task": s.cfg.task, "labels": s.labels, "models": results,
                     **({} if s.ner else {"testGold": s.ids["test"].tolist()}), "trainRows": sizes[name]}
        out.update(versus_base(results, out.get("testGold"), cfg.interval))
        for model_name, r in results.items():
            key = f"{name}.{model_name}.{_primary(s.cfg.task)}"
            flat[key] = r["mean"][_primary(s.cfg.task)]
            events.metric(key, flat[key])
        tasks_out[name] = out

    # the macro average over tasks, seed by seed: each task counts once whatever its size
    models_out: dict[str, dict] = {}
    for model_name in cfg.models:
        runs = []
        for i, seed in enumerate(cfg.seeds):
            rows = [(per_task[name][model_name][i], sets[name].cfg.task) for name in sets]
            runs.append({"seed": seed,
                         "taskAverage": float(np.mean([r[_primary(kind)] for r, kind in rows])),
                         "accuracy": float(np.mean([r["accuracy"] for r, _ in rows])),
                         "macroF1": float(np.mean([r["macroF1"] for r, _ in rows]))})
        mean, std = summarize(runs)
        models_out[model_name] = {"seeds": runs, "mean": mean, "std": std}
        for measure, value in mean.items():
            flat[f"{model_name}.{measure}"] = value
            events.metric(f"{model_name}.{measure}", value)
    metrics: dict = {
        "task": "multi-task", "tasks": tasks_out, "models": models_out,
        "sampling": {"strategy": sampling.strategy, "temperature": sampling.temperature if sampling.strategy ==
                     "temperature" else 1.0, "proportions": proportions, "trainRows": sizes,
                     "taskSteps": {m: {t: float(np.mean(v)) for t, v in s.items()} for m, s in task_steps.items()}},
        "budget": {"trainRows": int(sum(sizes.values())), "stepsPerRun": steps, "epochs": cfg.epochs,
                   "batchSize": cfg.batch_size, "seeds": list(cfg.seeds)},
    }
    if "base" in models_out and "adapted" in models_out:
        b, a = models_out["base"]["mean"], models_out["adapted"]["mean"]
        metrics["delta"] = {m: a[m] - b[m] for m in b}
        for measure, value in metrics["delta"].items():
            flat[f"delta.{measure}"] = value
            events.metric(f"delta.{measure}", value)
    os.makedirs(cfg.output_dir, exist_ok=True)
    with open(os.path.join(cfg.output_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
    events.done(cfg.output_dir, flat)
    return metrics
