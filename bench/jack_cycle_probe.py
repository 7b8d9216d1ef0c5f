"""Sample-accurate output vs a receiver, event by event: who put an event off its frame?

The sample-accurate path (``engine.ports.jack_backend.JackOutput`` pulling per JACK period) sends
~48 note-ons a second, each with a unique (note, velocity) so every one is matched at the
receiver (``tests.support.jack_server.Recorder``: ``last_frame_time + offset``). For every
event: the frame the sender meant (its ``FrameMap``), what the sender itself recorded
(written after its frame = late, ``late_frames``) and what the receiver stamped. Events off
their frame are put in one of:

- ``sender_late``: the sender wrote it after its frame (its callback for that period never
  ran: a cycle skipped, or the callback ran a period late);
- ``receiver_repeated_read``: the receiver's callback read the same cycle counter as its next
  callback (it ran after the next cycle began, so stamped its events a period late), the
  sender on time;
- ``other``; and ``lost``: never received.

Debian's ``jack_midi_dump`` (C, no GIL) listens too; only whether it got each event is used
(it stamps with its own count of the periods it ran, not the server's frame counter).

    .venv/bin/python bench/jack_cycle_probe.py --seconds 45              # JACK2 asynchronous
    .venv/bin/python bench/jack_cycle_probe.py --seconds 45 --sync      # jackd -S
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _report import emit_json  # noqa: E402
from sequencer_timing import Dump, irregular_by_callback  # noqa: E402

from tests.support.jack_server import Recorder, start_test_server  # noqa: E402

EVENT_INTERVAL_NS = 20_833_333  # a MIDI clock tick at 120 BPM: ~48 events/s


def event_ids(n: int) -> list[tuple[int, int]]:
    """``n`` distinct (note, velocity) pairs: each event identifies itself at the receiver."""
    return [(36 + i // 127, 1 + i % 127) for i in range(n)]


def run(seconds: float, sync: bool) -> dict:
    from engine.ports import PortSpec
    from engine.ports.jack_backend import JackOutput, frame_diff

    server = start_test_server(sync=sync)
    os.environ.update(JACK_DEFAULT_SERVER=server.name, JACK_NO_START_SERVER="1")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            name = f"probe{os.getpid()}"
            rec = Recorder(server, f"{name}:{name}", Path(tmp) / "rec.jsonl")
            dump = Dump(server, f"dump{os.getpid()}", Path(tmp) / "dump.txt")
            out = JackOutput(PortSpec(name, "jack", True, True))
            out._client.connect(out._port, dump.port)  # noqa: SLF001 - the probe's own client
            if not rec.wait_connected(10):
                raise RuntimeError("the recorder did not connect")
            n = int(seconds * 1e9 / EVENT_INTERVAL_NS)
            t0 = out.now_ns() + 300_000_000
            items = [SimpleNamespace(deadline_ns=t0 + round(i * EVENT_INTERVAL_NS), data=(0x99, note, vel),
                                     immediate=False) for i, (note, vel) in enumerate(event_ids(n))]
            queue = collections.deque(items)

            def pull(limit_ns: int) -> list:
                due = []
                while queue and queue[0].deadline_ns <= limit_ns:
                    due.append(queue.popleft())
                return due

            out.set_pull(pull)
            while queue:
                time.sleep(0.1)
            time.sleep(0.2)
            out.set_pull(None)
            late = list(out.late_frames)
            sender_irregular = out.cycle_irregularities
            out.close()
            time.sleep(0.2)
            rec.stop()
            dumped = {(m[1], m[2]) for _, m in dump.stop() if m[0] == 0x99}
            received = {(m[1], m[2]): (frame, cb) for frame, m, _, cb in rec.events_with_callbacks()
                        if m[0] == 0x99}
            cycles = rec.cycles()
    finally:
        server.stop()
    irregular = irregular_by_callback(cycles)
    counts = collections.Counter()
    errors = collections.Counter()
    examples = collections.defaultdict(list)
    for item, sender_late in zip(items, late, strict=True):
        key = item.data[1:]
        meant = out.frame_for(item.deadline_ns)
        if key not in received:
            kind, error = "lost", None
        else:
            frame, cb = received[key]
            error = frame_diff(frame, meant)
            if error == 0:
                kind = "exact"
            elif sender_late > 0:
                kind = "sender_late"
            elif irregular.get(cb + 1) == 0:
                kind = "receiver_repeated_read"
            else:
                kind = "other"
            errors[error] += 1
        counts[kind] += 1
        if kind != "exact" and len(examples[kind]) < 5:
            examples[kind].append({"frame": meant, "error_frames": error, "sender_late_frames": sender_late})
    mode = "sync" if sync else "async"
    return {"jack": {"mode": mode, "realtime": server.realtime, "period": server.period},
            "events": len(items), "outcome": dict(counts),
            "lost_at_jack_midi_dump": sum(1 for i in items if i.data[1:] not in dumped),
            "error_frames": {str(k): v for k, v in sorted(errors.items())},
            "sender_irregular_cycles": sender_irregular,
            "receiver_callbacks": cycles.get("callbacks"), "receiver_irregular_cycles": len(irregular),
            "receiver_repeated_reads": sum(1 for g in irregular.values() if g == 0),
            "examples": dict(examples), "loadavg": os.getloadavg()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--sync", action="store_true", help="run jackd synchronous (-S)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result = {"command": " ".join([Path(sys.executable).name, *sys.argv]), **run(args.seconds, args.sync)}
    emit_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
