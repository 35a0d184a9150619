"""WordNet 3.0's data files -> glosses.jsonl ({"id", "text"} per synset) for infra/wordnet.sh.

A line of data.{noun,verb,adj,adv} is a synset: offset, lexicographer file, part of speech, a hexadecimal word
count, the words (underscores for spaces, an adjective's "(a)"/"(p)"/"(ip)" position marker), pointers, and after
" | " the gloss: a definition and, quoted, example sentences people wrote. A document is "word, word: gloss" —
ordinary modern English on every subject, which is what the general-text base needs. The licence header's lines
start with two spaces.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

POSITION = re.compile(r"\((a|p|ip)\)$")


def synsets(path: pathlib.Path, pos: str):
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            count = int(fields[3], 16)
            words = [POSITION.sub("", fields[4 + 2 * i]).replace("_", " ") for i in range(count)]
            gloss = gloss.strip()
            if gloss:
                yield {"id": f"wn-{pos}-{fields[0]}", "text": f"{', '.join(words)}: {gloss}"}


def main(wordnet: str, out: str, least: str = "100000") -> None:
    dest = pathlib.Path(out)
    dest.mkdir(parents=True, exist_ok=True)
    n = 0
    with (dest / "glosses.jsonl").open("w", encoding="utf-8") as f:
        for pos in ("noun", "verb", "adj", "adv"):
            for row in synsets(pathlib.Path(wordnet) / f"data.{pos}", pos):
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
    if n < int(least):  # a truncated or different download must not pass for WordNet
        sys.exit(f"wordnet: only {n} synsets read from {wordnet}, expected at least {least} (WordNet 3.0 has 117,659 with a gloss)")
    print(f"wordnet: {n} glosses", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:4])
