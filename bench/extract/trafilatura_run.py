"""Runs trafilatura on the benchmark pages: JSONL {id, html} in (argv[1]), JSONL {id, text, ms} out (argv[2]);
argv[4] `comments` sets include_comments=True (default False, as the extract stage's default drops comments).

Timing covers extract() only, like the TypeScript side: a warm-up pass over all pages, then argv[3] timed
passes, each page's fastest time kept. Called by
bench/extract/index.ts with the venv it creates (~/.cache/dapt/bench-venv-extract, trafilatura==2.3.1).
"""
import json
import sys
import time

import trafilatura


def main() -> None:
    pages = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
    reps = int(sys.argv[3])
    comments = len(sys.argv) > 4 and sys.argv[4] == "comments"
    texts = {p["id"]: trafilatura.extract(p["html"], include_comments=comments) or "" for p in pages}  # warm-up pass
    best = {p["id"]: float("inf") for p in pages}
    for _ in range(reps):
        for p in pages:
            t0 = time.perf_counter()
            trafilatura.extract(p["html"], include_comments=comments)
            best[p["id"]] = min(best[p["id"]], (time.perf_counter() - t0) * 1000)
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        for p in pages:
            out.write(json.dumps({"id": p["id"], "text": texts[p["id"]], "ms": best[p["id"]]}, ensure_ascii=False) + "\n")
    print(trafilatura.__version__)

if __name__ == "__main__":
    main()
