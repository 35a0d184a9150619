"""How the base model's tokenizer fragments each mined term: the tokenizer half of the long-tail analysis.

    python -m trainer longtail --config longtail.json

The `longtail` stage scores which lexicon terms need knowledge (activities/stages/longtail/); one number of that
score — into how many sub-tokens the base tokenizer cuts a term — needs the real tokenizer, which only Python
loads (a TypeScript WordPiece emulation cannot follow SentencePiece, byte-level BPE or a normaliser). A term is
tokenized the way it appears inside text: byte-level BPE sees it after a space (" term"), as vocab.py's extension
does, so "1 piece" here means "the embedding of this term already exists". Output: one JSON line per term, in
input order: {word, pieces, tokens, unknown}. Events: `done` with the number of terms.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

from .config import read, require_file, require_model_dir, validate
from .events import Events, log
from .words import _CJK, read_lexicon

_HAS_CJK = re.compile(f"[{_CJK}]")


@dataclass(frozen=True)
class LongtailConfig:
    model: str
    terms: str
    output: str
    command: str = "longtail"
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        require_model_dir(self.model, "model")
        require_file(self.terms, "terms")


def load(path: str) -> LongtailConfig:
    raw = validate(read(path, expect="longtail"))
    return LongtailConfig(model=raw["model"], terms=raw["terms"], output=raw["output"], raw=raw)


def _byte_level(tokenizer) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    return backend is not None and "ByteLevel" in json.dumps(json.loads(backend.to_str()).get("pre_tokenizer"))


def fragments(tokenizer, words: list[str]) -> list[dict]:
    """Per word: the sub-tokens the tokenizer writes it as inside text, and whether one is the unknown token."""
    byte_level = _byte_level(tokenizer)
    out = []
    for word in words:
        surface = " " + word if byte_level and not _HAS_CJK.search(word) else word
        ids = tokenizer(surface, add_special_tokens=False)["input_ids"]
        out.append({"word": word, "pieces": len(ids), "tokens": tokenizer.convert_ids_to_tokens(ids),
                    "unknown": tokenizer.unk_token_id is not None and tokenizer.unk_token_id in ids})
    return out


def run(cfg: LongtailConfig, events: Events | None = None) -> list[dict]:
    from transformers import AutoTokenizer

    events = events or Events()
    tokenizer = AutoTokenizer.from_pretrained(cfg.model)
    rows = fragments(tokenizer, read_lexicon(cfg.terms))
    os.makedirs(os.path.dirname(os.path.abspath(cfg.output)), exist_ok=True)
    with open(cfg.output, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    log.info("longtail: %d terms tokenized with %s", len(rows), type(tokenizer).__name__)
    events.done(os.path.dirname(os.path.abspath(cfg.output)), {"terms": len(rows)})
    return rows
