"""A JACK audio recorder in its own process: what reaches two audio ports, frame by frame.

The counterpart of :class:`tests.support.jack_server.Recorder` (MIDI) for audio. Run as a
script (``python jack_audio_recorder.py record ...``), a JACK-Client with inputs ``in_L`` and
``in_R`` connects to the source ports whenever they exist and writes, per process callback,
``int64 frame, int32 frames`` followed by the period's left then right float32 samples,
where ``frame`` is ``last_frame_time`` (the server's frame counter, the same one the MIDI
recorder stamps its events with), so audio and MIDI can be compared frame for frame.
Every xrun the server reports to it is counted in ``<out>.xruns`` (kept current while it runs).
"""

from __future__ import annotations

import signal
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # run as a script, this file cannot import the tests package first
    from tests.support.jack_server import JackServer

HEADER = struct.Struct("<qi")
CONNECT_CHECK_S = 0.1


class AudioRecorder:
    """The recording client in a subprocess; :meth:`audio` reads what it wrote."""

    def __init__(self, server: JackServer, sources: tuple[str, str], out: Path,
                 name: str | None = None) -> None:
        self.server, self.sources, self.out = server, sources, Path(out)
        self.name = name or f"arec-{uuid.uuid4().hex[:6]}"
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "record", "--name", self.name, "--left", sources[0],
             "--right", sources[1], "--out", str(self.out)], env=server.env, stdout=subprocess.PIPE,
            text=True, cwd=Path(__file__).resolve().parents[2])
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if line.strip() != "ready":
            raise RuntimeError(f"audio recorder did not start: {line!r}")

    def wait_connected(self, timeout_s: float = 10.0) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            peers = self.server.connections().get(f"{self.name}:in_L", [])
            if self.sources[0] in peers:
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def audio(self) -> tuple[int, np.ndarray]:
        """``(first_frame, (frames, 2) float32)``: periods placed by their frame, gaps as silence."""
        return read_recording(self.out)

    def xruns(self) -> int:
        path = self.out.with_name(self.out.name + ".xruns")
        return int(path.read_text()) if path.exists() else -1


def read_recording(path: Path) -> tuple[int, np.ndarray]:
    data = Path(path).read_bytes() if Path(path).exists() else b""
    periods = []
    pos = 0
    while pos + HEADER.size <= len(data):
        frame, frames = HEADER.unpack_from(data, pos)
        size = HEADER.size + 8 * frames
        if pos + size > len(data):
            break  # a half-written last period
        samples = np.frombuffer(data, np.float32, 2 * frames, pos + HEADER.size).reshape(2, frames)
        periods.append((frame, samples))
        pos += size
    if not periods:
        return 0, np.zeros((0, 2), np.float32)
    first = periods[0][0]
    # frame counters are 32-bit: unwrap relative to the first period
    spans = [((f - first) % 2**32, s) for f, s in periods]
    total = max(off + s.shape[1] for off, s in spans)
    out = np.zeros((total, 2), np.float32)
    for off, s in spans:
        out[off:off + s.shape[1]] = s.T
    return first, out


def _record(name: str, left: str, right: str, out_path: str) -> int:
    import collections
    import threading

    import jack

    client = jack.Client(name, no_start_server=True)
    ins = (client.inports.register("in_L"), client.inports.register("in_R"))
    chunks: collections.deque = collections.deque()
    stop, dead = threading.Event(), threading.Event()
    xruns = [0]

    @client.set_process_callback
    def process(frames: int) -> None:
        base = client.last_frame_time
        chunks.append((base, frames, ins[0].get_array().copy(), ins[1].get_array().copy()))

    def on_xrun(delay_usecs: float) -> None:
        xruns[0] += 1

    client.set_xrun_callback(on_xrun)
    client.set_shutdown_callback(lambda status, reason: dead.set())
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sys.setswitchinterval(0.0005)
    client.activate()
    print("ready", flush=True)
    next_check = 0.0
    xruns_path = Path(out_path + ".xruns")
    written = -1
    with open(out_path, "wb") as out:
        while not stop.is_set() and not dead.is_set():
            if xruns[0] != written:  # kept current: a benchmark reads it before and after a run
                written = xruns[0]
                xruns_path.write_text(str(written))
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + CONNECT_CHECK_S
                for port, source in zip(ins, (left, right), strict=True):
                    try:
                        if source in [p.name for p in client.get_ports(is_audio=True, is_output=True)] \
                                and port.name not in [p.name for p in client.get_all_connections(source)]:
                            client.connect(source, port)
                    except jack.JackError:
                        pass
            while chunks:
                base, frames, l_buf, r_buf = chunks.popleft()
                out.write(HEADER.pack(base, frames) + l_buf.tobytes() + r_buf.tobytes())
            out.flush()
            stop.wait(0.02)
        time.sleep(0.05)
        while chunks:
            base, frames, l_buf, r_buf = chunks.popleft()
            out.write(HEADER.pack(base, frames) + l_buf.tobytes() + r_buf.tobytes())
    xruns_path.write_text(str(xruns[0]))
    if dead.is_set():
        client._ptr = jack._ffi.NULL  # a dead server's client must not be closed
        return 3
    client.deactivate()
    client.close()
    return 0


if __name__ == "__main__":
    import argparse

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record")
    for arg in ("--name", "--left", "--right", "--out"):
        rec.add_argument(arg, required=True)
    args = parser.parse_args()
    sys.exit(_record(args.name, args.left, args.right, args.out))
