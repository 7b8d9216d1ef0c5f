"""The built-in kit as a new user meets it: on from the first start, one line where no audio
output exists, and on JACK two audio ports of the MIDI client, each hit on its note's frame."""

from __future__ import annotations

import subprocess
import uuid

import numpy as np
import pytest

from engine.audio.kit import build_kit
from engine.music.drums import PITCH_TO_VOICE, Voice
from engine.music.midifile import write_clip
from tests.app.test_midi_jack import _start_server
from tests.support.audio import onset_frame
from tests.support.jack_audio_recorder import AudioRecorder
from tests.support.jack_server import JACKD, Recorder
from tests.support.patterns import pattern_from_cells

BPM = 125.0
DRUM_NOTE_ON = 0x99  # note-on, channel 10
# every voice, micro-timed both ways: the kit must keep the offsets the MIDI has
PATTERN = pattern_from_cells({
    (0, Voice.KICK): (0.9, 0.0), (3, Voice.CLOSED_HAT): (0.8, -0.21), (4, Voice.SNARE): (0.85, 0.12),
    (7, Voice.LOW_TOM): (0.8, 0.33), (10, Voice.KICK): (0.75, -0.08), (12, Voice.SNARE): (0.9, 0.04),
    (14, Voice.OPEN_HAT): (0.7, -0.3), (17, Voice.RIDE): (0.8, 0.17), (20, Voice.HIGH_TOM): (0.8, -0.4),
    (24, Voice.CRASH): (0.8, 0.0), (28, Voice.MID_TOM): (0.85, 0.25)}, steps=32)


def _has_output_device() -> bool:
    try:
        import sounddevice

        return any(d["max_output_channels"] > 0 for d in sounddevice.query_devices())
    except Exception:  # no PortAudio at all: no device either
        return False


def test_a_new_user_starts_with_the_kit_on_and_no_device_is_one_line(make_window, qtbot, monkeypatch):
    # no JACK server to be found (PortAudio's JACK host API included), as on a bare CI machine
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"gf-none-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    if _has_output_device():
        pytest.skip("this machine has an audio output device")
    window = make_window(link=True, kit_off=False)  # a fresh settings file; no model: the link starts
    binding = window.audio_binding
    assert window.transport.audio.kit.isChecked() and binding.settings.enabled
    warnings: list[str] = []
    window.controller.transport.message.connect(lambda level, text: warnings.append(text))
    qtbot.waitUntil(lambda: binding.report not in ("", "Kit: starting…"), timeout=30_000)
    # "no audio output device found", or PortAudio itself missing: one line either way
    assert binding.report.startswith("Kit: no audio") and binding.report.endswith("; MIDI plays on")
    assert "\n" not in binding.report
    assert window.transport.audio.kit.toolTip().endswith("\n" + binding.report)  # on the Kit button
    # the MIDI status is the MIDI backend's own line, not the kit's
    status = window.transport.status.text()
    assert "\n" not in status and "Kit" not in status and "audio" not in status.lower()
    # the clock plays on: Play moves the playhead, the kit's line is shown once, not again
    window.transport.play_button.click()
    qtbot.waitUntil(lambda: window.grid._playhead is not None, timeout=20_000)
    qtbot.wait(300)
    assert window.controller.transport.playing
    assert binding.settings.enabled and window.transport.audio.kit.isChecked()
    window.transport.play_button.click()
    assert warnings.count(binding.report) == 1  # in the status bar once, not at every report


@pytest.fixture
def jack(monkeypatch):
    if JACKD is None:
        pytest.skip("jackd not installed")
    server = _start_server()
    for key, value in server.env.items():
        if key.startswith("JACK_"):
            monkeypatch.setenv(key, value)
    yield server
    server.stop()


