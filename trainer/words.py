"""Word boundaries for whole-word and lexicon masking, built ourselves rather than from the tokenizer.

HF's whole-word collator groups `##` pieces, which treats a run of Chinese characters (each its own WordPiece token)
as one word, or every character as a word. We segment the text into words first and then map tokens onto them:

  text ──segment──▶ words (char spans): Latin-script runs, single punctuation marks, and for CJK runs the words of
                    jieba (with the lexicon added as user dictionary), or single characters when language is 'en'
       ──lexicon──▶ consecutive words whose text is a lexicon entry merge into one unit flagged LEXICON
  tokens ──offsets─▶ a token starts a new unit unless its first character lies in the unit of the previous token's
                    last character (a token spanning two words merges them; whitespace-only tokens stand alone)

The result is one uint8 per token: WORD_START (bit 0) and LEXICON (bit 1); masking.py turns them into unit ids.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Sequence

import numpy as np

from .data import open_text
from .errors import ConfigError

log = logging.getLogger("trainer")

WORD_START = np.uint8(1)
LEXICON = np.uint8(2)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
_WORD_RE = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)|(\S)")
_CJK_WORD = re.compile(f"[{_CJK}]+")
_SPACE_RE = re.compile(r"\s+")


def read_lexicon(path: str) -> list[str]:
    """One word per line, or JSONL records with a `word` field (the `newwords` artifact). Order kept, deduplicated.
    A line starting with "{" is a JSON record: a word that starts with "{" goes in a record."""
    words: list[str] = []
    with open_text(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            if line.startswith("{"):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ConfigError(f"lexicon {path}:{number}: a line starting with '{{' must be a JSON record "
                                      f'{{"word": ...}} ({e.msg}); write such a word as {json.dumps({"word": line[:40]}, ensure_ascii=False)}') from None
                word = record.get("word") if isinstance(record, dict) else None
                if not isinstance(word, str):
                    continue
            else:
                word = line
            word = word.strip()
            if word:
                words.append(word)
    return list(dict.fromkeys(words))


def _norm(s: str) -> str:
    return _SPACE_RE.sub(" ", s.strip()).lower()


class Segmenter:
    """Splits text into masking units (see module doc). `language`: auto | en | zh."""

    def __init__(self, language: str = "auto", lexicon: Sequence[str] = ()):
        self.language = language
        self._cjk_lexicon = tuple(w for w in lexicon if _CJK_WORD.fullmatch(w))
        self._jieba = None  # loaded at the first CJK run (~1 s): English-only corpora never pay for it
        self.lexicon = {_norm(w) for w in lexicon}
        # cheap pre-check before trying matches at a word: an entry's first word (its first character when it
        # starts with CJK, which jieba may segment differently in context)
        firsts = [m.group(0) for w in self.lexicon if (m := _WORD_RE.search(w))]
        self._first_words = {f for f in firsts if not _CJK_WORD.match(f)}
        self._first_cjk = {f[0] for f in firsts if _CJK_WORD.match(f)}
        # an upper bound on the words of an entry (a CJK run counts one word per character)
        self.max_lexicon_words = max((sum(len(m.group(1)) if m.group(1) else 1 for m in _WORD_RE.finditer(w))
                                      for w in lexicon), default=0)

    def _segment_cjk(self, run: str) -> list[str]:
        if self.language == "en":
            return list(run)
        if self._jieba is None:
            self._jieba = _jieba_tokenizer(self._cjk_lexicon, required=self.language == "zh") or False
        return list(self._jieba.cut(run, HMM=True)) if self._jieba else list(run)

    def words(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Word char spans (starts, ends), in order, whitespace excluded."""
        starts: list[int] = []
        ends: list[int] = []
        for m in _WORD_RE.finditer(text):
            s, e = m.span()
            if m.group(1) is None:
                starts.append(s)
                ends.append(e)
            else:
                for piece in self._segment_cjk(m.group(1)):
                    starts.append(s)
                    s += len(piece)
                    ends.append(s)
        return np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)

    def units(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masking units: (starts, ends, is_lexicon); lexicon entries spanning several words become one unit."""
        starts, ends = self.words(text)
        is_lex = np.zeros(len(starts), dtype=bool)
        if not self.lexicon or len(starts) == 0:
            return starts, ends, is_lex
        keep = np.ones(len(starts), dtype=bool)
        s_list, e_list = starts.tolist(), ends.tolist()
        i, n = 0, len(s_list)
        while i < n:
            word = text[s_list[i]:e_list[i]].lower()
            if word not in self._first_words and word[0] not in self._first_cjk:
                i += 1
                continue
            for j in range(min(n, i + self.max_lexicon_words) - 1, i - 1, -1):  # longest match first
                if _norm(text[s_list[i]:e_list[j]]) in self.lexicon:
                    ends[i] = e_list[j]
                    is_lex[i] = True
                    keep[i + 1:j + 1] = False
                    i = j
                    break
            i += 1
        return starts[keep], ends[keep], is_lex[keep]

    def token_flags(self, text: str, offsets: np.ndarray, special: np.ndarray) -> np.ndarray:
        """uint8 flags per token from its char offsets [n, 2] (special tokens: WORD_START, never LEXICON)."""
        starts, ends, is_lex = self.units(text)
        t_start, t_end = offsets[:, 0], offsets[:, 1]
        first = np.searchsorted(ends, t_start, side="right")  # first unit ending after the token's start
        last = np.searchsorted(starts, t_end - 1, side="right") - 1  # unit holding the token's last char
        alone = special | (first > last) | (t_end <= t_start)  # specials and whitespace-only tokens
        prev_last = np.concatenate([[-2], last[:-1]])
        prev_alone = np.concatenate([[True], alone[:-1]])
        new = alone | prev_alone | (first != prev_last)
        flags = np.where(new, WORD_START, np.uint8(0)).astype(np.uint8)
        if is_lex.any():
            lex = ~alone & (is_lex[np.clip(first, 0, len(is_lex) - 1)] | is_lex[np.clip(last, 0, len(is_lex) - 1)])
            flags |= np.where(lex, LEXICON, np.uint8(0)).astype(np.uint8)
        return flags


@functools.lru_cache(maxsize=4)
def _jieba_tokenizer(cjk_lexicon: tuple[str, ...], required: bool):
    """A jieba tokenizer with the lexicon's CJK words as user dictionary (cached per lexicon in this process)."""
    try:
        import jieba
    except ImportError:
        if required:
            raise RuntimeError("masking.language 'zh' needs jieba (pip install jieba)") from None
        log.warning("jieba is not installed: Chinese text is segmented into single characters")
        return None
    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    for word in cjk_lexicon:  # freq=None: jieba picks a frequency that keeps the word whole
        tok.add_word(word)
    return tok
