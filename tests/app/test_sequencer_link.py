"""The link's typed commands reach a real sequencer (its clock process, no MIDI port) in
order, and a command that fails comes back as one line on ``error``."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from app.sequencer_link import SequencerLink
from engine.music.drums import NUM_VOICES, Voice
from engine.music.pattern import Pattern
from engine.realtime.messages import SetMelodyControls
from engine.realtime.sequencer import Sequencer
from engine.realtime.steps import Controls


def _beat() -> Pattern:
    hits = np.zeros((16, NUM_VOICES), bool)
    hits[0::4, Voice.KICK] = True
    return Pattern(hits)


@pytest.fixture
def link(qtbot):
    made: list[Sequencer] = []

    def factory(**_kwargs) -> Sequencer:
        made.append(Sequencer(port_name=None, realtime=False))
        return made[-1]

    link = SequencerLink(factory=factory)
    link.made = made
    statuses: list = []
    errors: list[str] = []
    link.statusChanged.connect(statuses.append)
    link.error.connect(errors.append)
    link.statuses, link.errors = statuses, errors
    yield link
    link.close()
    assert all(not s.status().alive for s in made)  # closing the link ends the clock process


def test_commands_reach_the_sequencer_in_order(link, qtbot):
    pattern = _beat()
    link.update_controls(tempo_bpm=200.0, swing=0.25)  # queued before the worker starts: kept
    link.set_pattern(pattern, "step")
    link.set_playing(True)
    assert link.last_pattern is pattern
    link.start()
    qtbot.waitUntil(lambda: any(s.playing and s.bpm == 200.0 for s in link.statuses), timeout=30_000)
    seq = link.made[0]
    assert seq.controls == Controls(tempo_bpm=200.0, swing=0.25)
    link.update_controls(groove=0.5)
    link.set_clock_source("internal")
    link.set_playing(False)
    qtbot.waitUntil(lambda: not link.statuses[-1].playing, timeout=10_000)
    assert seq.controls == Controls(tempo_bpm=200.0, swing=0.25, groove=0.5)
    assert link.errors == []


def test_a_failing_command_is_one_error_line_and_the_link_runs_on(link, qtbot):
    link.start()
    link.update_controls(swing=5.0)  # out of the sequencer's range: fails on the link's thread
    qtbot.waitUntil(lambda: bool(link.errors), timeout=30_000)
    assert link.errors[0].startswith("MIDI: update controls: swing must be a number in")
    assert "\n" not in link.errors[0]
    link.update_controls(tempo_bpm=90.0)
    qtbot.waitUntil(lambda: any(s.bpm == 90.0 for s in link.statuses), timeout=10_000)


def test_wrong_commands_are_refused_on_the_callers_thread(link):
    with pytest.raises(KeyError, match="not a sequencer control: tempo"):
        link.update_controls(tempo=120.0)
    with pytest.raises(ValueError, match="quantize"):
        link.set_pattern(_beat(), "verse")
    with pytest.raises(ValueError, match="clock source"):
        link.set_clock_source("midi")
    assert link.last_pattern is None


def test_listing_ports_without_the_backend_lists_nothing_and_raises_nothing(link, qtbot):
    link.start()
    with qtbot.waitSignal(link.portsListed, timeout=30_000) as listed:
        link.list_ports("winmm")  # python-rtmidi here has no Windows MultiMedia
    assert listed.args == [[], []]
    assert link.errors == []


def test_the_kit_on_jack_opens_the_output_sample_accurate_and_nowhere_else(monkeypatch):
    from app.sequencer_link import kit_frames

    assert kit_frames("jack", True)  # the kit on the MIDI port's frames
    assert not kit_frames("jack", False) and not kit_frames("alsa", True)
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("JACK_DEFAULT_SERVER", "some-server")  # the platform's default: JACK here
        assert kit_frames(None, True)


def test_a_sequencer_started_after_a_failed_start_plays_what_the_window_set_meanwhile(qtbot):
    """The clock process fails to start once (a busy machine at launch); the user picks the
    port again: the new sequencer gets the tempo, the groove, the melody settings and the
    play state the app set while there was none, not its defaults."""
    from engine.errors import PortError
    from engine.realtime.melody_lane import MelodyControls

    class Recording(Sequencer):
        def __init__(self, **_kwargs) -> None:
            super().__init__(port_name=None, realtime=False)
            self.patterns: list[Pattern] = []

        def set_pattern(self, pattern: Pattern, quantize: str = "step") -> None:
            self.patterns.append(pattern)
            super().set_pattern(pattern, quantize)

    made: list[Recording] = []

    def factory(**kwargs) -> Sequencer:
        if not made and not getattr(factory, "failed", False):
            factory.failed = True
            raise PortError("the sequencer clock process did not start")
        made.append(Recording(**kwargs))
        return made[-1]

    link = SequencerLink(factory=factory)
    statuses: list = []
    link.statusChanged.connect(statuses.append)
    try:
        link.start()
        qtbot.waitUntil(lambda: any(s.state == "error" for s in statuses), timeout=10_000)
        first, groove = _beat(), _beat()
        link.update_controls(tempo_bpm=90.0)
        link.set_pattern(first, "bar")
        link.update_controls(swing=0.2)
        link.set_pattern(groove, "bar")  # the latest groove is the one owed
        link.post_melody(SetMelodyControls(MelodyControls(channel=3, transpose=2)))
        link.set_playing(True)
        link.set_port("groovefader", None, True)  # the user picks the port again
        qtbot.waitUntil(lambda: any(s.playing for s in statuses), timeout=30_000)
        seq = made[0]
        assert seq.controls == Controls(tempo_bpm=90.0, swing=0.2)
        assert seq.patterns == [groove]
        assert seq.melody_controls == MelodyControls(channel=3, transpose=2)
        assert statuses[-1].bpm == 90.0
    finally:
        link.close()
    assert all(not s.status().alive for s in made)
