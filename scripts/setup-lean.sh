#!/usr/bin/env bash
# setup-lean.sh: prepare the Lean 4 backend of llemma-prove (needs internet).
#
#   1. installs elan (the Lean toolchain manager, which provides lake) if missing;
#   2. copies the miniF2F Lean 4 project to a writable place and fetches
#      Mathlib's prebuilt cache there (`lake exe cache get`);
#   3. builds leanprover-community/repl at the toolchain the project pins.
#
# Idempotent: each step is skipped when its result is already there.
#
# Usage: scripts/setup-lean.sh [MINIF2F_LEAN4_DIR]
#   MINIF2F_LEAN4_DIR  default: ../shared/data/minif2f/lean4 (from the repository root)
# Environment:
#   LLEMMA_LEAN_HOME   where to put the project and the REPL (default ~/.cache/llemma-prove/lean)
#   LLEMMA_REPL_URL    REPL git URL (default https://github.com/leanprover-community/repl)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data_dir=${1:-"$repo_root/../shared/data/minif2f/lean4"}
home_dir=${LLEMMA_LEAN_HOME:-"$HOME/.cache/llemma-prove/lean"}
repl_url=${LLEMMA_REPL_URL:-https://github.com/leanprover-community/repl}
project="$home_dir/minif2f"
repl_dir="$home_dir/repl"

step() { printf '==> %s\n' "$*"; }
fail() {
	printf 'setup-lean: %s\n' "$1" >&2
	shift
	for hint in "$@"; do printf '  hint: %s\n' "$hint" >&2; done
	exit 1
}

[ -f "$data_dir/lean-toolchain" ] ||
	fail "no lean-toolchain in $data_dir" \
		"pass the miniF2F Lean 4 project directory as the first argument"
toolchain=$(tr -d '[:space:]' <"$data_dir/lean-toolchain")
version=${toolchain##*:} # leanprover/lean4:v4.24.0 -> v4.24.0
step "miniF2F pins $toolchain"

# 1. elan
export PATH="$HOME/.elan/bin:$PATH"
if ! command -v elan >/dev/null 2>&1; then
	step "installing elan"
	command -v curl >/dev/null 2>&1 || fail "curl is needed to install elan" "install curl (e.g. apt-get install curl)"
	curl -sSfL https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh -o /tmp/elan-init.sh ||
		fail "could not download the elan installer" "check your internet connection or proxy settings"
	sh /tmp/elan-init.sh -y --default-toolchain none ||
		fail "the elan installer failed" "see https://github.com/leanprover/elan#installation"
fi
elan toolchain install "$toolchain" ||
	fail "could not install $toolchain" "check your internet connection; elan downloads toolchains from GitHub releases"
command -v lake >/dev/null 2>&1 || fail "lake not found after installing elan" "add ~/.elan/bin to PATH"

# 2. the miniF2F project, writable, with Mathlib's cache
mkdir -p "$home_dir"
if [ ! -f "$project/lakefile.lean" ]; then
	step "copying the miniF2F project to $project"
	mkdir -p "$project"
	cp -R "$data_dir/." "$project/" || fail "could not copy $data_dir to $project" "check disk space and permissions"
fi
cd "$project"
if [ ! -d .lake/packages/mathlib/.lake/build/lib ]; then
	step "fetching Mathlib (lake exe cache get; several GB)"
	lake exe cache get ||
		fail "could not fetch Mathlib's cache" \
			"check your internet connection, then run this script again (it resumes)" \
			"without the cache, 'lake build' compiles Mathlib from source (hours)"
fi

# 3. the REPL at the project's toolchain
if [ ! -d "$repl_dir/.git" ]; then
	step "cloning the REPL into $repl_dir"
	command -v git >/dev/null 2>&1 || fail "git is needed to fetch the REPL" "install git"
	git clone --quiet "$repl_url" "$repl_dir" || fail "could not clone $repl_url" "check your internet connection"
fi
cd "$repl_dir"
git checkout --quiet -- lean-toolchain 2>/dev/null || true # undo our own edit from a previous run
git fetch --quiet --tags origin || step "could not fetch REPL tags (offline?); using the local ones"
if git rev-parse --verify --quiet "refs/tags/$version" >/dev/null; then
	step "checking out REPL tag $version"
	git checkout --quiet "$version" ||
		fail "could not check out REPL tag $version" "a local change in $repl_dir? run: git -C $repl_dir status"
else
	step "no REPL tag $version; building the checked-out branch at $toolchain"
fi
if [ "$(tr -d '[:space:]' <lean-toolchain)" != "$toolchain" ]; then
	echo "$toolchain" >lean-toolchain
fi
if [ ! -x .lake/build/bin/repl ] || [ lean-toolchain -nt .lake/build/bin/repl ]; then
	step "building the REPL"
	lake build ||
		fail "the REPL did not build at $toolchain" \
			"the REPL's default branch may be too new for this toolchain: pick a tag near $version in $repl_dir (git tag)"
fi

repl_bin="$repl_dir/.lake/build/bin/repl"
step "smoke test: import the project's header"
printf '{"cmd": "import Mathlib"}\n\n' | (cd "$project" && timeout 900 lake env "$repl_bin") | grep -q '"env": 0' ||
	fail "the REPL did not load Mathlib" \
		"it needs ~9 GB of address space and a built Mathlib cache; run 'lake exe cache get' in $project"

cat <<EOF
Lean backend ready. Configure llemma-prove with:
  lean project: $project
  lean repl:    lake env $repl_bin
(in Go: lean.Config{Project: "$project", Repl: []string{"lake", "env", "$repl_bin"}})
EOF
