"""Fine-tuning one task model (sequence classification or token classification) for `finetune` and `pseudolabel`.

    fit(model, train, Budget, seed, ...)   AdamW (no decay on biases/norms), linear warmup then linear decay, clip 1.0
    predict_probs / predict_words           batched inference

Per epoch the rows are visited in a permutation seeded by (seed, epoch) — or, with `resample`, drawn with
replacement with probability ∝ 1/count(class) — so every model given the same seed sees the same batches.

Supervised loss: cross-entropy, per example (classification) or per first sub-token (NER), weighted by class
weights × row weights and normalised by the sum of those weights in the batch (torch's weighted mean).

UDA (Xie et al. 2020), classification only: each step also takes `unlabeledBatchRatio` × batchSize pairs
(original, augmented). The target is the model's own prediction on the original, sharpened with temperature T and
detached (computed under no_grad); the consistency term is KL(target ‖ p(augmented)) per pair, times a mask that
keeps pairs with max p(original) ≥ confidenceThreshold, averaged over all pairs of the batch; loss = supervised +
weight × consistency. Training-signal annealing drops labeled examples whose probability of the correct class is
already above η_t = α_t·(1 − 1/K) + 1/K (α_t = t/T, 1 − e^(−5t/T) or e^(5(t/T − 1)) for linear/log/exp).

Adversarial training (FGM, PGD on the word embeddings), R-Drop and the contrastive (SimCSE) auxiliary loss: see
robust.py; they apply to the supervised loss only.

EMA: evaluation and the returned model use the exponential moving average of the weights (with the usual warm-up
of the decay, see averaging.py). With a dev set, the epoch with the best dev score is the one returned.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F

from .averaging import Averages
from .config import AdversarialSpec, ContrastiveSpec, RDropSpec
from .robust import EmbeddingAttack, info_nce, symmetric_kl
from .data import rng_for
from .events import Events, log
from .model import IGNORE, lr_at
from .ngram_adapter import attach_saved
from .taskdata import Encoded, encode_texts

_DROPOUT_FIELDS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "dropout", "attention_dropout")


def load_task_model(path: str, task: str, labels: list[str], seed: int, dropout: float | None = None):
    """A classification (or token classification) model from a local encoder directory; the head is initialised
    from `seed` when the checkpoint has none (an MLM checkpoint) or one of another size."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoModelForTokenClassification

    config = AutoConfig.from_pretrained(path, local_files_only=True)
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {label: i for i, label in enumerate(labels)}
    if dropout is not None:
        for name in _DROPOUT_FIELDS:
            if hasattr(config, name):
                setattr(config, name, dropout)
    cls = AutoModelForSequenceClassification if task == "classification" else AutoModelForTokenClassification
    torch.manual_seed(seed)
    kwargs = dict(config=config, local_files_only=True, ignore_mismatched_sizes=True, dtype=torch.float32)
    try:
        model = cls.from_pretrained(path, attn_implementation="sdpa", **kwargs)
    except (ValueError, ImportError) as e:  # architecture without SDPA support
        log.warning("SDPA attention unavailable for %s (%s): using the default attention", path, e)
        model = cls.from_pretrained(path, **kwargs)
    attach_saved(model, path)  # an n-gram adapter trains with the model, as in T-DNA
    return model


@dataclass(frozen=True)
class Budget:
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_steps: int | None = None

    def steps(self, n_rows: int) -> int:
        total = self.epochs * math.ceil(n_rows / self.batch_size)
        return min(total, self.max_steps) if self.max_steps else total


@dataclass(frozen=True)
class Uda:
    originals: Encoded
    augmented: Encoded
    weight: float
    confidence_threshold: float
    temperature: float
    tsa: str
    unlabeled_batch_ratio: int


class Progress:
    """Global step counter over every model fitted in one command; emits `progress` events every `log_every`."""

    def __init__(self, events: Events, total: int, log_every: int):
        self.events, self.total, self.log_every, self.step = events, max(total, 1), log_every, 0

    def add(self, steps: int) -> None:
        self.total += steps


@dataclass
class Window:
    """Sums over the steps since the last progress event."""

    steps: int = 0
    tokens: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    start: float = field(default_factory=time.perf_counter)

    def add(self, tokens: int, **values: float) -> None:
        self.steps += 1
        self.tokens += tokens
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v

    def means(self) -> dict[str, float]:
        return {k: v / max(self.steps, 1) for k, v in self.sums.items()}


def tsa_threshold(schedule: str, step: int, total: int, n_classes: int) -> float:
    """η_t: labeled examples predicted correctly with more probability than this leave the supervised loss."""
    t = step / max(total, 1)
    alpha = {"linear": t, "log": 1 - math.exp(-5 * t), "exp": math.exp(5 * (t - 1))}.get(schedule, 1.0)
    return alpha * (1 - 1 / n_classes) + 1 / n_classes


