"""Pseudo-labels for unlabeled documents, optionally refined by noisy-student rounds.

    python -m trainer pseudolabel --config pseudolabel.json

Round 1's teacher is `teacher` itself when it already is a sequence-classification model over exactly the
configured labels, else `teacher` fine-tuned on the labeled set (seed `seed`). A round labels every unlabeled
document with the teacher's argmax; a document is a candidate when the teacher's probability is ≥ `threshold`;
`perClassCap` then keeps the most confident candidates of each class (an integer: at most that many; 'balanced':
as many for every class as the class with the fewest candidates has — classes without any stay at 0). When another
round follows, a student (initialised from `teacher`, with dropout `studentDropout` as its noise) is trained on the
labeled rows plus the kept pseudo-labeled rows and becomes the next round's teacher (Xie et al. 2020, without the
input augmentation). The last round's rows are the output.

Output: outputDir/pseudo.jsonl rows {text, label, confidence, round}; outputDir/stats.json {labels, threshold,
perClassCap, unlabeled, perClass: {label: {kept, candidates}} (last round), rounds: [{round, teacher, candidates,
kept, perClass}]}. Events: progress (fits), metric `pseudolabel.kept` / `pseudolabel.candidates`, done.

The pseudolabel stage runs the same steps as phases of a fan-out, one process each (`phase`):
  teacher   the class order and whether `teacher` is used as it is; else the teacher fine-tuned on data.train (seed
            `seed`) saved to outputDir/model. → teacher.json {labels, order, given, labeledRows}
  label     one shard of documents (data.unlabeled, every record's text, none skipped) labeled by the classifier
            `teacher` over `labels` (the order), read and scored `chunk` documents at a time. The candidates (argmax
            class, probability ≥ threshold) → outputDir/candidates.bin: records (float32 confidence, uint32 position
            in the shard), little-endian, class by class in `labels` order, each class by confidence descending then
            position — exactly the order `select` ranks them in; label.json {docs, counts: [per class]}.
  student   round `round`'s student: initialised from `teacher` with seed + round and dropout `studentDropout`,
            trained on data.train followed by data.pseudo (the kept rows {text, label} in selection order, as `run`
            concatenates them) → outputDir/model, student.json {round, rows}.
The global decision between label and student/output (threshold, per-class cap over all shards) is the stage's.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .config import PseudolabelConfig
from .errors import ConfigError
from .evaluate import autocast_for, pick_device
from .events import Events, log
from .data import json_lines, read_texts
from .model import load_tokenizer
from .ngram_adapter import save_model
from .task_train import Budget, Progress, fit, load_task_model, predict_texts
from .taskdata import Encoded, encode_texts, label_ids, pad_id, read_classification


def select(probs: np.ndarray, threshold: float, cap: int | str | None) -> tuple[np.ndarray, dict[int, dict]]:
    """Rows to keep (ordered by class, then confidence descending) and {class: {kept, candidates}}."""
    pred = probs.argmax(1)
    conf = probs.max(1)
    candidates = {c: np.flatnonzero((pred == c) & (conf >= threshold)) for c in range(probs.shape[1])}
    if cap == "balanced":
        nonzero = [len(rows) for rows in candidates.values() if len(rows)]
        limit = min(nonzero) if nonzero else 0
    else:
        limit = cap
    kept, stats = [], {}
    for c, rows in candidates.items():
        rows = rows[np.argsort(-conf[rows], kind="stable")]
        if limit is not None:
            rows = rows[:limit]
        kept.append(rows)
        stats[c] = {"kept": len(rows), "candidates": len(candidates[c])}
    return (np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)), stats


def _is_classifier_over(path: str, labels: list[str]) -> list[str] | None:
    """The teacher's own label order when it is a sequence classifier over exactly `labels`, else None."""
    with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    if not any(a.endswith("ForSequenceClassification") for a in config.get("architectures") or []):
        return None
    id2label = config.get("id2label") or {}
    own = [id2label[str(i)] for i in range(len(id2label))] if all(str(i) in id2label for i in range(len(id2label))) \
        else []
    return own if sorted(own) == sorted(labels) else None


CANDIDATE = np.dtype([("conf", "<f4"), ("pos", "<u4")])


def _labels_and_order(cfg: PseudolabelConfig, labeled) -> tuple[list[str], list[str] | None, list[str]]:
    """(labels, the teacher's own order when it is a classifier over them, the class order used)."""
    if not labeled.texts:
        raise ConfigError("data.train: no rows in the files")
    labels = list(cfg.labels) if cfg.labels else sorted(set(labeled.labels))
    if len(labels) < 2:
        raise ConfigError(f"labels: at least two classes are needed, the train set has {labels}")
    label_ids(labeled.labels, labels, "data.train")  # every train label is known
    given = _is_classifier_over(cfg.teacher.path, labels)
    return labels, given, given or labels  # the teacher's class order; the output names labels, so any order works


def _save(model, tokenizer, out: str) -> None:
    save_model(model, out)
    tokenizer.save_pretrained(out)


