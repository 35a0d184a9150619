"""The trainer's configuration: JSON → validated against trainer/config.schema.json → typed dataclasses.

The schema is generated from the zod schemas in schemas/trainer.ts, so the TypeScript activity and this package
agree field by field. The activity writes the config with every default applied; for hand-written configs we
apply the schema's defaults first (what zod's parse does), then validate. Every violation is reported at once,
each with its JSON path (`train.lr: ...`), as a ConfigError (exit code 2). File and directory checks (model
directory, data shards, lexicons) run in `__post_init__` and name the path that is missing.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError

SCHEMA_PATH = Path(__file__).with_name("config.schema.json")


# ---------------------------------------------------------------------------------------------- dataclasses

def require_file(path: str, where: str) -> None:
    if not os.path.isfile(path):
        raise ConfigError(f"{where}: file not found: {path}")


def require_data_files(**lists: list[str]) -> None:
    """Every file of each `data.<name>` list exists (keyword names are the JSON field names)."""
    for name, paths in lists.items():
        for i, p in enumerate(paths):
            require_file(p, f"data.{name}[{i}]")


def require_model_dir(path: str, where: str) -> None:
    if not os.path.isdir(path):
        raise ConfigError(f"{where}.path: model directory not found: {path}")
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise ConfigError(f"{where}.path: no config.json in model directory: {path}")


@dataclass(frozen=True)
class ModelSpec:
    path: str
    objective: Literal["mlm", "clm"]
    config_overrides: dict[str, Any] = field(default_factory=dict)  # pretrain only: model.py applies them
    where: str = field(default="model", repr=False, compare=False)  # JSON path, for error messages

    def __post_init__(self):
        require_model_dir(self.path, self.where)


@dataclass(frozen=True)
class ReplaySpec:
    paths: list[str]
    ratio: float

    def __post_init__(self):
        for i, p in enumerate(self.paths):
            require_file(p, f"data.replay.paths[{i}]")


@dataclass(frozen=True)
class TokenCacheSpec:
    dir: str
    max_bytes: int = 20 * 2**30


@dataclass(frozen=True)
class DataSpec:
    train: list[str]
    eval: list[str] = field(default_factory=list)
    general_eval: list[str] = field(default_factory=list)
    replay: ReplaySpec | None = None
    text_field: str = "text"
    seq_len: int = 128
    packing: bool = True
    eval_max_sequences: int = 256
    token_cache: TokenCacheSpec | None = None
    tokens: list[str] = field(default_factory=list)  # token shards of a tokenize stage, instead of `train`

    def __post_init__(self):
        if not self.train and not self.tokens:
            raise ConfigError("data.train: no documents (and no data.tokens, the token shards of a tokenize stage)")
        if self.train and self.tokens:
            raise ConfigError("data.tokens: given beside data.train: train from the documents or from their token "
                              "shards, not both")
        require_data_files(train=self.train, eval=self.eval, generalEval=self.general_eval, tokens=self.tokens)


@dataclass(frozen=True)
class MaskingSpec:
    strategy: Literal["token", "whole-word", "lexicon"] = "whole-word"
    rate: float = 0.15
    lexicon: str | None = None
    language: Literal["auto", "en", "zh"] = "auto"

    def __post_init__(self):
        if self.lexicon is not None:
            require_file(self.lexicon, "masking.lexicon")
        if self.strategy == "lexicon" and self.lexicon is None:
            raise ConfigError("masking.lexicon: required when masking.strategy is 'lexicon'")


@dataclass(frozen=True)
class VocabSpec:
    lexicon: str
    max_new_tokens: int = 1000
    min_subtokens: int = 2
    pad_to_multiple_of: int = 64

    def __post_init__(self):
        require_file(self.lexicon, "vocab.lexicon")


@dataclass(frozen=True)
class DictionarySpec:
    path: str
    inject: Literal["selected", "all"] = "selected"
    max_definition_tokens: int | None = None  # None: seqLen // 4
    per_term_tokens: int = 32

    def __post_init__(self):
        require_file(self.path, "dictionary.path")


@dataclass(frozen=True)
class AdapterSpec:
    type: Literal["lora"] = "lora"
    r: int = 8
    alpha: float = 16
    dropout: float = 0.05
    target_modules: list[str] | None = None


@dataclass(frozen=True)
class NgramAdapterSpec:
    lexicon: str
    type: Literal["ngram"] = "ngram"
    layers: int = 2
    max_ngrams: int = 10000
    min_freq: int = 1
    init: Literal["zero", "normal"] = "zero"

    def __post_init__(self):
        require_file(self.lexicon, "train.adapter.lexicon")


@dataclass(frozen=True)
class EmaSpec:
    decay: float


@dataclass(frozen=True)
class SwaSpec:
    start_fraction: float


@dataclass(frozen=True)
class TrainSpec:
    max_steps: int
    batch_size: int = 8
    grad_accum: int = 1
    lr: float = 5e-5
    warmup_steps: int = 0
    schedule: Literal["linear", "cosine", "constant"] = "linear"
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    seed: int = 42
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    compile: bool = False
    checkpoint_every: int = 500
    log_every: int = 10
    eval_every: int | None = None
    ema: EmaSpec | None = None
    swa: SwaSpec | None = None
    adapter: AdapterSpec | NgramAdapterSpec | None = None
    oom_batch_halving: bool = False
    head_warmup_steps: int | Literal["auto"] = "auto"


@dataclass(frozen=True)
class PretrainConfig:
    model: ModelSpec
    data: DataSpec
    train: TrainSpec
    output_dir: str
    checkpoint_dir: str
    masking: MaskingSpec = field(default_factory=MaskingSpec)
    vocab: VocabSpec | None = None
    dictionary: DictionarySpec | None = None
    contrastive: PretrainContrastiveSpec | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    command: Literal["pretrain"] = "pretrain"
    raw: dict = field(default_factory=dict, repr=False, compare=False)  # the validated JSON, saved in checkpoints

    def __post_init__(self):
        if self.contrastive is not None and self.model.objective != "mlm":
            raise ConfigError(f"contrastive: only with model.objective 'mlm' (got {self.model.objective!r}): the "
                              "views are an MLM encoder's pooled states")


@dataclass(frozen=True)
class EvalDataSpec:
    domain: list[str] = field(default_factory=list)
    general: list[str] = field(default_factory=list)
    text_field: str = "text"
    seq_len: int = 128
    max_sequences: int = 256

    def __post_init__(self):
        require_data_files(domain=self.domain, general=self.general)


@dataclass(frozen=True)
class EvaluateConfig:
    models: dict[str, ModelSpec]
    data: EvalDataSpec
    output_dir: str
    masking: MaskingSpec = field(default_factory=lambda: MaskingSpec(strategy="token"))
    seed: int = 1234
    batch_size: int = 16
    device: Literal["auto", "cpu", "cuda"] = "auto"
    phase: Literal["score", "count"] = "score"
    limits: dict[str, dict[str, int]] | None = None  # model → set → sequences to evaluate (default maxSequences)
    command: Literal["evaluate"] = "evaluate"
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if not self.models:
            raise ConfigError("models: at least one model")
        if not self.data.domain and not self.data.general:
            raise ConfigError("data.domain: no evaluation files (data.domain and data.general are both empty)")
        for model in self.limits or {}:
            if model not in self.models:
                raise ConfigError(f"limits.{model}: not one of models ({', '.join(self.models)})")


@dataclass(frozen=True)
class TaskModelSpec:
    path: str
    where: str = field(default="models", repr=False, compare=False)

    def __post_init__(self):
        require_model_dir(self.path, self.where)


@dataclass(frozen=True)
class FinetuneModelSpec(TaskModelSpec):
    """A model to fine-tune and what only it trains on: an ablation's arms differ in these (e.g. adapted+pl)."""

    train: tuple[str, ...] = ()
    uda: bool = True


