"""bench:pipeline's baseline: datatrove running the same stages on the same WARC files.

Usage: datatrove_run.py WARC_DIR WORK_DIR WORKERS  → one JSON line on stdout.

Each stage is its own LocalPipelineExecutor (tasks = one per WARC file, as dapt's warc stage runs one task
per file; `workers` processes at once), run in a child process forked for that stage alone, so os.wait4 gives
the stage's CPU time (user + system of the stage process and every process it reaped: the executor's pool
workers, its manager, trafilatura's sandbox processes) and its largest process's peak RSS. Python start-up
and imports are outside every stage, as dapt's worker start-up is outside its stages.

Stages (datatrove's own classes and defaults, FineWeb's pipeline order):
  warc     WarcReader → JsonlWriter
  extract  JsonlReader → Trafilatura(favour_precision=True) → JsonlWriter
  filter   JsonlReader → GopherRepetitionFilter → GopherQualityFilter → C4QualityFilter → FineWebQualityFilter → JsonlWriter
  dedupe   exact (ExactDedupSignature → ExactFindDedups → ExactDedupFilter) then MinHash (MinhashDedupSignature →
           MinhashDedupBuckets → MinhashDedupCluster → MinhashDedupFilter), 14 bands × 8 rows, word 5-grams
"""

import glob
import json
import os
import sys
import time

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.exact_dedup import ExactDedupConfig, ExactDedupFilter, ExactDedupSignature, ExactFindDedups
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import C4QualityFilter, FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter
from datatrove.pipeline.readers import JsonlReader, WarcReader
from datatrove.pipeline.writers.jsonl import JsonlWriter
from datatrove.utils.logging import logger


def normalized(doc) -> str:
    """What dapt's exact dedupe hashes by default: lowercased text, whitespace runs collapsed."""
    return " ".join(doc.text.lower().split())


def count_docs(folder: str) -> int:
    import gzip

    n = 0
    for f in glob.glob(os.path.join(folder, "*.jsonl.gz")):
        with gzip.open(f, "rb") as fh:
            n += sum(1 for _ in fh)
    return n


def folder_bytes(folder: str, pattern: str) -> int:
    return sum(os.path.getsize(f) for f in glob.glob(os.path.join(folder, pattern)))


def run_forked(executor_fn):
    """Runs executor_fn() in a forked child; returns (wall s, CPU s, peak RSS bytes of its largest process)."""
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            executor_fn()
        except BaseException as e:  # noqa: BLE001 - report anything to the parent through the exit code
            print(f"stage failed: {e!r}", file=sys.stderr)
            code = 1
        os._exit(code)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"a datatrove stage failed (exit status {status})")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024


def main() -> None:
    warc_dir, work, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    logger.remove()  # datatrove logs every task; the bench prints its own summary
    files = sorted(glob.glob(os.path.join(warc_dir, "*.warc.gz")))
    tasks = len(files)
    d = lambda *p: os.path.join(work, *p)  # noqa: E731

    def executor(name: str, pipeline, n_tasks: int = tasks):
        return lambda: LocalPipelineExecutor(
            pipeline=pipeline,
            tasks=n_tasks,
            workers=min(workers, n_tasks),
            logging_dir=d("logs", name),
            skip_completed=False,
            start_method="fork",
        ).run()

    exact = ExactDedupConfig(content_getter=normalized)
    minhash = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, seed=1)
    stages = [
        ("warc", [("warc", [WarcReader(warc_dir, glob_pattern="*.warc.gz"), JsonlWriter(d("warc"))], tasks)], ("warc_dir", "*.warc.gz"), "warc"),
        ("extract", [("extract", [JsonlReader(d("warc")), Trafilatura(favour_precision=True, timeout=5), JsonlWriter(d("extract"))], tasks)], (d("warc"), "*.jsonl.gz"), "extract"),
        (
            "filter",
            [
                (
                    "filter",
                    [
                        JsonlReader(d("extract")),
                        GopherRepetitionFilter(),
                        GopherQualityFilter(),
                        C4QualityFilter(),
                        FineWebQualityFilter(),
                        JsonlWriter(d("filter")),
                    ],
                    tasks,
                )
            ],
            (d("extract"), "*.jsonl.gz"),
            "filter",
        ),
        (
            "dedupe",
            [
                ("exact-signatures", [JsonlReader(d("filter")), ExactDedupSignature(output_folder=d("exact-sigs"), config=exact)], tasks),
                ("exact-find", [ExactFindDedups(data_folder=d("exact-sigs"), output_folder=d("exact-dups"), config=exact)], 1),
                ("exact-filter", [JsonlReader(d("filter")), ExactDedupFilter(data_folder=d("exact-dups"), config=exact), JsonlWriter(d("exact"))], tasks),
                ("minhash-signatures", [JsonlReader(d("exact")), MinhashDedupSignature(output_folder=d("mh-sigs"), config=minhash)], tasks),
                ("minhash-buckets", [MinhashDedupBuckets(input_folder=d("mh-sigs"), output_folder=d("mh-buckets"), config=minhash)], minhash.num_buckets),
                ("minhash-cluster", [MinhashDedupCluster(input_folder=d("mh-buckets"), output_folder=d("mh-remove"), config=minhash)], 1),
                ("minhash-filter", [JsonlReader(d("exact")), MinhashDedupFilter(input_folder=d("mh-remove")), JsonlWriter(d("dedupe"))], tasks),
            ],
            (d("filter"), "*.jsonl.gz"),
            "dedupe",
        ),
    ]
    out = {"impl": "datatrove", "workers": workers, "tasks": tasks, "stages": []}
    docs_in = None
    t_all = time.perf_counter()
    for name, steps, (in_dir, pattern), out_dir in stages:
        in_dir = warc_dir if in_dir == "warc_dir" else in_dir
        wall = cpu = 0.0
        rss = 0
        parts = []
        for step_name, pipeline, n_tasks in steps:
            w, c, r = run_forked(executor(step_name, pipeline, n_tasks))
            wall, cpu, rss = wall + w, cpu + c, max(rss, r)
            parts.append({"name": step_name, "tasks": n_tasks, "wallS": w, "cpuS": c})
        docs_out = count_docs(d(out_dir))
        out["stages"].append(
            {
                "stage": name,
                "docsIn": docs_out if docs_in is None else docs_in,
                "docsOut": docs_out,
                "inputBytes": folder_bytes(in_dir, pattern),
                "wallS": wall,
                "cpuS": cpu,
                "peakRssBytes": rss,
                "parts": parts,
            }
        )
        docs_in = docs_out
    out["wallS"] = time.perf_counter() - t_all
    print(json.dumps(out))


if __name__ == "__main__":
    main()
