"""Do the last messages before a port closes reach a reader? (the note-offs of Ctrl-C)

Opens an rtmidi JACK output into a recording client ``--trials`` times; each time sends a
note-on, then a note-off and CC 123 and closes the port at once, as the clock process does
on exit. Prints JSON: note-ons, note-offs and CC 123 received, and the note-offs lost.
``--no-drain`` skips :meth:`engine.ports.RtMidiOutput.drain` (the behaviour before the fix:
rtmidi's ``close_port`` alone). Run it with the machine loaded to see the difference.

    .venv/bin/python bench/close_drain.py --trials 100 [--no-drain]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.ports import PortSpec, RtMidiOutput  # noqa: E402
from tests.support.jack_server import JackServer, Recorder  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--no-drain", action="store_true", help="close without waiting for the JACK cycles")
    args = parser.parse_args()
    if args.no_drain:
        RtMidiOutput.drain = lambda self: False  # type: ignore[method-assign]
    server = JackServer(sync=True).start()  # as the tests run it: --no-realtime -S
    os.environ.update(JACK_DEFAULT_SERVER=server.name, JACK_NO_START_SERVER="1")
    load_before = os.getloadavg()[0]
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        rec = Recorder(server, None, Path(tmp) / "rec.jsonl")
        try:
            for i in range(args.trials):
                out = RtMidiOutput(PortSpec(rec.port, "jack", virtual=False))
                time.sleep(0.03)  # the link to the recorder forms
                out.send((0x99, 36 + i % 40, 100))
                time.sleep(0.01)
                out.send((0x89, 36 + i % 40, 0))
                out.send((0xB9, 123, 0))
                out.close()
        finally:
            time.sleep(0.3)
            msgs = [e[1] for e in rec.stop()]
            server.stop()
    ons = sum(1 for m in msgs if m[0] == 0x99)
    offs = sum(1 for m in msgs if m[0] == 0x89)
    print(json.dumps({"drain": not args.no_drain, "trials": args.trials, "note_ons": ons, "note_offs": offs,
                      "cc123": sum(1 for m in msgs if m[:2] == (0xB9, 123)), "lost_note_offs": ons - offs,
                      "seconds": round(time.monotonic() - t0, 1),
                      "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