@dataclass(frozen=True)
class FinetuneDataSpec:
    train: list[str]
    test: list[str]
    dev: list[str] | None = None
    unlabeled: list[str] | None = None
    text_field: str = "text"
    label_field: str = "label"
    tokens_field: str = "tokens"
    tags_field: str = "tags"
    max_length: int = 128

    def __post_init__(self):
        require_data_files(train=self.train, dev=self.dev or [], test=self.test, unlabeled=self.unlabeled or [])


@dataclass(frozen=True)
class UdaSpec:
    weight: float = 1.0
    confidence_threshold: float = 0.8
    temperature: float = 0.4
    tsa: Literal["none", "linear", "log", "exp"] = "none"
    unlabeled_batch_ratio: int = 3


@dataclass(frozen=True)
class AdversarialSpec:
    method: Literal["fgm", "pgd"] = "fgm"
    epsilon: float = 1.0
    steps: int = 3  # pgd: ascent steps K
    alpha: float = 0.3  # pgd: step size


TEXT, MASK = "{text}", "[MASK]"  # a prompt template's slots: the example's text, the label word


@dataclass(frozen=True)
class PromptSpec:
    template: str
    verbalizer: dict[str, str]

    def __post_init__(self):
        if self.template.count(TEXT) != 1:
            raise ConfigError(f"prompt.template: must hold {TEXT} exactly once (where the example's text goes), "
                              f"got {self.template!r}")
        if self.template.count(MASK) != 1:
            raise ConfigError(f"prompt.template: must hold {MASK} exactly once (the slot the label word fills), "
                              f"got {self.template!r}")


