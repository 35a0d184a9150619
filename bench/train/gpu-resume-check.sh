#!/usr/bin/env bash
# CUDA check of the trainer CLI: pretrain with compile + bf16, SIGTERM after the first checkpoint → exit 143,
# --resume → the same per-step losses as an uninterrupted run.
set -u
python3 -m pip install -q --no-index --find-links .gpu-wheels jsonschema 2>&1 | tail -1
export PYTHONPATH=$PWD HF_HUB_OFFLINE=1
W=$(mktemp -d)
python3 - "$W" <<'PY'
import sys, json
from trainer.synthetic import documents, write_jsonl
w = sys.argv[1]
write_jsonl(f"{w}/train.jsonl", documents("domain", 3000, seed=1))
write_jsonl(f"{w}/general.jsonl", documents("general", 600, seed=2))
PY
python3 -m trainer tiny-model --arch bert --corpus $W/general.jsonl --out $W/base --vocab-size 2000 --hidden 256 --layers 4 --max-positions 128 > /dev/null || exit 1
mk() { python3 - "$W" "$1" <<'PY'
import sys, json
w, name = sys.argv[1], sys.argv[2]
cfg = {"command": "pretrain", "model": {"path": f"{w}/base", "objective": "mlm"},
       "data": {"train": [f"{w}/train.jsonl"], "seqLen": 128},
       "masking": {"strategy": "whole-word", "rate": 0.15},
       "train": {"maxSteps": 80, "batchSize": 64, "lr": 1e-3, "warmupSteps": 10, "checkpointEvery": 20, "logEvery": 5, "compile": True},
       "outputDir": f"{w}/{name}/out", "checkpointDir": f"{w}/{name}/ckpt", "device": "cuda"}
json.dump(cfg, open(f"{w}/{name}.json", "w"))
PY
}
mk full; mk cut
t0=$(date +%s); python3 -m trainer pretrain --config $W/full.json > $W/full.out 2> $W/full.err; echo "full exit $? in $(( $(date +%s) - t0 ))s"
python3 -m trainer pretrain --config $W/cut.json > $W/cut.out 2> $W/cut.err & P=$!
while ! grep -q '"checkpoint"' $W/cut.out 2>/dev/null; do sleep 0.5; kill -0 $P 2>/dev/null || break; done
kill -TERM $P; wait $P; echo "cut exit $?"
python3 -m trainer pretrain --config $W/cut.json --resume $W/cut/ckpt >> $W/cut.out 2>> $W/cut.err; echo "resume exit $?"
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
def losses(f):
    out = {}
    for line in open(f):
        e = json.loads(line)
        if e.get("event") == "progress": out[e["step"]] = e["loss"]
    return out
a, b = losses(f"{w}/full.out"), losses(f"{w}/cut.out")
steps = sorted(set(a) & set(b))
worst = max(abs(a[s] - b[s]) / abs(a[s]) for s in steps)
print("steps compared", len(steps), "max relative loss difference", worst)
print("full", [round(a[s], 4) for s in steps[-4:]], "resumed", [round(b[s], 4) for s in steps[-4:]])
last = [json.loads(l) for l in open(f"{w}/full.out") if '"progress"' in l][-1]
print("last progress", last)
PY
tail -3 $W/cut.err
