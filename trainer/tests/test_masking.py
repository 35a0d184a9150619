"""Masking: whole words (English pieces, Chinese jieba words + lexicon) masked together, lexicon spans, rates,
80/10/10, special tokens never masked, and no NaN when a batch has nothing masked."""

import re

import numpy as np
import pytest
import torch

from trainer.data import tokenize_corpus
from trainer.masking import IGNORE, Masker
from trainer.model import MaskedLM, load_model, load_tokenizer
from trainer.synthetic import DOMAIN_PHRASES_EN, DOMAIN_TERMS_EN, DOMAIN_TERMS_ZH
from trainer.words import LEXICON, Segmenter

EN_TEXT = ("the patient presented with cardiomyopathy and received heparin after angioplasty. the cardiologist "
           "was screened for heart failure and atherosclerosis near the bright museum.")
ZH_TEXT = "老年患者被诊断为心肌炎，并服用抗凝药物。医生建议复查动脉粥样硬化，心电图显示异常。"
ROWS = 400  # the same text in every row: each row is an independent masking draw


def encode(tokenizer, segmenter, text):
    enc = tokenizer(text, return_offsets_mapping=True)
    ids = np.asarray(enc["input_ids"])
    offsets = np.asarray(enc["offset_mapping"])
    flags = segmenter.token_flags(text, offsets, np.isin(ids, tokenizer.all_special_ids))
    return ids, offsets, flags


def token_span(offsets, start, end):
    """Indices of the tokens whose characters lie inside [start, end)."""
    return np.flatnonzero((offsets[:, 0] >= start) & (offsets[:, 1] <= end) & (offsets[:, 1] > offsets[:, 0]))


def draw(tokenizer, strategy, ids, flags, rate=0.15, seed=0):
    masker = Masker(strategy, rate, tokenizer.mask_token_id, len(tokenizer), tokenizer.all_special_ids)
    batch = np.tile(ids, (ROWS, 1))
    return masker(batch, np.tile(flags, (ROWS, 1)), np.random.default_rng(seed)).labels != IGNORE  # [ROWS, T]


def all_or_none(masked, span):
    per_row = masked[:, span].sum(axis=1)
    return bool(np.all((per_row == 0) | (per_row == len(span)))), int((per_row == len(span)).sum())


def test_whole_word_english_masks_every_piece_of_a_word(general_bert):
    tok = load_tokenizer(general_bert)
    ids, offsets, flags = encode(tok, Segmenter("en"), EN_TEXT)
    words = [(m.start(), m.end()) for m in re.finditer(r"\w+", EN_TEXT)]
    multi = [(s, e) for s, e in words if len(token_span(offsets, s, e)) >= 2]
    assert len(multi) >= 5, "the general vocabulary should split domain terms into pieces"
    masked = draw(tok, "whole-word", ids, flags)
    hits = 0
    for s, e in multi:
        ok, n = all_or_none(masked, token_span(offsets, s, e))
        assert ok, f"{EN_TEXT[s:e]!r} was partly masked"
        hits += n
    assert hits > 50  # words were really masked, as units
    # the token strategy on the same input does split words: the check above can fail
    token_masked = draw(tok, "token", ids, flags)
    assert not all(all_or_none(token_masked, token_span(offsets, s, e))[0] for s, e in multi)


def test_whole_word_chinese_uses_jieba_and_the_lexicon(tiny_bert):
    tok = load_tokenizer(tiny_bert)
    ids, offsets, flags = encode(tok, Segmenter("zh", ["抗凝药物", "动脉粥样硬化"]), ZH_TEXT)
    assert tok.convert_ids_to_tokens(ids[1:4].tolist()) == ["老", "年", "患"]  # one token per character
    masked = draw(tok, "whole-word", ids, flags)
    for word in ["患者", "心肌炎", "抗凝药物", "动脉粥样硬化", "心电图"]:
        s = ZH_TEXT.index(word)
        span = token_span(offsets, s, s + len(word))
        assert len(span) == len(word)
        ok, n = all_or_none(masked, span)
        assert ok and n > 0, f"{word}: all-or-none={ok}, fully masked in {n} rows"
    # without the lexicon, jieba splits 抗凝药物 (抗凝 / 药物): whole-word masking then treats it as two words
    _, _, plain = encode(tok, Segmenter("zh", []), ZH_TEXT)
    s = ZH_TEXT.index("抗凝药物")
    span = token_span(offsets, s, s + 4)
    assert all_or_none(draw(tok, "whole-word", ids, plain), span)[0] is False


