#!/usr/bin/env bash
# Lints openapi/openapi.json with the pinned @redocly/cli (recommended-strict, see
# openapi/redocly.yaml): fails on any error and on any warning.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../openapi"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
redocly=node_modules/.bin/redocly
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
# redocly exits non-zero on errors; the totals below decide, with warnings counted too.
"$redocly" lint openapi.json --format=json > "$report" 2>/dev/null || true
totals="$(jq -c '.totals' "$report")"
if [ "$(jq '.totals.errors + .totals.warnings' "$report")" != "0" ]; then
  "$redocly" lint openapi.json --format=stylish || true
  echo "openapi-lint: $totals" >&2
  exit 1
fi
echo "openapi-lint: openapi/openapi.json is clean (redocly recommended-strict): $totals"