@dataclass(frozen=True)
class RDropSpec:
    alpha: float = 1.0


@dataclass(frozen=True)
class LabelReviewSpec:
    clusters: int | None = None  # default: ⌈√(N/2)⌉ for N train rows
    purity: float = 0.6
    model: str | None = None  # which of models embeds (default: base, else the first)


@dataclass(frozen=True)
class ContrastiveSpec:
    weight: float = 0.1
    temperature: float = 0.05


@dataclass(frozen=True)
class PretrainContrastiveSpec(ContrastiveSpec):
    pooling: Literal["cls", "mean"] = "cls"


@dataclass(frozen=True)
class IntervalSpec:
    confidence: float = 0.95
    resamples: int = 2000
    seed: int = 0


@dataclass(frozen=True)
class NoiseSpec:
    method: Literal["confident-learning"] = "confident-learning"
    folds: int = 4
    action: Literal["drop", "downweight"] = "drop"
    weight: float = 0.2
    model: str | None = None
    epochs: int | None = None


@dataclass(frozen=True)
class SaveModelSpec:
    model: str
    seed: int | None = None


@dataclass(frozen=True)
class TaskSpec:
    """One labeled task of a multi-task fine-tuning (multitask.py): its own data, labels and head."""

    task: Literal["classification", "ner"]
    data: FinetuneDataSpec
    labels: list[str] | None = None


@dataclass(frozen=True)
class TaskSamplingSpec:
    strategy: Literal["size", "temperature"] = "temperature"
    temperature: float = 2.0  # p_t ∝ n_t^(1/T); size is T = 1


# options that change one task's training (its own rows, heads, losses); a multi-task run does not take them
_SINGLE_TASK_ONLY = ("uda", "noise", "ema", "adversarial", "rdrop", "prompt", "contrastive", "label_review",
                     "save_model", "dictionary")


