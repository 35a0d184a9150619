"""Builds the real-data directory that infra/real-data.sh prints, from files apt already fetched and verified.

Inputs (argv): the Debian bookworm main Packages index, its Translation-en index (both decompressed), the
unpacked `fortunes` package, and the output directory. Output layout (documents are {id, text, source, metadata};
task rows are {text, label}):

  domain/descriptions-NNN.jsonl  package descriptions (short + long), one per source package, shuffled, in shards
  general/fortunes.jsonl         fortune cookies of the general-interest files (quotes, literature, jokes)
  task/{train,dev,test}.jsonl    description -> Debian Section, one row per source package, split by source package
  task/train-48.jsonl            the whole labeled pool (train.jsonl is its first 16 per class)
  task/unlabeled.jsonl           descriptions of the task's sections not in any split (pseudo-labels, UDA)
  meta.json                      sources, pins, counts

The split is by source package: binary packages of one source share their description, so a split by binary
package would put near copies of test items in train. Dev and test sources are left out of domain/ as well, so
continued pretraining never reads a test item. Deterministic (fixed seed, sorted inputs).
"""
from __future__ import annotations

import hashlib
import json
import pathlib
import random
import re
import sys
from collections import defaultdict

SEED = 13
# Topical sections with at least ~100 source packages each; language sections (python, perl …) and library
# sections (libs, libdevel) are left out: their label is a word in the package name, not something to learn.
SECTIONS = ["database", "editors", "electronics", "games", "graphics", "hamradio", "mail", "math", "sound", "video"]
TRAIN_POOL, TRAIN, DEV, TEST = 48, 16, 8, 40  # per class
SHARD = 5000
# Fortune files that are about computing (they belong to the domain, not to general text) or are not prose.
NOT_GENERAL = {"art", "ascii-art", "computers", "debian", "linux", "linuxcookie", "perl", "startrek", "translate-me", "zippy", "knghtbrd"}


def stanzas(path: pathlib.Path):
    cur: dict[str, str] = {}
    key = None
    with path.open(encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if cur:
                    yield cur
                cur, key = {}, None
            elif line[0] in " \t" and key:
                cur[key] += "\n" + line
            else:
                key, _, value = line.partition(":")
                cur[key] = value.strip()
    if cur:
        yield cur


def description_text(raw: str) -> str:
    """Debian's description format: first line the synopsis, then paragraphs of indented lines, ' .' between."""
    synopsis, *rest = raw.split("\n")
    paragraphs, cur = [], []
    for line in rest:
        line = line[1:] if line.startswith(" ") else line
        if line.strip() == ".":
            paragraphs.append(" ".join(cur))
            cur = []
        else:
            cur.append(line.strip())
    paragraphs.append(" ".join(cur))
    body = "\n".join(p for p in paragraphs if p)
    return f"{synopsis.strip()}.\n{body}".strip() if body else synopsis.strip()


def write_jsonl(path: pathlib.Path, rows) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def main(packages: str, translations: str, fortunes_dir: str, out_dir: str) -> None:
    out = pathlib.Path(out_dir)
    descriptions = {s["Description-md5"]: s["Description-en"] for s in stanzas(pathlib.Path(translations)) if "Description-en" in s}

    # One document per source package: the binary package named like the source, else the longest description.
    by_source: dict[str, dict] = {}
    for p in stanzas(pathlib.Path(packages)):
        raw = descriptions.get(p.get("Description-md5", ""))
        if raw is None:
            continue
        source = p.get("Source", p["Package"]).split()[0]
        doc = {"package": p["Package"], "source": source, "section": p.get("Section", ""), "version": p["Version"], "text": description_text(raw)}
        have = by_source.get(source)
        if have is None or (have["package"] != source and (p["Package"] == source or len(doc["text"]) > len(have["text"]))):
            by_source[source] = doc

    rng = random.Random(SEED)
    per_class: dict[str, list[dict]] = defaultdict(list)
    for source in sorted(by_source):
        doc = by_source[source]
        if doc["section"] in SECTIONS and len(doc["text"].split()) >= 12:
            per_class[doc["section"]].append(doc)
    splits: dict[str, list[dict]] = {"test": [], "dev": [], "train-48": [], "unlabeled": []}
    for section in SECTIONS:
        docs = per_class[section]
        if len(docs) < TEST + DEV + TRAIN_POOL:
            raise SystemExit(f"real-data: section {section} has {len(docs)} usable source packages, fewer than {TEST + DEV + TRAIN_POOL}")
        rng.shuffle(docs)
        splits["test"] += docs[:TEST]
        splits["dev"] += docs[TEST : TEST + DEV]
        splits["train-48"] += docs[TEST + DEV : TEST + DEV + TRAIN_POOL]
        splits["unlabeled"] += docs[TEST + DEV + TRAIN_POOL :]
    held_out = {d["source"] for d in splits["test"] + splits["dev"]}
    row = lambda d: {"text": d["text"], "label": d["section"]}  # noqa: E731
    counts = {}
    for name in ("test", "dev", "train-48"):
        rng.shuffle(splits[name])
        counts[name] = write_jsonl(out / "task" / f"{name}.jsonl", map(row, splits[name]))
    # train.jsonl: the first TRAIN per class of the shuffled pool, so train ⊂ train-48.
    taken: dict[str, int] = defaultdict(int)
    train = []
    for d in splits["train-48"]:
        if taken[d["section"]] < TRAIN:
            taken[d["section"]] += 1
            train.append(d)
    counts["train"] = write_jsonl(out / "task" / "train.jsonl", map(row, train))
    document = lambda d, kind: {  # noqa: E731
        "id": f"debian:{d['source']}",
        "text": d["text"],
        "source": f"debian-bookworm/{kind}",
        "metadata": {"package": d["package"], "section": d["section"], "version": d["version"]},
    }
    counts["unlabeled"] = write_jsonl(out / "task" / "unlabeled.jsonl", (document(d, "task-unlabeled") for d in splits["unlabeled"]))

    domain = [document(by_source[s], "descriptions") for s in sorted(by_source) if s not in held_out]
    rng.shuffle(domain)
    for i in range(0, len(domain), SHARD):
        write_jsonl(out / "domain" / f"descriptions-{i // SHARD:03d}.jsonl", domain[i : i + SHARD])
    counts["domain"] = len(domain)

    general = []
    root = pathlib.Path(fortunes_dir)
    for path in sorted(root.iterdir()):
        if path.suffix or path.name in NOT_GENERAL or not path.is_file():
            continue
        for i, cookie in enumerate(re.split(r"^%\n", path.read_text(encoding="utf-8", errors="replace"), flags=re.M)):
            text = cookie.strip()
            if len(text.split()) >= 8:
                general.append({"id": f"fortunes:{path.name}:{i}", "text": text, "source": "fortunes", "metadata": {"file": path.name}})
    rng.shuffle(general)
    counts["general"] = write_jsonl(out / "general" / "fortunes.jsonl", general)

    digest = hashlib.sha256()
    for path in sorted(out.rglob("*.jsonl")):
        digest.update(path.read_bytes())
    meta = {"seed": SEED, "sections": SECTIONS, "perClass": {"train": TRAIN, "trainPool": TRAIN_POOL, "dev": DEV, "test": TEST}, "counts": counts, "contentSha256": digest.hexdigest()}
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(counts), file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit("usage: real_data.py PACKAGES TRANSLATION_EN FORTUNES_DIR OUT_DIR")
    main(*sys.argv[1:])
