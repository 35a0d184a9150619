"""One document shard → one token shard, outside any training run: the task of the `tokenize` stage's fan-out.

    python -m trainer tokenize --config tokenize.json

The shard is written exactly as a training run with data.tokenCache would build it for the same document file
(token_shards.tokenize_file, the same content key and header), so the bytes depend only on the documents, the
tokenizer and the encode parameters: a task rerun after a crash, on any worker, writes the same file. The summary
JSON (`summary`) gives the content key, the tokenizer digest, the encode parameters and the counts. Events: `done`
with the token and document counts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from .config import MaskingSpec, read, require_file, require_model_dir, validate
from .evaluate import make_segmenter
from .events import Events, log
from .model import load_tokenizer
from .token_shards import EncodeParams, file_digest, shard_key, tokenize_file, tokenizer_digest


@dataclass(frozen=True)
class TokenizeConfig:
    model: str
    objective: str
    input: str
    output: str
    summary: str
    masking: MaskingSpec
    text_field: str = "text"
    seq_len: int = 128
    packing: bool = True
    command: str = "tokenize"
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        require_model_dir(self.model, "model")
        require_file(self.input, "input")


def load(path: str) -> TokenizeConfig:
    raw = validate(read(path, expect="tokenize"))
    m = raw["masking"]
    masking = MaskingSpec(strategy=m["strategy"], rate=m["rate"], lexicon=m.get("lexicon"), language=m["language"])
    return TokenizeConfig(model=raw["model"]["path"], objective=raw["model"]["objective"], input=raw["input"],
                          output=raw["output"], summary=raw["summary"], masking=masking, text_field=raw["textField"],
                          seq_len=raw["seqLen"], packing=raw["packing"], raw=raw)


def run(cfg: TokenizeConfig, events: Events | None = None) -> dict:
    events = events or Events()
    tokenizer = load_tokenizer(cfg.model)
    segmenter = make_segmenter(cfg.masking, cfg.objective)
    params = EncodeParams.of(cfg.packing, cfg.seq_len, cfg.objective, cfg.text_field, segmenter)
    tok = tokenizer_digest(tokenizer)
    key = shard_key(file_digest(cfg.input), tok, params)
    os.makedirs(os.path.dirname(os.path.abspath(cfg.output)), exist_ok=True)
    header = tokenize_file(cfg.input, cfg.output, tokenizer, params, segmenter, meta={"key": key, "tokenizer": tok})
    summary = {"key": key, "tokenizer": tok, "encode": params.as_meta(), "tokens": header["tokens"],
               "docs": header["docs"], "dtype": header["dtype"]}
    with open(cfg.summary, "w", encoding="utf-8") as f:
        json.dump(summary, f, sort_keys=True)
    log.info("tokenize: %s → %d tokens of %d documents (%s)", cfg.input, header["tokens"], header["docs"], key[:12])
    events.done(os.path.dirname(os.path.abspath(cfg.output)), {"tokens": header["tokens"], "docs": header["docs"]})
    return summary
