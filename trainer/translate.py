"""Translation of JSONL texts through seq2seq models in turn: [forward, backward] is a back-translation, which the
augment stage uses for paraphrases (UDA, Xie et al. 2019).

    python -m trainer translate --config translate.json

Each text is cut into sentences (and lines), every sentence goes through model 1, its output through model 2, …,
and the sentences are rejoined with the text's own separators. Sentences are batched by length for speed; the
order of the output file is the input's. Sampling (temperature > 0) draws from a generator seeded per batch, so a
rerun gives the same output. Events: `metric translated=<texts done>` per batch of the last model, then `done`.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field

import torch

from .config import read, require_file, require_model_dir, validate
from .data import open_text
from .errors import ConfigError
from .evaluate import pick_device
from .events import Events, log

# A sentence ends at . ! ? (followed by a space) or at a CJK full stop; line breaks always separate.
_SPLIT = re.compile(r"(\n+|(?<=[.!?])\s+|(?<=[。！？；]))")


@dataclass(frozen=True)
class TranslateModel:
    path: str
    prefix: str = ""


@dataclass(frozen=True)
class TranslateConfig:
    input: str
    output: str
    models: list[TranslateModel]
    temperature: float = 0.0
    num_beams: int = 1
    max_length: int = 256
    batch_size: int = 16
    seed: int = 0
    device: str = "auto"
    command: str = "translate"
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        require_file(self.input, "input")
        for i, m in enumerate(self.models):
            require_model_dir(m.path, f"models[{i}]")


def load(path: str) -> TranslateConfig:
    raw = read(path, expect="translate")
    for m in raw.get("models", []) if isinstance(raw, dict) and isinstance(raw.get("models"), list) else []:
        if isinstance(m, dict):
            m.setdefault("prefix", "")  # validate() fills the defaults of objects, not of array items
    raw = validate(raw)
    return TranslateConfig(input=raw["input"], output=raw["output"],
                           models=[TranslateModel(**m) for m in raw["models"]], temperature=raw["temperature"],
                           num_beams=raw["numBeams"], max_length=raw["maxLength"], batch_size=raw["batchSize"],
                           seed=raw["seed"], device=raw["device"], raw=raw)


def split_sentences(text: str) -> list[tuple[str, str]]:
    """(sentence, separator after it) pairs; joining them gives the text back."""
    parts = _SPLIT.split(text)
    out: list[tuple[str, str]] = []
    for i in range(0, len(parts), 2):
        sep = parts[i + 1] if i + 1 < len(parts) else ""
        if parts[i] or sep:
            out.append((parts[i], sep))
    return out


def _load(m: TranslateModel, where: str, device: torch.device):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(m.path, local_files_only=True)
        model = AutoModelForSeq2SeqLM.from_pretrained(m.path, local_files_only=True)
    except (OSError, ValueError, KeyError) as e:
        raise ConfigError(f"{where}.path: not a seq2seq model with a tokenizer ({m.path}): {e}") from None
    return tokenizer, model.to(device).eval()


@torch.no_grad()
def translate_all(sentences: list[str], m: TranslateModel, cfg: TranslateConfig, where: str, device: torch.device,
                  on_batch=None) -> tuple[list[str], int]:
    """Every sentence through one model; returns the outputs in order and how many inputs were truncated."""
    tokenizer, model = _load(m, where, device)
    order = sorted(range(len(sentences)), key=lambda i: (len(sentences[i]), i))  # similar lengths share a batch
    out = [""] * len(sentences)
    truncated = 0
    for b, start in enumerate(range(0, len(order), cfg.batch_size)):
        idx = order[start:start + cfg.batch_size]
        texts = [m.prefix + sentences[i] for i in idx]
        enc = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=cfg.max_length)
        truncated += sum(1 for t in texts if len(tokenizer(t)["input_ids"]) > cfg.max_length)
        gen = torch.Generator(device="cpu").manual_seed(cfg.seed * 1_000_003 + b)
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
        kwargs = {"max_new_tokens": cfg.max_length, "num_beams": cfg.num_beams}
        if cfg.temperature > 0:
            kwargs.update(do_sample=True, temperature=cfg.temperature, top_k=0)
        ids = model.generate(**enc.to(device), **kwargs)
        for i, text in zip(idx, tokenizer.batch_decode(ids, skip_special_tokens=True)):
            out[i] = text.strip()
        if on_batch:
            on_batch(min(start + cfg.batch_size, len(order)))
    del model
    return out, truncated


def run(cfg: TranslateConfig, events: Events | None = None) -> dict[str, float]:
    events = events or Events()
    device = pick_device(cfg.device)
    started = time.time()
    records = []
    with open_text(cfg.input) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                records.append((rec["id"], str(rec["text"])))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise ConfigError(f"input: {cfg.input}:{n}: expected a JSON object with id and text") from None
    pieces = [split_sentences(text) for _, text in records]
    # Positions of the non-blank sentences: those are translated, separators and blanks are kept.
    slots = [(r, s) for r, ps in enumerate(pieces) for s, (sent, _) in enumerate(ps) if sent.strip()]
    texts = [pieces[r][s][0] for r, s in slots]
    truncated = 0
    for k, m in enumerate(cfg.models):
        last = k == len(cfg.models) - 1

        def report(done: int, last=last):
            if last:  # texts done, approximately (batches are by sentence length)
                events.metric("translated", len(records) * done // max(1, len(slots)))

        texts, cut = translate_all(texts, m, cfg, f"models[{k}]", device, on_batch=report)
        truncated += cut
    rebuilt = [[sent for sent, _ in ps] for ps in pieces]
    for (r, s), text in zip(slots, texts):
        rebuilt[r][s] = text
    os.makedirs(os.path.dirname(os.path.abspath(cfg.output)), exist_ok=True)
    tmp = cfg.output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for (rid, _), ps, sents in zip(records, pieces, rebuilt):
            text = "".join(sent + sep for sent, (_, sep) in zip(sents, ps))
            f.write(json.dumps({"id": rid, "text": text}, ensure_ascii=False) + "\n")
    os.replace(tmp, cfg.output)
    metrics = {"texts": len(records), "sentences": len(slots), "truncated": truncated,
               "seconds": round(time.time() - started, 3)}
    log.info("translated %d texts (%d sentences) through %d models", len(records), len(slots), len(cfg.models))
    events.done(os.path.dirname(os.path.abspath(cfg.output)), metrics)
    return metrics
