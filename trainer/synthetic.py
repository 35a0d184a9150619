"""Generated text for tests, benchmarks and smoke runs (no downloads): a "general" and a "domain" (cardiology)
register in English, and a Chinese domain register, written from templates with a seeded rng, so each is
learnable by a tiny model within a few dozen steps and the two registers are distinguishable.
"""

from __future__ import annotations

import gzip
import itertools
import json
import random

DOMAIN_TERMS_EN = ["cardiomyopathy", "myocarditis", "arrhythmia", "tachycardia", "bradycardia", "angioplasty",
                   "echocardiogram", "atherosclerosis", "fibrillation", "pericarditis", "stenosis", "thrombolysis",
                   "anticoagulant", "vasodilator", "electrocardiogram", "catheterization"]
DOMAIN_PHRASES_EN = ["heart failure", "atrial fibrillation", "coronary artery disease", "beta blocker"]
DOMAIN_TERMS_ZH = ["心肌炎", "心律失常", "冠心病", "心力衰竭", "心电图", "抗凝药物", "动脉粥样硬化", "心肌病"]

_GENERAL_NOUNS = ["city", "river", "market", "teacher", "garden", "train", "window", "friend", "music", "story",
                  "village", "road", "school", "book", "kitchen", "weather", "family", "holiday", "museum", "bridge"]
_GENERAL_VERBS = ["visited", "painted", "described", "opened", "followed", "watched", "cleaned", "crossed",
                  "remembered", "built"]
_GENERAL_ADJ = ["old", "quiet", "busy", "bright", "small", "famous", "cold", "green", "long", "friendly"]
_DOMAIN_NOUNS = ["patient", "cardiologist", "ventricle", "valve", "artery", "dose", "symptom", "biopsy", "ward",
                 "infusion"]
_DOMAIN_VERBS = ["presented with", "was treated for", "developed", "was screened for", "recovered from",
                 "was admitted with"]
_DOMAIN_DRUGS = ["aspirin", "heparin", "warfarin", "digoxin", "amiodarone", "metoprolol"]
_ZH_SUBJ = ["患者", "医生", "病人", "老年患者", "年轻患者"]
_ZH_VERB = ["被诊断为", "出现了", "接受治疗", "住院治疗", "检查发现"]
_ZH_TAIL = ["需要长期随访。", "病情逐渐好转。", "医生建议复查。", "并服用抗凝药物。", "心电图显示异常。"]


def general_sentence(rng: random.Random) -> str:
    n1, n2 = rng.choice(_GENERAL_NOUNS), rng.choice(_GENERAL_NOUNS)
    return (f"the {rng.choice(_GENERAL_ADJ)} {n1} {rng.choice(_GENERAL_VERBS)} the {rng.choice(_GENERAL_ADJ)} "
            f"{n2} near the {rng.choice(_GENERAL_NOUNS)}.")


def domain_sentence(rng: random.Random) -> str:
    term = rng.choice(DOMAIN_TERMS_EN + DOMAIN_PHRASES_EN)
    return (f"the {rng.choice(_DOMAIN_NOUNS)} {rng.choice(_DOMAIN_VERBS)} {term} and received "
            f"{rng.choice(_DOMAIN_DRUGS)} after {rng.choice(DOMAIN_TERMS_EN)}.")


def chinese_sentence(rng: random.Random) -> str:
    return f"{rng.choice(_ZH_SUBJ)}{rng.choice(_ZH_VERB)}{rng.choice(DOMAIN_TERMS_ZH)}，{rng.choice(_ZH_TAIL)}"


def synthetic_words(n: int, seed: int = 0) -> list[str]:
    """`n` distinct pseudo-words built from syllables (for a realistic vocabulary size in benchmarks)."""
    rng = random.Random(seed)
    syll = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"] + ["tion", "ment", "ing", "er", "al", "ous"]
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(syll) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def documents(kind: str, n_docs: int, seed: int = 0, sentences: tuple[int, int] = (3, 8),
              lexicon: list[str] | None = None) -> list[str]:
    """kind: general | domain | zh | zipf (random words from `lexicon` with Zipfian frequencies)."""
    rng = random.Random(f"{kind}:{seed}")
    if kind == "zipf":
        words = lexicon or synthetic_words(5000, seed)
        cum = list(itertools.accumulate(1.0 / (i + 1) for i in range(len(words))))
        return [" ".join(rng.choices(words, cum_weights=cum, k=rng.randint(50, 200))) + "." for _ in range(n_docs)]
    make = {"general": general_sentence, "domain": domain_sentence, "zh": chinese_sentence}[kind]
    return [" ".join(make(rng) for _ in range(rng.randint(*sentences))) for _ in range(n_docs)]


