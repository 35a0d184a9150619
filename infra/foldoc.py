"""FOLDOC's dictd files -> glossary.jsonl ({"term", "definition"} per headword) for infra/glossary.sh.

An entry is its headword lines (a term and its synonyms or acronym, one per line), a blank line, then paragraphs
such as "   <database> An enhancement of the {POSTGRES} {database} system." The definition kept is the first
paragraph's text: the <category> tag, a /pronunciation/ and the {cross-reference} braces removed, whitespace
collapsed, cut after the sentence that passes MAX_WORDS (Dict-BERT appends short definitions: a long one would
crowd the text out of the sequence). Entries whose first paragraph is only a pointer ("{command line option}.")
are kept as they are: the pointer is the definition FOLDOC gives. A term that heads several entries ("FL", "fl")
keeps the first: the dictionary readers refuse a term defined two ways (they compare terms case-insensitively).
"""

from __future__ import annotations

import gzip
import json
import pathlib
import re
import sys

MAX_WORDS = 30
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
CATEGORY = re.compile(r"^\s*(<[^>]*>\s*)+")
PRONUNCIATION = re.compile(r"^/[^/]{1,60}/\s*")
NUMBERED = re.compile(r"^\d+\.\s+")


def b64(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + B64.index(c)
    return n


def definition(body: str) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
    if not paragraphs:
        return ""
    text = " ".join(paragraphs[0].split())
    text = NUMBERED.sub("", text)
    text = CATEGORY.sub("", text)
    text = PRONUNCIATION.sub("", text)
    text = text.replace("{", "").replace("}", "")
    sentences = re.split(r"(?<=[.!?])\s+", text)
    out: list[str] = []
    for s in sentences:
        out.append(s)
        if sum(len(x.split()) for x in out) >= MAX_WORDS:
            break
    return " ".join(out).strip()


def main(index: str, dict_dz: str, out_dir: str) -> None:
    data = gzip.open(dict_dz).read()
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True)
    seen: set[int] = set()
    terms: set[str] = set()
    rows = 0
    with open(out / "glossary.jsonl", "w", encoding="utf-8") as f:
        for line in open(index, encoding="utf-8"):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[0].startswith("00database"):
                continue
            offset = b64(parts[1])
            if offset in seen:  # the index lists an entry once per headword: read each entry once
                continue
            seen.add(offset)
            entry = data[offset:offset + b64(parts[2])].decode("utf-8", errors="replace")
            head, _, body = entry.partition("\n\n")
            text = definition(body)
            if not text:
                continue
            for term in (t.strip() for t in head.splitlines()):
                key = " ".join(term.lower().split())
                if term and key not in terms:
                    terms.add(key)
                    f.write(json.dumps({"term": term, "definition": text}, ensure_ascii=False) + "\n")
                    rows += 1
    print(f"foldoc: {rows} terms from {len(seen)} entries -> {out / 'glossary.jsonl'}", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:])
