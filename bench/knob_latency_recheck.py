"""Knob change -> first changed note, alone: 3 runs with the bench's load, 1 idle.

``.venv/bin/python bench/knob_latency_recheck.py [--json OUT]``: the ``knob_latency`` case of
bench/sequencer_timing.py without the 15-minute timing cases (asynchronous JACK2 server,
``jackd -R`` where allowed).
"""

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sequencer_timing as st  # noqa: E402
from _report import emit_json  # noqa: E402

server = st.start_test_server(sync=False)
out = []
try:
    with tempfile.TemporaryDirectory() as d:
        for load in ("load", "load", "load", "idle"):
            procs = st.start_load() if load == "load" else []
            try:
                time.sleep(2.0 if procs else 0)
                r = st.knob_latency(server, Path(d))
                r["load"] = load
                out.append(r)
                print(json.dumps(r), file=sys.stderr, flush=True)
            finally:
                st.stop_procs(procs)
finally:
    server.stop()
emit_json({"runs": out}, Path(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "--json" else None)
