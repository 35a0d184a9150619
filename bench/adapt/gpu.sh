#!/usr/bin/env bash
# The GPU-size run of the adaptation ablation (issue #13 §5), prepared for a machine with one GPU, Python 3.12,
# torch and transformers, and no network: everything it reads is in the bundle (npm run bench:adapt --
# --bundle-only DIR --size gpu makes it on a machine with the data; bench/adapt/protocol.py says what is in it).
#
#   bash bench/adapt/gpu.sh BUNDLE OUT [extra protocol.py options]     # writes OUT/table.md and OUT/results.json
#   bash bench/adapt/gpu.sh BUNDLE OUT --size smoke --device cpu       # the dry run at tiny size, on CPU
#
# GPU size: all ~34k domain descriptions, 1,500 pretraining steps × 64 × 128 tokens (12M tokens) per pretrained
# arm, 300 fine-tuning steps per run, 5 seeds, 5 arms. Stops at 470 s (the machine is lent for 8 minutes);
# a run that did not finish leaves no table, only its log.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bundle="${1:?usage: gpu.sh BUNDLE OUT [protocol options]}"
out="${2:?usage: gpu.sh BUNDLE OUT [protocol options]}"
shift 2
py="${PYTHON:-python3}"
mkdir -p "$out"
"$py" -c 'import torch, transformers; print(f"torch {torch.__version__}, transformers {transformers.__version__}, cuda {torch.cuda.is_available()}")'
timeout "${BENCH_ADAPT_LIMIT_S:-470}" "$py" "$here/protocol.py" --bundle "$bundle" --out "$out" --size gpu --seeds 1,2,3,4,5 --device auto "$@" \
  2>&1 | tee "$out/log.txt"
