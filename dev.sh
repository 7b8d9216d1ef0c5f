#!/usr/bin/env bash
# One command to set up groovefader and run it:
#   ./dev.sh app [ARGS]     the instrument: .venv-app with the newest Python 3.11-3.13 found and
#                           the runtime only (ONNX Runtime, no torch)
#   ./dev.sh test [ARGS]    the tests: .venv with Python 3.11 and the test extras (torch 2.13.0 CPU)
#   ./dev.sh runtime-check  the runtime environment starts the app offscreen and plays to JACK
# Installs the system packages (JACK, PortAudio, Qt's libraries) when allowed, then runs.
set -euo pipefail
cd "$(dirname "$0")"

cmd=${1:-}
shift || true

# The newest python3.MINOR among $1 (e.g. "13 12 11") on PATH or installed by pyenv that runs.
find_python() {
  local minor cand
  for minor in "$@"; do
    for cand in "python3.$minor" "$(pyenv root 2>/dev/null)"/versions/3."$minor".*/bin/python3; do
      if [ -n "$cand" ] && "$cand" -c "import sys; sys.exit(sys.version_info[:2] != (3, $minor))" 2>/dev/null; then
        echo "$cand"; return 0
      fi
    done
  done
  if python3 -c "import sys; sys.exit(not ((3, ${*: -1}) <= sys.version_info[:2] <= (3, $1)))" 2>/dev/null; then
    echo python3; return 0
  fi
  return 1
}

case "$cmd" in
  app|runtime-check)
    VENV=.venv-app; EXTRAS=""
    PY=${PYTHON:-$(find_python 13 12 11 || true)}
    [ -n "$PY" ] || { echo "dev.sh: Python 3.11, 3.12 or 3.13 is required" >&2; exit 1; }
    # python-rtmidi has no 3.13 wheel yet: building it needs ALSA's headers (Linux, via apt)
    # or Xcode's tools (macOS); without them an older Python found is used instead
    if [ -z "${PYTHON:-}" ] && ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] >= (3, 13))' \
        && ! pkg-config --exists alsa 2>/dev/null && ! xcode-select -p >/dev/null 2>&1 \
        && ! { command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }; }; then
      older=$(find_python 12 11 || true)
      if [ -n "$older" ]; then
        echo "dev.sh: $PY would have to build python-rtmidi (no ALSA headers, none installable); using $older"
        PY=$older
      fi
    fi ;;
  *)
    VENV=.venv; EXTRAS="[test]"
    PY=${PYTHON:-$(find_python 11 || true)}
    [ -n "$PY" ] || { echo "dev.sh: Python 3.11 is required (torch 2.13.0's CPU wheel is built for it)" >&2; exit 1; } ;;
esac

# System packages: JACK for the MIDI tests, PortAudio for the built-in kit's audio, the
# libraries Qt's wheels link against.
SYS_PKGS="jackd2 libportaudio2 libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0"
# python-rtmidi has no wheel for Python 3.13 yet: pip builds it against ALSA's and JACK's headers.
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] >= (3, 13))'; then
  SYS_PKGS="$SYS_PKGS libasound2-dev libjack-jackd2-dev pkg-config g++"
fi
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
if [ ! -x "$VENV/bin/python" ]; then "$PY" -m venv "$VENV"; fi
stamp=$VENV/.groovefader-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "dev.sh: installing groovefader$EXTRAS into $VENV ($("$VENV/bin/python" -V))"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".$EXTRAS"
  echo "$want" > "$stamp"
fi
# SF2 soundfonts for the kit: TinySoundFont's bindings (MIT). --no-deps: the package asks for
# PyAudio, used only by its own playback (groovefader plays through JACK or sounddevice), which
# has no Linux wheel and would have to be compiled.
"$VENV/bin/python" -c 'import tinysoundfont' 2>/dev/null \
  || "$VENV/bin/python" -m pip install -q --no-deps "tinysoundfont>=0.3.7" \
  || echo "dev.sh: tinysoundfont did not install; the kit plays no soundfonts (tests skip)" >&2

case "$cmd" in
  app)
    exec "$VENV/bin/groovefader" app "$@" ;;
  runtime-check)
    # no torch in the runtime; the app starts offscreen; play reaches a JACK server of its own
    "$VENV/bin/python" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("torch") is not None)' \
      || { echo "dev.sh: torch is installed in $VENV" >&2; exit 1; }
    echo "dev.sh: $VENV holds $(du -sm "$VENV" | cut -f1) MB"
    shot=$(mktemp -d)
    QT_QPA_PLATFORM=offscreen "$VENV/bin/groovefader" app --settings "$shot/s.ini" --screenshot "$shot/app.png"
    test -s "$shot/app.png"
    if command -v jackd >/dev/null; then
      server=gf-runtime-$$
      jackd --no-realtime -n "$server" -d dummy -r 48000 -p 256 >"$shot/jackd.log" 2>&1 &
      jack_pid=$!
      trap 'kill "$jack_pid" 2>/dev/null || true' EXIT
      sleep 2
      JACK_DEFAULT_SERVER=$server JACK_NO_START_SERVER=1 \
        "$VENV/bin/groovefader" play --midi-api jack --seconds 2 --stats --quiet --melody
    else
      echo "dev.sh: jackd not installed; play to JACK not checked" >&2
    fi
    rm -rf "$shot"
    echo "dev.sh: runtime check passed" ;;
  test)
    .venv/bin/ruff check .
    exec .venv/bin/python -m pytest -q "$@" ;;
  *)
    echo "usage: ./dev.sh app [ARGS...] | ./dev.sh test [PYTEST ARGS...] | ./dev.sh runtime-check" >&2; exit 2 ;;
esac
