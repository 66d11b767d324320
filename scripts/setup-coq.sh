#!/usr/bin/env bash
# Installs Coq 8.16, Coquelicot and the GPU-free automation from Debian/Ubuntu
# packages when missing:
#   coq libcoq-coquelicot   the prover and the real-analysis library miniF2F imports
#   coinor-csdp             csdp, the SDP solver behind psatz
#   libcoq-hammer           CoqHammer's sauto family (loaded in every coqtop)
#   eprover z3              the external provers of CoqHammer's `hammer` (optional:
#                           the portfolio does not call hammer; best effort)
# Idempotent: does nothing when all of them are there.
set -euo pipefail

have_coq() {
  command -v coqtop >/dev/null 2>&1 && command -v coqc >/dev/null 2>&1 &&
    [ -d "$(coqc -where 2>/dev/null)/user-contrib/Coquelicot" ]
}
have_automation() {
  command -v csdp >/dev/null 2>&1 &&
    [ -f "$(coqc -where 2>/dev/null)/user-contrib/Hammer/Tactics/Tactics.vo" ]
}
have_atps() {
  command -v eprover >/dev/null 2>&1 && command -v z3 >/dev/null 2>&1
}

if have_coq && have_automation && have_atps; then
  exit 0
fi

pkgs="coq libcoq-coquelicot coinor-csdp libcoq-hammer"
optional="eprover z3"
if ! command -v apt-get >/dev/null 2>&1; then
  if have_coq; then
    echo "setup-coq: csdp, CoqHammer or its provers are missing and this is not a Debian/Ubuntu system; psatz and sauto candidates will fail (install coinor-csdp and coq-hammer-tactics yourself)." >&2
    exit 0
  fi
  echo "setup-coq: Coq is missing and this is not a Debian/Ubuntu system; install Coq 8.16+, Coquelicot, csdp and CoqHammer yourself (opam install coq coq-coquelicot coq-hammer-tactics)." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  if have_coq; then
    echo "setup-coq: installing '$pkgs $optional' needs root; without csdp and CoqHammer the psatz and sauto candidates fail. Run 'apt-get install -y $pkgs $optional' as root." >&2
    exit 0
  fi
  echo "setup-coq: Coq is missing and installing it needs root: run 'apt-get install -y $pkgs $optional' as root, then re-run make." >&2
  exit 1
fi
echo "setup-coq: installing $pkgs (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null || { echo "setup-coq: apt-get update failed; check the network or your apt sources." >&2; exit 1; }
$SUDO apt-get install -y -qq $pkgs >/dev/null || { echo "setup-coq: 'apt-get install -y $pkgs' failed; run it by hand to see why." >&2; exit 1; }
$SUDO apt-get install -y -qq $optional >/dev/null 2>&1 ||
  echo "setup-coq: could not install $optional (only CoqHammer's hammer uses them; the portfolio does not)." >&2
have_coq || { echo "setup-coq: installed $pkgs but coqtop/coqc/Coquelicot are still not usable." >&2; exit 1; }
have_automation || { echo "setup-coq: installed $pkgs but csdp or CoqHammer's tactics are still missing." >&2; exit 1; }
echo "setup-coq: $(coqc --version | head -1), csdp, CoqHammer $(dpkg-query -W -f='${Version}' libcoq-hammer 2>/dev/null || echo '?')" >&2
