# Sourced by the helpers of scripts that build something into the cache once (debian-archive.sh, model-build.sh).

# `cache_build_lock DEST LOCK SCRATCH`: exits 0 printing DEST when it is built already (also after waiting for a
# concurrent build holding LOCK); otherwise returns holding LOCK on fd 9, with $tmp a fresh folder named
# SCRATCH.XXXXXX (keep it in the cache, beside DEST, so the final mv is a rename) removed on exit.
cache_build_lock() {
  local dest="$1" lock="$2" scratch="$3"
  mkdir -p "$(dirname "$lock")" "$(dirname "$scratch")"
  exec 9>"$lock"
  flock 9
  if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi
  tmp="$(mktemp -d "$scratch.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
}
