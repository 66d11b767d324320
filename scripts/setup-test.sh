#!/usr/bin/env bash
# Test-only tools: Chromium (headless) for the HTML report's end-to-end test.
# Missing tools make those tests skip with a message; CI (as root) installs them.
set -uo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup-test: installing chromium for the report test (apt-get)..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } ||
    echo "setup-test: could not install chromium; the HTML report test will skip." >&2
else
  echo "setup-test: chromium not installed (apt-get install -y chromium as root); the HTML report test will skip." >&2
fi
exit 0
