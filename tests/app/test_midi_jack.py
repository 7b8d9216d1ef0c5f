"""The app against a real JACK server: MIDI learn from a CC sent through a JACK port, and the
pattern on screen is what arrives at a JACK client when playing."""

from __future__ import annotations

import contextlib
import subprocess
import time

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from engine.music.drums import GM_DRUM_CHANNEL
from engine.ports import InputProcess
from tests.support.jack_server import JACKD, JackServer, Recorder, start_test_server

pytestmark = [pytest.mark.jack, pytest.mark.skipif(JACKD is None, reason="jackd not installed")]


class _PoliteJackServer(JackServer):
    """Stops jackd with SIGTERM first: a SIGKILLed jackd never leaves JACK's shm registry,
    which holds 8 servers, and once it is full no jackd starts on the machine."""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        super().stop()


def _start_server() -> JackServer:
    # A fixed name first: if an earlier run died, jackd reclaims its own stale registry entry.
    try:
        return start_test_server("gf-app-test", _PoliteJackServer)
    except RuntimeError:  # taken by a concurrent run
        return start_test_server(None, _PoliteJackServer)


@pytest.fixture
def jack(monkeypatch):
    server = _start_server()
    for key, value in server.env.items():
        if key.startswith("JACK_"):
            monkeypatch.setenv(key, value)
    yield server
    server.stop()


@pytest.fixture
def jack_window(jack, make_window, checkpoint, qtbot):
    w = make_window(checkpoint, link=True, load=False, midi_api="jack")
    c = w.controller
    with qtbot.waitSignal(c.patternChanged, timeout=60_000, check_params_cb=lambda p: p.num_hits > 0):
        c.load_model(checkpoint)
    qtbot.waitUntil(lambda: w.transport.status.text().startswith("MIDI out"), timeout=20_000)
    return w


def _cc_sender(server: JackServer, port: str):
    """An rtmidi JACK output (another JACK client), connected to ``port`` before it returns
    (a message sent before the connection exists is lost)."""
    import rtmidi

    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="test-controller")
    names = out.get_ports()
    idx = next(i for i, n in enumerate(names) if port in n)
    out.open_port(idx)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        listing = server.ports(connections=True)
        if f"{port}\n   test-controller:" in listing:
            return out
        time.sleep(0.05)
    raise AssertionError(f"test-controller never connected to {port}:\n{listing}")


def test_midi_learn_binds_a_cc_sent_through_jack(jack, jack_window, qtbot) -> None:
    w = jack_window
    c = w.controller
    c.transport.set_input("groovefader-in", "jack", True)  # what choosing the virtual input does
    assert jack.wait_port("groovefader-in:groovefader-in")
    # in a process of its own (rtmidi's, opened here, froze the window; a JACK-Client input
    # here would make JACK wait for this interpreter every period)
    # (the port shows before the child's reply reaches the link's worker, which then keeps it)
    qtbot.waitUntil(lambda: isinstance(c.transport.link._input, InputProcess)
                    and c.transport.link._input.alive(), timeout=15_000)
    knob = w.knobs.knobs["density"]

    def choose_learn() -> None:  # the context menu is modal: pick its first entry
        menu = QApplication.activePopupWidget()
        assert menu is not None
        menu.actions()[0].trigger()
        menu.close()

    QTimer.singleShot(200, choose_learn)
    with qtbot.waitSignal(c.transport.learnChanged) as armed:
        knob.contextMenuEvent(_context_event(knob))
    assert armed.args == ["density"]
    sender = _cc_sender(jack, "groovefader-in:groovefader-in")
    try:
        with qtbot.waitSignal(c.transport.learnChanged, timeout=10_000) as learned:
            sender.send_message([0xB0 | 2, 21, 0])  # channel 3, CC 21, value 0
        assert learned.args == [""]
        assert c.transport.bindings.binding_of("density") == (2, 21)
        assert "CC 21" in knob._binding
        qtbot.waitUntil(lambda: knob.value == knob.low, timeout=5_000)
        with qtbot.waitSignal(c.knob_binding.knobChanged, timeout=10_000,
                              check_params_cb=lambda n, v: n == "density" and v == knob.high):
            sender.send_message([0xB0 | 2, 21, 127])
        assert knob.value == knob.high
        sender.send_message([0xB0 | 2, 22, 64])  # another CC moves nothing
        qtbot.wait(200)
        assert knob.value == knob.high
    finally:
        sender.close_port()
        del sender


def _note_ons(events, channel: int = GM_DRUM_CHANNEL) -> list[tuple[int, tuple[int, ...]]]:
    """``(frame, message)`` of the recorded note-ons on ``channel`` (the drums'; the melody
    lane plays on its own)."""
    return [(f, m) for f, m, _ns in events if m[0] == 0x90 | channel and m[2] > 0]


def _frames_since(events, start_ns: int) -> int:
    """Server frames between the first and the last event recorded at or after ``start_ns``."""
    frames = [f for f, _m, ns in events if ns >= start_ns]
    return frames[-1] - frames[0] if frames else 0


def _context_event(widget):
    from PySide6.QtGui import QContextMenuEvent

    pos = widget.rect().center()
    return QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, widget.mapToGlobal(pos))


