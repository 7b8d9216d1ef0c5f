"""Sequencer timing as a DAW sees it: external JACK clients record ``groovefader play``.

For each tempo × load × path, ``groovefader play --groove 0`` (every note on the 16th grid)
plays from its virtual port for ``--seconds``, then gets Ctrl-C (SIGINT to its process
group). Two receivers record it: our JACK-Client recorder stamping ``last_frame_time +
offset`` (the server's frame counter: ``server_frames``) and the wall clock of its period
callback plus the offset (``wall_clock``: independent of periods a loaded dummy server
drops), and Debian's ``jack_midi_dump -a``
(which stamps with its *own* running count of the periods it processed, so every period the
server skips it under load shifts its later stamps). Reported, per receiver:

- timing error of every note-on against the best-fit grid (median/p99/max |error|, ms);
- tempo error of the fitted grid against the nominal tempo (%) and drift (ms: last note vs
  where the nominal tempo puts it, counted from the first note);
- lost notes, exact: ``play --start-delay`` opens the port and waits before it starts, so
  the receivers are connected before the first note; a receiver that recorded the MIDI
  Start (sent before any note) saw the whole run, and lost = note-ons the clock process
  says it sent (``--stats`` ``sent.on``) minus note-ons received. For the naive loop (no
  count of its own) it stays an estimate: expected note-ons between the first and last
  received minus received, good to about ±2 at the ends of the recording;
- stuck notes (note-ons without note-off after the process ended);
- the clock process's self-reported lateness (``--stats``);
- for our recorder, the process callbacks whose frame counter did not advance by exactly
  one period (``irregular_cycles``: a cycle skipped, or read twice — on JACK2's
  asynchronous server a client that runs after the next cycle began reads that cycle's
  counter and stamps its events one period late) and how many note-ons off the grid were
  received in such a callback or the one before a repeated read.

Paths: ``rtmidi`` (sends "now": lands on the next 32-frame period), run once per
``--time-base`` (``jack``: deadlines on JACK's frame clock, each sent at the wall time its
frame comes; ``wall``: on ``perf_counter_ns``; see engine/realtime/timebase.py), ``sample-accurate``
(JACK-Client, exact frames; always on the frame clock) and ``naive`` — the usual Python way, a mido loop of
``time.sleep(step)`` ended by Ctrl-C. Loads: ``idle``, and ``load`` = a process decoding with
torch in a loop + a 60 Hz Qt repaint (offscreen QWidget updated by a QTimer) + a busy loop on
the other core. Also: knob change → first changed note at the receiver (pattern change at
"next step", wall clock stamps of a recording client).

The JACK server runs with ``-R`` (real-time) where allowed, dummy backend, 48 kHz, 32 frames,
asynchronous (JACK2's default) or with ``--jack-mode sync`` synchronous (``-S``: every cycle
waits for every client, as in JACK1).

    .venv/bin/python bench/sequencer_timing.py --seconds 60 --json bench/sequencer_timing.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _report import emit_json  # noqa: E402

from tests.support.jack_server import JackServer, Recorder, check_note_pairs, start_test_server  # noqa: E402

RATE = 48_000

NAIVE = textwrap.dedent("""
    # The usual Python way: send the step's notes, sleep one step, repeat.
    import sys, time, mido
    sys.path.insert(0, sys.argv[3])
    from engine.commands.play import demo_pattern
    mido.set_backend("mido.backends.rtmidi/UNIX_JACK")
    p = demo_pattern()
    out = mido.open_output(sys.argv[2], virtual=True, client_name=sys.argv[2])
    step = 60 / float(sys.argv[1]) / 4
    gm = (36, 38, 42, 46, 45, 48, 50, 49, 51)
    i, sounding = 0, []
    while True:
        for note in sounding:
            out.send(mido.Message("note_off", channel=9, note=note))
        sounding = []
        row = i % p.steps
        for v in range(9):
            if p.hits[row, v]:
                out.send(mido.Message("note_on", channel=9, note=gm[v],
                                      velocity=int(p.midi_velocities()[row, v])))
                sounding.append(gm[v])
        time.sleep(step)
        i += 1
