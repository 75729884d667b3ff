#!/usr/bin/env bash
# Real-browser tests of report.html and diff.html: headless Debian chromium driven by
# playwright-core, offline.
#
#   tests/browser/run.sh REPORT_HTML                    report.test.js
#   tests/browser/run.sh --diff DIFF_HTML [PRINCIPAL]   diff.test.js (PRINCIPAL: a diff that is
#                                                       not the sample's, whose grant_unknown
#                                                       rows are PRINCIPAL's)
#
# Exits non-zero on failure and prints an "N passed, N failed" line.
# CHROMIUM=/path/to/chromium overrides the browser (default: /usr/bin/chromium, or chromium on PATH).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
test_js=report.test.js
if [ "${1:-}" = "--diff" ]; then
  test_js=diff.test.js
  shift
fi
if [ $# -lt 1 ] || [ $# -gt 2 ] || [ ! -f "$1" ] || { [ $# -eq 2 ] && [ "$test_js" != diff.test.js ]; }; then
  echo "usage: $0 REPORT_HTML | $0 --diff DIFF_HTML [PRINCIPAL]" >&2
  exit 2
fi
report="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --silent)
fi
export CHROMIUM="${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}"
exec node "$here/$test_js" "$report" "${@:2}"
