#!/usr/bin/env bash
# A headless Chromium for the report tests (test/report.test.ts drives it with playwright-core) and for
# `dapt report --screenshot`. Prints the browser's path. Idempotent: an installed browser is used as is
# (DAPT_CHROMIUM, then chromium / chromium-browser / google-chrome on PATH); otherwise the Debian/Ubuntu package
# `chromium` is installed with apt-get (as root, or through sudo). Safe to run concurrently (flock).
set -euo pipefail

find_browser() {
  if [ -n "${DAPT_CHROMIUM:-}" ] && [ -x "$DAPT_CHROMIUM" ]; then echo "$DAPT_CHROMIUM"; return 0; fi
  for b in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
  done
  return 1
}

if find_browser; then exit 0; fi

cache="${DAPT_CACHE_DIR:-$HOME/.cache/dapt}"
mkdir -p "$cache"
exec 9>"$cache/.chromium.lock"
flock 9
if find_browser; then exit 0; fi # another process installed it while this one waited

command -v apt-get >/dev/null 2>&1 || { echo "chromium.sh: no Chromium found and no apt-get: install Chromium and set DAPT_CHROMIUM=<path>" >&2; exit 1; }
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "chromium.sh: installing the chromium package needs root (or sudo); or set DAPT_CHROMIUM=<path>" >&2; exit 1; }
  sudo="sudo"
fi
echo "chromium.sh: installing the chromium package with apt-get (once)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q --no-install-recommends chromium >&2 || {
  $sudo apt-get update -q >&2
  $sudo apt-get install -y -q --no-install-recommends chromium >&2
}
find_browser || { echo "chromium.sh: the chromium package installed no chromium binary on PATH" >&2; exit 1; }
