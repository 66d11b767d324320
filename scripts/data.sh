#!/usr/bin/env bash
# Makes data/minif2f/{coq,lean4,isabelle} available without copying them into
# the repository: links ../shared/data/minif2f when it exists (this project's
# workspace), otherwise clones the public upstream repositories.
set -euo pipefail
shared=${SHARED:-../shared}/data/minif2f
mkdir -p data
if [ -d "$shared" ]; then
  ln -sfn "$(cd "$shared" && pwd)" data/minif2f
  echo "data: data/minif2f -> $shared" >&2
  exit 0
fi
if [ -e data/minif2f/coq ]; then
  echo "data: data/minif2f already present" >&2
  exit 0
fi
command -v git >/dev/null 2>&1 || { echo "data: git is needed to fetch miniF2F (apt-get install -y git)." >&2; exit 1; }
mkdir -p data/minif2f
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "data: cloning LLM4Rocq/miniF2F-rocq (Coq statements)..." >&2
git clone -q https://github.com/LLM4Rocq/miniF2F-rocq "$tmp/rocq"
git -C "$tmp/rocq" checkout -q b60affae5d9b81eb097424e3143c40165ccbe97b
mkdir -p data/minif2f/coq
for split in test valid; do
  src=$(find "$tmp/rocq" -type d -name "$split" | head -1)
  [ -n "$src" ] || { echo "data: no $split/ directory in miniF2F-rocq" >&2; exit 1; }
  cp -r "$src" data/minif2f/coq/
done
# The Rocq 9 stdlib name, for Coq 8.x; files without a proof get Admitted.
sed -i 's/From Stdlib Require/From Coq Require/' data/minif2f/coq/*/*.v
for f in data/minif2f/coq/*/*.v; do
  tail -c 200 "$f" | grep -q 'Admitted\.' || printf '\nAdmitted.\n' >> "$f"
done
echo "data: data/minif2f/coq ready (Coquelicot >= 3.3 files may need Debian's 3.2 shim, see README)." >&2
echo "data: for Lean 4, clone a miniF2F Lean 4 project (lake) into data/minif2f/lean4; for Isabelle, data/minif2f/isabelle." >&2
