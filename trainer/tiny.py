"""Tiny base models for tests, demos and benchmarks, built offline: a tokenizer trained with `tokenizers` on a
given corpus plus a randomly initialised model, saved in Hugging Face format (safetensors).

    python -m trainer tiny-model --arch bert --corpus docs.jsonl.gz --out /tmp/tiny-bert [--vocab-size 2000]

bert: BERT WordPiece (lower-cased, accents stripped, every CJK character its own piece — like bert-base-chinese)
      + BertForMaskedLM.
gpt2: byte-level BPE (like GPT-2) + GPT2LMHeadModel.
t5:   byte-level BPE + T5ForConditionalGeneration (a seq2seq model, e.g. for `translate` tests).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from dataclasses import dataclass

from .data import read_texts
from .errors import ConfigError
from .events import Events


@dataclass(frozen=True)
class TinySpec:
    arch: str  # bert | gpt2
    vocab_size: int = 2000
    layers: int = 2
    hidden: int = 64
    heads: int = 0  # 0: hidden // 64, at least 2
    intermediate: int = 0  # 0: 4 × hidden
    max_positions: int = 512
    seed: int = 0

    @property
    def n_heads(self) -> int:
        return self.heads or max(2, self.hidden // 64)


def train_tokenizer(arch: str, texts: Iterator[str], vocab_size: int):
    """A `transformers` fast tokenizer trained on `texts`."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if arch == "bert":
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
        tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=True,
                                                    lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix="##")
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials, min_frequency=1,
                                            show_progress=False,
                                            continuing_subword_prefix="##")
        tok.train_from_iterator(texts, trainer=trainer)
        cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
        return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                       sep_token="[SEP]", mask_token="[MASK]", model_max_length=512)
    if arch == "gpt2":
        eos = "<|endoftext|>"
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[eos], min_frequency=1, show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator(texts, trainer=trainer)
        return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=eos, eos_token=eos, unk_token=eos,
                                       pad_token=eos, model_max_length=1024)
    if arch == "t5":
        specials = ["<pad>", "</s>", "<unk>"]
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, min_frequency=1,
                                      show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator(texts, trainer=trainer)
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))])
        return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                       model_max_length=512)
    raise ValueError(f"unknown arch {arch!r} (bert, gpt2 or t5)")


def build_model(spec: TinySpec, vocab_size: int, tokenizer):
    import torch
    from transformers import BertConfig, BertForMaskedLM, GPT2Config, GPT2LMHeadModel, T5Config, T5ForConditionalGeneration

    torch.manual_seed(spec.seed)
    if spec.arch == "bert":
        config = BertConfig(vocab_size=vocab_size, hidden_size=spec.hidden, num_hidden_layers=spec.layers,
                            num_attention_heads=spec.n_heads, intermediate_size=spec.intermediate or 4 * spec.hidden,
                            max_position_embeddings=spec.max_positions, pad_token_id=tokenizer.pad_token_id)
        return BertForMaskedLM(config)
    if spec.arch == "t5":  # an encoder-decoder (AutoModelForSeq2SeqLM): the translate command's test model
        config = T5Config(vocab_size=vocab_size, d_model=spec.hidden, d_kv=spec.hidden // spec.n_heads,
                          d_ff=spec.intermediate or 4 * spec.hidden, num_layers=spec.layers, num_heads=spec.n_heads,
                          pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                          decoder_start_token_id=tokenizer.pad_token_id)
        return T5ForConditionalGeneration(config)
    config = GPT2Config(vocab_size=vocab_size, n_embd=spec.hidden, n_layer=spec.layers, n_head=spec.n_heads,
                        n_inner=spec.intermediate or None, n_positions=spec.max_positions,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.eos_token_id)
    return GPT2LMHeadModel(config)


def make_tiny_model(spec: TinySpec, corpus: list[str], out: str, text_field: str = "text") -> str:
    """Train the tokenizer on the corpus shards, build the model, save both to `out`; returns `out`."""
    tokenizer = train_tokenizer(spec.arch, read_texts(corpus, text_field), spec.vocab_size)
    model = build_model(spec, len(tokenizer), tokenizer)
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainer tiny-model", description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", choices=["bert", "gpt2", "t5"], required=True)
    p.add_argument("--corpus", nargs="+", required=True, help="JSONL(.gz) shards with a text field")
    p.add_argument("--out", required=True)
    p.add_argument("--text-field", default="text")
    p.add_argument("--vocab-size", type=int, default=2000)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--heads", type=int, default=0)
    p.add_argument("--max-positions", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    for i, path in enumerate(a.corpus):
        if not os.path.isfile(path):
            raise ConfigError(f"--corpus[{i}]: file not found: {path}")
    spec = TinySpec(arch=a.arch, vocab_size=a.vocab_size, layers=a.layers, hidden=a.hidden, heads=a.heads,
                    max_positions=a.max_positions, seed=a.seed)
    make_tiny_model(spec, a.corpus, a.out, a.text_field)
    Events().done(a.out, {})
    return 0