@dataclass(frozen=True)
class FinetuneConfig:
    models: dict[str, FinetuneModelSpec]
    output_dir: str
    task: Literal["classification", "ner"] | None = None
    data: FinetuneDataSpec | None = None
    tasks: dict[str, TaskSpec] | None = None
    task_sampling: TaskSamplingSpec = field(default_factory=TaskSamplingSpec)
    labels: list[str] | None = None
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3])
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 16
    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    uda: UdaSpec | None = None
    imbalance: Literal["none", "weights", "resample", "ensemble"] = "none"
    ensemble_members: int = 3
    noise: NoiseSpec | None = None
    ema: EmaSpec | None = None
    log_every: int = 10
    device: Literal["auto", "cpu", "cuda"] = "auto"
    save_model: SaveModelSpec | None = None
    interval: IntervalSpec = field(default_factory=IntervalSpec)
    adversarial: AdversarialSpec | None = None
    rdrop: RDropSpec | None = None
    prompt: PromptSpec | None = None
    contrastive: ContrastiveSpec | None = None
    label_review: LabelReviewSpec | None = None
    dictionary: DictionarySpec | None = None  # path and inject: definitions appended to the example texts
    command: Literal["finetune"] = "finetune"
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if not self.models:
            raise ConfigError("models: at least one model")
        if self.tasks is not None:
            self._check_multi_task()
            return
        if self.task is None or self.data is None:
            raise ConfigError("task, data: required (or tasks, for several tasks in one run)")
        if self.uda is not None:
            if self.task != "classification":
                raise ConfigError("uda: only for task 'classification'")
            if not self.data.unlabeled:
                raise ConfigError("data.unlabeled: required when uda is set (JSONL pairs {text, augmented})")
        if self.prompt is not None and self.contrastive is not None:
            raise ConfigError("contrastive: not with prompt (the contrastive views are the encoder's [CLS] states, "
                              "a prompt model scores label words)")
        if self.dictionary is not None and (self.task == "ner" or self.prompt is not None):
            raise ConfigError("dictionary: definitions are appended to the texts of task 'classification' without "
                              "prompt (" + ("ner tags label words" if self.task == "ner" else "a prompt template "
                                            "holds the text") + ")")
        if self.task == "ner" and self.prompt is not None:
            raise ConfigError("prompt: prompt-based fine-tuning is for task 'classification', not ner")
        if self.label_review is not None:
            if self.task == "ner":
                raise ConfigError("labelReview: only for task 'classification'")
            if self.label_review.model is not None and self.label_review.model not in self.models:
                raise ConfigError(f"labelReview.model: {self.label_review.model!r} is not one of models "
                                  f"({', '.join(self.models)})")
        if self.task == "ner" and self.noise is not None:
            raise ConfigError("noise: only for task 'classification'")
        if self.task == "ner" and self.imbalance in ("resample", "ensemble"):
            raise ConfigError(f"imbalance: {self.imbalance!r} is only for task 'classification' (use 'weights')")
        if self.imbalance == "ensemble" and self.save_model is not None:
            raise ConfigError("saveModel: an imbalance ensemble is several models; save one with another imbalance")
        if self.noise is not None and self.noise.model is not None and self.noise.model not in self.models:
            raise ConfigError(f"noise.model: {self.noise.model!r} is not one of models ({', '.join(self.models)})")
        if self.save_model is not None:
            if self.save_model.model not in self.models:
                raise ConfigError(f"saveModel.model: {self.save_model.model!r} is not one of models "
                                  f"({', '.join(self.models)})")
            if self.save_model.seed is not None and self.save_model.seed not in self.seeds:
                raise ConfigError(f"saveModel.seed: {self.save_model.seed} is not one of seeds {self.seeds}")
        if self.labels is not None and len(set(self.labels)) != len(self.labels):
            raise ConfigError("labels: duplicate labels")

    def _check_multi_task(self) -> None:
        if self.task is not None or self.data is not None or self.labels is not None:
            raise ConfigError("tasks: give either tasks or the single task's task/data/labels, not both")
        if len(self.tasks) < 2:
            raise ConfigError(f"tasks: at least two tasks (got {len(self.tasks)}); one task is the data form")
        used = [name for name in _SINGLE_TASK_ONLY if getattr(self, name) is not None]
        if self.imbalance != "none":
            used.append("imbalance")
        if used:
            raise ConfigError(f"tasks: {', '.join(used)} not available with several tasks (single-task options)")
        for name, spec in self.models.items():
            if spec.train:
                raise ConfigError(f"models.{name}.train: extra rows per model are not available with several tasks")
        for name, t in self.tasks.items():
            if t.labels is not None and len(set(t.labels)) != len(t.labels):
                raise ConfigError(f"tasks.{name}.labels: duplicate labels")


@dataclass(frozen=True)
class PseudolabelDataSpec:
    train: list[str] = field(default_factory=list)
    unlabeled: list[str] = field(default_factory=list)
    pseudo: list[str] = field(default_factory=list)  # phase student: the kept rows {text, label} it learns from
    text_field: str = "text"
    label_field: str = "label"
    max_length: int = 128

    def __post_init__(self):
        require_data_files(train=self.train, unlabeled=self.unlabeled, pseudo=self.pseudo)


@dataclass(frozen=True)
class PseudolabelConfig:
    teacher: TaskModelSpec
    data: PseudolabelDataSpec
    output_dir: str
    labels: list[str] | None = None
    threshold: float = 0.9
    per_class_cap: int | Literal["balanced"] | None = None
    rounds: int = 1
    student_dropout: float = 0.1
    seed: int = 1
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 16
    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    log_every: int = 10
    device: Literal["auto", "cpu", "cuda"] = "auto"
    phase: Literal["all", "teacher", "label", "student"] = "all"
    round: int = 1  # phase student: the round whose kept rows it learns from (its seed is seed + round)
    command: Literal["pseudolabel"] = "pseudolabel"
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if self.labels is not None and len(set(self.labels)) != len(self.labels):
            raise ConfigError("labels: duplicate labels")
        if self.phase in ("all", "teacher", "student") and not self.data.train:
            raise ConfigError(f"data.train: phase {self.phase} needs the labeled files")
        if self.phase in ("all", "label") and not self.data.unlabeled:
            raise ConfigError(f"data.unlabeled: phase {self.phase} needs the documents to label")
        if self.phase in ("label", "student") and not self.labels:
            raise ConfigError(f"labels: phase {self.phase} needs the teacher's class order")