def write_jsonl(path: str, docs: list[str], field: str = "text") -> str:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({field: d}, ensure_ascii=False) + "\n")
    return path


# ------------------------------------------------------------------------------------- labeled task data (tests)

_ENTITY_WORDS = {"DRUG": _DOMAIN_DRUGS, "DISEASE": [t for t in DOMAIN_TERMS_EN if not t.endswith("gram")]}


def class_keywords(n_classes: int) -> list[list[str]]:
    """Three pseudo-word keywords per class: the signal a classifier has to learn."""
    words = synthetic_words(12 * n_classes + 100, seed=4242)
    words = [w for w in words if len(w) >= 5][: 3 * n_classes]
    return [words[3 * c: 3 * c + 3] for c in range(n_classes)]


def classification_examples(n: int, n_classes: int, seed: int = 0, flip: float = 0.0,
                            skew: float = 0.0) -> list[dict]:
    """`n` rows {text, label, flipped}: a general-register sentence carrying two keywords of its class.
    flip: share of rows whose label is replaced by another class (the text keeps the true class's keywords);
    skew: class c is drawn with weight (1 - skew)^c (0: balanced)."""
    rng = random.Random(f"cls:{n_classes}:{seed}")
    keywords = class_keywords(n_classes)
    weights = [(1.0 - skew) ** c for c in range(n_classes)]
    rows = []
    for _ in range(n):
        c = rng.choices(range(n_classes), weights=weights)[0]
        k1, k2 = rng.sample(keywords[c], 2)
        text = (f"the {rng.choice(_GENERAL_ADJ)} {rng.choice(_GENERAL_NOUNS)} {k1} {rng.choice(_GENERAL_VERBS)} "
                f"the {rng.choice(_GENERAL_NOUNS)} {k2} near the {rng.choice(_GENERAL_NOUNS)}.")
        rows.append({"text": text, "label": f"c{c:02d}", "flipped": False})
    for i in rng.sample(range(n), round(flip * n)):
        true = rows[i]["label"]
        rows[i]["label"] = rng.choice([f"c{c:02d}" for c in range(n_classes) if f"c{c:02d}" != true])
        rows[i]["flipped"] = True
    return rows


def augmented(text: str, rng: random.Random) -> str:
    """A label-preserving rewrite (a stand-in for back-translation): general-register words swapped."""
    pools = (_GENERAL_ADJ, _GENERAL_NOUNS, _GENERAL_VERBS)
    out = []
    for word in text.split(" "):
        bare = word.rstrip(".")
        pool = next((p for p in pools if bare in p), None)
        out.append(word.replace(bare, rng.choice(pool)) if pool and rng.random() < 0.5 else word)
    return " ".join(out)


def uda_pairs(n: int, n_classes: int, seed: int = 0) -> list[dict]:
    """`n` unlabeled pairs {text, augmented} of the classification_examples task."""
    rng = random.Random(f"uda:{seed}")
    return [{"text": r["text"], "augmented": augmented(r["text"], rng)}
            for r in classification_examples(n, n_classes, seed=seed + 7919)]


def ner_examples(n: int, seed: int = 0) -> list[dict]:
    """`n` rows {tokens, tags} (BIO) with DRUG and DISEASE entities, some of them two words long."""
    rng = random.Random(f"ner:{seed}")
    rows = []
    for _ in range(n):
        tokens, tags = ["the", rng.choice(_DOMAIN_NOUNS)], ["O", "O"]
        for etype in rng.sample(sorted(_ENTITY_WORDS), 2):
            words = [rng.choice(_ENTITY_WORDS[etype])]
            if etype == "DISEASE" and rng.random() < 0.3:
                words = ["acute", *words]
            tokens += [rng.choice(["with", "and", "after", "for"]), *words]
            tags += ["O", f"B-{etype}"] + [f"I-{etype}"] * (len(words) - 1)
        tokens.append(".")
        tags.append("O")
        rows.append({"tokens": tokens, "tags": tags})
    return rows


def write_rows(path: str, rows: list[dict]) -> str:
    """JSONL(.gz) of arbitrary records."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path
