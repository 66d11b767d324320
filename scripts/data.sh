#!/usr/bin/env bash
# Makes data/minif2f/{coq,lean4,isabelle} available without copying them into
# the repository: links ../shared/data/minif2f when it exists (this project's
# workspace), otherwise clones the public miniF2F-rocq statements and patches
# them as the workspace copy is patched (its SOURCE.md): From Stdlib -> From
# Coq, Admitted. after a final Proof. that has none, and the Coquelicot 3.2
# shim (scripts/coquelicot-shim.v) after `Require Import Coquelicot.Coquelicot.`
# so that Debian's Coquelicot loads every file.
#
# Nothing is left behind on failure: the copy is built in a staging directory
# and moved into place at the end.
#
# Environment: SHARED (default ../shared), DATA (default data),
# MINIF2F_ROCQ_URL and MINIF2F_ROCQ_REV (the upstream repository and the
# revision the workspace copy was made from).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
shared=${SHARED:-../shared}/data/minif2f
data=${DATA:-data}
url=${MINIF2F_ROCQ_URL:-https://github.com/LLM4Rocq/miniF2F-rocq}
rev=${MINIF2F_ROCQ_REV:-b60affae5d9b81eb097424e3143c40165ccbe97b}
shim=$root/scripts/coquelicot-shim.v

die() { echo "data: $*" >&2; exit 1; }

if [ -d "$shared" ]; then
  mkdir -p "$data"
  ln -sfn "$(cd "$shared" && pwd)" "$data/minif2f"
  echo "data: $data/minif2f -> $shared" >&2
  exit 0
fi
if [ -e "$data/minif2f/coq" ]; then
  echo "data: $data/minif2f already present" >&2
  exit 0
fi
command -v git >/dev/null 2>&1 ||
  die "git is needed to fetch miniF2F: install it (apt-get install -y git), or put a miniF2F copy at $shared, or give llemma-prove --data DIR"
[ -r "$shim" ] || die "$shim is missing"

made_data=
[ -d "$data" ] || made_data=1
mkdir -p "$data"
stage=$(mktemp -d "$data/.minif2f.XXXXXX")
cleanup() {
  rm -rf "$stage"
  # A data/ this script made and could not fill is removed too.
  if [ -n "$made_data" ] && [ ! -e "$data/minif2f" ]; then rmdir "$data" 2>/dev/null || true; fi
}
trap cleanup EXIT
echo "data: cloning $url (Coq statements)..." >&2
if ! git clone -q "$url" "$stage/rocq" 2>"$stage/git.err"; then
  die "cannot clone $url: $(tail -n 1 "$stage/git.err") (no network? clone it elsewhere and set MINIF2F_ROCQ_URL to the copy, or give llemma-prove --data DIR)"
fi
git -C "$stage/rocq" checkout -q "$rev" 2>"$stage/git.err" ||
  die "revision $rev not found in $url: $(tail -n 1 "$stage/git.err")"
mkdir -p "$stage/minif2f/coq"
for split in test valid; do
  src=$(find "$stage/rocq" -type d -name "$split" -not -path '*/.git/*' | head -n 1)
  [ -n "$src" ] || die "no $split/ directory in $url"
  cp -r "$src" "$stage/minif2f/coq/"
done
patched=0
for f in "$stage"/minif2f/coq/*/*.v; do
  # The Rocq 9 name of the stdlib, for Coq 8.x.
  sed -i 's/From Stdlib Require/From Coq Require/' "$f"
  # A statement without a proof gets Admitted. (the loader wants one).
  tail -c 200 "$f" | grep -q 'Admitted\.' || {
    [ -z "$(tail -c 1 "$f")" ] || printf '\n' >>"$f"
    printf 'Admitted.\n' >>"$f"
  }
  # Coquelicot >= 3.3's additions, for Debian's 3.2.
  if grep -qx 'Require Import Coquelicot.Coquelicot.' "$f" && ! grep -q '^(\* shim: what Coquelicot' "$f"; then
    sed -i "/^Require Import Coquelicot\.Coquelicot\.\$/r $shim" "$f"
    patched=$((patched + 1))
  fi
done
[ -e "$data/minif2f" ] && die "$data/minif2f appeared meanwhile; not replacing it"
mv "$stage/minif2f" "$data/minif2f"
echo "data: $data/minif2f/coq ready ($patched files got the Coquelicot 3.2 shim)." >&2
echo "data: for Lean 4, clone a miniF2F Lean 4 project (lake) into $data/minif2f/lean4; for Isabelle, $data/minif2f/isabelle." >&2
