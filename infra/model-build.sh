# Sourced by the scripts that build a base model into the cache (warm-base.sh, general-base.sh): the lock, the
# trainer calls and the held-out measurement they share. Needs $here, $repo, $py and $cache.

# `model_begin NAME DEST`: exits 0 printing DEST when it is built already (also after waiting for a concurrent
# build); otherwise returns holding the lock on fd 9, with $tmp a scratch folder in the cache removed on exit.
# shellcheck source=infra/cache-build.sh
. "$here/cache-build.sh"

model_begin() {
  local name="$1" dest="$2"
  cache_build_lock "$dest" "$dest.lock" "$cache/models/.$name"
}

# `trainer_run COMMAND CONFIG`: the trainer's COMMAND on the JSON CONFIG, its event lines dropped (errors reach stderr).
trainer_run() {
  (cd "$repo" && PYTHONPATH="$repo" DAPT_LOG_LEVEL="${DAPT_LOG_LEVEL:-WARNING}" "$py" -m trainer "$1" --config "$2" >/dev/null)
}

# `model_publish DIR DEST`: DIR becomes DEST, marked complete; prints DEST.
model_publish() {
  rm -rf "$2" && mv "$1" "$2" && touch "$2/.complete"
  echo "$2"
}

# `mlm_heldout MODEL HELDOUT OUT STEPS WHAT` measures MODEL's masked-token accuracy and loss on the HELDOUT JSONL
# (15% of the tokens masked, 256 sequences of $SEQ tokens; the trainer's evaluate command) and writes them to the
# JSON file OUT with the pretraining STEPS and a description WHAT of the held-out text. Needs $tmp and $SEQ.
mlm_heldout() {
  local model="$1" heldout="$2" out="$3" steps="$4" what="$5"
  cat >"$tmp/evaluate.json" <<JSON
{"command": "evaluate", "models": {"base": {"path": "$model", "objective": "mlm"}},
 "data": {"domain": [], "general": ["$heldout"], "textField": "text", "seqLen": $SEQ, "maxSequences": 256},
 "masking": {"strategy": "token", "rate": 0.15, "language": "en"}, "seed": 1234, "batchSize": 16,
 "outputDir": "$tmp/eval", "device": "cpu", "phase": "score"}
JSON
  trainer_run evaluate "$tmp/evaluate.json" ||
    { echo "measuring $(basename "$model") on held-out text failed (see above)" >&2; return 1; }
  "$py" - "$tmp/eval/metrics.json" "$out" "$steps" "$what" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
out = {"steps": int(sys.argv[3]), "heldOut": sys.argv[4],
       **{k.removeprefix("base.general."): v for k, v in m.items() if k.startswith("base.general.")}}
json.dump(out, open(sys.argv[2], "w"), indent=2)
print(f"held-out {sys.argv[4]}: masked-token accuracy {out.get('accuracy', float('nan')):.3f}, loss {out.get('loss', float('nan')):.3f}", file=sys.stderr)
PY
}
