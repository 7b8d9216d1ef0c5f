"""Two Ableton Link peers in separate processes, in a network namespace of their own.

No packet of a test or a bench may leave the machine, and a Link peer talks UDP multicast on
every interface it finds. So :func:`run_isolated` starts this module under ``unshare --net``
(a new network namespace; root only), where the only interface is a loopback that
:func:`loopback_up` brings up; :func:`main` checks that nothing else is there before any
Link peer is enabled, and refuses to run otherwise.

Inside, the scenario (:func:`run_scenario`) has two peers:

- the *driver*: a plain Link peer (:class:`~engine.sync.link_session.LinkSession`) in the main
  process, standing in for Live; it starts, stops and changes tempo, and keeps a snapshot of
  its timeline every :data:`DRIVER_SNAPSHOT_S`;
- the *clock*: groovefader's clock loop (:class:`~engine.realtime.clock_process.ClockLoop`, the
  real loop, on its main thread, SCHED_FIFO where granted) in a spawned process, following
  Link, sending a hi-hat on every 16th to a recording output; it starts, stops and changes
  tempo through the loop's own commands too.

The figures (:func:`summarize`): the phase error of the clock's sends against the driver's
16ths, and of the clock's Link timeline against the driver's (steady stretches only: one
beat after each change is left out); how many beats each change took to be followed.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import math
import multiprocessing as mp
import os
import queue
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DRIVER_SNAPSHOT_S = 0.005
PEER_WAIT_S = 10.0
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1  # <linux/sockios.h>, <net/if.h>


# -- the namespace ----------------------------------------------------------------------------

def netns_unavailable() -> str | None:
    """Why a loopback-only network namespace cannot be made here (None: it can)."""
    if not sys.platform.startswith("linux"):
        return "Link peers are tested in a Linux network namespace (unshare --net)"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    if os.geteuid() != 0:
        return "a network namespace needs root (unshare --net)"
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare --net is not allowed here: {probe.stderr.strip() or probe.returncode}"
    try:
        import link  # noqa: F401
    except ImportError:
        return "LinkPython-extern is not installed (the 'link' extra)"
    return None


def loopback_up() -> None:
    """Bring ``lo`` up (what ``ip link set lo up`` does), in this process's namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


def interfaces() -> list[str]:
    return sorted(name for _, name in socket.if_nameindex())


