#!/usr/bin/env bash
# The trainer's Python environment: a virtualenv in the cache dir (outside the repo), pinned packages,
# installed once. torch from PyPI brings ~3 GB of CUDA libraries even for CPU use: never reinstall per run.
# Prints the path of the environment's python (`--check`: only if installed, else exit 1). Idempotent: a stamp file holds the requirements' hash.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${DAPT_CACHE_DIR:-$HOME/.cache/dapt}"
venv="${DAPT_TRAINER_VENV:-$cache/venv}"
req="$here/../trainer/requirements.txt"
stamp="$venv/.dapt-requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$venv/bin/python"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then # dapt doctor: report, never install
  echo "trainer-env: no trainer environment in $venv (or its requirements changed)" >&2
  exit 1
fi
py="${DAPT_PYTHON:-python3}"
command -v "$py" >/dev/null || { echo "trainer-env: $py not found (Python >= 3.10 needed)" >&2; exit 1; }
"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || { echo "trainer-env: Python >= 3.10 needed" >&2; exit 1; }
echo "trainer-env: installing the trainer environment into $venv (torch with CUDA libraries: a few GB, once)" >&2
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
echo "$want" > "$stamp"
echo "$venv/bin/python"
