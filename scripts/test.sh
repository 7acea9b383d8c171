#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what is missing, builds,
# checks types, lint and formatting, builds the govmomi simulator harness,
# then runs every jest test on Node.js 20 (this machine's) and Node.js 24 (the
# current LTS, from the npm package `node@24`). Ends with one plain line
# "N passed, N failed" summed from jest's --json results; exits non-zero on
# any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\n0 passed, 1 failed\n'; echo "test.sh: $*" >&2; exit 1; }

if [ ! -d node_modules ] || [ "${CI:-}" = "true" ]; then
  step "npm ci"
  # npm 11 sometimes rejects its own lock file (optional platform bindings of
  # jest's unrs-resolver "missing from lock file"); `npm install` then installs
  # the same locked versions.
  npm ci --no-audit --no-fund || npm install --no-audit --no-fund || die "npm install failed"
fi

step "build (tsc + version stamp)"
npm run --silent build || die "build failed"

step "lint (eslint) and format (prettier)"
npx eslint . || die "eslint found problems"
npx prettier --check . >/dev/null || { npx prettier --check . ; die "prettier: files not formatted (npm run format)"; }

step "govmomi simulator harness"
bash scripts/build-harness.sh || die "could not build the simulator harness"

mkdir -p .test-results
rm -f .test-results/*.json
status=0

step "jest on $(node --version)"
node node_modules/jest/bin/jest.js --ci --json --outputFile=.test-results/node20.json "$@" || status=1

if [ "${SKIP_NODE24:-}" != "1" ]; then
  step "jest on Node.js 24"
  NODE24_VERSION=$(npx -y -p node@24 node --version 2>/dev/null)
  if [ -z "$NODE24_VERSION" ]; then
    echo "could not install node@24 from the npm registry" >&2
    status=1
  else
    echo "using $NODE24_VERSION"
    npx -y -p node@24 node node_modules/jest/bin/jest.js --ci --json --outputFile=.test-results/node24.json "$@" || status=1
  fi
fi

summary=$(node -e '
const fs = require("fs");
let passed = 0, failed = 0, suitesFailed = 0;
for (const f of fs.readdirSync(".test-results")) {
  const r = JSON.parse(fs.readFileSync(".test-results/" + f, "utf8"));
  passed += r.numPassedTests; failed += r.numFailedTests;
  // A suite that failed to run (syntax error, failing beforeAll) has no failed tests of its own.
  suitesFailed += r.testResults.filter((t) => t.status === "failed" && t.assertionResults.every((a) => a.status !== "failed")).length;
}
console.log(`${passed} passed, ${failed + suitesFailed} failed`);
') || { summary="0 passed, 1 failed"; status=1; }
case "$summary" in
  *", 0 failed") ;;
  *) status=1 ;;
esac
case "$summary" in
  "0 passed,"*) status=1 ;;
esac
printf '\n%s\n' "$summary"
exit $status
