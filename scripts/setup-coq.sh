#!/usr/bin/env bash
# Installs Coq 8.16 and Coquelicot from Debian/Ubuntu packages when missing.
# Idempotent: does nothing when coqtop, coqc and Coquelicot are already there.
set -euo pipefail

have_coq() {
  command -v coqtop >/dev/null 2>&1 && command -v coqc >/dev/null 2>&1 &&
    [ -d "$(coqc -where 2>/dev/null)/user-contrib/Coquelicot" ]
}

if have_coq; then
  exit 0
fi

pkgs="coq libcoq-coquelicot"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-coq: Coq is missing and this is not a Debian/Ubuntu system; install Coq 8.16+ and Coquelicot yourself (opam install coq coq-coquelicot)." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "setup-coq: Coq is missing and installing it needs root: run 'apt-get install -y $pkgs' as root, then re-run make." >&2
  exit 1
fi
echo "setup-coq: installing $pkgs (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null || { echo "setup-coq: apt-get update failed; check the network or your apt sources." >&2; exit 1; }
$SUDO apt-get install -y -qq $pkgs >/dev/null || { echo "setup-coq: 'apt-get install -y $pkgs' failed; run it by hand to see why." >&2; exit 1; }
have_coq || { echo "setup-coq: installed $pkgs but coqtop/coqc/Coquelicot are still not usable." >&2; exit 1; }
echo "setup-coq: $(coqc --version | head -1)" >&2