def _write_json(cfg: PseudolabelConfig, name: str, value: dict) -> None:
    os.makedirs(cfg.output_dir, exist_ok=True)
    with open(os.path.join(cfg.output_dir, name), "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)


def teacher_phase(cfg: PseudolabelConfig, events: Events) -> dict:
    device = pick_device(cfg.device)
    d = cfg.data
    labeled = read_classification(d.train, d.text_field, d.label_field)
    labels, given, order = _labels_and_order(cfg, labeled)
    out = {"labels": labels, "order": order, "given": given is not None, "labeledRows": len(labeled.texts)}
    if given:
        log.info("pseudolabel: the teacher is a classifier over the labels; round 1 uses it as it is")
    else:
        tokenizer = load_tokenizer(cfg.teacher.path)
        train = encode_texts(tokenizer, labeled.texts, d.max_length, label_ids(labeled.labels, order, "data.train"))
        budget = Budget(cfg.epochs, cfg.batch_size, cfg.lr, cfg.weight_decay, cfg.warmup_ratio, cfg.max_steps)
        teacher = load_task_model(cfg.teacher.path, "classification", order, cfg.seed)
        fit(teacher, train, budget, cfg.seed, device, Progress(events, budget.steps(len(train)), cfg.log_every),
            name="teacher", n_classes=len(order), autocast=autocast_for(device, "auto"))
        _save(teacher, tokenizer, os.path.join(cfg.output_dir, "model"))
    _write_json(cfg, "teacher.json", out)
    events.done(cfg.output_dir, {"pseudolabel.labeledRows": float(len(labeled.texts))})
    return out


def _shard_texts(paths: list[str], field: str):
    """Every record's text, in order: the stage wrote the shard's documents with text, and positions count them."""
    for path, lineno, record in json_lines(paths):
        text = record.get(field) if isinstance(record, dict) else None
        if not isinstance(text, str):
            raise ConfigError(f"{path}:{lineno}: no {field!r} string field")
        yield text


def label_phase(cfg: PseudolabelConfig, events: Events, chunk: int = 8192) -> dict:
    device = pick_device(cfg.device)
    autocast = autocast_for(device, "auto")
    order = list(cfg.labels)
    tokenizer = load_tokenizer(cfg.teacher.path)
    model = load_task_model(cfg.teacher.path, "classification", order, cfg.seed).to(device).eval()
    confs: list[list[np.ndarray]] = [[] for _ in order]
    positions: list[list[np.ndarray]] = [[] for _ in order]
    docs = 0
    texts: list[str] = []

    def score() -> None:
        nonlocal docs
        probs = predict_texts(model, tokenizer, texts, cfg.data.max_length, cfg.batch_size, device, autocast, chunk)
        pred, conf = probs.argmax(1), probs.max(1)
        for c in range(len(order)):
            rows = np.flatnonzero((pred == c) & (conf >= cfg.threshold))
            confs[c].append(conf[rows].astype(np.float32))
            positions[c].append((rows + docs).astype(np.uint32))
        docs += len(texts)
        texts.clear()

    for text in _shard_texts(cfg.data.unlabeled, cfg.data.text_field):
        texts.append(text)
        if len(texts) == chunk:
            score()
    if texts:
        score()
    counts = []
    os.makedirs(cfg.output_dir, exist_ok=True)
    with open(os.path.join(cfg.output_dir, "candidates.bin"), "wb") as f:
        for c in range(len(order)):
            conf = np.concatenate(confs[c]) if confs[c] else np.zeros(0, np.float32)
            pos = np.concatenate(positions[c]) if positions[c] else np.zeros(0, np.uint32)
            rank = np.lexsort((pos, -conf))  # confidence descending, then position: select()'s stable order
            rec = np.empty(len(rank), dtype=CANDIDATE)
            rec["conf"], rec["pos"] = conf[rank], pos[rank]
            rec.tofile(f)
            counts.append(len(rank))
    out = {"docs": docs, "counts": counts}
    _write_json(cfg, "label.json", out)
    events.metric("pseudolabel.candidates", float(sum(counts)))
    events.done(cfg.output_dir, {"pseudolabel.candidates": float(sum(counts)), "pseudolabel.docs": float(docs)})
    return out


def student_phase(cfg: PseudolabelConfig, events: Events) -> dict:
    device = pick_device(cfg.device)
    d = cfg.data
    order = list(cfg.labels)
    labeled = read_classification(d.train, d.text_field, d.label_field)
    pseudo = read_classification(d.pseudo, "text", "label")
    tokenizer = load_tokenizer(cfg.teacher.path)
    train = encode_texts(tokenizer, labeled.texts, d.max_length, label_ids(labeled.labels, order, "data.train"))
    rows = encode_texts(tokenizer, pseudo.texts, d.max_length, label_ids(pseudo.labels, order, "data.pseudo"))
    student_data = Encoded.concat([train, rows], pad_id(tokenizer))
    budget = Budget(cfg.epochs, cfg.batch_size, cfg.lr, cfg.weight_decay, cfg.warmup_ratio, cfg.max_steps)
    r = cfg.round
    student = load_task_model(cfg.teacher.path, "classification", order, cfg.seed + r, dropout=cfg.student_dropout)
    fit(student, student_data, budget, cfg.seed + r, device, Progress(events, budget.steps(len(student_data)),
        cfg.log_every), name=f"student{r}", n_classes=len(order), autocast=autocast_for(device, "auto"))
    _save(student, tokenizer, os.path.join(cfg.output_dir, "model"))
    out = {"round": r, "rows": len(pseudo.texts)}
    _write_json(cfg, "student.json", out)
    events.done(cfg.output_dir, {"pseudolabel.studentRows": float(len(pseudo.texts))})
    return out


def run(cfg: PseudolabelConfig, events: Events | None = None) -> dict:
    events = events or Events()
    if cfg.phase == "teacher":
        return teacher_phase(cfg, events)
    if cfg.phase == "label":
        return label_phase(cfg, events)
    if cfg.phase == "student":
        return student_phase(cfg, events)
    device = pick_device(cfg.device)
    autocast = autocast_for(device, "auto")
    d = cfg.data
    labeled = read_classification(d.train, d.text_field, d.label_field)
    unlabeled = list(read_texts(d.unlabeled, d.text_field))  # documents: records without text are skipped
    if not unlabeled:
        raise ConfigError("data.unlabeled: no documents in the files")
    labels, given, order = _labels_and_order(cfg, labeled)
    y = label_ids(labeled.labels, order, "data.train")

    tokenizer = load_tokenizer(cfg.teacher.path)
    train = encode_texts(tokenizer, labeled.texts, d.max_length, y)
    budget = Budget(cfg.epochs, cfg.batch_size, cfg.lr, cfg.weight_decay, cfg.warmup_ratio, cfg.max_steps)
    progress = Progress(events, (0 if given else budget.steps(len(train))), cfg.log_every)

    if given:
        log.info("pseudolabel: the teacher is a classifier over the labels; round 1 uses it as it is")
        teacher = load_task_model(cfg.teacher.path, "classification", order, cfg.seed).to(device).eval()
        teacher_kind = "given"
    else:
        teacher = load_task_model(cfg.teacher.path, "classification", order, cfg.seed)
        fit(teacher, train, budget, cfg.seed, device, progress, name="teacher", n_classes=len(order),
            autocast=autocast)
        teacher_kind = "fine-tuned"

    rounds = []
    kept = np.zeros(0, dtype=np.int64)
    probs = np.zeros((0, len(order)))
    per_class: dict = {}
    for r in range(1, cfg.rounds + 1):
        probs = predict_texts(teacher, tokenizer, unlabeled, d.max_length, cfg.batch_size, device, autocast)
        kept, stats = select(probs, cfg.threshold, cfg.per_class_cap)
        per_class = {order[c]: s for c, s in stats.items()}
        rounds.append({"round": r, "teacher": teacher_kind, "candidates": sum(s["candidates"] for s in stats.values()),
                       "kept": len(kept), "perClass": per_class})
        events.metric("pseudolabel.kept", len(kept), step=r)
        events.metric("pseudolabel.candidates", rounds[-1]["candidates"], step=r)
        log.info("round %d: %d of %d documents kept (%d candidates)", r, len(kept), len(unlabeled),
                 rounds[-1]["candidates"])
        if r == cfg.rounds:
            break
        pseudo = encode_texts(tokenizer, [unlabeled[i] for i in kept], d.max_length,
                              probs[kept].argmax(1).astype(np.int64))
        student_data = Encoded.concat([train, pseudo], pad_id(tokenizer))
        progress.add(budget.steps(len(student_data)))
        del teacher
        teacher = load_task_model(cfg.teacher.path, "classification", order, cfg.seed + r,
                                  dropout=cfg.student_dropout)
        fit(teacher, student_data, budget, cfg.seed + r, device, progress, name=f"student{r}", n_classes=len(order),
            autocast=autocast)
        teacher_kind = f"student of round {r}"

    os.makedirs(cfg.output_dir, exist_ok=True)
    with open(os.path.join(cfg.output_dir, "pseudo.jsonl"), "w", encoding="utf-8") as f:
        for i in kept:
            row = {"text": unlabeled[i], "label": order[int(probs[i].argmax())],
                   "confidence": float(probs[i].max()), "round": cfg.rounds}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    out = {"labels": labels, "threshold": cfg.threshold, "perClassCap": cfg.per_class_cap,
           "unlabeled": len(unlabeled), "perClass": {label: per_class[label] for label in labels}, "rounds": rounds}
    with open(os.path.join(cfg.output_dir, "stats.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)
    events.done(cfg.output_dir, {"pseudolabel.kept": len(kept), "pseudolabel.candidates": rounds[-1]["candidates"],
                                 "pseudolabel.unlabeled": len(unlabeled)})
    return out