# ---------------------------------------------------------------------------------------------- JSON → objects

def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def _build(cls, obj: dict, **extra):
    """Construct dataclass `cls` from a camelCase JSON object whose shape the schema already checked."""
    return cls(**{_snake(k): v for k, v in obj.items()}, **extra)


def _pretrain(raw: dict) -> PretrainConfig:
    d = dict(raw["data"])
    if "replay" in d:
        d["replay"] = _build(ReplaySpec, d["replay"])
    if d.get("tokenCache") is not None:
        d["tokenCache"] = _build(TokenCacheSpec, d["tokenCache"])
    t = dict(raw["train"])
    if "ema" in t:
        t["ema"] = _build(EmaSpec, t["ema"])
    if "swa" in t:
        t["swa"] = _build(SwaSpec, t["swa"])
    if "adapter" in t:
        t["adapter"] = _build(NgramAdapterSpec if t["adapter"]["type"] == "ngram" else AdapterSpec, t["adapter"])
    rest = {k: v for k, v in raw.items() if k not in ("model", "data", "train", "masking", "vocab", "dictionary", "contrastive")}
    return _build(
        PretrainConfig,
        rest,
        model=_build(ModelSpec, raw["model"]),
        data=_build(DataSpec, d),
        train=_build(TrainSpec, t),
        masking=_build(MaskingSpec, raw["masking"]),
        vocab=_build(VocabSpec, raw["vocab"]) if "vocab" in raw else None,
        dictionary=_build(DictionarySpec, raw["dictionary"]) if "dictionary" in raw else None,
        contrastive=_build(PretrainContrastiveSpec, raw["contrastive"]) if "contrastive" in raw else None,
        raw=raw,
    )


def _evaluate(raw: dict) -> EvaluateConfig:
    rest = {k: v for k, v in raw.items() if k not in ("models", "data", "masking")}
    return _build(
        EvaluateConfig,
        rest,
        models={name: ModelSpec(**m, where=f"models.{name}") for name, m in raw["models"].items()},
        data=_build(EvalDataSpec, raw["data"]),
        masking=_build(MaskingSpec, raw["masking"]),
        raw=raw,
    )


def _task(name: str, raw: dict) -> TaskSpec:
    try:
        return TaskSpec(raw["task"], _build(FinetuneDataSpec, raw["data"]), raw.get("labels"))
    except ConfigError as e:  # a missing file: say which task's
        raise ConfigError(f"tasks.{name}.{e}") from None


def _finetune(raw: dict) -> FinetuneConfig:
    rest = {k: v for k, v in raw.items()
            if k not in ("models", "data", "uda", "noise", "ema", "saveModel", "interval", "adversarial", "rdrop",
                         "prompt", "contrastive", "labelReview", "tasks", "taskSampling", "dictionary")}
    return _build(
        FinetuneConfig,
        rest,
        models={name: FinetuneModelSpec(m["path"], where=f"models.{name}", train=tuple(m.get("train", ())),
                                        uda=m.get("uda", True))
                for name, m in raw["models"].items()},
        data=_build(FinetuneDataSpec, raw["data"]) if "data" in raw else None,
        tasks={name: _task(name, t) for name, t in raw["tasks"].items()} if "tasks" in raw else None,
        task_sampling=_build(TaskSamplingSpec, raw.get("taskSampling", {})),
        uda=_build(UdaSpec, raw["uda"]) if "uda" in raw else None,
        noise=_build(NoiseSpec, raw["noise"]) if "noise" in raw else None,
        ema=_build(EmaSpec, raw["ema"]) if "ema" in raw else None,
        save_model=_build(SaveModelSpec, raw["saveModel"]) if "saveModel" in raw else None,
        interval=_build(IntervalSpec, raw.get("interval", {})),
        adversarial=_build(AdversarialSpec, raw["adversarial"]) if "adversarial" in raw else None,
        rdrop=_build(RDropSpec, raw["rdrop"]) if "rdrop" in raw else None,
        prompt=_build(PromptSpec, raw["prompt"]) if "prompt" in raw else None,
        contrastive=_build(ContrastiveSpec, raw["contrastive"]) if "contrastive" in raw else None,
        label_review=_build(LabelReviewSpec, raw["labelReview"]) if "labelReview" in raw else None,
        dictionary=_build(DictionarySpec, raw["dictionary"]) if "dictionary" in raw else None,
        raw=raw,
    )


