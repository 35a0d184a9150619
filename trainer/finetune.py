"""Downstream fine-tuning: does the adapted model beat the base model on the domain task?

    python -m trainer finetune --config finetune.json

Every named model (e.g. base and adapted) is fine-tuned once per seed with the same data, batches, step budget and
hyper-parameters, evaluated on the test set, and summarised as mean ± std over the seeds; `delta` is adapted − base
of the means. Options (see task_train.py, noise.py): class-imbalance weights or resampling, UDA consistency
training on unlabeled pairs, label-noise detection by confident learning (once, before the models are trained,
with one model's out-of-fold predictions; the flagged rows are dropped or down-weighted for every model alike),
EMA weights, best-epoch selection on a dev set, adversarial training on the embeddings, R-Drop and a contrastive
auxiliary loss (robust.py), prompt-based classification by the MLM head (prompt.py).
A model may name rows only it trains on (`models.<name>.train`, e.g. an ablation's pseudo-labels) and opt out
of UDA (`models.<name>.uda: false`): an ablation's arms are models that differ in these.
With `tasks` instead of task/data, several tasks train on one shared encoder with a head each (multitask.py).

Output: outputDir/metrics.json = {task, labels, models: {name: {seeds: [{seed, accuracy, macroF1, perClassF1,
(ner) entityF1, precision, recall, (dev) bestEpoch, per test item: predictions (label ids) | (ner) entityCounts
([tp, predicted, gold] entities per sentence)}], mean, std}}, testGold (classification: the test rows' label ids),
comparison (with a model "base": {model: {measure: {difference, lower, upper, confidence, ...}}}, the paired
bootstrap of paired_bootstrap.py), budget: {trainRows, stepsPerRun, epochs,
batchSize, seeds}, delta?, noise?: {flagged, count, action, folds, confidentJoint}, uda?: {pairs, <uda config>,
models: {name: {maskFraction, consistencyLoss, supervisedLoss}}}, adversarial?: {<config>, models: {name:
{adversarialLoss, perturbationNorm, supervisedLoss}}}, rdrop?: {<config>, models: {name: {rdropKl,
supervisedLoss}}}, contrastive?: {<config>, models: {name: {contrastiveLoss}}}, labelReview?: {model, clusters,
purity, flagged, suspects: [{row, label, text, cluster, majority, share, size}], mixed: [...]}}; outputDir/model
with saveModel.
Events: progress (step/total over every fit, with model and seed; UDA adds supervisedLoss, consistencyLoss,
maskFraction), metric `<model>.<measure>` (means) and `delta.<measure>`, done.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

from .config import FinetuneConfig
from .definitions import TextDefinitions, read_dictionary
from .errors import ConfigError
from .evaluate import autocast_for, pick_device
from .events import Events, log
from .model import load_tokenizer
from .ngram_adapter import save_model
from .noise import confident_learning, out_of_fold, stratified_folds
from .label_review import embed, kmeans, review
from .paired_bootstrap import versus_base
from .prompt import encode_prompted, label_token_ids, load_prompt_model
from .scores import classification_scores, entity_counts, entity_types, ner_scores, summarize
from .task_train import (AveragedClassifier, Budget, Progress, Uda, balanced_subsets, fit, inverse_frequency,
                         load_task_model, predict_probs, predict_words)
from .taskdata import (Encoded, bio_tags, encode_texts, encode_words, label_ids, pad_id, read_classification,
                       read_ner, read_pairs)


class TaskSets:
    """The config's data read once (strings); encoded per tokenizer on demand."""

    def __init__(self, cfg: FinetuneConfig):
        d = cfg.data
        self.cfg = cfg
        self.ner = cfg.task == "ner"
        if self.ner:
            self.rows = {name: read_ner(paths, d.tokens_field, d.tags_field)
                         for name, paths in (("train", d.train), ("dev", d.dev), ("test", d.test)) if paths}
            self.labels = bio_tags(cfg.labels) if cfg.labels else bio_tags(
                sorted({t for tags in self.rows["train"].tags for t in tags}))
            self.types = entity_types(self.labels)
            self.ids = {name: [label_ids(t, self.labels, f"data.{name}") for t in rows.tags]
                        for name, rows in self.rows.items()}
        else:
            self.rows = {name: read_classification(paths, d.text_field, d.label_field)
                         for name, paths in (("train", d.train), ("dev", d.dev), ("test", d.test)) if paths}
            self.labels = list(cfg.labels) if cfg.labels else sorted(set(self.rows["train"].labels))
            self.ids = {name: label_ids(rows.labels, self.labels, f"data.{name}") for name, rows in self.rows.items()}
        if len(self.labels) < 2:
            raise ConfigError(f"labels: at least two classes are needed, the train set has {self.labels}")
        self.pairs = read_pairs(d.unlabeled, d.text_field) if cfg.uda is not None else None
        self.definitions = None
        if cfg.dictionary is not None:
            self.definitions = TextDefinitions(read_dictionary(cfg.dictionary.path), cfg.dictionary.inject)
        if self.pairs is not None and not self.pairs[0]:
            raise ConfigError("data.unlabeled: no pairs {text, augmented} in the files")
        for name in ("train", "test"):
            if not self._count(name):
                raise ConfigError(f"data.{name}: no rows in the files")
        # rows only one model trains on (an ablation arm's pseudo-labels), read once per distinct file list
        self.extra: dict[tuple[str, ...], tuple[list[str], np.ndarray]] = {}
        for name, spec in cfg.models.items():
            if not spec.train or spec.train in self.extra:
                continue
            if self.ner:
                raise ConfigError(f"models.{name}.train: extra rows per model are for task 'classification', not ner")
            rows = read_classification(spec.train, d.text_field, d.label_field)
            self.extra[spec.train] = (rows.texts, label_ids(rows.labels, self.labels, f"models.{name}.train"))

    def extra_rows(self, spec) -> int:
        return len(self.extra[spec.train][0]) if spec.train else 0

    def _count(self, name: str) -> int:
        rows = self.rows[name]
        return len(rows.words) if self.ner else len(rows.texts)

    def encode(self, tokenizer, name: str) -> Encoded:
        if self.ner:
            return encode_words(tokenizer, self.rows[name].words, self.ids[name], self.cfg.data.max_length)
        return self.encode_texts(tokenizer, self.rows[name].texts, self.ids[name])

    def encode_texts(self, tokenizer, texts: list[str], ids: np.ndarray | None = None) -> Encoded:
        """Classification inputs: the texts themselves, or put into the prompt template (prompt-based mode)."""
        if self.cfg.prompt is not None:
            return encode_prompted(tokenizer, texts, self.cfg.prompt.template, self.cfg.data.max_length, ids)
        if self.definitions is not None:
            texts = self.definitions.append(texts, tokenizer.sep_token)
        return encode_texts(tokenizer, texts, self.cfg.data.max_length, ids)

    def model(self, path: str, tokenizer, seed: int):
        """A fresh task model: a classifier head on the encoder, or (prompt) the MLM scoring the label words."""
        if self.cfg.prompt is None:
            return load_task_model(path, self.cfg.task, self.labels, seed)
        ids = label_token_ids(tokenizer, self.cfg.prompt.verbalizer, self.labels)
        return load_prompt_model(path, tokenizer, ids, seed)

    def train_for(self, tokenizer, spec, keep: np.ndarray) -> Encoded:
        """The shared train rows (less those noise handling dropped), then the rows only this model trains on."""
        train = self.encode(tokenizer, "train").take(keep)
        if not spec.train:
            return train
        texts, ids = self.extra[spec.train]
        return Encoded.concat([train, self.encode_texts(tokenizer, texts, ids)], pad_id(tokenizer))

    def scores(self, model, data: Encoded, name: str, device, autocast, batch_size: int) -> dict:
        if self.ner:
            pred = predict_words(model, data, batch_size, device, autocast, outside=self.labels.index("O"))
            as_tags = [[self.labels[i] for i in p] for p in pred]
            gold = self.rows[name].tags
            return {**ner_scores(gold, as_tags, self.types), "entityCounts": entity_counts(gold, as_tags)}
        predictions = predict_probs(model, data, batch_size, device, autocast).argmax(1).tolist()
        return {**classification_scores(self.ids[name].tolist(), predictions, self.labels), "predictions": predictions}


