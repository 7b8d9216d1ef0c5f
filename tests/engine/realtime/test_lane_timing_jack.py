"""Both lanes through rtmidi on JACK's frame clock, as a receiving client stamps them.

rtmidi sends "now": JACK places a message at the first period boundary whose process callback
reads it. Each note should land on the first boundary at or after its own frame: never early,
less than a period late. A tempo whose step is not a whole number of periods puts the steps at
every phase of the period, so some fall just after a boundary (sent there, a note raced that
period's callback) and some just before one (a send a few tens of µs late missed it).
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.music.drums import NUM_VOICES, Voice
from engine.music.melody import NO_EVENT, Melody
from engine.music.pattern import Pattern
from engine.realtime.sequencer import Sequencer
from engine.realtime.steps import Controls

pytestmark = pytest.mark.jack

RATE = 48_000
TEMPO_BPM = 233.0  # 3,090.1 frames a step: 18.1 frames on per step, every phase of a 32-frame period
STEP_FRAMES = RATE * 60 / TEMPO_BPM / 4
STEPS = 96  # about 6 s
DRUM_STATUS, MELODY_STATUS = 0x99, 0x90


def hats_on_every_step() -> Pattern:
    hits = np.zeros((16, NUM_VOICES), bool)
    vel = np.zeros((16, NUM_VOICES), np.float32)
    hits[:, Voice.CLOSED_HAT], vel[:, Voice.CLOSED_HAT] = True, 0.6
    return Pattern(hits, vel)


def melody_on_odd_steps() -> Melody:
    """A note on every other step, on the steps the drums' hats share with it."""
    ev = [NO_EVENT] * 16
    for step in range(1, 16, 2):
        ev[step] = 60 + step
    return Melody(ev)


def landings(frames: list[int]) -> np.ndarray:
    """Where each note landed against its own grid point, up to one constant: a note's frame
    minus its step's place on the nominal grid (steps counted from the first note)."""
    f = np.asarray(frames, np.float64)
    steps = np.rint((f - f[0]) / STEP_FRAMES)
    return f - steps * STEP_FRAMES


def share_in_one_period(offsets: np.ndarray, period: int) -> float:
    """The largest share of ``offsets`` inside one window a period wide (+1 frame of rounding):
    1.0 when every note landed within a period after its own frame, as they should."""
    o = np.sort(offsets)
    ends = np.searchsorted(o, o + period + 1, side="right")
    return float((ends - np.arange(len(o))).max() / len(o))


def test_each_note_lands_on_the_first_period_boundary_after_its_frame(jack_server, port_name,
                                                                      recorder_factory):
    rec = recorder_factory(jack_server, f"{port_name}:{port_name}")
    seq = Sequencer(port_name, "jack", time_base="jack",
                    controls=Controls(tempo_bpm=TEMPO_BPM, groove=0.0))
    try:
        assert seq.status().port_state == "ok", seq.status().error
        assert rec.wait_connected(10), jack_server.ports(connections=True)
        seq.set_pattern(hats_on_every_step())
        seq.set_melody(melody_on_odd_steps(), "step")
        seq.play()
        assert seq.wait_status(lambda s: s.step >= STEPS, 30)
        seq.stop()
        stats = seq.sync().stats
    finally:
        seq.close()
    events = rec.stop()
    assert stats["time_base"] == "jack"
    drums = [f for f, m, _ in events if m[0] == DRUM_STATUS and m[2] > 0]
    melody = [f for f, m, _ in events if m[0] == MELODY_STATUS and m[2] > 0]
    assert len(drums) >= STEPS - 8 and len(melody) >= STEPS // 2 - 4
    assert {f % jack_server.period for f in drums + melody} == {drums[0] % jack_server.period}
    offsets = landings(drums)
    # Sent when the wall clock said their frames came, 58-65 % of the notes landed in one
    # period's span here on this (synchronous, real-time) test server and 10-11 % on one
    # without real-time priority: the server's cycles ran up to ms behind or ahead of the
    # wall clock's reckoning, and notes near a boundary raced its callback. Handed over by
    # the server's own cycle counter: 86-100 % and 91-92 %, the rest a period late where
    # the server ran its cycles back to back to catch up (0.4-0.7 % slow on a loaded machine).
    share = 0.8
    assert share_in_one_period(offsets, jack_server.period) >= share, np.sort(offsets - offsets.min())
    # the melody's notes land with the drums' of their step, on the same boundary
    by_frame = set(drums)
    assert np.mean([f in by_frame for f in melody]) >= share