def test_lexicon_masking_prefers_whole_lexicon_spans(general_bert, tiny_bert):
    for model, text, lexicon in ((general_bert, EN_TEXT, DOMAIN_TERMS_EN + DOMAIN_PHRASES_EN),
                                 (tiny_bert, ZH_TEXT, DOMAIN_TERMS_ZH)):
        tok = load_tokenizer(model)
        ids, offsets, flags = encode(tok, Segmenter("auto", lexicon), text)
        lex_tokens = (flags & LEXICON).astype(bool)
        spans = [token_span(offsets, m.start(), m.end()) for w in lexicon for m in re.finditer(re.escape(w), text)]
        assert len(spans) >= 3 and all(lex_tokens[s].all() for s in spans)
        lexicon_masked = draw(tok, "lexicon", ids, flags)
        word_masked = draw(tok, "whole-word", ids, flags)
        for span in spans:  # "heart failure" (two words) is one unit too
            assert all_or_none(lexicon_masked, span)[0]
        share_lex = lexicon_masked[:, lex_tokens].mean()
        share_word = word_masked[:, lex_tokens].mean()
        assert share_lex > 1.5 * share_word, (share_lex, share_word)
        assert abs(lexicon_masked.mean() - word_masked.mean()) < 0.05  # same overall budget


def test_rate_replacement_and_special_tokens(tiny_bert, corpus):
    tok = load_tokenizer(tiny_bert)
    seqs = tokenize_corpus([corpus["domain"]], tok, 64, segmenter=Segmenter("en"))
    masker = Masker("whole-word", 0.3, tok.mask_token_id, len(tok), tok.all_special_ids)
    ids = seqs.ids.astype(np.int64)
    m = masker(ids, seqs.flags, np.random.default_rng(3))
    masked = m.labels != IGNORE
    special = np.isin(ids, tok.all_special_ids)
    assert special.any() and not masked[special].any()
    assert np.array_equal(m.labels[masked], ids[masked]) and np.all(m.labels[~masked] == IGNORE)
    assert abs(masked.sum() / (~special).sum() - 0.3) < 0.02
    assert np.array_equal(m.input_ids[~masked], ids[~masked])  # unmasked tokens untouched
    to_mask = (m.input_ids == tok.mask_token_id)[masked].mean()
    kept = (m.input_ids == ids)[masked].mean()
    assert abs(to_mask - 0.8) < 0.02 and 0.08 < kept < 0.13  # 10% kept (+ random draws equal to the original)
    assert not np.isin(m.input_ids[masked & (m.input_ids != tok.mask_token_id)], tok.all_special_ids).any()


def test_masks_are_a_function_of_the_seed(tiny_bert, corpus):
    tok = load_tokenizer(tiny_bert)
    seqs = tokenize_corpus([corpus["domain"]], tok, 32, segmenter=Segmenter("en"), max_sequences=16)
    masker = Masker("whole-word", 0.15, tok.mask_token_id, len(tok), tok.all_special_ids)
    a = masker(seqs.ids, seqs.flags, np.random.default_rng([1, 2]))
    b = masker(seqs.ids, seqs.flags, np.random.default_rng([1, 2]))
    c = masker(seqs.ids, seqs.flags, np.random.default_rng([1, 3]))
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.input_ids, b.input_ids)
    assert not np.array_equal(a.labels, c.labels)


def test_no_masked_token_gives_zero_loss_not_nan(tiny_bert):
    tok = load_tokenizer(tiny_bert)
    model = load_model(tiny_bert, "mlm")
    ids = np.asarray([tok("the patient recovered")["input_ids"]] * 2)
    masker = Masker("token", 0.05, tok.mask_token_id, len(tok), tok.all_special_ids)  # budget rounds to 0
    m = masker(ids, None, np.random.default_rng(0))
    assert m.n_masked == 0
    positions = torch.zeros(64, dtype=torch.long)
    targets = torch.full((64,), IGNORE, dtype=torch.long)
    loss_sum, _ = MaskedLM(model)(torch.from_numpy(m.input_ids), None, positions, targets)
    loss = loss_sum / max(1, m.n_masked)
    loss.backward()
    assert loss.item() == 0.0
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("strategy", ["token", "whole-word", "lexicon"])
def test_a_step_without_masked_tokens_trains_without_nan(tmp_path, tiny_bert, corpus, strategy):
    from trainer import config
    from trainer.events import Collect
    from trainer.train import pretrain

    from .conftest import pretrain_config

    raw = pretrain_config(tmp_path, tiny_bert, [corpus["domain"]], data={"seqLen": 8},
                          masking={"strategy": strategy, "rate": 0.01, "lexicon": corpus["lexicon"]},
                          train={"maxSteps": 3, "batchSize": 2})
    events = Collect()
    pretrain(config.parse(raw), events=events)
    assert [e["loss"] for e in events.of("progress")] == [0.0, 0.0, 0.0]
    model = load_model(str(tmp_path / "out"), "mlm")
    assert all(torch.isfinite(p).all() for p in model.parameters())