def test_playing_sends_the_shown_pattern_to_jack(jack, jack_window, qtbot, tmp_path) -> None:
    w = jack_window
    c = w.controller
    assert jack.wait_port("groovefader:groovefader")
    rec = Recorder(jack, "groovefader:groovefader", tmp_path / "rec.jsonl")
    try:
        assert rec.wait_connected()
        c.transport.set(tempo_bpm=240.0, swing=0.0)
        w.transport.play_button.click()
        qtbot.waitUntil(lambda: w.grid._playhead is not None, timeout=10_000)
        # one full 2-bar loop at 240 BPM = 2 s of the server's frames, which can run slower
        # than the wall clock on a loaded machine: wait for a loop's worth of notes
        qtbot.waitUntil(lambda: len(_note_ons(rec.events())) >= c.pattern.num_hits, timeout=20_000)
        w.transport.play_button.click()
        qtbot.waitUntil(lambda: not c.transport.playing, timeout=5_000)
        qtbot.wait(300)
    finally:
        events = rec.stop()
    note_ons = [m for _f, m in _note_ons(events)]
    notes_map = c.transport["note_map"]
    pattern = c.pattern
    expected_notes = {notes_map.note(v) for v in range(9) if pattern.hits[:, v].any()}
    assert note_ons, "nothing arrived at the JACK client"
    assert {m[1] for m in note_ons} <= expected_notes
    # at least one loop's worth of hits arrived
    assert len(note_ons) >= pattern.num_hits


def test_density_knob_changes_the_notes_arriving_at_jack(jack, jack_window, qtbot, tmp_path) -> None:
    """Turning density up makes the *playing* pattern denser: counted at a JACK client."""
    w = jack_window
    c = w.controller
    assert jack.wait_port("groovefader:groovefader")
    rec = Recorder(jack, "groovefader:groovefader", tmp_path / "rec.jsonl")
    knob = w.knobs.knobs["density"]
    # one 2-bar loop of 16ths at 300 BPM = 1.6 s of the server's frames: the sequencer times
    # notes by them on JACK, and they can run slower than the wall clock on a loaded machine,
    # so the notes are counted over two loops of frames, not of wall-clock time
    loop_frames = round(32 * 60 / (300.0 * 4) * jack.rate)
    windows = {}
    try:
        assert rec.wait_connected()
        c.transport.set(tempo_bpm=300.0, quantize="step")
        w.transport.play_button.click()
        for name, value in (("low", knob.low), ("high", knob.high)):
            with qtbot.waitSignal(c.patternChanged, timeout=10_000):
                c.set_knob("density", value)  # what a knob drag ends in (dragging is tested elsewhere)
            qtbot.wait(300)  # the change takes effect at the next step; let it settle
            start = time.perf_counter_ns()
            qtbot.waitUntil(lambda start=start: _frames_since(rec.events(), start) > 2 * loop_frames + 2000,
                            timeout=20_000)
            windows[name] = (start, c.pattern)
        w.transport.play_button.click()
        qtbot.wait(300)
    finally:
        events = rec.stop()
    counts = {}
    for name, (start, pattern) in windows.items():
        later = _note_ons([e for e in events if e[2] >= start])
        first = later[0][0]  # the window starts on a note, as the comment below says
        ons = [m for f, m in later if f < first + 2 * loop_frames]
        counts[name] = len(ons)
        # two loops of the pattern from a note on: exact but for notes a period late at the edge
        assert abs(len(ons) - 2 * pattern.num_hits) <= max(4, pattern.num_hits // 8), (name, len(ons))
    assert windows["high"][1].num_hits > windows["low"][1].num_hits
    assert counts["high"] > counts["low"]


def test_transport_controls_reach_the_sequencer(jack, jack_window, qtbot) -> None:
    """Tempo, swing, groove, velocity and note map set in the widgets become the sequencer's
    controls; the clock source comes back in the clock process's own status."""
    from engine.music.drums import NOTE_MAP_PRESETS

    w = jack_window
    link = w.controller.transport.link
    qtbot.waitUntil(lambda: link._seq is not None, timeout=20_000)
    seq = link._seq
    t = w.transport
    t.tempo.setValue(97.0)
    t.swing.setValue(25)
    t.groove.setValue(40)
    t.velocity.setValue(150)
    next(a for a in w.actions.note_maps.actions() if a.text() == "Roland TD").trigger()
    want = {"tempo_bpm": 97.0, "swing": 0.25, "groove": 0.4, "velocity_scale": 1.5}

    def applied() -> bool:
        ctl = seq.controls
        return (all(abs(getattr(ctl, k) - v) < 1e-9 for k, v in want.items())
                and ctl.note_map == NOTE_MAP_PRESETS["Roland TD"])

    qtbot.waitUntil(applied, timeout=10_000)
    qtbot.waitUntil(lambda: seq.status().bpm == 97.0, timeout=10_000)  # the clock process took it
    t.clock.setCurrentText("external")
    qtbot.waitUntil(lambda: seq.status().clock_source == "external", timeout=10_000)
    t.clock.setCurrentText("internal")
    qtbot.waitUntil(lambda: seq.status().clock_source == "internal", timeout=10_000)
