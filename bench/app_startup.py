"""App responsiveness: start-up to a ready window, and knob drag → new pattern in the grid.

Start-up (``--runs`` fresh processes of ``groovefader app --startup-report``, offscreen):
  * ``shown``: from just before this script starts the process to the step grid's first
    paint (the window is on screen, the model not loaded yet);
  * ``ready``: to the first paint of a pattern decoded by the loaded model (torch imported,
    checkpoint loaded, first decode done) — the app is playable;
  * the app process's own CPU time (all threads, user + sys) at ``ready``, which does not
    depend on what else the machine is doing;
  * ``midi_status``: to the first sequencer status after ``ready`` — the clock process
    started (it is spawned after the first pattern is painted) and the MIDI port open
    ('ok') or its failure explained ('error', e.g. no ALSA and no JACK here).

Knob drag (in this process, offscreen Qt, the real window and worker thread): a mouse
press on the density knob, then ``--drags`` mouse moves of 4 px (up, and back down every
10 moves); for each move, the time from sending the move event to the end of the grid's
paint of the pattern decoded for it. Moves wait for the previous result, so this is the
latency of one knob move, not a throughput figure. With ``--sequencer`` the clock process
runs and plays meanwhile, and every new pattern also goes to it.

Prints JSON (and writes it with ``--json FILE``).

    .venv/bin/python bench/app_startup.py [--checkpoint checkpoints/default.pt] [--runs 5] [--drags 50]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _report import emit_json

REPO = Path(__file__).resolve().parents[1]


def _percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 4), "p99": round(_percentile(values, 99), 4),
            "min": round(min(values), 4), "max": round(max(values), 4), "n": len(values)}


def startup_runs(checkpoint: Path, runs: int) -> dict:
    exe = Path(sys.executable).with_name("groovefader")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "app"]
    shown, ready, cpu, midi, states = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            settings = Path(tmp) / f"settings-{i}.ini"  # a first start each time
            env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
            t0 = time.time()
            proc = subprocess.run([*cmd, "app", "--checkpoint", str(checkpoint), "--settings", str(settings),
                                   "--startup-report"], env=env, capture_output=True, text=True, timeout=180)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            if proc.returncode != 0 or not lines:
                raise SystemExit(f"app start-up run failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
            report = json.loads(lines[-1])
            shown.append(report["shown_unix"] - t0)
            ready.append(report["ready_unix"] - t0)
            cpu.append(report["cpu_s_at_ready"])
            if "midi_unix" in report:
                midi.append(report["midi_unix"] - t0)
                states.append(report["midi_state"])
    return {"shown_s": _summary(shown), "ready_s": _summary(ready), "cpu_s_at_ready": _summary(cpu),
            "midi_status_s": _summary(midi) if midi else None, "midi_states": states,
            "command": " ".join([*cmd, "app", "--checkpoint", str(checkpoint), "--startup-report"])}


def knob_drags(checkpoint: Path, drags: int, sequencer: bool = False, keep_hits: bool = False) -> dict:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QEventLoop, QPoint, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from app.main import create_window
    from app.theme import apply_dark_theme

    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)

    def spin(ms: int) -> None:  # an event loop that releases the GIL (QTest.qWait does not)
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    with tempfile.TemporaryDirectory() as tmp:
        window, controller = create_window(checkpoint=str(checkpoint), settings_path=str(Path(tmp) / "s.ini"),
                                           start_link=sequencer)
        window.resize(1280, 760)
        window.show()
        controller.load_model(checkpoint)
        deadline = time.monotonic() + 120
        link = controller.transport.link
        while (controller.info is None or window.grid.shown_pattern is not controller.pattern
               or (link is not None and link._last is not None and link._last.state == "starting")
               or (link is not None and link._last is None)):
            if time.monotonic() > deadline:
                raise SystemExit("model (or sequencer) did not start")
            spin(20)
        # The melody model loads half a second after the drums' (its map of the data is
        # built on the loader thread, 0.1-0.8 s of CPU): the drags measure the knob in a
        # settled window, not beside that load
        from app.melody_panel import MELODY_LOAD_DELAY_MS

        spin(MELODY_LOAD_DELAY_MS + 50)
        while any(t.name == "groovefader-model-loader" and t.is_alive() for t in threading.enumerate()):
            if time.monotonic() > deadline:
                raise SystemExit("the melody model did not load")
            spin(20)
        spin(200)
        port_state = None
        if link is not None:  # the sequencer plays while the knob moves, as in a session
            controller.transport.set_playing(True)
            spin(500)
            port_state = link._last.state if link._last else None
        if keep_hits:  # Edit → Density and hats keep the groove: the drag edits the groove's hits
            controller.set_keeping_hits(True)
            spin(300)
        knob = window.knobs.knobs["density"]
        grid = window.grid
        centre = knob.rect().center()
        QTest.mousePress(knob, Qt.MouseButton.LeftButton, pos=centre)
        latencies, changed, cpu_ms = [], [], []  # cpu: the whole process's, all threads
        y = 0
        for i in range(drags):
            y += -4 if (i // 10) % 2 == 0 else 4
            before_pattern = controller.pattern
            before_paint = grid.painted_at
            c0 = time.process_time()
            t0 = time.time()
            QTest.mouseMove(knob, centre + QPoint(0, y))
            # the real event loop runs (and releases the GIL) until the new pattern is painted
            loop = QEventLoop()
            poll = QTimer()
            poll.setInterval(1)

            def check(before_pattern=before_pattern, before_paint=before_paint, loop=loop) -> None:
                if (controller.pattern is not before_pattern and grid.shown_pattern is controller.pattern
                        and grid.painted_at > before_paint):
                    loop.quit()

            poll.timeout.connect(check)
            poll.start()
            QTimer.singleShot(5000, loop.quit)
            loop.exec()
            poll.stop()
            if grid.painted_at <= before_paint or grid.shown_pattern is not controller.pattern:
                raise SystemExit(f"move {i}: no new pattern shown within 5 s")
            latencies.append((grid.painted_at - t0) * 1000)
            cpu_ms.append((time.process_time() - c0) * 1000)
            changed.append(bool((controller.pattern.hits != before_pattern.hits).any()))
        QTest.mouseRelease(knob, Qt.MouseButton.LeftButton, pos=centre + QPoint(0, y))
        if link is not None:
            controller.transport.set_playing(False)
        info = controller.info
        window.close()
    moved = [lat for lat, c in zip(latencies, changed, strict=True) if c]
    return {"with_sequencer": sequencer, "sequencer_port_state": port_state, "keeping_hits": keep_hits,
            "knob_to_grid_ms": _summary(latencies),
            # process CPU time from the move to the loop seeing the paint (this loop's 1 ms
            # polls included): the work of a knob move, whatever else the machine runs
            "knob_to_grid_cpu_ms": _summary(cpu_ms),
            "knob_to_grid_ms_when_hits_changed": _summary(moved) if moved else None,
            "model": {"kind": info.kind, "z_dim": info.z_dim, "steps": info.steps,
                      "attributes": list(info.attribute_names)}}


def start_jack(name: str = "gf-bench-app") -> subprocess.Popen:
    """A dummy-backend JACK server for the sequencer's port (this machine has no sound card)."""
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
    proc = subprocess.Popen(["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "32"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"jackd exited with {proc.returncode}")
        if "system:" in subprocess.run(["jack_lsp"], capture_output=True, text=True).stdout:
            return proc
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit("jackd did not come up")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=REPO / "checkpoints" / "default.pt")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--drags", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the JSON here")
    parser.add_argument("--sequencer", action="store_true",
                        help="run the knob drags with the sequencer process started and playing "
                             "(its MIDI port opens on the default API)")
    parser.add_argument("--keep-hits", action="store_true",
                        help="drag density with Edit → Density and hats keep the groove on")
    parser.add_argument("--jack", action="store_true",
                        help="start a dummy JACK server first (the sequencer's port opens on it)")
    args = parser.parse_args()
    if not args.checkpoint.is_file():
        print(f"bench/app_startup.py: error: no checkpoint at {args.checkpoint} (--checkpoint PATH)",
              file=sys.stderr)
        return 1
    load_before = os.getloadavg()
    result = {"benchmark": "app_startup", "checkpoint": str(args.checkpoint),
              "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                          "loadavg_1m_before": round(load_before[0], 2)},
              "targets": {"ready_s": 3.0, "knob_to_grid_ms": 30.0}}
    jack = start_jack() if args.jack else None
    result["jack_server"] = bool(jack)
    try:
        result["startup"] = startup_runs(args.checkpoint, args.runs)
        result["knob_drag"] = knob_drags(args.checkpoint, args.drags, args.sequencer, args.keep_hits)
    finally:
        if jack is not None:
            jack.terminate()  # SIGTERM: jackd leaves JACK's server registry clean
            jack.wait(10)
    result["machine"]["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    emit_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
