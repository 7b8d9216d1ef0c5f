"""Does a JACK MIDI output lose what it sends? python-rtmidi alone, no clock process.

A python-rtmidi output (``engine.ports.rtmidi_backend.RtMidiOutput``, pinned to CPU 0 with
its JACK thread) sends ``--bursts`` bursts of 3 note-ons, one every ``--gap-ms``, to
Debian's ``jack_midi_dump`` on a dummy JACK server (asynchronous, JACK2's default, or ``-S``);
each burst is numbered in its notes' pitch and velocity, so what is missing is counted in
whole bursts. ``--hog-priority P`` also runs a SCHED_FIFO busy loop at priority ``P`` on CPU 0
that spins 0.3-1.5 ms every 2-6 ms (needs the right to real-time priority), holding up the
output's JACK thread now and then, as a loaded machine does.

``--writer c``: the sender is ``bench/c/jack_writer_probe.c`` instead (a copy of RtMidi's JACK
process callback that logs each of its runs; built with ``cc`` and libjack's headers), and the
report says, for each burst lost, whether the run that took it from the ringbuffer was
followed by another run in the same cycle (the same ``last_frame_time``), whose
``jack_midi_clear_buffer`` then emptied the port before a reader read it.

    .venv/bin/python bench/rtmidi_jack_bursts.py --mode async --hog-priority 80 --json out.json
    .venv/bin/python bench/rtmidi_jack_bursts.py --mode sync --hog-priority 80
    .venv/bin/python bench/rtmidi_jack_bursts.py --writer c --hog-priority 80
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _report import emit_json  # noqa: E402

from tests.support.jack_server import start_test_server  # noqa: E402

SENDER = r"""
import os, sys, time
os.sched_setaffinity(0, {0})
sys.path.insert(0, sys.argv[3])
from engine.ports.base import PortSpec
from engine.ports.rtmidi_backend import RtMidiOutput
out = RtMidiOutput(PortSpec(name="bursts", api="jack", time_base="wall"))
print("ready", flush=True)
sys.stdin.readline()
n, gap = int(sys.argv[1]), float(sys.argv[2])
for i in range(n):
    for channel in range(3):
        out.send((0x90 | channel, i % 128, 1 + i // 128))
    time.sleep(gap)
time.sleep(0.2)
out.close()
print("done", flush=True)
"""

HOG = r"""
import os, random, sys, time
os.sched_setaffinity(0, {0})
os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(int(sys.argv[1])))
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    t = time.perf_counter() + random.uniform(0.3, 1.5) / 1e3
    while time.perf_counter() < t:
        pass
    time.sleep(random.uniform(0.002, 0.006))
"""

DUMP_NOTE = re.compile(r"\s*\d+: (9[0-2]) ([0-9a-f]{2}) ([0-9a-f]{2})")


def sender_command(writer: str, bursts: int, gap_s: float, tmp: Path) -> list[str]:
    if writer == "rtmidi":
        return [sys.executable, "-c", SENDER, str(bursts), str(gap_s), str(ROOT)]
    probe = tmp / "jack_writer_probe"
    subprocess.run(["cc", "-O2", "-o", str(probe), str(ROOT / "bench/c/jack_writer_probe.c"), "-ljack"],
                   check=True)
    return ["taskset", "-c", "0", str(probe), str(bursts), str(gap_s), str(tmp / "runs.txt")]


def repeats_behind(runs_path: Path, lost: set[int]) -> dict:
    """How the probe's runs went, and for the lost bursts whether a second run in the same
    cycle followed the one that took them."""
    runs = [tuple(map(int, line.split())) for line in runs_path.read_text().splitlines()]
    repeated = [i for i in range(len(runs) - 1) if runs[i][0] == runs[i + 1][0]]
    took = {r[3]: i for i, r in enumerate(runs) if r[2] > 0}
    return {"callback_runs": len(runs), "runs_repeating_a_cycle": len(repeated),
            "lost_bursts_taken_by_a_run_repeated_in_its_cycle": sum(
                1 for b in lost if b in took and took[b] + 1 < len(runs)
                and runs[took[b] + 1][0] == runs[took[b]][0]),
            "lost_bursts_taken_as_the_first_of_a_run": sum(1 for b in lost if b in took),
            # per lost burst: (frames since its cycle began when the run that took it started,
            # frames from the previous run's cycle, to the next run's, the next run's since)
            "lost_detail": [(runs[i][1], runs[i][0] - runs[i - 1][0], runs[i + 1][0] - runs[i][0],
                             runs[i + 1][1])
                            for b in sorted(lost) if b in took and 0 < (i := took[b]) < len(runs) - 1]}


def run(mode: str, bursts: int, gap_ms: float, hog_priority: int | None, writer: str = "rtmidi") -> dict:
    server = start_test_server(sync=mode == "sync")
    procs: list[subprocess.Popen] = []
    probe: dict = {}
    try:
        with tempfile.TemporaryDirectory() as tmpdir:
            tmp = Path(tmpdir)
            dump_path = tmp / "dump.txt"
            with open(dump_path, "w") as dump_out:
                dump = subprocess.Popen(["jack_midi_dump", "-a", "bursts-dump"], stdout=dump_out,
                                        stderr=subprocess.DEVNULL, env=server.env)
                procs.append(dump)
                sender = subprocess.Popen(sender_command(writer, bursts, gap_ms / 1e3, tmp), env=server.env,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                procs.append(sender)
                assert sender.stdin is not None and sender.stdout is not None
                if sender.stdout.readline().strip() != "ready":
                    return {"error": "the sender did not start"}
                if not server.wait_port("bursts-dump:input", 10):
                    return {"error": "jack_midi_dump did not start"}
                subprocess.run(["jack_connect", "bursts:bursts", "bursts-dump:input"], env=server.env,
                               capture_output=True)
                time.sleep(0.3)
                if hog_priority is not None:
                    procs.append(subprocess.Popen([sys.executable, "-c", HOG, str(hog_priority),
                                                   str(bursts * gap_ms / 1e3)]))
                sender.stdin.write("go\n")
                sender.stdin.flush()
                sender.stdout.readline()
                sender.wait(60)
                time.sleep(0.3)
                dump.send_signal(signal.SIGINT)
                dump.wait(5)
            got: Counter = Counter()
            for line in dump_path.read_text().splitlines():
                m = DUMP_NOTE.match(line)
                if m:
                    got[(int(m.group(3), 16) - 1) * 128 + int(m.group(2), 16)] += 1
            if writer == "c":
                probe = repeats_behind(tmp / "runs.txt", {i for i in range(bursts) if got[i] == 0})
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        server.stop()
    return {"writer": writer, "mode": mode, "bursts": bursts, "gap_ms": gap_ms, "hog_priority": hog_priority,
            "jackd_realtime": server.realtime, "note_ons_sent": 3 * bursts,
            "note_ons_received": sum(got.values()),
            "bursts_missing_whole": sum(1 for i in range(bursts) if got[i] == 0),
            "bursts_missing_part": sum(1 for i in range(bursts) if 0 < got[i] < 3),
            "bursts_received_twice": sum(1 for i in range(bursts) if got[i] > 3), **probe}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("async", "sync"), default="async")
    parser.add_argument("--bursts", type=int, default=1000)
    parser.add_argument("--gap-ms", type=float, default=3.0)
    parser.add_argument("--hog-priority", type=int, default=None, metavar="P",
                        help="a SCHED_FIFO busy loop at priority P on the sender's core")
    parser.add_argument("--writer", choices=("rtmidi", "c"), default="rtmidi",
                        help="python-rtmidi, or the C copy of its JACK callback that logs its runs")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    results = {"command": " ".join([Path(sys.executable).name, *sys.argv]),
               "loadavg_at_start": os.getloadavg(),
               **run(args.mode, args.bursts, args.gap_ms, args.hog_priority, args.writer)}
    results["loadavg_at_end"] = os.getloadavg()
    emit_json(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
