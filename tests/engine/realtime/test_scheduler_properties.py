"""Property-based tests (hypothesis) of the scheduler: whatever a musician does in whatever
order — patterns swapped at any boundary, tempo, swing, groove, note map and channel
changes, start, stop, continue — every message is valid MIDI, nothing is sent before its
time, and after a stop no note is left sounding."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine.music.drums import GM_NOTE_MAP, NOTE_MAP_PRESETS, NUM_VOICES
from engine.music.pattern import Pattern
from engine.realtime.scheduler import Scheduler
from engine.realtime.steps import Controls

PROFILE = settings(max_examples=60, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow])
NOTE_MAPS = [GM_NOTE_MAP, *NOTE_MAP_PRESETS.values()]


@st.composite
def patterns(draw) -> Pattern:
    bars = draw(st.integers(1, 2))
    shape = (bars * 16, NUM_VOICES)
    hits = draw(hnp.arrays(np.bool_, shape, elements=st.booleans()))
    vel = draw(hnp.arrays(np.float32, shape, elements=st.floats(0.0, 1.0, width=32)))
    off = draw(hnp.arrays(np.float32, shape, elements=st.floats(-0.5, 0.5, width=32)))
    return Pattern(hits, vel, off)


controls = st.builds(Controls, tempo_bpm=st.floats(30.0, 300.0), swing=st.floats(0.0, 0.75),
                     groove=st.floats(0.0, 1.0), velocity_scale=st.floats(0.0, 2.0),
                     note_map=st.sampled_from(NOTE_MAPS), channel=st.integers(0, 15),
                     muted_voices=st.frozensets(st.integers(0, NUM_VOICES - 1), max_size=3))
operations = st.lists(st.one_of(
    st.tuples(st.just("wait"), st.integers(0, 400_000_000)),  # up to 0.4 s
    st.tuples(st.just("pattern"), patterns(), st.sampled_from(["step", "beat", "bar"])),
    st.tuples(st.just("controls"), controls),
    st.tuples(st.just("start")), st.tuples(st.just("stop")), st.tuples(st.just("continue")),
), min_size=1, max_size=25)


@PROFILE
@given(patterns(), controls, operations, st.booleans())
def test_any_gesture_sequence_leaves_no_note_sounding(first, ctl, ops, clock_out) -> None:
    sched = Scheduler(ctl, clock_out=clock_out)
    sched.set_pattern(first)
    now = 1_000_000_000
    sounding: dict[tuple[int, int], int] = {}  # (channel, note) → note-ons not yet ended

    def drain(until: int) -> None:
        for item in sched.due(until):
            assert item.immediate or item.deadline_ns <= until
            status, *data = item.data
            assert 0x80 <= status <= 0xFF and all(0 <= b <= 0x7F for b in data)
            kind, channel = status & 0xF0, status & 0x0F
            if kind == 0x90 and data[1] > 0:
                sounding[channel, data[0]] = sounding.get((channel, data[0]), 0) + 1
            elif kind == 0x80 or (kind == 0x90 and data[1] == 0):
                if sounding.get((channel, data[0])):
                    sounding[channel, data[0]] -= 1
            elif kind == 0xB0 and data[0] == 123:  # all notes off on that channel
                for key in [k for k in sounding if k[0] == channel]:
                    sounding[key] = 0

    for op in ops:
        match op:
            case ("wait", ns):
                # the clock process wakes at each next deadline; here in a few hops
                end = now + ns
                while now < end:
                    wake = sched.next_wake_ns()
                    now = end if wake is None else min(end, max(now + 1, wake))
                    drain(now)
            case ("pattern", pattern, quantize):
                sched.set_pattern(pattern, quantize, now)
            case ("controls", new):
                sched.set_controls(new, now)
            case ("start",):
                sched.start(now)
            case ("stop",):
                sched.stop(now)
            case ("continue",):
                sched.continue_(now)
        drain(now)
    sched.stop(now)
    drain(now)
    assert sched.sounding == 0
    assert not any(sounding.values()), {k: v for k, v in sounding.items() if v}
    assert sched.due(now + 10**12) == []  # nothing left queued after a stop


@st.composite
def melodies(draw):
    from engine.music.melody import NO_EVENT, NOTE_OFF, Melody

    steps = 16 * draw(st.integers(1, 2))
    events = draw(st.lists(st.one_of(st.integers(48, 84), st.just(NOTE_OFF), st.just(NO_EVENT),
                                     st.just(NO_EVENT)), min_size=steps, max_size=steps))
    return Melody(events)


def _melody_controls():
    from engine.realtime.melody_lane import MelodyControls

    return st.builds(MelodyControls, channel=st.integers(0, 15), transpose=st.integers(-6, 5),
                     octave=st.integers(-2, 2), mute=st.booleans())


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(melodies(), st.floats(0.0, 0.75),
       st.lists(st.tuples(st.one_of(st.integers(1, 300_000_000),  # a wait, or to just before a step
                                    st.tuples(st.just("before step"), st.integers(0, 3_000_000))),
                          _melody_controls()), min_size=1, max_size=12))
def test_every_melody_note_on_obeys_the_lane_controls_of_its_moment(melody, swing, changes) -> None:
    """Mute, key, octave and channel changed at any moment, swing or not: no note-on goes out
    under controls it was made under but that no longer hold (a muted lane sounds nothing),
    and none is left sounding after a stop."""
    from engine.realtime.melody_lane import MELODY_VOICE, MelodyControls

    sched = Scheduler(Controls(tempo_bpm=120, swing=swing), melody_controls=MelodyControls(channel=2))
    sched.set_melody(melody)
    now = 1_000_000_000
    sched.start(now)
    current = sched.melody_controls
    sounding = 0

    def drain(until: int) -> None:
        nonlocal sounding
        for item in sched.due(until):
            if item.voice != MELODY_VOICE or item.kind not in ("on", "off"):
                continue
            status, pitch, *_ = item.data
            if item.kind == "on":
                assert not current.mute, "a muted lane sounded a note"
                assert status & 0x0F == current.channel
                sounding += 1
            else:
                sounding -= 1

    for wait, new in changes:
        if isinstance(wait, tuple):  # where a swung note is rendered and not yet sent
            grid = sched.step_deadline(sched.current_step(now) + 1)
            end = max(now + 1, grid - wait[1])
        else:
            end = now + wait
        while now < end:
            wake = sched.next_wake_ns()
            now = end if wake is None else min(end, max(now + 1, wake))
            drain(now)
        sched.set_melody_controls(new, now)
        current = new
        drain(now)
    sched.stop(now)
    drain(now)
    assert sounding == 0 and sched.sounding == 0