def run_isolated(args: list[str], timeout_s: float) -> dict[str, Any]:
    """Run this module's :func:`main` with ``args`` in a new network namespace; its JSON."""
    cmd = ["unshare", "--net", "--", sys.executable, "-m", "tests.support.link_peers", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        raise RuntimeError(f"link peers failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


# -- the clock peer (groovefader's loop, in a process of its own) ------------------------------

def hat_on_every_step() -> Any:
    from tests.support.patterns import pattern_from_cells

    return pattern_from_cells({(s, 2): (0.6, 0.0) for s in range(32)})  # closed hat, on the grid


def clock_peer(conn: Any, bpm: float) -> None:
    """Spawned: the real clock loop on this process's main thread, following Link, with a
    control thread answering the driver through ``conn``."""
    from engine.ports.base import PortSpec
    from engine.ports.fake import RecordingOutput
    from engine.realtime.clock_process import ClockConfig, ClockLoop
    from engine.realtime.messages import (
        Close,
        SetClockSource,
        SetControls,
        SetPattern,
        Start,
        Stop,
    )
    from engine.realtime.steps import Controls

    out = RecordingOutput()
    commands: queue.Queue[Any] = queue.Queue()
    status: queue.Queue[Any] = queue.Queue()
    controls = Controls(tempo_bpm=bpm, swing=0.0, groove=0.0)
    loop = ClockLoop(ClockConfig(port=PortSpec("recording"), controls=controls, clock_out=False),
                     commands, status, open_port=lambda spec: out)
    commands.put(SetPattern(hat_on_every_step()))
    commands.put(SetClockSource("link"))
    snapshots: list[tuple[int, float, float]] = []
    latest: dict[str, Any] = {}

    def control() -> None:
        while True:
            with contextlib.suppress(queue.Empty):
                while True:
                    report = status.get_nowait()
                    latest.update(playing=report.playing, bpm=report.bpm, peers=report.link_peers,
                                  error=report.error, stats=report.stats)
            if conn.poll(0.005):
                request, arg = conn.recv()
                if request == "status":
                    conn.send(dict(latest))
                elif request == "tempo":
                    commands.put(SetControls(Controls(tempo_bpm=arg, swing=0.0, groove=0.0)))
                    conn.send(time.perf_counter_ns())
                elif request == "play":
                    commands.put(Start() if arg else Stop())
                    conn.send(time.perf_counter_ns())
                elif request == "close":
                    commands.put(Close())
                    return
            follower = loop.link
            snap = follower.snapshot if follower is not None else None
            if snap is not None and (not snapshots or snapshots[-1][0] != snap.anchor_ns):
                snapshots.append((snap.anchor_ns, snap.anchor_beat, snap.ns_per_beat))

    thread = threading.Thread(target=control, daemon=True)
    thread.start()
    loop.run()
    thread.join(5.0)
    conn.send({"sent": [(t, list(data)) for t, _, data in out.sent], "snapshots": snapshots,
               "polls": loop.link.polls if loop.link is not None else None,
               "realtime": loop.realtime})


# -- the scenario ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Event:
    """Something one peer did: ``kind`` start/stop/tempo, by ``who`` (driver | clock), at
    ``ns`` (perf_counter), with ``value`` (the tempo)."""

    kind: str
    who: str
    ns: int
    value: float = 0.0


def run_scenario(hold_s: float = 2.0, bpm: float = 120.0) -> dict[str, Any]:
    """Both peers, the script of changes, the raw data and its summary."""
    from engine.sync.link_session import LinkSession

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=clock_peer, args=(child, bpm), daemon=True)
    proc.start()
    driver = LinkSession(bpm)
    snaps: list[tuple[int, float, float]] = []
    playing: list[tuple[int, bool]] = []  # the driver's view of the transport, when it changed
    events: list[Event] = []
    stop_recording = threading.Event()

    def record() -> None:
        was = None
        while not stop_recording.is_set():
            snap = driver.snapshot()
            snaps.append((snap.anchor_ns, snap.anchor_beat, snap.ns_per_beat))
            if snap.playing != was:
                if snap.playing:
                    driver.request_bar_at_start()  # what a Link app does when a start arrives
                playing.append((snap.anchor_ns, snap.playing))
                was = snap.playing
            time.sleep(DRIVER_SNAPSHOT_S)

    def ask(request: str, arg: Any = None) -> Any:
        parent.send((request, arg))
        return parent.recv()

    recorder = threading.Thread(target=record, daemon=True)
    try:
        end = time.monotonic() + PEER_WAIT_S
        while driver.peers < 1 or (ask("status").get("peers") or 0) < 1:
            if time.monotonic() > end or not proc.is_alive():
                raise RuntimeError(f"the peers never met: driver sees {driver.peers}, "
                                   f"clock reports {ask('status') if proc.is_alive() else 'nothing'}")
            time.sleep(0.05)
        recorder.start()
        time.sleep(0.3)

        def driver_does(kind: str, value: float = 0.0) -> None:
            if kind == "tempo":
                driver.set_tempo(value)
            else:
                driver.set_playing(kind == "start")
            events.append(Event(kind, "driver", time.perf_counter_ns(), value))
            # a start waits for the session's next bar (Link's quantized launch): a bar more
            time.sleep(hold_s + (60 * 4 / bpm if kind == "start" else 0.0))

        def clock_does(kind: str, value: float = 0.0) -> None:
            ns = ask("tempo", value) if kind == "tempo" else ask("play", kind == "start")
            events.append(Event(kind, "clock", ns, value))
            time.sleep(hold_s + (60 * 4 / bpm if kind == "start" else 0.0))

        driver_does("start")
        driver_does("tempo", 90.0)
        driver_does("tempo", 140.0)
        clock_does("tempo", 100.0)
        driver_does("stop")
        clock_does("start")
        driver_does("tempo", 128.0)
        clock_does("stop")
        status = ask("status")
    finally:
        stop_recording.set()
        with contextlib.suppress(Exception):
            parent.send(("close", None))
        clock_data = parent.recv() if proc.is_alive() or parent.poll(5) else {}
        proc.join(10)
        if proc.is_alive():
            proc.kill()
        driver.close()
    recorder.join(2.0)
    raw = {"events": [asdict(e) for e in events], "driver_snapshots": snaps,
           "driver_playing": playing, "clock": clock_data, "clock_status": status}
    return {"summary": summarize(raw), "raw_counts": {
        "driver_snapshots": len(snaps), "clock_snapshots": len(clock_data.get("snapshots", [])),
        "clock_sends": len(clock_data.get("sent", []))}}


def run_cli_scenario(seconds: float = 4.0) -> dict[str, Any]:
    """``groovefader play --link`` on a JACK server (dummy backend) beside a driver peer: does
    it join, start the stopped session, and leave it playing when it ends?"""
    import tempfile

    from engine.music.midifile import write_clip
    from engine.sync.link_session import LinkSession
    from tests.support.jack_server import start_test_server

    clip = Path(tempfile.mkdtemp()) / "hats.mid"  # a clip: no model to load (fast, no torch)
    write_clip(clip, hat_on_every_step())
    server = start_test_server()
    driver = LinkSession(100.0)
    seen = {"peers": 0, "playing_while_cli": False}
    try:
        cli = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "play", "--link", "--midi-api", "jack", "--clip", str(clip),
             "--seconds", str(seconds), "--stats", "--bpm", "100"],
            cwd=ROOT, env={**server.env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        while cli.poll() is None:
            seen["peers"] = max(seen["peers"], driver.peers)
            seen["playing_while_cli"] |= driver.snapshot().playing
            time.sleep(0.02)
        out, err = cli.communicate(timeout=30)
        time.sleep(0.3)
        after = driver.snapshot()
        return {"returncode": cli.returncode, "stderr": err[-2000:],
                "stats": json.loads(out) if out.strip().startswith("{") else out[-2000:],
                "driver_saw_peers": seen["peers"], "driver_saw_playing": seen["playing_while_cli"],
                "driver_playing_after": after.playing, "driver_peers_after": driver.peers}
    finally:
        driver.close()
        server.stop()
        shutil.rmtree(clip.parent, ignore_errors=True)


# -- the figures -------------------------------------------------------------------------------

class Line:
    """A peer's timeline from its snapshots: beat at a time, with the snapshot in force then."""

    def __init__(self, snapshots: list[tuple[int, float, float]]) -> None:
        self.snaps = sorted(snapshots)
        self.times = [s[0] for s in self.snaps]

    def at(self, ns: int) -> tuple[float, float] | None:
        """``(beat, ns_per_beat)`` at ``ns`` from the latest snapshot before it."""
        import bisect

        i = bisect.bisect_right(self.times, ns) - 1
        if i < 0:
            return None
        t, beat, per = self.snaps[i]
        return beat + (ns - t) / per, per


    def after(self, ns: int) -> tuple[float, float] | None:
        """``(beat, ns_per_beat)`` at ``ns`` from the first snapshot after it (a line a change
        made just before ``ns`` is in force)."""
        import bisect

        i = bisect.bisect_right(self.times, ns)
        if i >= len(self.snaps):
            return None
        t, beat, per = self.snaps[i]
        return beat + (ns - t) / per, per


def wrapped(x: float, period: float) -> float:
    """``x`` folded into ``[-period/2, period/2)``."""
    return (x + period / 2) % period - period / 2


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1)]


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    """Phase errors over steady stretches and the beats each change took to be followed."""
    from engine.music.midi_messages import CONTROL_CHANGE

    driver = Line(raw["driver_snapshots"])
    clock = raw["clock"]
    events = [Event(**e) for e in raw["events"]]
    note_ons = [t for t, data in clock.get("sent", []) if data[0] & 0xF0 == 0x90 and data[2] > 0]
    cc123 = [t for t, data in clock.get("sent", []) if data[0] & 0xF0 == CONTROL_CHANGE and data[1] == 123]

    def beat_ns(ns: int) -> float:
        here = driver.at(ns)
        return here[1] if here else 5e8

    def steady(ns: int) -> bool:
        """No change within one beat before ``ns``."""
        return all(not 0 <= ns - e.ns <= beat_ns(ns) + 50_000_000 for e in events)

    def note_error_ms(ns: int) -> float | None:
        here = driver.at(ns)
        if here is None:
            return None
        beat, per = here
        return wrapped(beat * 4, 1.0) * per / 4 / 1e6  # from the driver's nearest 16th

    note_errors = [e for t in note_ons if steady(t) and (e := note_error_ms(t)) is not None]
    clock_line = [tuple(s) for s in clock.get("snapshots", [])]
    link_errors = []
    for t, beat, _per in clock_line:
        here = driver.at(t)
        if here is not None and steady(t):
            link_errors.append(wrapped(beat - here[0], 4.0) * here[1] / 1e6)

    follow: list[dict[str, Any]] = []
    for e in events:
        entry = {"kind": e.kind, "by": e.who, "value": e.value,
                 "beats": _followed_beats(e, events, driver, note_ons, cc123, raw["driver_playing"],
                                          clock_line)}
        if e.kind == "tempo" and e.who == "driver":
            entry["first_note_beats"] = _first_note_beats(e, events, driver, note_ons, note_error_ms)
        follow.append(entry)
    per_kind = {}
    for kind in ("tempo", "start", "stop"):
        beats = [f["beats"] for f in follow if f["kind"] == kind]
        per_kind[kind] = None if None in beats or not beats else max(beats)
    return {
        "note_phase_error_ms": _stats(note_errors),
        "link_phase_error_ms": _stats(link_errors),
        "follow": follow,
        "worst_follow_beats": per_kind,
        "clock_status": {k: raw["clock_status"].get(k) for k in ("peers", "error")},
        "clock_lateness_ms": {k: raw["clock_status"].get("stats", {}).get(k)
                              for k in ("median_ms", "p99_ms", "max_ms", "count")},
        "clock_realtime": clock.get("realtime"),
    }


