"""What melody changes cost the clock's sends: both lanes playing while the melody changes.

The drums (the demo groove) and a 16-bar melody play through rtmidi on a dummy JACK server
(120 BPM) while a new 16-bar melody is posted every ``--every`` seconds at a random moment
(``quantize=step``, as the app's Randomize does), with a busy loop on the other core. The
clock process handles each change in its loop, between sends; what it costs shows in the
clock's own lateness record per lane (``--stats`` ``lanes``: p99, max, sends more than 1 ms
late). Compare the same run without changes (``--every 0``).

    .venv/bin/python bench/melody_change_timing.py --seconds 120 --json bench/melody_change_timing.json
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _report import emit_json  # noqa: E402
from sequencer_timing import BUSY  # noqa: E402

from tests.support.jack_server import start_test_server  # noqa: E402


def melodies(count: int, seed: int) -> list:
    """``count`` 16-bar melodies: random walks on the C major scale, notes of 1-4 steps."""
    from engine.music.melody import NO_EVENT, NOTE_OFF, Melody

    rng = np.random.default_rng(seed)
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    out = []
    for _ in range(count):
        ev, step, i = [], 0, 3
        while step < 256:
            length = int(rng.integers(1, 5))
            i = int(np.clip(i + rng.integers(-2, 3), 0, len(scale) - 1))
            ev += [scale[i] if rng.random() > 0.1 else NOTE_OFF] + [NO_EVENT] * (length - 1)
            step += length
        out.append(Melody(ev[:256]))
    return out


def run(server, seconds: float, every: float, seed: int) -> dict:
    from engine.commands.play import demo_pattern
    from engine.realtime.sequencer import Sequencer
    from engine.realtime.steps import Controls

    os.environ.update(server.env)
    tunes = melodies(16, seed)
    rng = np.random.default_rng(seed)
    posted = 0
    with Sequencer(f"mct{os.getpid()}", "jack", controls=Controls(tempo_bpm=120, groove=0.0)) as seq:
        if seq.status().port_state != "ok":
            return {"error": seq.status().error}
        seq.set_pattern(demo_pattern())
        seq.set_melody(tunes[0])
        seq.play()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if every > 0:
                time.sleep(rng.uniform(0.5, 1.5) * every)
                seq.set_melody(tunes[posted % len(tunes)], "step")
                posted += 1
            else:
                time.sleep(0.1)
        seq.stop()
        stats = seq.sync(3.0).stats
    return {"changes": posted, "lanes": stats.get("lanes"), "sent": stats.get("sent"),
            "realtime": stats.get("realtime"), "time_base": stats.get("time_base")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120.0, help="per case")
    parser.add_argument("--every", type=float, nargs="+", default=[0.25, 0.0],
                        help="seconds between melody changes per case (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    server = start_test_server()
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    results: dict = {"command": " ".join([Path(sys.executable).name, *sys.argv]),
                     "jackd_realtime": server.realtime, "loadavg_at_start": os.getloadavg(), "cases": []}
    try:
        time.sleep(2.0)
        for every in args.every:
            case = {"every_s": every, **run(server, args.seconds, every, args.seed)}
            results["cases"].append(case)
            print(case, file=sys.stderr, flush=True)
    finally:
        busy.kill()
        server.stop()
    results["loadavg_at_end"] = os.getloadavg()
    emit_json(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