def _pseudolabel(raw: dict) -> PseudolabelConfig:
    rest = {k: v for k, v in raw.items() if k not in ("teacher", "data")}
    return _build(
        PseudolabelConfig,
        rest,
        teacher=TaskModelSpec(raw["teacher"]["path"], where="teacher"),
        data=_build(PseudolabelDataSpec, raw["data"]),
        raw=raw,
    )


_TYPED = {"pretrain": _pretrain, "evaluate": _evaluate, "finetune": _finetune, "pseudolabel": _pseudolabel}


# ---------------------------------------------------------------------------------------------- validation

def load_schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


def _branch(schema: dict, obj: dict) -> tuple[int, dict] | None:
    """The branch of a discriminated union (oneOf of objects) whose `const` properties `obj` has, with its index."""
    for i, b in enumerate(schema["oneOf"]):
        consts = {k: v["const"] for k, v in b.get("properties", {}).items() if "const" in v}
        if consts and all(obj.get(k) == v for k, v in consts.items()):
            return i, b
    return None


def _apply_defaults(schema: dict, obj: Any) -> Any:
    """Fill absent properties that have a `default` in the schema (recursively), like zod's parse does."""
    if isinstance(obj, dict) and "oneOf" in schema:
        found = _branch(schema, obj)
        return _apply_defaults(found[1], obj) if found else obj
    if not isinstance(obj, dict) or schema.get("type") != "object":
        return obj
    props = schema.get("properties", {})
    for key, sub in props.items():
        if key not in obj and "default" in sub:
            obj[key] = copy.deepcopy(sub["default"])
        if key in obj:
            obj[key] = _apply_defaults(sub, obj[key])
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key in obj:
            if key not in props:
                obj[key] = _apply_defaults(extra, obj[key])
    return obj


def _path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def _format(error) -> list[str]:
    """One line per violation, led by the JSON path of the offending field."""
    where = list(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        return [f"{_path(where + [k])}: unknown field" for k in error.instance if k not in allowed]
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return [f"{_path(where + [k])}: required field missing" for k in missing]
    if error.validator == "oneOf" and isinstance(error.instance, dict):  # a discriminated union: its branch's errors
        found = _branch(error.schema, error.instance)
        if found is None:
            consts = [f"{k}={v['const']!r}" for b in error.schema["oneOf"]
                      for k, v in b.get("properties", {}).items() if "const" in v]
            return [f"{_path(where)}: expected one of {', '.join(consts)}"]
        return [line for e in error.context if e.relative_schema_path[0] == found[0] for line in _format(e)]
    return [f"{_path(where)}: {error.message}"]


def validate(raw: Any, schema: dict | None = None, strict: bool = True) -> dict:
    """Apply defaults, validate against the schema branch named by `command`; raise ConfigError listing all issues.
    strict=False only applies the defaults (benchmarks on machines without jsonschema; never the CLI)."""
    schema = schema or load_schema()
    if not isinstance(raw, dict):
        raise ConfigError("(root): the config must be a JSON object")
    branches = {b["properties"]["command"]["const"]: b for b in schema["oneOf"]}
    command = raw.get("command")
    if command not in branches:
        raise ConfigError(f"command: must be one of {sorted(branches)} (got {command!r})")
    branch = branches[command]
    raw = _apply_defaults(branch, copy.deepcopy(raw))
    if not strict:
        return raw
    import jsonschema

    validator = jsonschema.Draft202012Validator(branch)
    errors = sorted(validator.iter_errors(raw), key=lambda e: [str(p) for p in e.absolute_path])
    lines = [line for e in errors for line in _format(e)]
    if lines:
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines))
    return raw


AnyConfig = PretrainConfig | EvaluateConfig | FinetuneConfig | PseudolabelConfig


def parse(raw: Any, strict: bool = True) -> AnyConfig:
    raw = validate(raw, strict=strict)
    return _TYPED[raw["command"]](raw)


def read(path: str, expect: str | None = None) -> Any:
    """The JSON at `path` (--config), unvalidated; `expect` is the CLI command, which must match `command`."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"--config: file not found: {path}") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"--config: not valid JSON ({path}): {e}") from None
    if expect is not None and isinstance(raw, dict) and raw.get("command") != expect:
        raise ConfigError(f"command: the config says {raw.get('command')!r} but the CLI command is {expect!r}")
    return raw


def load(path: str, expect: str | None = None) -> AnyConfig:
    """Read, validate and type the config at `path`; `expect` is the CLI command, which must match `command`."""
    return parse(read(path, expect))
