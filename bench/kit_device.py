"""The clock's timing with the kit on the audio device (PortAudio), on and off.

There is no sound card here, so the device is PortAudio's JACK host API on a dummy JACK
server (48 kHz, ``--period`` frames, ``-R`` where allowed); the MIDI goes out through the
JACK backend (not sample-accurate: the clock thread sends each event at its deadline, and
its lateness is what ``Sequencer``'s report measures) to a MIDI recorder. A dense groove
(every 16th a hi-hat, 11 more micro-timed hits a bar pair) plays for ``--seconds``; runs
alternate kit off / kit on ``--pairs`` times, with ``--load`` a busy loop on the other core.
Reported per run: the clock's lateness (median, p99, max, over 1 ms), and with the kit on
where its stream runs (its own process, or the clock's in an older tree), its hits, late
notes, underruns and callback time; the load average before and after each run.

    .venv/bin/python bench/kit_device.py --seconds 30 --pairs 3 --json bench/kit_device.json
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._report import emit_json  # noqa: E402
from bench.audio_timing import LIVE_PATTERN, _busy  # noqa: E402
from engine.audio.kit import KitMix  # noqa: E402
from engine.music.drums import Voice  # noqa: E402
from engine.realtime.steps import Controls  # noqa: E402


def one_run(seconds: float, period: int, bpm: float, load: bool, kit_on: bool) -> dict:
    from engine.audio.settings import AudioSettings
    from engine.realtime.sequencer import Sequencer
    from tests.support.jack_server import Recorder, start_test_server
    from tests.support.patterns import pattern_from_cells

    cells = dict(LIVE_PATTERN)
    for step in range(32):
        cells.setdefault((step, Voice.CLOSED_HAT), (0.6, 0.0))
    load_before = round(os.getloadavg()[0], 2)
    server = start_test_server(period=period)
    os.environ.update(server.env)
    burner = mp.get_context("spawn").Process(target=_busy, daemon=True) if load else None
    name = f"gfd{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix="gf-kit-device-"))
    try:
        seq = Sequencer(name, "jack", controls=Controls(tempo_bpm=bpm))
        try:
            rec = Recorder(server, f"{name}:{name}", tmp / "midi.jsonl")
            rec.wait_connected(10)
            if kit_on:
                seq.set_audio(AudioSettings(enabled=True, output="device", mix=KitMix(volume=0.7)))
                if not seq.wait_status(lambda s: s.stats.get("audio", {}).get("output") == "device", 20):
                    raise RuntimeError(f"the kit did not start: {seq.status().stats.get('audio')}")
            time.sleep(1.0)
            if burner is not None:
                burner.start()
            seq.set_pattern(pattern_from_cells(cells))
            seq.play()
            time.sleep(seconds)
            seq.stop()
            stats = seq.sync(5).stats
        finally:
            seq.close()
            rec.stop()
    finally:
        if burner is not None and burner.is_alive():
            burner.terminate()
        server.stop()
    audio = stats.get("audio") or {}
    return {"kit": kit_on, "load_average_1min_before": load_before,
            "load_average_1min_after": round(os.getloadavg()[0], 2), "server_realtime": server.realtime,
            "clock": {k: stats.get(k) for k in ("count", "median_ms", "p99_ms", "max_ms", "late_over_1ms")},
            "audio": {k: audio.get(k) for k in ("output", "process", "hits", "late", "underruns", "dropped",
                                                "mix_us")} if kit_on else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--period", type=int, default=256)
    parser.add_argument("--bpm", type=float, default=125.0)
    parser.add_argument("--load", action="store_true", help="a busy loop on the other core")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    runs = []
    for _ in range(args.pairs):
        for kit_on in (False, True):
            runs.append(one_run(args.seconds, args.period, args.bpm, args.load, kit_on))
    emit_json({"command": " ".join(["bench/kit_device.py", *sys.argv[1:]]), "period_frames": args.period,
               "seconds_each": args.seconds, "load": args.load, "runs": runs}, args.json)


if __name__ == "__main__":
    main()
