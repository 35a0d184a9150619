#!/usr/bin/env bash
# What `npm run demo` uses, and nothing else (`npm run setup` installs the tests' tools as well: Chromium, helm,
# kubeconform, Kubernetes schemas). Two independent lines run side by side, since one is CPU-bound (MinIO's Go
# build) and the other mostly download (torch): Temporal + MinIO; and the trainer's environment, then the
# debian-en example's data and base model (real data, MiniLM, its warmed MLM head). Each step is idempotent, so a
# second run is a few checks. Exits non-zero if either line failed, naming it.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

servers() { bash "$here/install.sh" >/dev/null; }
trainer_line() {
  bash "$here/trainer-env.sh" >/dev/null &&
    bash "$here/real-data.sh" >/dev/null &&
    bash "$here/warm-base.sh" >/dev/null
}

start=$SECONDS
servers &
servers_pid=$!
trainer_line
trainer_rc=$?
wait "$servers_pid"
servers_rc=$?
[ "$servers_rc" = 0 ] || echo "setup-demo: installing Temporal and MinIO failed (infra/install.sh, exit $servers_rc; see above)" >&2
[ "$trainer_rc" = 0 ] || echo "setup-demo: the trainer environment, data or base model failed (exit $trainer_rc; see above)" >&2
[ "$servers_rc" = 0 ] && [ "$trainer_rc" = 0 ] || exit 1
echo "setup-demo: ready in $((SECONDS - start)) s" >&2
