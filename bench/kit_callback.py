"""The kit's JACK process callback: its own time per period, as a distribution.

A dummy JACK server (48 kHz, ``--period`` frames, ``-R`` where allowed),
``Sequencer(sample_accurate=True)`` with the kit on (a JACK client in a process of its own,
its MIDI input fed by the MIDI port: engine/audio/kit_process.py), a 2-bar groove of 11
micro-timed hits at 125 BPM for ``--seconds``, ``--runs`` times; with ``--load`` a busy loop
on the other core. The kit process counts every callback's time by whole µs in shared memory
(``perf_counter_ns`` around the callback's Python: JACK-Client's entry into Python and the
interpreter lock it takes are before it); reported per run: periods, hits, mean, p50, p90,
p99, p99.9 and max, and the machine's load average (``os.getloadavg``) before and after.
The xruns kit on against kit off are ``bench/audio_timing.py --control``'s. The kit's process
callback is the C one (engine/audio/kit_dsp.c) unless ``--python-callback`` asks for the
Python one (where no C compiler is); run from an older tree, the older callback.

With ``--parts N`` also each part of a Python callback timed alone over N periods (in a JACK
client of the bench's own process): JACK-Client's MIDI generator, its ``get_array``, the ring
mixer's copy-out, and the cheaper cffi calls the Python fallback now makes.

    .venv/bin/python bench/kit_callback.py --seconds 30 --runs 3 --json bench/kit_callback.json
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._report import emit_json  # noqa: E402
from bench.audio_timing import LIVE_PATTERN, _busy  # noqa: E402
from engine.audio.kit import KitMix  # noqa: E402
from engine.realtime.steps import Controls  # noqa: E402


def one_run(seconds: float, period: int, bpm: float, load: bool) -> dict:
    from engine.audio.settings import AudioSettings
    from engine.realtime.sequencer import Sequencer
    from tests.support.jack_server import start_test_server
    from tests.support.patterns import pattern_from_cells

    load_before = round(os.getloadavg()[0], 2)
    server = start_test_server(period=period)
    os.environ.update(server.env)
    burner = mp.get_context("spawn").Process(target=_busy, daemon=True) if load else None
    try:
        seq = Sequencer(f"gfk{os.getpid()}", "jack", sample_accurate=True, controls=Controls(tempo_bpm=bpm))
        try:
            seq.set_audio(AudioSettings(enabled=True, mix=KitMix(volume=0.7)))
            if not seq.wait_status(lambda s: s.stats.get("audio", {}).get("output") == "jack", 15):
                raise RuntimeError(f"the kit did not start: {seq.status().stats.get('audio')}")
            time.sleep(1.0)
            if burner is not None:
                burner.start()
            start = seq.sync(5).stats["audio"]["mix_us"]["blocks"]
            seq.set_pattern(pattern_from_cells(LIVE_PATTERN))
            seq.play()
            time.sleep(seconds)
            seq.stop()
            audio = seq.sync(5).stats["audio"]
        finally:
            seq.close()
    finally:
        if burner is not None and burner.is_alive():
            burner.terminate()
        server.stop()
    return {"load_average_1min_before": load_before, "load_average_1min_after": round(os.getloadavg()[0], 2),
            "server_realtime": server.realtime, "periods_before_play": start,
            "callback": audio.get("callback"), "hits": audio.get("hits"), "callback_us": audio["mix_us"]}


PARTS = ("midi events (JACK-Client generator)", "two port buffers as arrays (get_array)",
         "ring mixer copy-out", "midi event count only (cffi)", "two port buffers, cached arrays (cffi)",
         "all five")


def parts(periods: int, period: int) -> dict:
    """Each part of a Python process callback timed on its own, in a JACK client of this
    process (nothing else runs Python here meanwhile): what the kit's Python callback spent
    its time on, and what the cheaper calls cost."""
    import gc

    import jack
    import numpy as np

    from engine.audio.kit import build_kit
    from engine.audio.ring_mixer import RingMixer
    from tests.support.jack_server import start_test_server

    load_before = round(os.getloadavg()[0], 2)
    server = start_test_server(period=period)
    os.environ.update(server.env)
    lib, ffi = jack._lib, jack._ffi  # noqa: SLF001
    times = np.zeros((len(PARTS), periods), np.int64)
    done = [0]
    client = jack.Client("kit-parts", no_start_server=True)
    try:
        midi = client.midi_inports.register("in")
        left, right = client.outports.register("L"), client.outports.register("R")
        mixer = RingMixer(build_kit(client.samplerate), KitMix())
        cache: dict[int, np.ndarray] = {}

        def cached(port: jack.Port, frames: int) -> np.ndarray:
            ptr = lib.jack_port_get_buffer(port._ptr, frames)  # noqa: SLF001
            key = int(ffi.cast("uintptr_t", ptr))
            if key not in cache:
                cache[key] = np.frombuffer(ffi.buffer(ptr, frames * 4), np.float32)
            return cache[key]

        def process(frames: int) -> None:
            k = done[0]
            if k >= periods:
                return
            clock = time.perf_counter_ns
            t0 = clock()
            for _ in midi.incoming_midi_events():
                pass
            t1 = clock()
            out_l, out_r = left.get_array(), right.get_array()
            t2 = clock()
            mixer.mix_into(out_l, out_r, frames)
            t3 = clock()
            lib.jack_midi_get_event_count(lib.jack_port_get_buffer(midi._ptr, frames))  # noqa: SLF001
            t4 = clock()
            cached(left, frames), cached(right, frames)
            t5 = clock()
            times[:, k] = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0)
            done[0] = k + 1

        client.set_process_callback(process)
        gc.freeze()
        client.activate()
        while done[0] < periods:
            time.sleep(0.05)
        client.deactivate()
    finally:
        client.close()
        server.stop()
    warm = times[:, 100:] / 1e3
    return {"periods": periods, "load_average_1min_before": load_before,
            "load_average_1min_after": round(os.getloadavg()[0], 2),
            "us": {name: {"median": round(float(np.median(row)), 2),
                          "p99": round(float(np.percentile(row, 99)), 2), "max": round(float(row.max()), 2)}
                   for name, row in zip(PARTS, warm, strict=True)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--period", type=int, default=64)
    parser.add_argument("--bpm", type=float, default=125.0)
    parser.add_argument("--load", action="store_true", help="a busy loop on the other core")
    parser.add_argument("--python-callback", action="store_true",
                        help="the kit's Python callback (as where no C compiler is), not the C one")
    parser.add_argument("--parts", type=int, default=0,
                        help="also time each part of a Python callback over this many periods")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.python_callback:
        os.environ["GROOVEFADER_KIT_CALLBACK"] = "python"
    runs = [one_run(args.seconds, args.period, args.bpm, args.load) for _ in range(args.runs)]
    result = {"command": " ".join(["bench/kit_callback.py", *sys.argv[1:]]), "period_frames": args.period,
              "period_us": round(args.period / 48_000 * 1e6, 1), "seconds_each": args.seconds,
              "load": args.load, "runs": runs}
    if args.parts:
        result["python_callback_parts"] = parts(args.parts, args.period)
    emit_json(result, args.json)


if __name__ == "__main__":
    main()
