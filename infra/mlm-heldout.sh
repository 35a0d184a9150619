# Sourced by the scripts that build a base model (warm-base.sh, general-base.sh): `mlm_heldout MODEL HELDOUT OUT
# STEPS WHAT` measures MODEL's masked-token accuracy and loss on the HELDOUT JSONL (15% of the tokens masked,
# 256 sequences of $SEQ tokens; the trainer's evaluate command) and writes them to the JSON file OUT with the
# pretraining STEPS and a description WHAT of the held-out text. Needs $repo, $py, $tmp and $SEQ.
mlm_heldout() {
  local model="$1" heldout="$2" out="$3" steps="$4" what="$5"
  cat >"$tmp/evaluate.json" <<JSON
{"command": "evaluate", "models": {"base": {"path": "$model", "objective": "mlm"}},
 "data": {"domain": [], "general": ["$heldout"], "textField": "text", "seqLen": $SEQ, "maxSequences": 256},
 "masking": {"strategy": "token", "rate": 0.15, "language": "en"}, "seed": 1234, "batchSize": 16,
 "outputDir": "$tmp/eval", "device": "cpu", "phase": "score"}
JSON
  (cd "$repo" && PYTHONPATH="$repo" DAPT_LOG_LEVEL="${DAPT_LOG_LEVEL:-WARNING}" "$py" -m trainer evaluate --config "$tmp/evaluate.json" >/dev/null) ||
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
