"""The kit on the audio device (PortAudio) in a process of its own.

There is no sound card here: PortAudio's JACK host API is the device, on the session's dummy
JACK server, and an audio recorder (another process) hears PortAudio's output ports. Where
PortAudio cannot reach JACK the tests that need sound are skipped; the process plumbing
(start, failure, dropping notes rather than waiting) is tested either way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from types import SimpleNamespace

import pytest

from engine.audio.device_host import MAX_IN_FLIGHT, DeviceProcess
from engine.audio.errors import AudioError
from engine.audio.kit import KitMix, build_kit
from engine.audio.live import LiveAudio
from engine.music.drums import Voice
from tests.support.audio import hand_over_notes, heard_onsets, open_live_device
from tests.support.jack_audio_recorder import AudioRecorder

pytestmark = pytest.mark.jack


def open_or_skip(**options) -> DeviceProcess:
    try:
        device = DeviceProcess.open(KitMix(), **options)
    except AudioError as err:
        pytest.skip(f"PortAudio cannot reach JACK here: {err}")
    if "JACK" not in device.device_name and device.device_name != "system":
        device.close(wait_s=5)
        pytest.skip(f"PortAudio's default output is {device.device_name!r}, not the JACK server")
    return device


def test_every_note_handed_over_plays_in_the_device_process(jack_server, tmp_path) -> None:
    # room for a test thread running late, and for the dummy server's stalls on a loaded machine
    device = open_or_skip(delay_ns=250_000_000)
    rec = None
    try:
        assert device.pid is not None and device.pid != os.getpid()  # the stream is not ours
        rec = AudioRecorder(jack_server, ("PortAudio:out_0", "PortAudio:out_1"), tmp_path / "pa.raw")
        assert rec.wait_connected(10)
        time.sleep(0.3)
        gaps_ns, voices = hand_over_notes(device)  # each at its deadline, as the clock does
        time.sleep(0.65)
        counts = device.counters()
        assert counts["notes"] == 12 and counts["hits"] == 12 and counts["dropped"] == 0
        # late only when the server stalled past the delay, and played at once then: how often
        # is a timing figure, the bench's (bench/audio_timing.py), not this test's
        assert counts["blocks"] > 10 and counts["busy_ns"] > 0
    finally:
        device.close(wait_s=5)
        if rec is not None:
            rec.stop()
    _, audio = rec.audio()
    onsets = heard_onsets(audio, build_kit(device.rate), device.rate, gaps_ns, voices)
    # every hit heard, in order (its precision against the wall clock: see test_live_jack),
    # but for a late one played at once, which may merge with its neighbour
    heard = [o for o in onsets if o is not None]
    assert len(heard) >= 12 - counts["late"] and heard == sorted(heard) and len(set(heard)) == len(heard)


def test_a_stuck_device_process_never_holds_up_the_sender(jack_server) -> None:
    device = open_or_skip()
    try:
        os.kill(device.pid, signal.SIGSTOP)  # it takes nothing in
        t0 = time.perf_counter()
        for i in range(2000):
            device.note(time.perf_counter_ns() + 10**9, Voice.KICK, 1 + i % 127)
        spent = time.perf_counter() - t0
        assert device.dropped == 2000 - MAX_IN_FLIGHT and device.sent == MAX_IN_FLIGHT
        assert spent < 2.0  # never blocked on a full socket (it takes microseconds a note)
        os.kill(device.pid, signal.SIGCONT)
        end = time.monotonic() + 5
        while device.counters()["notes"] < MAX_IN_FLIGHT and time.monotonic() < end:
            time.sleep(0.02)
        assert device.counters()["notes"] == MAX_IN_FLIGHT  # what was sent arrived, whole
        device.note(time.perf_counter_ns(), Voice.SNARE, 100)  # and it takes notes again
        assert device.sent == MAX_IN_FLIGHT + 1
    finally:
        with contextlib.suppress(ProcessLookupError, TypeError):
            os.kill(device.pid, signal.SIGCONT)
        device.close(wait_s=5)


def test_a_device_that_cannot_open_is_one_line(jack_server) -> None:
    with pytest.raises(AudioError, match=r"^no audio output device 'no such device'"):
        DeviceProcess.open(KitMix(), device="no such device")


def test_live_audio_plays_the_device_from_its_own_process(jack_server, tmp_path) -> None:
    """The clock process's side: the device output opens as a process, notes reach it, its
    counters come back in the report, and closing ends the process."""
    live = LiveAudio()
    try:
        open_live_device(live)
        device = live.device
        assert isinstance(device, DeviceProcess) and device.pid != os.getpid()
        popen = device._proc  # noqa: SLF001 - to see it end
        now = time.perf_counter_ns()
        for i in range(5):
            live.note(now + i * 20_000_000, Voice.KICK, 100)
        end = time.monotonic() + 5
        while live.report()["hits"] < 5 and time.monotonic() < end:
            time.sleep(0.02)
        report = live.report()
        assert report["output"] == "device" and report["process"] == device.pid
        assert report["hits"] == 5 and report["dropped"] == 0 and report["mix_us"]["blocks"] > 0
    finally:
        live.close()
    assert popen.wait(5) == 0  # asked to stop, it closed its stream and left


def test_without_fd_passing_the_device_opens_in_this_process(jack_server, monkeypatch) -> None:
    """Windows has no fd passing: the device output then opens here, as it did before."""
    from engine.audio import kit_host
    from engine.audio.device import DeviceAudio

    def no_fd_passing(*args, **kwargs):
        raise ValueError("pass_fds is not supported on Windows")

    monkeypatch.setattr(kit_host, "subprocess", SimpleNamespace(  # the kit host's only, not everyone's
        Popen=no_fd_passing, DEVNULL=subprocess.DEVNULL, TimeoutExpired=subprocess.TimeoutExpired))
    with pytest.raises(AudioError, match=r"^cannot start the audio device's process: pass_fds"):
        DeviceProcess.open(KitMix())
    live = LiveAudio()
    try:
        open_live_device(live)
        assert isinstance(live.device, DeviceAudio) and "process" not in live.report()
    finally:
        live.close()
