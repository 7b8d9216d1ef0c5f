"""The melody panel against a real JACK server: what its Randomize and key do to the notes a
JACK client in another process receives while both lanes play."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app import melody_lane as lane_module
from tests.app.test_midi_jack import jack  # noqa: F401  (the fixture)
from tests.support.jack_server import JACKD, Recorder, check_note_pairs, pairing_context
from tests.support.melody import memorised_checkpoint

pytestmark = [pytest.mark.jack, pytest.mark.skipif(JACKD is None, reason="jackd not installed")]
pytest.importorskip("torch")


@pytest.fixture
def melody_jack_window(jack, make_window, checkpoint, monkeypatch, qtbot, tmp_path):  # noqa: F811
    ckpt = memorised_checkpoint(str(tmp_path))
    monkeypatch.setattr(lane_module, "default_melody_checkpoint", lambda: ckpt)
    w = make_window(checkpoint, link=True, load=False, midi_api="jack")
    with qtbot.waitSignal(w.melody.lane.melodyChanged, timeout=90_000):
        w.controller.load_model(checkpoint)
    qtbot.waitUntil(lambda: w.transport.status.text().startswith("MIDI out"), timeout=20_000)
    return w


def _melody_ons(events, since_ns: int = 0, channel: int = 0) -> list[int]:
    return [m[1] for _f, m, ns in events if m[0] == 0x90 | channel and m[2] > 0 and ns >= since_ns]


def _is_run_of(seen: list[int], loop: list[int]) -> bool:
    """``seen`` occurs as consecutive notes of ``loop`` played over and over."""
    long = loop * (len(seen) // max(1, len(loop)) + 2)
    return any(long[i:i + len(seen)] == seen for i in range(len(loop)))


def test_randomize_and_key_change_the_notes_at_the_client(jack, melody_jack_window, qtbot,  # noqa: F811
                                                            tmp_path: Path) -> None:
    w = melody_jack_window
    c, panel, lane = w.controller, w.melody.panel, w.melody.lane
    assert jack.wait_port("groovefader:groovefader")
    rec = Recorder(jack, "groovefader:groovefader", tmp_path / "rec.jsonl")
    try:
        assert rec.wait_connected()
        c.transport.set(tempo_bpm=300.0)
        panel.quantize.setCurrentIndex(panel.quantize.findData("step"))
        w.transport.play_button.click()
        qtbot.waitUntil(lambda: len(_melody_ons(rec.events())) >= 6, timeout=20_000)
        before = [p for *_, p in lane.played().notes()]
        for _ in range(8):  # the tiny model knows two tunes: draw until the other one comes
            with qtbot.waitSignal(lane.melodyChanged, timeout=10_000):
                panel.randomize_button.click()
            if lane.melody is not None and [p for *_, p in lane.played().notes()] != before:
                break
        after = [p for *_, p in lane.played().notes()]
        assert after != before
        changed_at = time.perf_counter_ns() + 300_000_000  # notes struck from then on are the new tune's
        qtbot.waitUntil(lambda: len(_melody_ons(rec.events(), changed_at)) >= 8, timeout=20_000)
        key_changed = time.perf_counter_ns()
        panel.key.setCurrentIndex(panel.key.findData("D"))
        keyed_at = time.perf_counter_ns() + 300_000_000
        qtbot.waitUntil(lambda: len(_melody_ons(rec.events(), keyed_at)) >= 8, timeout=20_000)
        w.transport.play_button.click()
        qtbot.waitUntil(lambda: not c.transport.playing, timeout=5_000)
        qtbot.wait(300)
    finally:
        events = rec.stop()
    messages = [m for _f, m, _ns in events]
    problems = check_note_pairs(messages)
    assert problems == [], (problems, pairing_context(messages, problems))
    assert _is_run_of(_melody_ons(events)[:4], before)
    new = _melody_ons(events, changed_at)
    new = new[:len(new) - len(_melody_ons(events, key_changed))]  # before the key change
    assert len(new) >= 6 and _is_run_of(new, after) and not _is_run_of(new, before)
    keyed = _melody_ons(events, keyed_at)
    assert _is_run_of(keyed, [p + 2 for p in after])  # every pitch up a whole tone
    drums = [m for _f, m, _ns in events if m[0] == 0x99 and m[2] > 0]
    assert drums, "the drum lane played beside the melody"


def test_the_panel_moves_the_melody_to_a_port_of_its_own(jack, melody_jack_window, qtbot,  # noqa: F811
                                                         tmp_path: Path) -> None:
    """Typed into the panel's Port field: the melody plays on that virtual port (its note ended
    on the drums' port as it moved), the drums and clock stay, and the panel says it is ok."""
    w = melody_jack_window
    c, panel = w.controller, w.melody.panel
    own = f"gf-mel-{time.time_ns() % 10**6}"
    assert jack.wait_port("groovefader:groovefader")
    drums_rec = Recorder(jack, "groovefader:groovefader", tmp_path / "drums.jsonl")
    mel_rec = Recorder(jack, f"{own}:{own}", tmp_path / "melody.jsonl")
    try:
        assert drums_rec.wait_connected()
        c.transport.set(tempo_bpm=300.0)
        w.transport.play_button.click()
        qtbot.waitUntil(lambda: len(_melody_ons(drums_rec.events())) >= 3, timeout=20_000)
        panel.port.setText(own)
        panel.port.editingFinished.emit()
        assert mel_rec.wait_connected(20)
        qtbot.waitUntil(lambda: panel.port_status.text() == f"Melody out '{own}' ok", timeout=10_000)
        moved_at = time.perf_counter_ns()
        qtbot.waitUntil(lambda: len(_melody_ons(mel_rec.events())) >= 6, timeout=20_000)
        w.transport.play_button.click()
        qtbot.waitUntil(lambda: not c.transport.playing, timeout=5_000)
        # the stop's CC 123 at both recorders (a loaded machine delivers them late)
        for rec, cc in ((mel_rec, (0xB0, 123, 0)), (drums_rec, (0xB9, 123, 0))):
            qtbot.waitUntil(lambda rec=rec, cc=cc: cc in [m for _f, m, _ns in rec.events()], timeout=10_000)
    finally:
        drums, melody = drums_rec.stop(), mel_rec.stop()
    assert w.melody.lane.settings()["lane"]["port"] == own  # kept with the window's settings
    # the recorder connects to the new port a little after it appears: from its first note-on
    first = next(i for i, (_f, m, _ns) in enumerate(melody) if m[0] == 0x90 and m[2] > 0)
    for events in (drums, melody[first:]):
        assert check_note_pairs([m for _f, m, _ns in events]) == []
    assert not _melody_ons(drums, moved_at + 200_000_000)  # no melody note on the drums' port after
    assert {m[0] & 0x0F for _f, m, _ns in melody} == {0} and (0xB0, 123, 0) in [m for _f, m, _ns in melody]
    assert [m for _f, m, _ns in drums if m[0] == 0x99 and m[2] > 0 and _ns > moved_at]
