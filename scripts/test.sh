#!/usr/bin/env bash
# The one test command (README, .ci/run): installs the locked dependencies
# when missing (`npm ci`, nothing else), builds, checks types, lint and
# formatting, builds the govmomi simulator harness, then runs every jest test
# on Node.js 22 and on Node.js 24, the maintained LTS lines, both from the npm
# packages `node@22` and `node@24` (this machine's own Node.js may be older:
# it only starts npx). Ends with one plain line "N passed, N failed" summed
# from jest's --json results; exits non-zero on any failure.
#
#   NODE_VERSIONS="24" npm test -- test/packaging     one Node.js line, some tests
set -uo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\n0 passed, 1 failed\n'; echo "test.sh: $*" >&2; exit 1; }

mkdir -p .test-results
rm -f .test-results/*.json

read -r -a versions <<<"${NODE_VERSIONS:-22 24}"
# The machine's Node.js only starts npx here; below the supported range, say so in one line.
if ! unsupported=$(node scripts/require-node.js test.sh 2>&1); then
  echo "$unsupported; npm, the build and the tests run on $(printf 'node@%s ' "${versions[@]}")from the npm registry instead" >&2
fi
step "Node.js ${versions[*]} (npm packages $(printf 'node@%s ' "${versions[@]}"))"
declare -A node_bin
for v in "${versions[@]}"; do
  node_bin[$v]=$(npx -y -p "node@$v" node -p process.execPath 2>.test-results/npx-node$v.log) ||
    die "could not get Node.js $v from the npm registry (npx -p node@$v); see .test-results/npx-node$v.log"
  echo "node@$v: $("${node_bin[$v]}" --version)"
done
# npm, tsc, eslint and prettier run on the newest of them (npm then checks `engines` against it).
tools_node=${node_bin[${versions[${#versions[@]} - 1]}]}
export PATH="$(dirname "$tools_node"):$PATH"

if [ ! -d node_modules ] || [ "${CI:-}" = "true" ]; then
  step "npm ci"
  if ! npm ci --no-audit --no-fund --loglevel=error >.test-results/npm-ci.log 2>&1; then
    first=$(grep -E '^npm (error|ERR!) [^ ]' .test-results/npm-ci.log | grep -v -E '^npm (error|ERR!) code ' |
      head -n 1 | sed -E 's/^npm (error|ERR!) //')
    die "npm ci failed: ${first:-see the log}; full output in .test-results/npm-ci.log (when package.json changed: npm install --package-lock-only, then commit package-lock.json)"
  fi
  tail -n 1 .test-results/npm-ci.log
fi

step "build (tsc + version stamp)"
npm run --silent build || die "build failed"

step "lint (eslint) and format (prettier)"
npx eslint . || die "eslint found problems"
npx prettier --check . >/dev/null || { npx prettier --check . ; die "prettier: files not formatted (npm run format)"; }

step "govmomi simulator harness"
bash scripts/build-harness.sh || die "could not build the simulator harness"

status=0
for v in "${versions[@]}"; do
  bin=${node_bin[$v]}
  step "jest on Node.js $("$bin" --version)"
  # `node` on PATH is the same Node.js for whatever the tests spawn.
  PATH="$(dirname "$bin"):$PATH" "$bin" node_modules/jest/bin/jest.js --ci --json \
    --outputFile=".test-results/node$v.json" "$@" || status=1
done

summary=$(node -e '
const fs = require("fs");
let passed = 0, failed = 0, suitesFailed = 0;
for (const v of process.argv.slice(1)) {
  const f = ".test-results/node" + v + ".json";
  // A jest run that crashed before writing its results counts as a failure.
  if (!fs.existsSync(f)) { failed++; continue; }
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  passed += r.numPassedTests; failed += r.numFailedTests;
  // A suite that failed to run (syntax error, failing beforeAll) has no failed tests of its own.
  suitesFailed += r.testResults.filter((t) => t.status === "failed" && t.assertionResults.every((a) => a.status !== "failed")).length;
}
console.log(`${passed} passed, ${failed + suitesFailed} failed`);
' "${versions[@]}") || { summary="0 passed, 1 failed"; status=1; }
case "$summary" in
  *", 0 failed") ;;
  *) status=1 ;;
esac
case "$summary" in
  "0 passed,"*) status=1 ;;
esac
printf '\n%s\n' "$summary"
exit $status