""")

TORCH_LOAD = textwrap.dedent("""
    # A decoder-sized model decoding 2-bar patterns step by step, forever (one thread).
    import torch
    torch.set_num_threads(1)
    gru = torch.nn.GRUCell(27 + 256, 256); head = torch.nn.Linear(256, 27)
    z = torch.randn(1, 256)
    with torch.no_grad():
        while True:
            h = torch.zeros(1, 256); x = torch.zeros(1, 27)
            for _ in range(32):
                h = gru(torch.cat([x, z], 1), h); x = torch.sigmoid(head(h))
""")

QT_LOAD = textwrap.dedent("""
    # A 60 Hz repaint of a small widget, offscreen, as the app's grid does while playing.
    import os, sys
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QColor, QPainter
    from PySide6.QtWidgets import QApplication, QWidget
    class Grid(QWidget):
        n = 0
        def paintEvent(self, event):
            self.n += 1
            with QPainter(self) as p:
                for i in range(32 * 9):
                    p.fillRect((i % 32) * 12, (i // 32) * 12, 11, 11, QColor((i * 7 + self.n) % 255, 90, 160))
    app = QApplication(sys.argv); w = Grid(); w.resize(400, 120); w.show()
    t = QTimer(); t.timeout.connect(w.update); t.start(16)
    app.exec()
""")

BUSY = "while True: pass"


def start_load() -> list[subprocess.Popen]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for code in (TORCH_LOAD, QT_LOAD, BUSY)]


def stop_procs(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(5)


DUMP_LINE = re.compile(r"\s*(\d+):((?: [0-9a-f]{2})+)")


class Dump:
    """``jack_midi_dump -a NAME`` in a subprocess; frames + bytes of every event."""

    def __init__(self, server: JackServer, name: str, path: Path) -> None:
        self.name, self.path = name, path
        self.file = open(path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(["jack_midi_dump", "-a", name], stdout=self.file,
                                     stderr=subprocess.DEVNULL, env=server.env,
                                     preexec_fn=_default_sigint)  # stopped by SIGINT
        if not server.wait_port(f"{name}:input", 10):
            raise RuntimeError("jack_midi_dump did not start")

    @property
    def port(self) -> str:
        return f"{self.name}:input"

    def stop(self) -> list[tuple[int, tuple[int, ...]]]:
        self.proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        if self.proc.poll() is None:
            self.proc.kill()
        self.file.close()
        events = []
        for line in self.path.read_text().splitlines():
            m = DUMP_LINE.match(line)
            if m:
                events.append((int(m.group(1)), tuple(int(b, 16) for b in m.group(2).split())))
        return events


def demo_clip(tmp: Path) -> Path:
    """The demo groove as a clip: ``play`` must play exactly what :func:`analyse` expects
    (without ``--clip`` it decodes the shipped checkpoint when there is one)."""
    from engine.commands.play import demo_pattern
    from engine.music.midifile import read_clip, write_clip

    path = tmp / "demo.mid"
    if not path.exists():
        write_clip(path, demo_pattern(), force=True)
        if not (read_clip(path).hits == demo_pattern().hits).all():
            raise RuntimeError("the demo clip does not read back as the demo groove")
    return path


def expected_onsets(steps: int) -> np.ndarray:
    """Number of note-ons of the demo pattern at each step of one loop."""
    sys.path.insert(0, str(ROOT))
    from engine.commands.play import demo_pattern

    p = demo_pattern()
    return p.hits.sum(axis=1)[:steps] if steps <= p.steps else p.hits.sum(axis=1)


def lost_count(msgs: list[tuple[int, ...]], sent_on: int | None) -> dict:
    """Exact lost note-ons when the receiver saw the whole run (it recorded the MIDI Start,
    which goes out before the first note) and the sender counted its note-ons; else {}."""
    received = sum(1 for m in msgs if m[0] & 0xF0 == 0x90 and m[2] > 0)
    if sent_on is None or (0xFA,) not in msgs:
        return {}
    start = msgs.index((0xFA,))
    if any(m[0] & 0xF0 == 0x90 and m[2] > 0 for m in msgs[:start]):
        return {}
    return {"lost_notes": sent_on - received, "lost_exact": True, "sent_note_ons": sent_on}


def analyse(events: list[tuple[int, tuple[int, ...]]], bpm: float, unit_per_s: float = RATE,
            sent_on: int | None = None, histogram: bool = False) -> dict:
    """Grid fit, tempo error, drift, lost and stuck notes from recorded stamps.

    Stamps are frames (``unit_per_s`` = sample rate) or ns (``unit_per_s`` = 1e9).
    ``sent_on``: note-ons the sender counted (exact lost count, see :func:`lost_count`).
    ``histogram``: add how many note-ons sit how many whole frames off the grid (frame stamps).
    """
    msgs = [m for _, m in events]
    stuck = sum(1 for p in check_note_pairs(msgs) if "stuck" in p or "only released" in p)
    ons = [(f, m) for f, m in events if m[0] & 0xF0 == 0x90 and m[2] > 0]
    exact = lost_count(msgs, sent_on)
    if len(ons) < 8:
        return {"error": f"only {len(ons)} note-ons recorded", "stuck_notes": stuck, **exact}
    step_frames = unit_per_s * 60 / bpm / 4
    frames = np.array([f for f, _ in ons], np.float64)
    # step index by accumulating rounded gaps: robust even when a sender drifts by many steps
    steps = np.concatenate([[0], np.cumsum(np.rint(np.diff(frames) / step_frames))]).astype(int)
    slope, intercept = np.polyfit(steps, frames, 1)
    residual_ms = (frames - (intercept + slope * steps)) / unit_per_s * 1e3
    # The grid is fitted to the bulk of the notes: a few notes a period late would otherwise
    # tilt and shift it and put every other note half a frame "off" (seen on the frame-exact
    # path). Second pass without the outliers; the errors of all notes are reported.
    inliers = np.abs(residual_ms) <= max(0.05, 5 * float(np.median(np.abs(residual_ms))))
    if inliers.sum() >= max(8, len(frames) // 2):
        slope, intercept = np.polyfit(steps[inliers], frames[inliers], 1)
        residual_ms = (frames - (intercept + slope * steps)) / unit_per_s * 1e3
    err = np.abs(residual_ms)
    from engine.commands.play import demo_pattern

    hits = demo_pattern().hits.sum(axis=1)
    counts = np.bincount(steps)
    # where in the loop the first received note sits: the phase that explains the most steps
    phase = max(range(len(hits)), key=lambda k: sum(
        min(c, hits[(s + k) % len(hits)]) for s, c in enumerate(counts)))
    expected = int(sum(hits[(s + phase) % len(hits)] for s in range(steps[-1] + 1)))
    return {
        "notes": len(ons),
        "timing_error_ms": {"median": float(np.median(err)), "p99": float(np.percentile(err, 99)),
                            "max": float(err.max())},
        "tempo_error_pct": float((step_frames / slope - 1) * 100),
        "drift_ms": float(((frames[-1] - frames[0]) - steps[-1] * step_frames) / unit_per_s * 1e3),
        "duration_s": float((frames[-1] - frames[0]) / unit_per_s),
        "late_frames_histogram": late_histogram(residual_ms, unit_per_s) if histogram else None,
        "residual_ms": residual_ms,  # dropped from the report; see irregular_cycles
        "lost_notes": expected - len(ons),
        "lost_exact": False,
        "stuck_notes": stuck,
        **exact,
    }


def late_histogram(residual_ms: np.ndarray, unit_per_s: float) -> dict[str, int] | None:
    """Frame stamps only: how many note-ons sit how many whole frames off the grid (≠ 0)."""
    if unit_per_s != RATE:
        return None
    frames = np.rint(residual_ms * RATE / 1e3).astype(int)
    values, counts = np.unique(frames[frames != 0], return_counts=True)
    return {str(int(v)): int(c) for v, c in zip(values, counts, strict=True)}


def irregular_by_callback(cycles: dict) -> dict[int, int]:
    """``{callback: gap}`` of a recorder's :meth:`~tests.support.jack_server.Recorder.cycles`
    (its entries are ``[callback, gap, frame]``; the frame is not needed here)."""
    return {int(entry[0]): int(entry[1]) for entry in cycles.get("irregular", [])}


def irregular_cycles(recorded: list[tuple[int, tuple[int, ...], int, int]], cycles: dict,
                     residual_ms: np.ndarray | None) -> dict:
    """Our recorder's irregular callbacks, and how many off-grid note-ons fell in one.

    A note-on is *off the grid* when its frame residual exceeds 0.6 frame (a grid whose step
    is not a whole number of frames rounds by up to half a frame). It is counted as received
    in an irregular callback when its callback's counter did not follow one period after the
    previous one, or the next callback read the same counter again.
    """
    irregular = irregular_by_callback(cycles)
    out = {"callbacks": cycles.get("callbacks"), "irregular_cycles": len(irregular),
           "repeated": sum(1 for g in irregular.values() if g == 0),
           "skipped": sum(1 for g in irregular.values() if 0 < g < 2**31 and g != cycles.get("period"))}
    if residual_ms is None:
        return out
    ons = [cb for _, m, _, cb in recorded if m[0] & 0xF0 == 0x90 and m[2] > 0]
    off = [cb for cb, r in zip(ons, residual_ms, strict=True) if abs(r) > 0.6 / RATE * 1e3]
    hit = [cb for cb in off if cb in irregular or irregular.get(cb + 1) == 0]
    out.update(off_grid_note_ons=len(off), off_grid_in_irregular_callbacks=len(hit))
    return out


def _default_sigint() -> None:
    """In the child before exec: SIGINT at its default, as in a terminal's foreground job.

    A shell starts background jobs (``bench ... &``, nohup) with SIGINT ignored and that is
    inherited: the players would then never see the Ctrl-C this benchmark sends.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


START_DELAY_S = 1.5  # the player waits this long after opening its port: receivers connect first


def run_case(server: JackServer, bpm: float, path: str, seconds: float, tmp: Path,
             time_base: str = "auto") -> dict:
    """One recording: both receivers listen to the sender's virtual port. ``time_base`` is
    passed to ``play --time-base`` on the rtmidi path."""
    tag = f"gfb{int(time.time() * 1000) % 10**7}"
    source = f"{tag}:{tag}"
    rec = Recorder(server, source, tmp / f"{tag}.jsonl")
    dump = Dump(server, f"dump-{tag}", tmp / f"{tag}.txt")
    if path == "naive":
        cmd = [sys.executable, "-c", NAIVE, str(bpm), tag, str(ROOT)]
    else:
        cmd = [sys.executable, "-m", "app.cli", "play", "--midi-api", "jack", "--port", tag,
               "--bpm", str(bpm), "--groove", "0", "--stats", "--quiet", "--clip", str(demo_clip(tmp)),
               "--start-delay", str(START_DELAY_S)]
        if path == "sample-accurate":
            cmd.append("--sample-accurate")
        else:
            cmd += ["--time-base", time_base]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=_default_sigint)
    if server.wait_port(source, 20):
        subprocess.run(["jack_connect", source, dump.port], env=server.env, capture_output=True)
    time.sleep(seconds + 1.0 + (START_DELAY_S if path != "naive" else 0.0))
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    time.sleep(0.3)
    rec.stop()
    recorded = rec.events_with_callbacks()
    self_reported: dict = {}
    if path != "naive":
        try:
            self_reported = json.loads(out)["stats"]
        except (ValueError, KeyError):
            self_reported = {"error": (err.strip().splitlines() or [out[-200:]])[-1]}
    sent_on = self_reported.get("sent", {}).get("on")
    exact = path == "sample-accurate"
    result = {"server_frames": analyse([(f, m) for f, m, _, _ in recorded], bpm, sent_on=sent_on,
                                       histogram=exact),
              "wall_clock": analyse([(ns, m) for _, m, ns, _ in recorded], bpm, 1e9, sent_on=sent_on),
              "jack_midi_dump": analyse(dump.stop(), bpm, sent_on=sent_on, histogram=exact)}
    result["recorder_cycles"] = irregular_cycles(recorded, rec.cycles(),
                                                 result["server_frames"].get("residual_ms"))
    for receiver in ("server_frames", "wall_clock", "jack_midi_dump"):
        result[receiver].pop("residual_ms", None)
    if path != "naive":
        result["self_reported"] = self_reported
    else:
        result["exit"] = "traceback on Ctrl-C" if "KeyboardInterrupt" in err else f"rc {proc.returncode}"
    return result


def knob_latency(server: JackServer, tmp: Path, bpm: float = 120.0, changes: int = 20) -> dict:
    """Pattern change at "next step" → first note of the new pattern at a recording client."""
    from engine.music.drums import GM_NOTE_MAP, NUM_VOICES, Voice
    from engine.music.pattern import Pattern
    from engine.realtime.sequencer import Sequencer
    from engine.realtime.steps import Controls

    os.environ.update(JACK_DEFAULT_SERVER=server.name, JACK_NO_START_SERVER="1")
    rec = Recorder(server, None, tmp / "knob.jsonl")
    seq = Sequencer(rec.port, "jack", virtual=False, controls=Controls(tempo_bpm=bpm, groove=0.0))
    a = np.zeros((16, NUM_VOICES), bool)
    a[:, Voice.CLOSED_HAT] = True  # a hat on every step: any step can carry the change
    b = a.copy()
    b[:, Voice.RIDE] = True
    b[:, Voice.KICK] = True  # two new voices per step: one lost note cannot hide the change
    pat_a, pat_b = Pattern(a), Pattern(b)
    rng = np.random.default_rng(0)
    seq.set_pattern(pat_a)
    seq.play()
    time.sleep(0.5)
    marks = []
    for i in range(changes):
        time.sleep(0.3 + rng.uniform(0, 0.2))
        marks.append(time.perf_counter_ns())
        seq.set_pattern(pat_b if i % 2 == 0 else pat_a, "step")
    time.sleep(0.5)
    seq.stop()
    seq.close()
    events = rec.stop()
    new_notes = {GM_NOTE_MAP.notes[Voice.RIDE], GM_NOTE_MAP.notes[Voice.KICK]}
    rides_on = [ns for _, m, ns in events if m[0] == 0x99 and m[1] in new_notes and m[2] > 0]
    latencies = []
    for i, t in enumerate(marks):
        if i % 2:
            continue  # changes back to A: measured on B's arrival only
        first = [ns for ns in rides_on if ns > t]
        if first:
            latencies.append((first[0] - t) / 1e6)
    step_ms = 60e3 / bpm / 4
    return {"bpm": bpm, "changes": len(latencies), "step_ms": step_ms,
            "median_ms": float(np.median(latencies)), "max_ms": float(np.max(latencies)),
            "target_ms": step_ms + 5}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="recording length per case (>= 60)")
    parser.add_argument("--bpm", type=float, nargs="+", default=[120.0, 174.0])
    parser.add_argument("--paths", nargs="+", default=["rtmidi", "sample-accurate", "naive"])
    parser.add_argument("--loads", nargs="+", default=["idle", "load"])
    parser.add_argument("--time-base", nargs="+", choices=("jack", "wall", "auto"), default=["jack", "wall"],
                        help="the rtmidi path runs once per time base given (default: jack and wall)")
    parser.add_argument("--jack-mode", choices=("async", "sync"), default="async",
                        help="JACK2 server mode: asynchronous (its default) or synchronous (-S)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    if shutil.which("jack_midi_dump") is None or shutil.which("jackd") is None:
        print("needs jackd and jack_midi_dump (Debian: jackd2)", file=sys.stderr)
        return 2
    sync = args.jack_mode == "sync"
    server = start_test_server(sync=sync)
    results = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "jackd_realtime": server.realtime,
               "jack": {"rate": RATE, "period_frames": server.period, "mode": args.jack_mode},
               "loadavg_at_start": os.getloadavg(), "cases": []}
    try:
        with tempfile.TemporaryDirectory() as tmpdir:
            tmp = Path(tmpdir)
            for load in args.loads:
                procs = start_load() if load == "load" else []
                try:
                    time.sleep(2.0 if procs else 0)
                    for bpm in args.bpm:
                        for path in args.paths:
                            # the time base asked for; what was used is self_reported.time_base
                            bases = args.time_base if path == "rtmidi" else \
                                ["jack" if path == "sample-accurate" else "wall"]
                            for time_base in bases:
                                case = {"bpm": bpm, "load": load, "path": path, "time_base": time_base,
                                        **run_case(server, bpm, path, args.seconds, tmp, time_base)}
                                results["cases"].append(case)
                                print(json.dumps(case), file=sys.stderr, flush=True)
                    if load == "load":
                        results["knob_latency_under_load"] = knob_latency(server, tmp)
                    else:
                        results["knob_latency_idle"] = knob_latency(server, tmp)
                finally:
                    stop_procs(procs)
    finally:
        server.stop()
    results["loadavg_at_end"] = os.getloadavg()
    emit_json(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
