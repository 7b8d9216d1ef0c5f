"""A real JACK server for tests and benchmarks, and a recording JACK client in its own process.

``JackServer`` starts ``jackd -n NAME -d dummy`` (no sound card needed), waits until it
answers and kills it at the end. ``Recorder`` runs this file as a script
(``python jack_fixtures.py record ...``): a JACK-Client MIDI input that connects to a source
port whenever it exists and writes one JSON line per event — ``[frame, [bytes...],
ns, callback]`` where ``frame = last_frame_time + offset`` (the server's frame counter),
``ns`` is ``perf_counter_ns`` at the start of the period's callback plus the offset (wall
clock) and ``callback`` numbers the process callbacks from 0. At exit it also writes
``<out>.cycles.json``: the callbacks whose ``last_frame_time`` was not one period after the
previous callback's (``[callback, gap]``; gap 0 = the same cycle counter read twice, which
on JACK2's asynchronous server means the earlier callback ran after the next cycle had
begun and stamped its events one period late). It runs in another process so a server
killed under it cannot take the test runner along.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

JACKD = shutil.which("jackd")
CONNECT_CHECK_S = 0.1  # the recorder looks for its source (again) this often
CYCLES_WRITE_S = 0.5  # and writes its cycle log this often (a recorder killed keeps the last)


def jack_env(server: str) -> dict[str, str]:
    return {**os.environ, "JACK_DEFAULT_SERVER": server, "JACK_NO_START_SERVER": "1"}


class JackServer:
    """``jackd`` with the dummy backend under a unique server name."""

    def __init__(self, name: str | None = None, *, realtime: bool = False, rate: int = 48_000,
                 period: int = 32, sync: bool = True) -> None:
        self.name = name or f"gf-test-{uuid.uuid4().hex[:8]}"
        self.realtime, self.rate, self.period, self.sync = realtime, rate, period, sync
        self.proc: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        return jack_env(self.name)

    def start(self, timeout_s: float = 10.0) -> JackServer:
        if JACKD is None:
            raise RuntimeError("jackd not installed")
        # -S (synchronous): each cycle waits for every client, so a client that is slow on
        # an overloaded machine delays the cycle instead of having its MIDI dropped.
        flags = ["-R" if self.realtime else "--no-realtime"] + (["-S"] if self.sync else [])
        self.proc = subprocess.Popen(
            [JACKD, "-n", self.name, *flags, "-d", "dummy", "-r", str(self.rate), "-p", str(self.period)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jackd exited with {self.proc.returncode}")
            try:
                r = subprocess.run(["jack_lsp"], env=self.env, capture_output=True, text=True, timeout=10)
            except subprocess.TimeoutExpired:
                continue
            if r.returncode == 0 and "system:" in r.stdout:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("jackd did not come up")

    def running_realtime(self) -> bool:
        """Whether a thread of the running ``jackd`` has a real-time policy (``-R`` asks for
        one; without the right to it jackd2 warns and runs on without)."""
        if self.proc is None or self.proc.poll() is not None:
            return False
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{self.proc.pid}/task")]
        except OSError:
            return False
        policies = set()
        for tid in tids:
            try:
                policies.add(os.sched_getscheduler(tid))
            except OSError:
                continue
        return bool(policies & {os.SCHED_FIFO, os.SCHED_RR})

    def ports(self, connections: bool = False) -> str:
        """``jack_lsp``'s listing; empty when it does not answer within 10 s (a client stuck in a
        synchronous server's cycle blocks it, and the caller's own deadline should then decide)."""
        args = ["jack_lsp", "-c"] if connections else ["jack_lsp"]
        try:
            return subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=10).stdout
        except subprocess.TimeoutExpired:
            return ""

    def connections(self) -> dict[str, list[str]]:
        """``{port: [connected ports]}`` from ``jack_lsp -c``."""
        result: dict[str, list[str]] = {}
        current = None
        for line in self.ports(connections=True).splitlines():
            if line.startswith((" ", "\t")) and current is not None:
                result[current].append(line.strip())
            elif line.strip():
                current = line.strip()
                result[current] = []
        return result

    def wait_port(self, port: str, timeout_s: float = 10.0) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if port in self.ports().split():
                return True
            time.sleep(0.05)
        return False

    def kill(self) -> None:
        """SIGKILL (a crash). The server's registry slot is only reclaimed by a server of the
        same name, so follow with :meth:`start` and a clean :meth:`stop`."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def stop(self) -> None:
        """SIGTERM: jackd unregisters itself (SIGKILL would leak one of JACK's 8 server slots)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def start_test_server(name: str | None = None, server_class: type[JackServer] = JackServer,
                      **options: Any) -> JackServer:
    """A started dummy-backend server for tests and benchmarks: real-time (``-R``) where
    jackd may start one, else ``--no-realtime``; ``options`` go to ``server_class`` (``sync``...).

    Why: without real-time priority a loaded machine (CI) delays the server's cycles, so its
    frame clock - what the sequencer times notes by on JACK - ran 10-25 % slower than the wall
    clock there and single cycles stalled for tens of ms; with ``-R`` the same tests under three
    busy processes kept time.
    """
    try:
        return server_class(name, realtime=True, **options).start()
    except RuntimeError:
        return server_class(name, realtime=False, **options).start()


class Recorder:
    """The recording client, in a subprocess; ``events()`` parses what it wrote."""

    def __init__(self, server: JackServer, source: str | None, out: Path, name: str | None = None) -> None:
        self.server, self.source, self.out = server, source, Path(out)
        self.name = name or f"rec-{uuid.uuid4().hex[:6]}"
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "record", "--name", self.name, "--source", source or "",
             "--out", str(self.out)], env=server.env, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if line.strip() != "ready":
            raise RuntimeError(f"recorder did not start: {line!r}")

    @property
    def port(self) -> str:
        return f"{self.name}:in"

    def wait_connected(self, timeout_s: float = 10.0) -> bool:
        """Until something is connected to the recorder (its source, if one was given)."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            peers = self.server.connections().get(self.port, [])
            if (self.source in peers) if self.source else peers:
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> list[tuple[int, tuple[int, ...], int]]:
        """Stop recording; what was heard (:meth:`heard_events`: no replayed callback)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:  # closing a JACK client can take seconds on a loaded machine (killed: the last cycle log)
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.heard_events()

    def events(self) -> list[tuple[int, tuple[int, ...], int]]:
        return [(frame, data, ns) for frame, data, ns, _ in self.events_with_callbacks()]

    def events_with_callbacks(self) -> list[tuple[int, tuple[int, ...], int, int]]:
        """Events with the number of the process callback that received them."""
        if not self.out.exists():
            return []
        rows = []
        # while the recorder runs its last line may be half written: only whole lines count
        for line in self.out.read_text().split("\n")[:-1]:
            frame, data, ns, callback = json.loads(line)
            rows.append((frame, tuple(data), ns, callback))
        return rows

    def cycles(self) -> dict:
        """``{"callbacks": n, "period": frames, "irregular": [[callback, gap, frame], ...]}``
        (after stop; ``frame``: the irregular callback's cycle start). A recorder that had to
        be killed leaves the log it last wrote (every ``CYCLES_WRITE_S``)."""
        path = self.out.with_name(self.out.name + ".cycles.json")
        return json.loads(path.read_text()) if path.exists() else {}

    def replayed_callbacks(self) -> set[int]:
        """The process callbacks that replayed the one before (after stop): a gap of 0 in the
        cycle log, and exactly the previous callback's events at the same frames. A sender
        cannot put the same events into two cycles at one frame: the callback before ran late,
        into this cycle, and was given its events too (see :func:`~tests.support.app_monkey.
        received_messages`, which drops them the same way)."""
        rows: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
        for frame, data, _ns, cb in self.events_with_callbacks():
            rows.setdefault(cb, []).append((frame, data))
        repeated = {cb for cb, gap, *_ in self.cycles().get("irregular", []) if gap == 0}
        return {cb for cb in repeated if cb in rows and rows[cb] == rows.get(cb - 1)}

    def heard_events(self) -> list[tuple[int, tuple[int, ...], int]]:
        """:meth:`events` without those of :meth:`replayed_callbacks` (after stop)."""
        replayed = self.replayed_callbacks()
        return [(frame, data, ns) for frame, data, ns, cb in self.events_with_callbacks()
                if cb not in replayed]

    def blind_spans(self) -> list[tuple[int, int]]:
        """Frame spans ``[start, end)`` whose events this recorder may not have received
        (after stop): cycles its process callback never ran for (the frame counter moved by
        more than a period), or ran for twice (a gap of 0: the second call got the first's
        buffer, so the next cycle's events were lost). An overloaded machine does both to a
        Python JACK client now and then; a sender cannot cause either.
        """
        log = self.cycles()
        period = int(log.get("period", 0))
        spans = []
        for _callback, gap, *rest in log.get("irregular", []):
            if not rest:
                continue
            frame = int(rest[0])
            if gap == 0:
                spans.append(((frame + period) % 2**32, (frame + 2 * period) % 2**32))
            elif gap > period:
                spans.append(((frame - gap + period) % 2**32, frame))
        return spans


def blind_share(recorder: Recorder) -> float:
    """The share of the frames ``recorder`` ran for that lie in its blind spans (after stop):
    a recorder that heard almost nothing would excuse every problem; one that missed a few
    short cycles on a loaded machine excuses only what was due in them."""
    log = recorder.cycles()
    heard = int(log.get("callbacks", 0)) * int(log.get("period", 0))
    blind = sum((end - start) % 2**32 for start, end in recorder.blind_spans())
    return blind / heard if heard else 1.0


def check_note_pairs(messages: list[tuple[int, ...]]) -> list[str]:
    """Problems with note-on/off pairing in a stream of MIDI messages (empty = all paired).

    A note-on while the same note sounds, a note-off with nothing sounding, or a note still
    sounding at the end (a stuck note) are each reported; CC 123 releases its channel.
    """
    sounding: dict[tuple[int, int], int] = {}
    problems = []
    for i, m in enumerate(messages):
        status = m[0] & 0xF0
        ch = m[0] & 0x0F
        if status == 0x90 and m[2] > 0:
            if (ch, m[1]) in sounding:
                problems.append(f"#{i}: note-on {m[1]} while sounding")
            sounding[(ch, m[1])] = i
        elif status == 0x80 or (status == 0x90 and m[2] == 0):
            if sounding.pop((ch, m[1]), None) is None:
                problems.append(f"#{i}: note-off {m[1]} without note-on")
        elif status == 0xB0 and m[1] == 123:
            for key in [k for k in sounding if k[0] == ch]:
                problems.append(f"#{sounding.pop(key)}: note {key[1]} only released by CC 123")
    problems += [f"#{i}: note {k[1]} stuck" for k, i in sounding.items()]
    return problems


def unheard_pairing_problems(events: list[tuple[int, tuple[int, ...], int]],
                             blind: list[tuple[int, int]]) -> list[str]:
    """:func:`check_note_pairs` of recorded ``(frame, message, ns)`` events, less the
    problems a recorder's ``blind`` spans explain: a note-off (or note-on) that should have
    come between two recorded events of that note, or before the CC 123 that released it,
    where the recorder heard nothing. Every other problem is kept.
    """
    from engine.realtime.timebase import frame_diff  # here: this file also runs as the recorder

    messages = [e[1] for e in events]
    frames = [e[0] for e in events]

    def unheard(a: int, b: int) -> bool:
        return any(frame_diff(end, a) > 0 and frame_diff(b, start) >= 0 for start, end in blind)

    def of_note(j: int, key: tuple[int, int]) -> bool:
        m = messages[j]
        return len(m) == 3 and m[0] & 0xE0 == 0x80 and (m[0] & 0x0F, m[1]) == key

    def of_note_or_release(j: int, key: tuple[int, int]) -> bool:  # or its channel's CC 123
        return of_note(j, key) or messages[j][:2] == (0xB0 | key[0], 123)

    kept = []
    for problem in check_note_pairs(messages):
        i = int(problem.split(":")[0].lstrip("#"))
        key = (messages[i][0] & 0x0F, messages[i][1])
        if "while sounding" in problem or "without note-on" in problem:
            # the missing message lay between this one and the note's previous event, or the
            # CC 123 that last released it (a note-off after that needed a note-on after it)
            before = [j for j in range(i) if of_note_or_release(j, key)]
            window = (frames[before[-1]] if before else frames[0], frames[i])
        else:  # released only by CC 123, or stuck: its note-off was due after the note-on
            after = [j for j in range(i + 1, len(messages)) if of_note_or_release(j, key)]
            window = (frames[i], frames[after[0]] if after else frames[-1] + 2**20)
        if not unheard(*window):
            kept.append(problem)
    return kept


def pairing_context(messages: list[tuple[int, ...]], problems: list[str], before: int = 12) -> list:
    """The messages leading up to the first of :func:`check_note_pairs`' ``problems`` (what a
    failing test prints, so a rare fault can be read from the log)."""
    if not problems:
        return []
    i = int(problems[0].split(":")[0].lstrip("#"))
    return [(j, messages[j]) for j in range(max(0, i - before), min(len(messages), i + 2))]


# -- the recorder script ---------------------------------------------------------------------

def _record(name: str, source: str, out_path: str) -> int:
    import collections
    import itertools
    import threading

    import jack

    client = jack.Client(name, no_start_server=True)
    inport = client.midi_inports.register("in")
    ns_per_frame = 1e9 / client.samplerate
    events: collections.deque = collections.deque()
    bases: collections.deque = collections.deque()  # last_frame_time of every callback, in order
    dead = threading.Event()
    stop = threading.Event()
    period = client.blocksize
    callback = itertools.count()
    seen = {"callbacks": 0, "previous": None, "irregular": []}

    @client.set_process_callback
    def process(frames: int) -> None:
        base = client.last_frame_time
        now = time.perf_counter_ns()  # ~ the period's start, plus this thread's wake-up latency
        index = next(callback)
        bases.append(base)
        for offset, data in inport.incoming_midi_events():
            events.append((base + offset, list(bytes(data)), now + round(offset * ns_per_frame), index))

    def drain_bases() -> None:
        while bases:
            base = bases.popleft()
            if seen["previous"] is not None:
                gap = (base - seen["previous"]) % 2**32
                if gap != period and len(seen["irregular"]) < 100_000:
                    seen["irregular"].append([seen["callbacks"], gap, base])
            seen["previous"] = base
            seen["callbacks"] += 1

    cycles_path = out_path + ".cycles.json"

    def write_cycles() -> None:
        drain_bases()
        with open(cycles_path + ".tmp", "w") as f:
            json.dump({"callbacks": seen["callbacks"], "period": period, "irregular": seen["irregular"]}, f)
        os.replace(cycles_path + ".tmp", cycles_path)

    client.set_shutdown_callback(lambda status, reason: dead.set())
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # The process callback needs this interpreter's GIL: with Python's default 5 ms switch
    # interval it waited behind the loop below long enough to run after the next cycle had
    # begun (a frame counter read twice, events stamped a period late or missed on an
    # asynchronous server). So: a short switch interval, and the port list read only every
    # CONNECT_CHECK_S.
    sys.setswitchinterval(0.0005)
    client.activate()
    print("ready", flush=True)
    next_check = next_cycles = 0.0
    with open(out_path, "w") as out:
        while not stop.is_set() and not dead.is_set():
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + CONNECT_CHECK_S
                try:
                    if source and source in [p.name for p in client.get_ports(is_midi=True)] \
                            and inport.name not in [p.name for p in client.get_all_connections(source)]:
                        client.connect(source, inport)
                except jack.JackError:
                    pass
            while events:
                out.write(json.dumps(events.popleft()) + "\n")
            out.flush()
            if time.monotonic() >= next_cycles:
                next_cycles = time.monotonic() + CYCLES_WRITE_S
                write_cycles()
            stop.wait(0.02)
        time.sleep(0.05)  # the last periods
        while events:
            out.write(json.dumps(events.popleft()) + "\n")
    write_cycles()
    if dead.is_set():
        client._ptr = jack._ffi.NULL  # a dead server's client must not be closed (libjack crashes)
        return 3
    client.deactivate()
    client.close()
    return 0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--name", required=True)
    rec.add_argument("--source", required=True)
    rec.add_argument("--out", required=True)
    args = parser.parse_args()
    sys.exit(_record(args.name, args.source, args.out))


def skipped_spans(stats: dict, period: int) -> list[tuple[int, int]]:
    """``[(first, next_start)]``: the frames of the cycles a sample-accurate output saw the
    server skip or run a period late (its ``jack_irregular_starts``); what fell in one went
    out at ``next_start``, late by the server, not by the engine."""
    return [(start - gap + period, start) for start, gap in stats.get("jack_irregular_starts") or []]


def on_frame(frame: int, due: int, spans: list[tuple[int, int]]) -> bool:
    """Whether an event due at frame ``due`` landed on it, or at the end of a skipped span
    it fell in (:func:`skipped_spans`)."""
    return frame == due or any(a <= due < b and frame == b for a, b in spans)
