#!/usr/bin/env bash
# Checks that a Go toolchain new enough for go.mod is on PATH.
set -euo pipefail
want=$(awk '/^go /{print $2; exit}' go.mod)
if ! command -v go >/dev/null 2>&1; then
  echo "setup-go: Go $want or newer is needed and 'go' is not on PATH; install it from https://go.dev/dl (Debian's golang package is too old), or add /usr/local/go/bin to PATH." >&2
  exit 1
fi