def consistency(logits_orig: torch.Tensor, logits_aug: torch.Tensor, threshold: float,
                temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(masked KL(sharpened p(orig) ‖ p(aug)) averaged over the pairs, the mask [U]); logits_orig is detached."""
    logits_orig = logits_orig.detach().float()
    mask = (logits_orig.softmax(-1).max(-1).values >= threshold).float()
    target_log = (logits_orig / temperature).log_softmax(-1)
    kl = (target_log.exp() * (target_log - logits_aug.float().log_softmax(-1))).sum(-1)
    return (kl * mask).mean(), mask


def _batch(data: Encoded, idx: np.ndarray, device: torch.device):
    length = int(data.lengths[idx].max())
    ids = torch.from_numpy(data.ids[idx, :length]).to(device)
    mask = (torch.arange(length)[None, :] < torch.from_numpy(data.lengths[idx])[:, None]).long().to(device)
    labels = None
    if data.labels is not None:
        lab = data.labels[idx] if data.labels.ndim == 1 else data.labels[idx, :length]
        labels = torch.from_numpy(lab).to(device)
    return ids, mask, labels


def _order(n: int, seed: int, epoch: int, labels: np.ndarray | None, resample: bool) -> np.ndarray:
    rng = rng_for(seed, 0xF17E, epoch)
    if not resample:
        return rng.permutation(n)
    counts = np.bincount(labels)
    p = 1.0 / counts[labels]
    return rng.choice(n, size=n, replace=True, p=p / p.sum())


def inverse_frequency(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Class weights n / (K · n_c) (scikit-learn's 'balanced'); 1 for a class absent from the labels."""
    labels = labels[labels != IGNORE]
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.ones(n_classes)
    weights[present] = len(labels) / (present.sum() * counts[present])
    return weights


def balanced_subsets(labels: np.ndarray, members: int, seed: int) -> list[np.ndarray]:
    """Rows of each ensemble member for class imbalance (EasyEnsemble, generalised to K classes): every row of the
    classes at or below the median class size, and a fresh random draw of median-size rows from each larger
    class; sorted row indices."""
    counts = np.bincount(labels)
    cap = int(np.median(counts[counts > 0]))
    subsets = []
    for m in range(members):
        rng = rng_for(seed, 0xE45E, m)
        parts = []
        for c in np.flatnonzero(counts):
            rows = np.flatnonzero(labels == c)
            parts.append(rows if len(rows) <= cap else rng.choice(rows, cap, replace=False))
        subsets.append(np.sort(np.concatenate(parts)))
    return subsets


class AveragedClassifier(torch.nn.Module):
    """An ensemble as one classifier: the mean of its members' class probabilities (as logits, its log, so that
    softmax gives the mean back)."""

    def __init__(self, members: list):
        super().__init__()
        self.members = torch.nn.ModuleList(members)
        self.config = members[0].config

    def forward(self, input_ids, attention_mask=None):
        p = torch.stack([m(input_ids=input_ids, attention_mask=attention_mask).logits.float().softmax(-1)
                         for m in self.members]).mean(0)
        return SimpleNamespace(logits=p.clamp_min(1e-12).log())


class Trainable:
    """The weights evaluation sees: the EMA when on, else θ; `use()` swaps them in for the duration of a block."""

    def __init__(self, model, ema_decay: float | None):
        self.model = model
        self.params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        self.averages = Averages(self.params, ema_decay, None, ema_warmup=True) if ema_decay else None

    def snapshot(self) -> dict[str, torch.Tensor]:
        src = self.averages.ema if self.averages else self.params
        return {k: v.detach().clone() for k, v in src.items()}

    @torch.no_grad()
    def load(self, weights: dict[str, torch.Tensor]) -> None:
        for k, p in self.params.items():
            p.copy_(weights[k])

    class _Swap:
        def __init__(self, owner: Trainable):
            self.owner = owner
            self.saved: dict | None = None

        def __enter__(self):
            if self.owner.averages:
                self.saved = {k: v.detach().clone() for k, v in self.owner.params.items()}
                self.owner.load(self.owner.averages.ema)

        def __exit__(self, *exc):
            if self.saved is not None:
                self.owner.load(self.saved)

    def use(self) -> Trainable._Swap:
        return Trainable._Swap(self)


def fit(model, train: Encoded, budget: Budget, seed: int, device: torch.device, progress: Progress, *,
        name: str = "model", n_classes: int, class_weights: np.ndarray | None = None,
        row_weights: np.ndarray | None = None, resample: bool = False, uda: Uda | None = None,
        ema_decay: float | None = None, dev_score: Callable[[object], float] | None = None,
        autocast=None, adversarial: AdversarialSpec | None = None, rdrop: RDropSpec | None = None,
        contrastive: ContrastiveSpec | None = None) -> dict:
    """Train `model` in place (see module doc). Returns stats: {steps, bestEpoch?, maskFraction?,
    consistencyLoss?, supervisedLoss, adversarialLoss?, perturbationNorm?, rdropKl?, contrastiveLoss?}; on return
    the model holds
    the weights to evaluate."""
    torch.manual_seed(seed)  # dropout
    autocast = autocast or torch.autocast(device.type, enabled=False)
    model.to(device).train()
    n = len(train)
    total = budget.steps(n)
    warmup = round(budget.warmup_ratio * total)
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": budget.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=budget.lr)
    trainable = Trainable(model, ema_decay)
    cw = torch.tensor(class_weights if class_weights is not None else np.ones(n_classes), dtype=torch.float32,
                      device=device)
    rw = row_weights if row_weights is not None else np.ones(n)
    token_task = train.labels is not None and train.labels.ndim == 2
    labels_1d = None if token_task else train.labels

    attack = EmbeddingAttack(model, adversarial) if adversarial else None

    unl_order: np.ndarray | None = None
    unl_pos, unl_cycle = 0, 0
    stats: dict[str, float] = {"steps": total}
    run_sums: dict[str, float] = {}
    best = (-math.inf, None, 0)
    window = Window()
    step = 0
    epoch = 0
    while step < total:
        order = _order(n, seed, epoch, labels_1d, resample)
        for start in range(0, n, budget.batch_size):
            if step >= total:
                break
            idx = order[start: start + budget.batch_size]
            lr = lr_at(step, budget.lr, warmup, total, "linear")
            for group in optimizer.param_groups:
                group["lr"] = lr
            ids, mask, labels = _batch(train, idx, device)
            weights = torch.from_numpy(rw[idx]).float().to(device)

            def forward() -> torch.Tensor:
                with autocast:
                    return model(input_ids=ids, attention_mask=mask).logits.float()

            def cls_state() -> torch.Tensor:
                with autocast:
                    out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
                return out.hidden_states[-1][:, 0].float()

            def scored(logits: torch.Tensor) -> torch.Tensor:
                """[rows, K] logits of the examples (NER: the labeled sub-tokens) in the supervised loss."""
                return logits[labels != IGNORE] if token_task else logits

            def supervised_loss(logits: torch.Tensor) -> torch.Tensor:
                if token_task:
                    flat_labels = labels.reshape(-1)
                    keep = flat_labels != IGNORE
                    w = cw[flat_labels[keep]] * weights.repeat_interleave(labels.shape[1])[keep]
                    ce = F.cross_entropy(scored(logits), flat_labels[keep], reduction="none")
                else:
                    w = cw[labels] * weights
                    ce = F.cross_entropy(logits, labels, reduction="none")
                    if uda is not None and uda.tsa != "none":
                        eta = tsa_threshold(uda.tsa, step, total, n_classes)
                        p_correct = logits.detach().softmax(-1).gather(1, labels[:, None])[:, 0]
                        w = w * (p_correct <= eta).float()
                return (ce * w).sum() / w.sum().clamp_min(1e-12)

            logits = forward()
            supervised = supervised_loss(logits)
            values = {}
            if rdrop is not None:
                # a second pass, another dropout mask: both passes' losses and their disagreement train the model
                logits_b = forward()
                kl = symmetric_kl(scored(logits), scored(logits_b))
                supervised = 0.5 * (supervised + supervised_loss(logits_b)) + rdrop.alpha * kl
                values["rdropKl"] = kl.item()
            if contrastive is not None:
                # two more dropout views of the batch's [CLS] states: each other's positives, the other rows negatives
                cl = info_nce(cls_state(), cls_state(), contrastive.temperature)
                supervised = supervised + contrastive.weight * cl
                values["contrastiveLoss"] = cl.item()
            loss = supervised
            values["supervisedLoss"] = supervised.item()
            tokens = int(mask.sum())
            if uda is not None:
                u = len(uda.originals)
                count = uda.unlabeled_batch_ratio * len(idx)
                take = []
                while len(take) < count:
                    if unl_order is None or unl_pos >= u:
                        unl_order = rng_for(seed, 0x0DA, unl_cycle).permutation(u)
                        unl_pos, unl_cycle = 0, unl_cycle + 1
                    piece = unl_order[unl_pos: unl_pos + count - len(take)]
                    take.extend(piece.tolist())
                    unl_pos += len(piece)
                take_idx = np.asarray(take)
                o_ids, o_mask, _ = _batch(uda.originals, take_idx, device)
                a_ids, a_mask, _ = _batch(uda.augmented, take_idx, device)
                with torch.no_grad(), autocast:
                    logits_orig = model(input_ids=o_ids, attention_mask=o_mask).logits
                with autocast:
                    logits_aug = model(input_ids=a_ids, attention_mask=a_mask).logits
                cons, cmask = consistency(logits_orig, logits_aug, uda.confidence_threshold, uda.temperature)
                loss = supervised + uda.weight * cons
                values.update(consistencyLoss=cons.item(), maskFraction=cmask.mean().item())
                tokens += int(o_mask.sum()) + int(a_mask.sum())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if attack is not None:
                values["adversarialLoss"] = attack(lambda: supervised_loss(forward()))
                values["perturbationNorm"] = attack.norms[-1] if attack.norms else 0.0
            torch.nn.utils.clip_grad_norm_(trainable.params.values(), 1.0)
            optimizer.step()
            step += 1
            if trainable.averages:
                trainable.averages.update(step)
            values["loss"] = loss.item()
            window.add(tokens, **values)
            for k, v in values.items():
                run_sums[k] = run_sums.get(k, 0.0) + v
            progress.step += 1
            if step % progress.log_every == 0 or step == total:
                means = window.means()
                elapsed = max(time.perf_counter() - window.start, 1e-9)
                extra = {k: means[k] for k in ("supervisedLoss", "consistencyLoss", "maskFraction")
                         if uda is not None and k in means}
                progress.events.progress(progress.step, progress.total, means["loss"], lr, window.tokens / elapsed,
                                         epoch=epoch + 1, model=name, seed=seed, **extra)
                window = Window()
        epoch += 1
        if dev_score is not None:
            with trainable.use():
                score = dev_score(model)
                model.train()
            if score > best[0]:
                best = (score, trainable.snapshot(), epoch)
    if best[1] is not None:
        trainable.load(best[1])
        stats["bestEpoch"] = best[2]
    elif trainable.averages:
        trainable.load(trainable.averages.ema)
    for k, v in run_sums.items():
        if k != "loss":
            stats[k] = v / max(total, 1)
    model.eval()
    return stats


@torch.no_grad()
def predict_probs(model, data: Encoded, batch_size: int, device: torch.device, autocast=None) -> np.ndarray:
    """[N, K] class probabilities."""
    autocast = autocast or torch.autocast(device.type, enabled=False)
    was = model.training
    model.eval()
    out = []
    for start in range(0, len(data), batch_size):
        ids, mask, _ = _batch(data, np.arange(start, min(start + batch_size, len(data))), device)
        with autocast:
            logits = model(input_ids=ids, attention_mask=mask).logits
        out.append(logits.float().softmax(-1).cpu().numpy())
    model.train(was)
    return np.concatenate(out) if out else np.zeros((0, model.config.num_labels), dtype=np.float32)


def predict_texts(model, tokenizer, texts: list[str], max_length: int, batch_size: int, device: torch.device,
                  autocast=None, chunk: int = 8192) -> np.ndarray:
    """[N, K] class probabilities of raw texts, tokenised `chunk` at a time (a large unlabeled pool never sits in
    memory as one padded array) and batched by length (little padding)."""
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    for start in range(0, len(texts), chunk):
        enc = encode_texts(tokenizer, texts[start: start + chunk], max_length)
        order = np.argsort(enc.lengths, kind="stable")
        out[start + order] = predict_probs(model, enc.take(order), batch_size, device, autocast)
    return out


@torch.no_grad()
def predict_words(model, data: Encoded, batch_size: int, device: torch.device, autocast=None,
                  outside: int = 0) -> list[np.ndarray]:
    """NER: the tag id of each word (its first sub-token's argmax; `outside` for a word cut off by maxLength)."""
    autocast = autocast or torch.autocast(device.type, enabled=False)
    was = model.training
    model.eval()
    out: list[np.ndarray] = []
    for start in range(0, len(data), batch_size):
        rows = np.arange(start, min(start + batch_size, len(data)))
        ids, mask, _ = _batch(data, rows, device)
        with autocast:
            pred = model(input_ids=ids, attention_mask=mask).logits.argmax(-1).cpu().numpy()
        for j, r in enumerate(rows):
            first = data.word_starts[r]
            tags = np.full(len(first), outside, dtype=np.int64)
            seen = first >= 0
            tags[seen] = pred[j, first[seen]]
            out.append(tags)
    model.train(was)
    return out
