#!/usr/bin/env bash
# `npm test`: prepare the machine, then lint, type-check, unit tests (Node + Dawn) and end-to-end tests
# (Playwright, headless Chromium). Ends with one line "N passed, N failed" over both suites.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
mkdir -p reports
rm -f reports/unit.json reports/e2e.json
status=0
echo "== lint"; { npx eslint . && npx prettier --check . >/dev/null; } || { echo "lint failed (npm run format fixes formatting)"; status=1; }
echo "== typecheck"; npx tsc --noEmit -p . || status=1
echo "== unit"
bash scripts/with-webgpu.sh npx vitest run --reporter=default --reporter=json --outputFile.json=reports/unit.json || status=1
echo "== e2e"
if npx vite build --logLevel warn; then
  bash scripts/with-webgpu.sh npx playwright test || status=1
else status=1; fi
node scripts/summary.mjs reports/unit.json reports/e2e.json || status=1
exit $status
