#!/usr/bin/env bash
# One command to set up groovefader and run it:   ./dev.sh app   |   ./dev.sh test
# Creates .venv (Python 3.11), installs the package with its test extras, installs the
# system packages the tests need (JACK, Qt's libraries) when allowed, then runs.
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY=$cand; break
    fi
  done
fi
[ -n "$PY" ] || { echo "dev.sh: Python 3.11 is required (torch 2.13.0's CPU wheel is built for it)" >&2; exit 1; }

# System packages: JACK for the MIDI tests, PortAudio for the built-in kit's audio, the
# libraries Qt's wheels link against.
SYS_PKGS="jackd2 libportaudio2 libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0"
need_sys() {
  for p in $SYS_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || return 0; done
  return 1
}
if command -v apt-get >/dev/null && command -v dpkg >/dev/null && need_sys; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  if [ -z "$SUDO" ] || sudo -n true 2>/dev/null; then
    echo "dev.sh: installing system packages: $SYS_PKGS"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $SYS_PKGS >/dev/null
  else
    echo "dev.sh: cannot install $SYS_PKGS without sudo; JACK tests will be skipped" >&2
  fi
fi

# Python packages, reinstalled only when pyproject.toml changed.
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
stamp=.venv/.groovefader-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  echo "$want" > "$stamp"
fi

cmd=${1:-}
shift || true
case "$cmd" in
  app)
    exec .venv/bin/groovefader app "$@" ;;
  test)
    .venv/bin/ruff check .
    exec .venv/bin/python -m pytest -q "$@" ;;
  *)
    echo "usage: ./dev.sh app [ARGS...] | ./dev.sh test [PYTEST ARGS...]" >&2; exit 2 ;;
esac