def _stats(errors: list[float]) -> dict[str, Any]:
    mags = [abs(e) for e in errors]
    return {"count": len(errors), "p50_abs": percentile(mags, 50), "p99_abs": percentile(mags, 99),
            "max_abs": max(mags) if mags else None,
            "mean": sum(errors) / len(errors) if errors else None}


def _first_note_beats(e: Event, events: list[Event], driver: Line, note_ons: list[int],
                      note_error_ms: Any) -> float | None:
    """After a driver's tempo change: the clock's first note within 1 ms of the driver's
    16ths, in beats after the change (the next 16th when it followed at once)."""
    later = [x.ns for x in events if x.ns > e.ns]
    until = later[0] if later else e.ns + 10**10
    here = driver.at(until - 1)
    per = here[1] if here else 5e8
    first = next((t for t in note_ons if e.ns < t < until and abs(note_error_ms(t) or 99) < 1.0), None)
    return None if first is None else (first - e.ns) / per


def _followed_beats(e: Event, events: list[Event], driver: Line, note_ons: list[int], cc123: list[int],
                    driver_playing: list[tuple[int, bool]], clock_line: list[tuple[int, float, float]]
                    ) -> float | None:
    """How many of the new tempo's beats a change took to reach the other peer (None: never
    seen before the next change)."""
    later = [x.ns for x in events if x.ns > e.ns]
    until = later[0] if later else e.ns + 10**10
    here = driver.at(until - 1)
    per = here[1] if here else 5e8
    if e.kind == "tempo" and e.who == "driver":
        # the first of the clock's timeline snapshots (what it schedules by) with the new
        # tempo and in phase with the driver's; from then on its deadlines are the session's
        for t, beat, p in clock_line:
            there = driver.at(t)
            if e.ns < t < until and there is not None and abs(60e9 / p - e.value) < 0.01 \
                    and abs(wrapped(beat - there[0], 4.0) * there[1]) < 1e6:
                return (t - e.ns) / p
        return None
    if e.kind == "tempo":  # the clock's change: when the driver's timeline shows it
        for t, _beat, p in driver.snaps:
            if e.ns < t < until and abs(60e9 / p - e.value) < 0.01:
                return (t - e.ns) / p
        return None
    if e.who == "driver" and e.kind == "start":
        # the clock's first note against the driver's first: its beat 0 (the session's next
        # bar line, Link's quantized launch), or the first 16th after the start
        first = next((t for t in note_ons if e.ns < t < until), None)
        at_start, at_first = driver.after(e.ns), driver.at(first) if first else None
        if at_first is None or at_start is None:
            return None
        expected = max(0.0, math.ceil(at_start[0] * 4 - 1e-6) / 4)
        return max(0.0, at_first[0] - expected)
    if e.who == "driver":  # a stop: the clock's all-notes-off
        stop = next((t for t in cc123 if t > e.ns - 1_000_000), None)
        return None if stop is None or stop > until else max(0.0, (stop - e.ns) / per)
    # the clock's start or stop: when the driver's transport shows it
    seen = next((t for t, on in driver_playing if t > e.ns and on == (e.kind == "start")), None)
    return None if seen is None or seen > until else (seen - e.ns) / per


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold", type=float, default=2.0, help="seconds between changes")
    parser.add_argument("--bpm", type=float, default=120.0)
    parser.add_argument("--cli", action="store_true", help="groovefader play --link instead")
    args = parser.parse_args(argv)
    loopback_up()
    found = interfaces()
    if found != ["lo"]:
        print(f"refusing to start Link: interfaces {found}, not only the loopback "
              "(run inside unshare --net)", file=sys.stderr)
        return 2
    result = run_cli_scenario() if args.cli else run_scenario(hold_s=args.hold, bpm=args.bpm)
    result["interfaces"] = found
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