@pytest.mark.jack
def test_the_kit_on_jack_sounds_on_its_midi_notes_frames(jack, make_window, qtbot, tmp_path):
    window = make_window(link=True, midi_api="jack", kit_off=False)  # the kit on, as for a new user
    clip = tmp_path / "groove.mid"
    write_clip(clip, PATTERN)
    with qtbot.waitSignal(window.controller.patternChanged, timeout=10_000):
        window.controller.load_clip(clip)
    binding = window.audio_binding
    # the MIDI client's own audio ports (the sample-accurate output), not the audio device
    qtbot.waitUntil(lambda: binding.report.startswith("Kit: JACK ports"), timeout=30_000)
    assert binding.report == "Kit: JACK ports groovefader-kit:audio_L, groovefader-kit:audio_R"
    qtbot.waitUntil(lambda: window.transport.status.text().startswith("MIDI out"), timeout=20_000)
    midi = Recorder(jack, "groovefader:groovefader", tmp_path / "midi.jsonl")
    audio_rec = AudioRecorder(jack, ("groovefader-kit:audio_L", "groovefader-kit:audio_R"),
                              tmp_path / "audio.raw")
    try:
        assert midi.wait_connected() and audio_rec.wait_connected()
        window.controller.transport.set(tempo_bpm=BPM, swing=0.0)
        window.transport.play_button.click()

        def note_ons() -> list[tuple[int, int]]:
            return [(f, PITCH_TO_VOICE[m[1]]) for f, m, _ns in midi.events()
                    if m[0] == DRUM_NOTE_ON and m[2] > 0]  # the drums (the melody lane has its channel)

        qtbot.waitUntil(lambda: len(note_ons()) >= PATTERN.num_hits + 5, timeout=30_000)
        window.transport.play_button.click()
        qtbot.waitUntil(lambda: not window.controller.transport.playing, timeout=5_000)
        qtbot.wait(300)  # the last hits' tails
    finally:
        midi.stop()
        audio_rec.stop()
    notes = note_ons()
    first, audio = audio_rec.audio()
    mono = audio.sum(axis=1)
    kit = build_kit(jack.rate)
    offsets = []
    for frame, voice in notes:
        expected = (frame - first) % 2**32
        found = onset_frame(mono, kit, voice, expected, search=2 * jack.period)
        if found is not None:  # None: the recording ended within the hit
            offsets.append(found - expected)
    assert len(offsets) >= PATTERN.num_hits
    assert offsets == [0] * len(offsets)  # each hit's first sample on its note-on's frame
    assert 0.05 < np.abs(audio).max() <= 1.0


@pytest.mark.jack
def test_turning_the_kit_on_at_jack_moves_the_midi_to_the_sample_accurate_output(jack, make_window, qtbot,
                                                                                  tmp_path):
    """A saved choice of off starts on rtmidi; Kit on reopens the port with the kit's ports on it."""
    window = make_window(link=True, midi_api="jack")  # the fixture's settings: the kit off
    clip = tmp_path / "groove.mid"
    write_clip(clip, PATTERN)
    with qtbot.waitSignal(window.controller.patternChanged, timeout=10_000):
        window.controller.load_clip(clip)
    binding = window.audio_binding
    assert not window.transport.audio.kit.isChecked()
    qtbot.waitUntil(lambda: window.transport.status.text().startswith("MIDI out"), timeout=30_000)
    assert not jack.wait_port("groovefader-kit:audio_L", timeout_s=0.5)
    window.transport.audio.kit.click()
    qtbot.waitUntil(lambda: binding.report.startswith("Kit: JACK ports"), timeout=30_000)
    assert jack.wait_port("groovefader-kit:audio_L") and jack.wait_port("groovefader:groovefader")
    midi = Recorder(jack, "groovefader:groovefader", tmp_path / "midi.jsonl")
    try:
        assert midi.wait_connected()
        window.transport.play_button.click()
        qtbot.waitUntil(lambda: any(m[0] == DRUM_NOTE_ON for _f, m, _ns in midi.events()), timeout=30_000)
        window.transport.play_button.click()
    finally:
        midi.stop()
    # off: the kit's ports go, the MIDI port stays as it is, with the connections made to it
    listener = Recorder(jack, None, tmp_path / "listener.jsonl")  # connected by hand, never again
    try:
        subprocess.run(["jack_connect", "groovefader:groovefader", listener.port], env=jack.env, check=True,
                       timeout=10)
        assert listener.wait_connected()
        window.transport.audio.kit.click()
        qtbot.waitUntil(lambda: binding.report == "", timeout=10_000)
        qtbot.waitUntil(lambda: "groovefader-kit:audio_L" not in jack.ports().split(), timeout=10_000)
        qtbot.wait(300)
        assert jack.connections().get(listener.port) == ["groovefader:groovefader"]
    finally:
        listener.stop()
