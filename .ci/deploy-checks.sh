#!/usr/bin/env bash
# Offline checks of everything under deploy/: Kubernetes manifests render,
# the CloudFormation template lints, the Prometheus alert rules load and pass
# their unit tests, and the dashboard and alerts use only exported metrics.
#
# Installs its tools when missing: cfn-lint into .venv (PyPI), promtool from
# the Debian package "prometheus", kubectl from Debian. Runs every check
# even after a failure, ends with a "N passed, M failed" line and exits
# non-zero if any check failed. Talks to no cluster and no AWS account.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
venv="$repo/.venv"
# Pinned so that a new release of its AWS resource specs cannot turn a
# green run red overnight; raise it on purpose.
cfn_lint_version=1.51.0
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

say() { printf '==> %s\n' "$*"; }
apt_updated=false
apt_install() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "cannot install $* (not root): install it and rerun" >&2
        return 1
    fi
    if ! $apt_updated; then
        apt-get update -qq >/dev/null || return 1
        apt_updated=true
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- tools -----------------------------------------------------------------
if [ ! -x "$venv/bin/cfn-lint" ] || ! "$venv/bin/cfn-lint" --version 2>/dev/null | grep -qF "$cfn_lint_version"; then
    say "installing cfn-lint $cfn_lint_version into $venv"
    { [ -x "$venv/bin/python" ] || python3 -m venv "$venv"; } \
        && "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$cfn_lint_version" \
        || echo "cfn-lint could not be installed" >&2
fi
python="$venv/bin/python"
[ -x "$python" ] || python=python3

if ! command -v promtool >/dev/null; then
    say "promtool missing: installing the Debian package prometheus"
    apt_install prometheus || echo "promtool could not be installed" >&2
fi

if ! command -v kubectl >/dev/null; then
    # Debian ships kubectl in the package kubernetes-client; some images
    # carry a package named kubectl instead. Take whichever apt can install.
    say "kubectl missing; looking for a package that provides it"
    apt_updated=true
    apt-get update -qq >/dev/null || true
    for package in kubectl kubernetes-client; do
        candidate=$(apt-cache policy "$package" 2>/dev/null | awk '/Candidate:/ {print $2}')
        if [ -n "$candidate" ] && [ "$candidate" != "(none)" ]; then
            say "installing $package $candidate"
            apt_install "$package" && break
        fi
    done
    command -v kubectl >/dev/null || echo "kubectl is missing and no package providing it could be installed" >&2
fi

# --- checks ----------------------------------------------------------------
passed=0
failed=0
failures=()
check() {
    local name=$1
    shift
    say "$name"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "FAILED: $name" >&2
    fi
}

# Renders, and the output holds the objects the folder is there for.
render() {
    local dir=$1
    shift
    kubectl kustomize "$dir" >"$out/render.yaml" || return 1
    local kind
    for kind in "$@"; do
        grep -q "^kind: $kind\$" "$out/render.yaml" || { echo "$dir renders no $kind" >&2; return 1; }
    done
}

check "kubectl kustomize deploy/kubernetes" \
    render deploy/kubernetes Namespace ServiceAccount ConfigMap Deployment Service \
    PodDisruptionBudget ServiceMonitor ScaledObject TriggerAuthentication
check "kubectl kustomize deploy/kubernetes/hpa-alternative" \
    render deploy/kubernetes/hpa-alternative HorizontalPodAutoscaler
check "cfn-lint deploy/aws/*.yaml" "$venv/bin/cfn-lint" deploy/aws/*.yaml
check "promtool check rules" promtool check rules deploy/prometheus/trailwatch-alerts.yaml
check "promtool test rules" promtool test rules deploy/prometheus/trailwatch-alerts.test.yaml
check "dashboard and alerts use only exported metric names" \
    "$python" deploy/check_metric_names.py docs/metrics.md \
    deploy/grafana/trailwatch-dashboard.json deploy/prometheus/trailwatch-alerts.yaml
check "local runner scripts parse" \
    bash -c 'bash -n deploy/local/run-local.sh \
        && "$0" -c "import ast, sys; ast.parse(open(sys.argv[1]).read())" deploy/local/wire_aws.py' "$python"

echo
for name in "${failures[@]}"; do
    echo "failed: $name"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
