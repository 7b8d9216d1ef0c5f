"""Xruns of a synchronous JACK server while a process whose Python thread is busy holds a
MIDI input open: rtmidi's (a C callback), JACK-Client's in that process (a Python callback
every period) and JACK-Client's in a process of its own (``engine.ports.input_process``).

Why: the app listens for MIDI learn beside a GUI thread that keeps the interpreter busy. A
Python callback in that process waits for the interpreter lock every JACK period, and a
synchronous server (``jackd -S``, as in the tests) waits for the callback.

Each case runs ``--seconds`` in a child process whose main thread loops in Python (never
letting go of the lock by itself) with the input open; an xrun-counting client here counts
the server's xruns meanwhile. Cases alternate, ``--rounds`` times; ``none`` is the child with
no input (the machine's own xruns). Dummy backend, 48 kHz, 32-frame periods.

    .venv/bin/python bench/midi_input_xruns.py [--seconds 15] [--rounds 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import emit_json  # noqa: E402

from tests.support.jack_server import JACKD, start_test_server  # noqa: E402

CASES = ("none", "rtmidi", "jack_client", "input_process")

CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[3])
case = sys.argv[1]
callback = lambda data, t: None
if case == "jack_client":
    from engine.ports.jack_input import JackMidiInput
    inp = JackMidiInput("probe-in", callback, virtual=True, client_name="probe-in")
elif case == "input_process":
    from engine.ports.input_process import InputProcess
    inp = InputProcess("probe-in", "jack", callback, virtual=True)
elif case == "rtmidi":
    from engine.ports.rtmidi_backend import MidiInput
    inp = MidiInput("probe-in", "jack", callback, virtual=True, client_name="probe-in")
else:
    inp = None
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[2])
x = 0
while time.monotonic() < end:  # busy in Python, as a GUI thread at work
    for i in range(20000):
        x += i * i
if inp is not None:
    inp.close()
"""


def count_xruns(case: str, seconds: float, env: dict[str, str]) -> int:
    import jack

    client = jack.Client("xrun-count", no_start_server=True)
    xruns: list[float] = []
    client.set_xrun_callback(xruns.append)
    client.activate()
    try:
        child = subprocess.Popen([sys.executable, "-c", CHILD, case, str(seconds), str(ROOT)], env=env,
                                 stdout=subprocess.PIPE, text=True)
        if child.stdout is None or child.stdout.readline().strip() != "ready":
            raise SystemExit(f"midi_input_xruns: the {case} child did not start")
        before = len(xruns)
        child.wait()
        return len(xruns) - before
    finally:
        client.deactivate()
        client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="per case and round (default 15)")
    parser.add_argument("--rounds", type=int, default=2, help="times each case runs (default 2)")
    parser.add_argument("--json", help="also write the JSON here")
    args = parser.parse_args()
    if JACKD is None:
        raise SystemExit("midi_input_xruns: jackd is not installed")
    server = start_test_server()
    env = server.env
    os.environ.update({k: v for k, v in env.items() if k.startswith("JACK_")})
    try:
        result: dict = {"seconds": args.seconds, "rounds": args.rounds, "rate": server.rate,
                        "period": server.period, "server_realtime": server.running_realtime(),
                        "cpus": os.cpu_count(), "loadavg_start": [round(x, 2) for x in os.getloadavg()],
                        "xruns": {case: [] for case in CASES}}
        for _ in range(args.rounds):
            for case in CASES:
                result["xruns"][case].append(count_xruns(case, args.seconds, env))
        result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        server.stop()
    result["command"] = (f"python bench/midi_input_xruns.py --seconds {args.seconds:g} --rounds {args.rounds}"
                         + (" --json " + args.json if args.json else ""))
    emit_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
