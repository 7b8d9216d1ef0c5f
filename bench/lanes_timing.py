"""Both lanes as a DAW sees them: an external JACK client records ``groovefader play --melody``.

``groovefader play --clip DEMO --melody-clip TUNE --groove 0`` (every drum note on the 16th
grid; the melody is always on it) plays from its virtual port for ``--seconds``, then gets
Ctrl-C. Our JACK-Client recorder (tests/support/jack_server.py) stamps every event with the
server's frame counter (``server_frames``: what a DAW on JACK records by) and with the wall
clock of its period callback (``wall_clock``). One 16th grid is fitted to the note-ons of
both lanes together; reported per lane (drums = channel 10, melody = channel 1):

- timing error of every note-on against that grid (median/p99/max |error|, ms);
- drift (ms): the lane's own fitted grid against the nominal tempo over the run (how far its
  notes have moved from where the tempo puts them by the end; a single late last note does
  not count), and the tempo error of the common grid (%);
- lanes: on every step where both lanes strike, the difference of their onsets (ms);
- stuck notes (a note-on never ended, or only by CC 123) and lost notes (note-ons the clock
  process counted as sent, from ``--stats``, minus those received: exact, since the
  receivers are connected before the transport starts), at our recorder and at Debian's
  ``jack_midi_dump -a`` (C; it stamps with its own count of the periods it processed, so
  its times shift where the server skips a period; our Python recorder can itself miss
  events under load);
- the clock process's own lateness per lane (``--stats`` ``lanes``).

Paths: ``rtmidi`` (each event sent at its deadline on JACK's frame clock, landing in the
next 32-frame period) and ``sample-accurate`` (``play --sample-accurate``: each event
written at its own frame).

The tune (4 bars, so it loops against the drums' 2) has notes of 1 to 8 steps, rests and a
note held over a bar line, all on even steps, where the demo groove has a hat: every melody
note has a common step with the drums. Loads: ``idle``; ``busy`` = a busy loop (the other
core busy, the issue's condition); ``full`` = sequencer_timing's torch decoder + 60 Hz Qt
repaint + busy loop.

``--randomize N`` also measures the app's melody Randomize → first changed melody event
(note-on or note-off) at a JACK client, with the real window offscreen (its sequencer link,
the melody model's worker, the shipped checkpoints), melody change at "step", 120 BPM.

    .venv/bin/python bench/lanes_timing.py --seconds 600 --loads busy --randomize 20 \\
        --json bench/lanes_timing.json
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _report import emit_json  # noqa: E402
from sequencer_timing import (  # noqa: E402
    BUSY,
    START_DELAY_S,
    Dump,
    _default_sigint,
    demo_clip,
    start_load,
    stop_procs,
)

from tests.support.jack_server import JackServer, Recorder, check_note_pairs, start_test_server  # noqa: E402

RATE = 48_000
DRUM_STATUS, MELODY_STATUS = 0x99, 0x90
TARGETS = {"p99_ms": 1.0, "max_ms": 3.0, "lane_skew_ms": 0.2, "stuck_notes": 0, "drift_ms": 1.0,
           "randomize_ms_at_120": 125.0 + 5.0}


def tune_clip(tmp: Path) -> Path:
    """The 4-bar test tune as a clip (see the module docstring)."""
    from engine.music.melody import NO_EVENT, NOTE_OFF, Melody

    ev = [NO_EVENT] * 64
    for step, pitch in [(0, 60), (2, 62), (4, 64), (8, 67), (10, 65), (12, 64), (16, 62), (24, 60),
                        (28, 67), (36, 69), (38, 71), (40, 72), (48, 71), (50, 69), (52, 67), (56, 64)]:
        ev[step] = pitch
    ev[20] = ev[26] = ev[62] = NOTE_OFF
    path = tmp / "tune.mid"
    Melody(ev).write_midi(path, force=True)
    return path


def analyse(events: list[tuple[int, tuple[int, ...]]], bpm: float, unit_per_s: float) -> dict:
    """Per-lane grid errors, drift, lane skew on common steps, stuck notes."""
    msgs = [m for _, m in events]
    stuck = sum(1 for p in check_note_pairs(msgs) if "stuck" in p or "only released" in p)
    ons = [(t, m[0]) for t, m in events if m[0] in (DRUM_STATUS, MELODY_STATUS) and m[2] > 0]
    if len(ons) < 16:
        return {"error": f"only {len(ons)} note-ons recorded", "stuck_notes": stuck}
    step_len = unit_per_s * 60 / bpm / 4
    stamps = np.array([t for t, _ in ons], np.float64)
    lanes = np.array([s for _, s in ons])
    steps = np.rint((stamps - stamps[0]) / step_len).astype(int)
    slope, intercept = np.polyfit(steps, stamps, 1)
    residual_ms = (stamps - (intercept + slope * steps)) / unit_per_s * 1e3
    out: dict = {"stuck_notes": stuck, "tempo_error_pct": float((step_len / slope - 1) * 100),
                 "duration_s": float((stamps[-1] - stamps[0]) / unit_per_s)}
    for name, status in (("drums", DRUM_STATUS), ("melody", MELODY_STATUS)):
        mine = lanes == status
        if not mine.any():
            out[name] = {"error": "no note-ons"}
            continue
        err = np.abs(residual_ms[mine])
        # the lane's own grid (fitted to its notes alone) against the nominal tempo, over the run
        lane_slope, _ = np.polyfit(steps[mine], stamps[mine], 1)
        span = int(steps[mine][-1] - steps[mine][0])
        worst = np.argsort(err)[::-1][:5]
        same_step = Counter(steps[mine].tolist())
        out[name] = {"notes": int(mine.sum()), "timing_error_ms": {
            "median": float(np.median(err)), "p99": float(np.percentile(err, 99)), "max": float(err.max())},
            "drift_ms": float((lane_slope - step_len) * span / unit_per_s * 1e3),
            "over_3ms": int((err > 3.0).sum()),
            # the worst notes: (step, signed error ms, this lane's note-ons received on that step)
            "worst": [(int(steps[mine][k]), round(float(residual_ms[mine][k]), 3),
                       same_step[int(steps[mine][k])]) for k in worst]}
    first: dict[tuple[int, int], float] = {}
    for t, status, step in zip(stamps, lanes, steps, strict=True):
        first.setdefault((int(status), int(step)), t)
    skew = [abs(first[(MELODY_STATUS, s)] - t) / unit_per_s * 1e3 for (st, s), t in first.items()
            if st == DRUM_STATUS and (MELODY_STATUS, s) in first]
    out["lane_skew_ms"] = {"common_steps": len(skew), "median": float(np.median(skew)) if skew else None,
                           "p99": float(np.percentile(skew, 99)) if skew else None,
                           "max": float(max(skew)) if skew else None}
    return out


def expected_notes(clip: Path, tune: Path, steps: int) -> Counter:
    """Every note-on the clock plays in song steps ``0..steps-1``: ``(step, status, pitch)``
    (the demo groove with groove 0 and the 4-bar tune, as the scheduler renders them)."""
    from engine.music.melody import read_melody_file
    from engine.music.midifile import read_clip
    from engine.realtime.melody_lane import MelodyTable
    from engine.realtime.steps import Controls, StepTable, notes_for_step

    table, controls = StepTable.from_pattern(read_clip(clip)), Controls(groove=0.0)
    tune_table = MelodyTable.from_melody(read_melody_file(tune))
    want: Counter = Counter()
    for step in range(steps):
        for event in notes_for_step(table, step, controls):
            want[(step, DRUM_STATUS, event.note)] += 1
        start = tune_table.start_at(step % tune_table.steps)
        if start is not None:
            want[(step, MELODY_STATUS, start[0])] += 1
    return want


def received_notes(events: list[tuple[int, tuple[int, ...]]], step_len: float
                   ) -> list[tuple[int, int, int, int]]:
    """``(step, status, pitch, stamp)`` of each note-on; steps counted from the first note-on by
    the stamp differences of neighbours (a receiver whose stamps slip where the server skips
    periods still lands every note on its step)."""
    out, step, last = [], 0, None
    for t, m in events:
        if m[0] not in (DRUM_STATUS, MELODY_STATUS) or m[2] == 0:
            continue
        if last is not None:
            step += round((t - last) / step_len)
        last = t
        out.append((step, m[0], m[1], t))
    return out


def missing_notes(recorded: list, dumped: list, clip: Path, tune: Path, step_frames: float,
                  irregular: list[tuple[int, int]], period: int, limit: int = 30) -> dict:
    """Which note-ons each receiver missed, by song step and lane, and what was going on there:
    whether the other receiver got it, and the sender's irregular JACK cycles (its callback
    run late or twice; start frame and gap) within two periods of where it belonged."""
    got = {"recorder": received_notes(recorded, step_frames),
           "jack_midi_dump": received_notes(dumped, step_frames)}
    if not got["recorder"]:
        return {"error": "the recorder received no note"}
    origin = got["recorder"][0][3]
    steps = 1 + max(r[-1][0] for r in got.values() if r)
    want = expected_notes(clip, tune, steps)
    keys = {name: Counter((s, st, p) for s, st, p, _ in rows) for name, rows in got.items()}
    out: dict = {}
    for name, have in keys.items():
        other = keys["jack_midi_dump" if name == "recorder" else "recorder"]
        lost = sorted((want - have).elements())
        rows = []
        for step, status, pitch in lost[:limit]:
            frame = origin + round(step * step_frames)
            near = [list(c) for c in irregular
                    if abs((c[0] - frame + 2**31) % 2**32 - 2**31) <= 2 * period]
            rows.append({"step": step, "lane": "melody" if status == MELODY_STATUS else "drums",
                         "pitch": pitch, "frame": frame % 2**32,
                         "other_receiver_got_it": other[(step, status, pitch)] > 0,
                         "sender_irregular_cycles_near": near[:4]})
        out[name] = {"missing": len(lost), "unexpected": sum((have - want).values()), "notes": rows}
    # a note both receivers miss never left the sender's port (or the server dropped it)
    out["missed_by_both"] = sum(((want - keys["recorder"]) & (want - keys["jack_midi_dump"])).values())
    out["sender_irregular_cycles"] = len(irregular)
    return out


def run_case(server: JackServer, bpm: float, seconds: float, tmp: Path, path: str = "rtmidi") -> dict:
    tag = f"gfl{int(time.time() * 1000) % 10**7}"
    source = f"{tag}:{tag}"
    rec = Recorder(server, source, tmp / f"{tag}.jsonl")
    dump = Dump(server, f"dump-{tag}", tmp / f"{tag}.txt")
    cmd = [sys.executable, "-m", "app.cli", "play", "--midi-api", "jack", "--port", tag, "--bpm", str(bpm),
           "--groove", "0", "--stats", "--quiet", "--clip", str(demo_clip(tmp)),
           "--melody-clip", str(tune_clip(tmp)), "--start-delay", str(START_DELAY_S)]
    if path == "sample-accurate":
        cmd.append("--sample-accurate")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=_default_sigint)
    if server.wait_port(source, 20):
        subprocess.run(["jack_connect", source, dump.port], env=server.env, capture_output=True)
    time.sleep(seconds + 1.0 + START_DELAY_S)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    time.sleep(0.3)
    rec.stop()
    recorded = rec.events_with_callbacks()
    try:
        stats = json.loads(out)["stats"]
    except (ValueError, KeyError):
        stats = {"error": (err.strip().splitlines() or [out[-200:]])[-1]}
    sent = stats.get("sent", {}).get("on")

    def lost(msgs: list[tuple[int, ...]]) -> int | None:
        received = sum(1 for m in msgs if m[0] & 0xF0 == 0x90 and m[2] > 0)
        return None if sent is None or (0xFA,) not in msgs else sent - received

    dumped = dump.stop()
    step_frames = RATE * 60 / bpm / 4
    irregular = stats.get("jack_irregular_starts") or []
    return {"missing_notes": missing_notes([(f, m) for f, m, _, _ in recorded], dumped, demo_clip(tmp),
                                           tune_clip(tmp), step_frames, irregular, server.period),
            "jack_cycle_irregularities": stats.get("jack_cycle_irregularities"),
            "server_frames": analyse([(f, m) for f, m, _, _ in recorded], bpm, RATE),
            "wall_clock": analyse([(ns, m) for _, m, ns, _ in recorded], bpm, 1e9),
            "jack_midi_dump": analyse(dumped, bpm, RATE), "sent_note_ons": sent,
            "lost_notes": {"recorder": lost([m for _, m, _, _ in recorded]),
                           "jack_midi_dump": lost([m for _, m in dumped])},
            "self_reported": {k: stats.get(k) for k in ("lanes", "time_base", "realtime", "sent")}}


def randomize_latency(server: JackServer, tmp: Path, clicks: int, bpm: float = 120.0) -> dict:
    """The app's melody Randomize → first melody event at a client that the old tune would
    not have sent at that step (see the module docstring)."""
    os.environ.update(JACK_DEFAULT_SERVER=server.name, JACK_NO_START_SERVER="1",
                      QT_QPA_PLATFORM="offscreen")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.main import create_window
    from app.melody_lane import as_played

    app = QApplication.instance() or QApplication([])
    window, controller = create_window(midi_api="jack", settings_path=str(tmp / "bench.ini"))
    window.show()
    lane = window.melody.lane

    def spin_until(predicate, timeout_s: float) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if predicate():
                return True
            loop = QEventLoop()
            QTimer.singleShot(5, loop.quit)
            loop.exec()
        return predicate()

    controller.load_model(window.checkpoint_path)
    ready = window.transport.status.text
    if not spin_until(lambda: lane.melody is not None and ready().startswith("MIDI out"), 120):
        return {"error": "the app did not get ready"}
    rec = Recorder(server, "groovefader:groovefader", tmp / "randomize.jsonl")
    if not rec.wait_connected(30):
        rec.stop()
        window.close()
        return {"error": "the recorder did not connect to the app's port"}
    controller.transport.set(tempo_bpm=bpm, groove=0.0)
    window.melody.panel.quantize.setCurrentIndex(window.melody.panel.quantize.findData("step"))
    window.transport.play_button.click()
    spin_until(lambda: False, 2.0)
    marks = []  # (click ns, decoded ns, old tune as played, new tune as played)
    rng = np.random.default_rng(0)
    for _ in range(clicks):
        old = as_played(lane.melody, lane.settings_)
        before = lane.melody
        t = time.perf_counter_ns()
        window.melody.panel.randomize_button.click()
        spin_until(lambda before=before: lane.melody is not before, 10)
        marks.append((t, time.perf_counter_ns(), old, as_played(lane.melody, lane.settings_)))
        spin_until(lambda: False, 1.0 + rng.uniform(0, 0.5))
    window.transport.play_button.click()
    spin_until(lambda: False, 0.5)
    events = rec.stop()
    window.close()
    app.processEvents()
    step_frames = RATE * 60 / bpm / 4
    step_ms = 60e3 / bpm / 4
    # song step 0 is the first MIDI clock pulse after Start (pulse 0 sits on step 0's grid point)
    first = next((i for i, (_f, m, _ns) in enumerate(events) if m == (0xFA,)), None)
    if first is None:
        return {"error": "the recorder did not see the transport start"}
    origin_f = next(f for f, m, _ns in events[first:] if m == (0xF8,))
    ticks = [(f, ns) for f, m, ns in events[first:] if m == (0xF8,)]  # a lost pulse must not shift the count
    tick_f, tick_ns = [f for f, _ in ticks], [ns for _, ns in ticks]
    melody = [(f, m, ns) for f, m, ns in events if m[0] in (0x80, 0x90)]
    rows = []
    for t, decoded_ns, old, new in marks:
        # the first step the change could take: rendered (2 ms ahead of its grid point) after the click
        # (song position at the click: the frame of the clock pulse received just before it, plus
        # the wall time since; the wall clock and the server's frames part on a loaded machine)
        i = max(0, bisect.bisect_right(tick_ns, t) - 1)
        now_steps = (tick_f[i] - origin_f) / step_frames + (t - tick_ns[i]) / 1e6 / step_ms
        s0 = int(np.floor(now_steps + 2 / step_ms)) + 1
        reachable = first_difference(old, new, s0)
        changed = first_changed_event(melody, old, origin_f, step_frames, t)
        if changed is None:
            rows.append({"no_change_seen": True})
            continue
        ns, step = changed
        rows.append({"latency_ms": round((ns - t) / 1e6, 2), "decode_ms": round((decoded_ns - t) / 1e6, 2),
                     "first_step": s0, "heard_from": reachable, "changed_at": step,
                     "steps_late": step - reachable, "audible_at_first_step": reachable == s0})
    hit = [r for r in rows if r.get("audible_at_first_step")]
    lat = [r["latency_ms"] for r in hit]
    return {"bpm": bpm, "clicks": clicks, "step_ms": step_ms, "target_ms": step_ms + 5,
            "decode_ms_median": float(np.median([r["decode_ms"] for r in rows if "decode_ms" in r])),
            "steps_late": {str(k): sum(1 for r in rows if r.get("steps_late") == k)
                           for k in sorted({r["steps_late"] for r in rows if "steps_late" in r})},
            "no_change_seen": sum(1 for r in rows if r.get("no_change_seen")),
            "where_the_new_tune_differs_at_the_first_step": {
                "clicks": len(hit), "median_ms": float(np.median(lat)) if lat else None,
                "max_ms": float(np.max(lat)) if lat else None},
            "clicks_detail": rows}


def _events_at(m, s: int, entering: bool = False) -> set[tuple[str, int]]:
    """What a melody sends at song step ``s`` (taking over there when ``entering``)."""
    phase = s % m.steps
    out = set()
    for start, end, pitch in m.notes():
        if start == phase or (entering and start < phase < end):
            out.add(("on", pitch))
        if end % m.steps == phase and not entering:
            out.add(("off", pitch))
    return out


def first_difference(old, new, s0: int) -> int:
    """The first step ≥ ``s0`` where a change made at ``s0`` is heard (as the scheduler swaps:
    the new tune enters at ``s0``, the old tune's sounding note is cut there)."""
    phase = s0 % old.steps
    if any(start < phase < end for start, end, _ in old.notes()):
        return s0  # the sounding note is cut at s0
    if _events_at(new, s0, entering=True) != {e for e in _events_at(old, s0) if e[0] == "on"}:
        return s0
    s = s0 + 1
    while _events_at(new, s) == _events_at(old, s) and s < s0 + 4 * new.steps:
        s += 1
    return s


def first_changed_event(melody, old, origin_f: int, step_frames: float, t: int) -> tuple[int, int] | None:
    """The first melody event after ``t`` that the old tune would not send at its step."""
    for f, m, ns in melody:
        if ns < t:
            continue
        step = round((f - origin_f) / step_frames)
        kind = "on" if m[0] == 0x90 and m[2] > 0 else "off"
        if (kind, m[1]) not in _events_at(old, step):
            return ns, step
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600.0, help="recording length per case")
    parser.add_argument("--bpm", type=float, nargs="+", default=[120.0])
    parser.add_argument("--loads", nargs="+", choices=("idle", "busy", "full", "none"), default=["busy"],
                        help="none: no timing case (with --randomize: only that)")
    parser.add_argument("--jack-mode", choices=("async", "sync"), default="async")
    parser.add_argument("--paths", nargs="+", choices=("rtmidi", "sample-accurate"), default=["rtmidi"],
                        help="rtmidi (sends at each deadline, on JACK's frame clock) and/or the "
                             "sample-accurate JACK output (every event at its frame)")
    parser.add_argument("--randomize", type=int, default=0, metavar="N",
                        help="also measure N melody Randomize clicks in the app (idle machine)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    server = start_test_server(sync=args.jack_mode == "sync")
    results: dict = {"command": " ".join([Path(sys.executable).name, *sys.argv]),
                     "jackd_realtime": server.realtime,
                     "jack": {"rate": RATE, "period_frames": server.period, "mode": args.jack_mode},
                     "targets": TARGETS, "loadavg_at_start": os.getloadavg(), "cases": []}
    try:
        with tempfile.TemporaryDirectory() as tmpdir:
            tmp = Path(tmpdir)
            for load in (x for x in args.loads if x != "none"):
                procs = start_load() if load == "full" else []
                if load == "busy":
                    procs = [subprocess.Popen([sys.executable, "-c", BUSY])]
                try:
                    time.sleep(2.0 if procs else 0)
                    for bpm in args.bpm:
                        for path in args.paths:
                            case = {"bpm": bpm, "load": load, "path": path,
                                    **run_case(server, bpm, args.seconds, tmp, path)}
                            results["cases"].append(case)
                            print(json.dumps(case), file=sys.stderr, flush=True)
                finally:
                    stop_procs(procs)
            if args.randomize:
                try:
                    results["randomize"] = randomize_latency(server, tmp, args.randomize)
                except Exception as err:  # the timing cases above are kept
                    results["randomize"] = {"error": f"{type(err).__name__}: {err}"}
    finally:
        server.stop()
    results["loadavg_at_end"] = os.getloadavg()
    emit_json(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
