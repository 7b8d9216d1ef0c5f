"""The built-in kit's timing and level: rendered WAVs, and live audio on a JACK server.

Offline (``offline``): seeded random grooves, every hit micro-timed (±0.45 step) at a
velocity of 0.6-1.0, rendered at several tempos; every hit's onset is found in the audio
with a matched filter (tests/support/audio.py) and compared with where the pattern puts
it (``(step + offset) × step length``, exact) — in the full mix (where a hit under a loud
cymbal can be masked: counted, not timed) and with each voice soloed — and with the note in the same groove's
exported MIDI clip (480 ticks per beat: its own rounding is up to half a tick, 0.52 ms at
120 BPM). Also the peak level of every render (target: ≤ -0.3 dBFS, loud).

Live (``live``): a dummy JACK server (48 kHz, ``--period`` frames, ``-R`` where allowed),
``Sequencer(sample_accurate=True)`` with the kit on (a JACK client in a process of its own,
its MIDI input fed by the MIDI port: engine/audio/kit_process.py), a MIDI recorder on the
MIDI port and an audio recorder on the kit's audio ports (other processes). For
``--seconds`` a groove plays (micro-timed hits on 11 voices' worth of steps), with
``--load`` a busy loop on the other core. Reported: each audio onset's distance from its
MIDI note-on's frame (target: within one period), the audio onsets' timing against the
pattern's grid (target: 0.1 ms), the xruns the server reported to the audio recorder during
the run, the clock process's own report (with the kit's callback time per period).
``--control`` then alternates runs with the kit on and off (``--pairs``), the recorder on
the capture ports in both (recording the kit would put it behind groovefader in the
server's graph), to tell xruns the kit causes from the server's own on this machine; per
kit-on run also the kit's callback time (mean / max µs).

    .venv/bin/python bench/audio_timing.py --seconds 60 --json bench/audio_timing.json
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._report import emit_json  # noqa: E402
from engine.audio.kit import KitMix, build_kit  # noqa: E402
from engine.audio.render import peak_dbfs, render  # noqa: E402
from engine.music.drums import NUM_VOICES, PITCH_TO_VOICE, Voice  # noqa: E402
from engine.music.midifile import pattern_to_midifile  # noqa: E402
from engine.music.pattern import Pattern  # noqa: E402
from engine.realtime.steps import Controls, notes_for_step  # noqa: E402
from tests.support.audio import onset_frame  # noqa: E402

RATE = 48_000
TEMPOS = (80.0, 120.0, 174.0)


def groove(seed: int) -> Pattern:
    rng = np.random.default_rng(seed)
    hits = rng.random((32, NUM_VOICES)) < np.array([0.3, 0.25, 0.6, 0.08, 0.06, 0.06, 0.06, 0.04, 0.1])
    hits[0, Voice.KICK] = True
    vel = rng.uniform(0.6, 1.0, hits.shape).astype(np.float32)
    off = rng.uniform(-0.45, 0.45, hits.shape).astype(np.float32)
    off[0] = np.abs(off[0])
    return Pattern(hits, vel, off)


def _stats(errors_ms: list[float]) -> dict[str, float]:
    a = np.abs(np.asarray(errors_ms))
    return {"count": int(a.size), "median_ms": round(float(np.median(a)), 4),
            "p99_ms": round(float(np.percentile(a, 99)), 4), "max_ms": round(float(a.max()), 4)}


def offline(grooves: int) -> dict:
    kit = build_kit(RATE)
    to_pattern, to_clip, peaks, missed, total = [], [], [], 0, 0
    for seed in range(grooves):
        pattern = groove(seed)
        for bpm in TEMPOS:
            audio = render(pattern, Controls(tempo_bpm=bpm), 4, rate=RATE, kit=kit)
            peaks.append(peak_dbfs(audio))
            mono = audio.sum(axis=1)
            step_s = 60.0 / bpm / 4
            midi = pattern_to_midifile(pattern, bpm)
            tick_s = 60.0 / bpm / midi.ticks_per_beat
            clip_notes: dict[int, list[float]] = {}
            now = 0
            for msg in midi.tracks[1]:
                now += msg.time
                if msg.type == "note_on" and msg.velocity > 0:
                    clip_notes.setdefault(PITCH_TO_VOICE[msg.note], []).append(now * tick_s)
            for loop in range(2):
                for step, voice in zip(*np.nonzero(pattern.hits), strict=True):
                    total += 1
                    t = (loop * 32 + step + float(pattern.offsets[step, voice])) * step_s
                    found = onset_frame(mono, kit, int(voice), round(t * RATE), search=round(0.005 * RATE))
                    if found is None:
                        missed += 1
                        continue
                    err = (found - t * RATE) / RATE * 1e3
                    if abs(err) > 2.0:  # masked: matched elsewhere
                        missed += 1
                        continue
                    to_pattern.append(err)
                    if loop == 0:
                        near = min(clip_notes[int(voice)], key=lambda c: abs(c - t))
                        to_clip.append((found / RATE - near) * 1e3)
    soloed = []  # each voice alone (solo = every other voice muted): no masking by the others
    for seed in range(grooves):
        pattern = groove(seed)
        for bpm in TEMPOS:
            step_s = 60.0 / bpm / 4
            for voice in map(int, np.flatnonzero(pattern.hits.any(axis=0))):
                others = frozenset(range(NUM_VOICES)) - {voice}
                mono = render(pattern, Controls(tempo_bpm=bpm, muted_voices=others), 4, rate=RATE,
                              kit=kit).sum(axis=1)  # the first loop is timed: its windows lie inside
                for step in np.flatnonzero(pattern.hits[:, voice]):
                    t = (step + float(pattern.offsets[step, voice])) * step_s
                    found = onset_frame(mono, kit, voice, round(t * RATE), search=round(0.005 * RATE))
                    soloed.append((found - t * RATE) / RATE * 1e3 if found is not None else 99.0)
    return {"grooves": grooves, "tempos_bpm": list(TEMPOS), "bars": 4, "rate_hz": RATE,
            "onset_vs_pattern": _stats(to_pattern), "onset_vs_pattern_each_voice_soloed": _stats(soloed),
            "onset_vs_midi_clip": _stats(to_clip),
            "hits": total, "not_found_or_masked": missed,
            "peak_dbfs_max": round(max(peaks), 3), "peak_dbfs_min": round(min(peaks), 3),
            "targets": {"onset_ms": 0.5, "peak_dbfs_max": -0.3}}


LIVE_PATTERN = {
    (0, Voice.KICK): (0.9, 0.0), (3, Voice.CLOSED_HAT): (0.8, -0.21), (4, Voice.SNARE): (0.85, 0.12),
    (7, Voice.LOW_TOM): (0.8, 0.33), (10, Voice.KICK): (0.75, -0.08), (12, Voice.SNARE): (0.9, 0.04),
    (14, Voice.OPEN_HAT): (0.7, -0.3), (17, Voice.RIDE): (0.8, 0.17), (20, Voice.HIGH_TOM): (0.8, -0.4),
    (24, Voice.CRASH): (0.8, 0.0), (28, Voice.MID_TOM): (0.85, 0.25)}


def _busy() -> None:
    while True:
        pass


def live(seconds: float, period: int, bpm: float, load: bool, kit_on: bool, record_kit: bool = True,
         idle_client: bool = False) -> dict:
    from engine.audio.settings import AudioSettings
    from engine.realtime.sequencer import Sequencer
    from tests.support.jack_audio_recorder import AudioRecorder
    from tests.support.jack_server import Recorder, start_test_server
    from tests.support.patterns import pattern_from_cells

    pattern = pattern_from_cells(LIVE_PATTERN)
    server = start_test_server(period=period)
    os.environ.update(server.env)
    burner = mp.get_context("spawn").Process(target=_busy, daemon=True) if load else None
    tmp = Path(tempfile.mkdtemp(prefix="gf-audio-bench-"))
    name = f"gfb{os.getpid()}"
    try:
        seq = Sequencer(name, "jack", sample_accurate=True, controls=Controls(tempo_bpm=bpm))
        seq.set_audio(AudioSettings(enabled=kit_on, mix=KitMix(volume=0.7)))
        seq.sync(10)
        midi_rec = Recorder(server, f"{name}:{name}", tmp / "midi.jsonl")
        # the control for "one more client": a second MIDI recorder on the port (a Python
        # JACK client in its own process reading the same MIDI every period, no mixing)
        extra = Recorder(server, f"{name}:{name}", tmp / "extra.jsonl") if idle_client else None
        # the recorder listens to the kit, or (xrun counts) to the server's capture ports, so
        # that it is no extra client behind groovefader in the server's graph
        audio_rec = AudioRecorder(server, (f"{name}-kit:audio_L", f"{name}-kit:audio_R"), tmp / "audio.raw") \
            if kit_on and record_kit else AudioRecorder(server, ("system:capture_1", "system:capture_2"),
                                                        tmp / "audio.raw")
        midi_rec.wait_connected(10)
        if extra is not None:
            extra.wait_connected(10)
        audio_rec.wait_connected(10)
        time.sleep(1.0)  # client start-up xruns are not the run's
        if burner is not None:
            burner.start()
        time.sleep(0.1)
        xruns_before = max(0, audio_rec.xruns())
        seq.set_pattern(pattern)
        seq.play()
        time.sleep(seconds)
        seq.stop()
        final = seq.sync(5).stats
        time.sleep(0.3)
        seq.close()
    finally:
        if burner is not None and burner.is_alive():
            burner.terminate()
    events = midi_rec.stop()
    if extra is not None:
        extra.stop()
    audio_rec.stop()
    server.stop()
    out = {"seconds": seconds, "period_frames": period, "rate_hz": RATE, "bpm": bpm, "load": load,
           "recorded": "kit" if kit_on and record_kit else "capture",
           "load_average_1min_after": round(os.getloadavg()[0], 2),
           "kit": kit_on, "server_realtime": server.running_realtime() or server.realtime,
           "xruns_during_run": audio_rec.xruns() - xruns_before,
           "clock_stats": {k: final.get(k) for k in ("p99_ms", "max_ms", "jack_cycle_irregularities", "sent",
                                                      "audio")}}
    if not (kit_on and record_kit):
        return out
    first, audio = audio_rec.audio()
    mono = audio.sum(axis=1)
    kit = build_kit(RATE)
    notes = [(frame, PITCH_TO_VOICE[data[1]]) for frame, data, _ in events
             if data[0] & 0xF0 == 0x90 and data[2] > 0]
    offsets, onsets = [], {}
    for frame, voice in notes:
        expected = (frame - first) % 2**32
        found = onset_frame(mono, kit, voice, expected, search=2 * period)
        if found is not None:
            offsets.append(found - expected)
            onsets.setdefault(voice, []).append(found)
    step_frames = 60.0 / bpm / 4 * RATE
    wanted: dict[int, list[float]] = {}
    steps = int(seconds * bpm / 60 * 4) + 64
    for step in range(steps):
        for e in notes_for_step(pattern, step, Controls(tempo_bpm=bpm)):
            wanted.setdefault(e.voice, []).append(step + e.shift_steps)
    kick0 = onsets[Voice.KICK][0] - wanted[Voice.KICK][0] * step_frames
    grid_err = [(o - kick0 - pos * step_frames) / RATE * 1e3 for v, os_ in onsets.items()
                for o, pos in zip(os_, wanted[v], strict=False)]
    off = np.abs(np.asarray(offsets))
    out.update({"note_ons": len(notes), "onsets_found": len(offsets),
                "audio_vs_midi_frames": {"max": int(off.max()), "nonzero": int((off > 0).sum()),
                                         "within_one_period": int((off <= period).sum())},
                "audio_vs_grid": _stats(grid_err),
                "targets": {"audio_vs_midi_frames_max": period, "micro_timing_ms": 0.1, "xruns": 0}})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grooves", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--period", type=int, default=64)
    parser.add_argument("--bpm", type=float, default=125.0)
    parser.add_argument("--load", action="store_true", help="a busy loop on the other core while live")
    parser.add_argument("--control", action="store_true",
                        help="also live runs with the kit off, alternating with kit-on runs (--pairs)")
    parser.add_argument("--pairs", type=int, default=1, help="with --control: kit on/off run pairs")
    parser.add_argument("--idle-control", action="store_true",
                        help="with --control: a third run per pair, the kit off and an idle client "
                             "(another MIDI recorder) on the port in its place")
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument("--xruns-only", action="store_true",
                        help="with --control: only the alternating xrun runs (no recorded kit run first)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    result = {"command": " ".join(["bench/audio_timing.py", *sys.argv[1:]]), "offline": offline(args.grooves)}
    if not args.skip_live:
        if not args.xruns_only:
            result["live"] = live(args.seconds, args.period, args.bpm, args.load, kit_on=True)
        if args.control:
            on, off, idle, callback_us = [], [], [], []
            run = (args.seconds, args.period, args.bpm, args.load)
            for _ in range(args.pairs):
                kit_run = live(*run, kit_on=True, record_kit=False)
                on.append(kit_run["xruns_during_run"])
                mix = (kit_run["clock_stats"].get("audio") or {}).get("mix_us") or {}
                callback_us.append([mix.get("mean"), mix.get("max")])
                off.append(live(*run, kit_on=False)["xruns_during_run"])
                if args.idle_control:
                    idle.append(live(*run, kit_on=False, idle_client=True)["xruns_during_run"])
            result["xruns_per_run"] = {"kit_on": on, "kit_off": off, "seconds_each": args.seconds,
                                       "pairs_kit_on_more": sum(a > b for a, b in zip(on, off, strict=True)),
                                       "total_kit_on": sum(on), "total_kit_off": sum(off),
                                       "kit_callback_us_mean_max": callback_us,
                                       **({"kit_off_idle_client": idle, "total_idle_client": sum(idle),
                                           "pairs_kit_on_more_than_idle_client":
                                               sum(a > b for a, b in zip(on, idle, strict=True))}
                                          if args.idle_control else {}),
                                       "note": "the server's xruns during each run, reported to a recorder "
                                               "on the capture ports (not behind groovefader)"}
    emit_json(result, args.json)


if __name__ == "__main__":
    main()