def _key(scores: dict, ner: bool) -> float:
    return scores["entityF1"] if ner else scores["macroF1"]


def run(cfg: FinetuneConfig, events: Events | None = None) -> dict:
    events = events or Events()
    if cfg.tasks is not None:  # several tasks, one shared encoder (multitask.py)
        from .multitask import run as run_multitask
        return run_multitask(cfg, events)
    device = pick_device(cfg.device)
    autocast = autocast_for(device, "auto")
    sets = TaskSets(cfg)
    budget = Budget(cfg.epochs, cfg.batch_size, cfg.lr, cfg.weight_decay, cfg.warmup_ratio, cfg.max_steps)
    n_train = len(sets.ids["train"])
    k = len(sets.labels)
    progress = Progress(events, len(cfg.seeds) * sum(budget.steps(n_train + sets.extra_rows(m))
                                                     for m in cfg.models.values()), cfg.log_every)
    log.info("finetune: %d models × %d seeds, %d train rows, %d labels", len(cfg.models), len(cfg.seeds), n_train, k)

    row_weights = np.ones(n_train)
    keep = np.arange(n_train)
    noise_out = None
    if cfg.noise is not None:
        flagged, joint = _detect_noise(cfg, sets, device, autocast, progress)
        noise_out = {"flagged": flagged.tolist(), "count": len(flagged), "action": cfg.noise.action,
                     "folds": cfg.noise.folds, "confidentJoint": joint.tolist()}
        events.metric("noise.flagged", len(flagged))
        if cfg.noise.action == "drop":
            keep = np.setdiff1d(keep, flagged)
            progress.add(len(cfg.seeds) * sum(budget.steps(len(keep) + sets.extra_rows(m))
                                              - budget.steps(n_train + sets.extra_rows(m)) for m in cfg.models.values()))
        else:
            row_weights[flagged] = cfg.noise.weight

    review = _review_labels(cfg, sets, device) if cfg.label_review is not None else None
    if review is not None:
        events.metric("labelReview.flagged", review["flagged"])

    results: dict[str, dict] = {}
    uda_stats: dict[str, dict] = {}
    robust_stats: dict[str, dict] = {}
    for name, spec in cfg.models.items():
        tokenizer = load_tokenizer(spec.path)
        train = sets.train_for(tokenizer, spec, keep)
        test = sets.encode(tokenizer, "test")
        dev = sets.encode(tokenizer, "dev") if "dev" in sets.rows else None
        uda = None
        if sets.pairs is not None and spec.uda:
            u = cfg.uda
            uda = Uda(sets.encode_texts(tokenizer, sets.pairs[0]), sets.encode_texts(tokenizer, sets.pairs[1]), u.weight,
                      u.confidence_threshold, u.temperature, u.tsa, u.unlabeled_batch_ratio)
        class_weights = None
        if cfg.imbalance == "weights":
            class_weights = inverse_frequency(train.labels.reshape(-1), k)
        runs = []
        weights = np.concatenate([row_weights[keep], np.ones(len(train) - len(keep))])
        for seed in cfg.seeds:
            dev_score = None
            if dev is not None:
                def dev_score(m, dev=dev):
                    return _key(sets.scores(m, dev, "dev", device, autocast, cfg.batch_size), sets.ner)
            # one model, or (imbalance: ensemble) one per class-balanced subset, averaged
            subsets = (balanced_subsets(train.labels, cfg.ensemble_members, seed) if cfg.imbalance == "ensemble"
                       else [np.arange(len(train))])
            progress.add(sum(budget.steps(len(rows)) for rows in subsets) - budget.steps(len(train)))
            members, member_stats = [], []
            for m, rows in enumerate(subsets):
                member = sets.model(spec.path, tokenizer, seed + 100_003 * m)
                member_stats.append(fit(
                    member, train.take(rows), budget, seed + 100_003 * m, device, progress, name=name, n_classes=k,
                    class_weights=class_weights, row_weights=weights[rows], resample=cfg.imbalance == "resample",
                    uda=uda, ema_decay=cfg.ema.decay if cfg.ema else None, dev_score=dev_score, autocast=autocast,
                    adversarial=cfg.adversarial, rdrop=cfg.rdrop, contrastive=cfg.contrastive))
                members.append(member)
            stats = member_stats[0]  # an ensemble reports its first member's training (its best epoch, its losses)
            model = members[0] if len(members) == 1 else AveragedClassifier(members)
            scores = {"seed": seed, **sets.scores(model, test, "test", device, autocast, cfg.batch_size)}
            if "bestEpoch" in stats:
                scores["bestEpoch"] = stats["bestEpoch"]
            runs.append(scores)
            if uda is not None:
                uda_stats.setdefault(name, {"maskFraction": [], "consistencyLoss": [], "supervisedLoss": []})
                for key in uda_stats[name]:
                    uda_stats[name][key].append(stats[key])
            for key in ("adversarialLoss", "perturbationNorm", "rdropKl", "contrastiveLoss", "supervisedLoss"):
                if key in stats:
                    robust_stats.setdefault(name, {}).setdefault(key, []).append(stats[key])
            log.info("%s seed %d: %s", name, seed,
                     {k_: round(v, 4) for k_, v in scores.items() if isinstance(v, float)})
            save = cfg.save_model
            if save is not None and save.model == name and (save.seed or cfg.seeds[0]) == seed:
                out = os.path.join(cfg.output_dir, "model")
                save_model(model, out)
                tokenizer.save_pretrained(out)
            del model
        mean, std = summarize(runs)
        results[name] = {"seeds": runs, "mean": mean, "std": std}

    metrics: dict = {"task": cfg.task, "labels": sets.labels, "models": results,
                     # per-item outcomes (each seed's predictions or entityCounts) pair with these test rows
                     **({} if sets.ner else {"testGold": sets.ids["test"].tolist()}),
                     "budget": {"trainRows": int(len(keep)), "stepsPerRun": budget.steps(len(keep)),
                                "epochs": cfg.epochs, "batchSize": cfg.batch_size, "seeds": list(cfg.seeds)}}
    flat: dict[str, float] = {}
    for name, r in results.items():
        for measure, value in r["mean"].items():
            if isinstance(value, float):
                flat[f"{name}.{measure}"] = value
                events.metric(f"{name}.{measure}", value)
    metrics.update(versus_base(results, metrics.get("testGold"), cfg.interval))
    if "delta" in metrics:
        for measure, value in metrics["delta"].items():
            flat[f"delta.{measure}"] = value
            events.metric(f"delta.{measure}", value)
    if noise_out is not None:
        metrics["noise"] = noise_out
    if sets.definitions is not None:  # how many examples of each set got definitions
        metrics["dictionary"] = {**cfg.raw["dictionary"], "terms": len(sets.definitions.entries),
                                 "examplesWithDefinitions": {n: sets.definitions.share(r.texts)
                                                             for n, r in sets.rows.items()}}
    if review is not None:
        metrics["labelReview"] = review
    if cfg.uda is not None:
        metrics["uda"] = {"pairs": len(sets.pairs[0]), **{k_: v for k_, v in cfg.raw["uda"].items()},
                          "models": {n: {k_: float(np.mean(v)) for k_, v in s.items()} for n, s in uda_stats.items()}}
    for option, keys in (("adversarial", ("adversarialLoss", "perturbationNorm", "supervisedLoss")),
                         ("rdrop", ("rdropKl", "supervisedLoss")), ("contrastive", ("contrastiveLoss",))):
        if option in cfg.raw:
            # what the option did, per model: means over steps and seeds (the clean loss beside the attacked one)
            metrics[option] = {**{k_: v for k_, v in cfg.raw[option].items()},
                               "models": {n: {k_: float(np.mean(s[k_])) for k_ in keys if k_ in s}
                                          for n, s in robust_stats.items()}}
    os.makedirs(cfg.output_dir, exist_ok=True)
    with open(os.path.join(cfg.output_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
    events.done(cfg.output_dir, flat)
    return metrics


def _review_labels(cfg: FinetuneConfig, sets: TaskSets, device) -> dict:
    """The train rows whose label disagrees with their embedding cluster (label_review.py), for a person."""
    spec = cfg.label_review
    name = spec.model or ("base" if "base" in cfg.models else next(iter(cfg.models)))
    path = cfg.models[name].path
    texts = sets.rows["train"].texts
    k = spec.clusters or max(2, math.ceil(math.sqrt(len(texts) / 2)))
    vectors = embed(path, load_tokenizer(path), texts, cfg.data.max_length, cfg.batch_size, device)
    out = review(kmeans(vectors, k, cfg.seeds[0]), sets.ids["train"], sets.labels, texts, spec.purity)
    log.info("label review: %d of %d train rows disagree with their cluster (%d clusters, %d mixed)",
             out["flagged"], len(texts), out["clusters"], len(out["mixed"]))
    return {"model": name, **out}


def _detect_noise(cfg: FinetuneConfig, sets: TaskSets, device, autocast, progress: Progress):
    """Out-of-fold probabilities of the train rows by the noise model, then confident learning."""
    name = cfg.noise.model or ("base" if "base" in cfg.models else next(iter(cfg.models)))
    path = cfg.models[name].path
    tokenizer = load_tokenizer(path)
    train = sets.encode(tokenizer, "train")
    labels = sets.ids["train"]
    k = len(sets.labels)
    seed = cfg.seeds[0]
    # noise.epochs sets the fold models' own budget; without it they train like the task models
    budget = Budget(cfg.noise.epochs or cfg.epochs, cfg.batch_size, cfg.lr, cfg.weight_decay, cfg.warmup_ratio,
                    None if cfg.noise.epochs else cfg.max_steps)
    fold = stratified_folds(labels, cfg.noise.folds, seed)  # the folds out_of_fold deals
    progress.add(sum(budget.steps(int((fold != f).sum())) for f in range(cfg.noise.folds)))
    class_weights = inverse_frequency(labels, k) if cfg.imbalance == "weights" else None

    def fit_and_predict(rows: np.ndarray, held: np.ndarray) -> np.ndarray:
        model = sets.model(path, tokenizer, seed)
        fit(model, train.take(rows), budget, seed, device, progress, name=f"{name}.noise", n_classes=k,
            class_weights=class_weights, resample=cfg.imbalance == "resample", autocast=autocast)
        return predict_probs(model, train.take(held), cfg.batch_size, device, autocast)

    probs = out_of_fold(fit_and_predict, labels, k, cfg.noise.folds, seed)
    flagged, joint = confident_learning(probs, labels)
    log.info("confident learning: %d of %d train rows flagged", len(flagged), len(labels))
    return flagged, joint
