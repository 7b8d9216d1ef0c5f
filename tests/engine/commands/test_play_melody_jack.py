"""Both lanes against a real JACK server: what a receiving client in another process records.

Channels, pitches, note lengths and the phase of a 4-bar melody against 2-bar drums (to the
frame on the sample-accurate path), transpose at play time, and ``groovefader play --melody``
stopped by SIGTERM or Ctrl-C with no note left sounding on either channel.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from engine.music.drums import Voice
from engine.music.melody import NO_EVENT, NOTE_OFF, Melody
from engine.realtime.melody_lane import MelodyControls
from engine.realtime.steps import Controls
from tests.engine.commands.test_play_jack import interrupt_after_notes, play_cli, start_sequencer
from tests.support.jack_server import (
    blind_share,
    on_frame,
    pairing_context,
    skipped_spans,
    unheard_pairing_problems,
)
from tests.support.patterns import pattern_from_cells

pytestmark = pytest.mark.jack

STEP_FRAMES_120 = 6000  # a 16th at 120 BPM and 48 kHz


def heard_and_paired(rec) -> list[tuple[int, tuple[int, ...], int]]:
    """Stop ``rec`` and return what it heard, every note paired. A callback of the recorder's
    own that ran twice (a loaded machine) is dropped; a cycle it missed excuses only what was
    due inside it (its blind spans); every other pairing problem fails, with its context."""
    rec.stop()
    events, blind = rec.heard_events(), rec.blind_spans()
    problems = unheard_pairing_problems(events, blind)
    assert problems == [], (problems, blind, pairing_context(events, problems))
    return events


def kicks_on_beats():
    """2 bars: a kick on every quarter."""
    return pattern_from_cells({(s, Voice.KICK): (100 / 127, 0.0) for s in range(0, 32, 4)})


def four_bars() -> Melody:
    """4 bars: C held a half bar, a rest, D E (quarters), G held over a bar line, then A B C'."""
    ev = [NO_EVENT] * 64
    for step, pitch in [(0, 60), (12, 62), (16, 64), (20, 67), (40, 69), (48, 71), (56, 72)]:
        ev[step] = pitch
    ev[8] = NOTE_OFF
    return Melody(ev)


EXPECTED = [(0, 8, 60), (12, 16, 62), (16, 20, 64), (20, 40, 67), (40, 48, 69), (48, 56, 71), (56, 64, 72)]


def notes_by_channel(events, channel):
    """``[(on_frame, off_frame, pitch, velocity)]`` of one channel, paired in order."""
    open_: dict[int, tuple[int, int]] = {}
    out = []
    for frame, data, _ in events:
        status, ch = data[0] & 0xF0, data[0] & 0x0F
        if ch != channel or status not in (0x80, 0x90):
            continue
        if status == 0x90 and data[2] > 0:
            open_[data[1]] = (frame, data[2])
        elif data[1] in open_:
            on, vel = open_.pop(data[1])
            out.append((on, frame, data[1], vel))
    return out


def test_both_lanes_channels_pitches_lengths_and_phase_to_the_frame(jack_server, port_name, recorder_factory):
    seq, rec = start_sequencer(jack_server, port_name, recorder_factory, sample_accurate=True,
                               controls=Controls(tempo_bpm=120, groove=0.0),
                               melody_controls=MelodyControls(channel=2, transpose=-5, velocity=80))
    try:
        seq.set_pattern(kicks_on_beats())
        seq.set_melody(four_bars())
        seq.play()
        assert seq.wait_status(lambda s: s.step >= 64 + 22, 30)  # into the melody's second loop
        seq.stop()
        stats = seq.sync().stats
    finally:
        seq.close()
    events = heard_and_paired(rec)
    kicks = notes_by_channel(events, 9)
    melody = notes_by_channel(events, 2)
    assert {p for _, _, p, _ in kicks} == {36} and {v for *_, v in melody} == {80}
    origin = kicks[0][0]  # step 0 of the song, in the server's frames
    steps = [((on - origin) / STEP_FRAMES_120, (off - origin) / STEP_FRAMES_120, p)
             for on, off, p, _ in melody]
    want = [(s, e, p - 5) for s, e, p in EXPECTED]
    want += [(s + 64, e + 64, p) for s, e, p in want if s + 64 < 64 + 22]
    # on and off to the frame: lengths from the encoding, the 4-bar loop against 2-bar drums
    assert steps[:len(want) - 1] == want[:-1]
    assert steps[len(want) - 1][:1] == want[-1][:1] and steps[len(want) - 1][2] == want[-1][2]
    # common steps (the melody's onsets on a quarter) land on the very frame of the kick there
    kick_frames = {on for on, *_ in kicks}
    on_beats = [on for on, _, _, _ in melody if (on - origin) % (4 * STEP_FRAMES_120) == 0]
    assert on_beats and set(on_beats) <= kick_frames
    assert stats["sent"]["on"] == len(kicks) + len(melody)


def test_transpose_and_octave_change_mid_play_moves_every_later_pitch(jack_server, port_name,
                                                                     recorder_factory):
    seq, rec = start_sequencer(jack_server, port_name, recorder_factory,
                               controls=Controls(tempo_bpm=300, groove=0.0))
    try:
        seq.set_melody(four_bars())
        seq.play()
        # two steps into the second loop's C (steps 64-72), not on its first step: the
        # report's step is the clock's time, and there the change sometimes beat the C
        assert seq.wait_status(lambda s: s.step >= 66, 30)
        seq.set_melody_controls(MelodyControls(transpose=3, octave=-1))
        assert seq.wait_status(lambda s: s.step >= 64 + 64 + 4, 30)
        seq.stop()
        seq.sync()
    finally:
        seq.close()
    events = heard_and_paired(rec)
    pitches = [p for _, _, p, _ in notes_by_channel(events, 0)]
    written = [p for *_, p in EXPECTED]
    # changed while the second loop's C sounded: that C and every note before it as
    # written, every note from the change on moved (none changed pitch while it sounded:
    # the pairs above). The change lands at the next note, the D, unless a loaded machine
    # held the command longer than those 10 steps; then at a later one, never within a loop.
    played = written * 3
    switch = next((i for i in range(len(pitches)) if pitches[i] != played[i]), len(pitches))
    assert 8 <= switch <= 13, pitches
    assert pitches == played[:switch] + [p + 3 - 12 for p in played[switch:len(pitches)]], pitches


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_play_melody_cli_interrupted_leaves_no_stuck_note_on_either_channel(jack_server, recorder_factory,
                                                                         tmp_path, how):
    clip = tmp_path / "tune.mid"
    four_bars().write_midi(clip)
    rec = recorder_factory(jack_server, None)
    proc = play_cli(rec.port, "--melody-clip", str(clip), "--key", "G", "--melody-channel", "4",
                    "--start-delay", "0.5")
    out, err = interrupt_after_notes(proc, rec, 10, how)  # the melody's G sounds for a bar here
    assert proc.returncode == 0, err
    time.sleep(0.2)
    events = heard_and_paired(rec)
    msgs = [e[1] for e in events]
    melody = notes_by_channel(events, 3)
    assert melody and [p for *_, p, _ in melody] == [p - 5 for *_, p in EXPECTED][:len(melody)]
    assert (0xB9, 123, 0) in msgs[-5:] and (0xB3, 123, 0) in msgs[-5:]
    lanes = json.loads(out)["stats"]["lanes"]
    assert lanes["melody"]["count"] > 0 and lanes["drums"]["count"] > 0
    assert np.isfinite(lanes["melody"]["p99_ms"])


@pytest.mark.slow
def test_the_lanes_stay_in_phase_to_the_frame_for_half_a_minute(jack_server, port_name, recorder_factory):
    """9 loops of the 4-bar tune against 18 of the 2-bar drums at 300 BPM: every note of both
    lanes on its own grid frame and every tune note at its place in the phrase (the 10-minute
    run is bench/lanes_timing.py's)."""
    step_frames = 2400  # a 16th at 300 BPM and 48 kHz
    seq, rec = start_sequencer(jack_server, port_name, recorder_factory, sample_accurate=True,
                               controls=Controls(tempo_bpm=300, groove=0.0))
    try:
        seq.set_pattern(kicks_on_beats())
        seq.set_melody(four_bars())
        seq.play()
        # on a miss: where the clock got to, whether it lives, and whether the server does
        assert seq.wait_status(lambda s: s.step >= 9 * 64, 60), (seq.status(), jack_server.proc.poll())
        seq.stop()
        stats = seq.sync().stats
    finally:
        seq.close()
    events = heard_and_paired(rec)
    # A cycle the server skipped or ran a period late (the output lists them) sends what
    # fell in it at the next cycle's start: those notes are late by the server, not by us.
    skipped = skipped_spans(stats, jack_server.period)

    kicks = notes_by_channel(events, 9)
    origin = kicks[0][0]
    off_grid = [(i, on - origin - 4 * step_frames * i) for i, (on, *_) in enumerate(kicks)
                if not on_frame(on, origin + 4 * step_frames * i, skipped)]
    assert not off_grid, (len(kicks), off_grid[:10], skipped[:10])  # (kick, frames off its beat)
    starts = {s: p for s, _, p in EXPECTED}
    ends = {s: e for s, e, _ in EXPECTED}
    melody = notes_by_channel(events, 0)
    assert len(melody) >= 9 * len(EXPECTED)
    excused = 0
    for on, off, pitch, _ in melody[:-1]:  # the last one was cut by the stop
        step = round((on - origin) / step_frames)
        due_on, due_off = origin + step * step_frames, origin + ends[step % 64] * step_frames + \
            (step - step % 64) * step_frames
        assert on_frame(on, due_on, skipped) and starts[step % 64] == pitch, (on - due_on, skipped[:10])
        assert on_frame(off, due_off, skipped), (off - due_off, skipped[:10])
        excused += (on, off) != (due_on, due_off)
    excused += sum(1 for i, (on, *_) in enumerate(kicks) if on != origin + 4 * step_frames * i)
    assert excused <= 3, (excused, skipped[:10])  # a server that keeps skipping measures nothing


@pytest.mark.parametrize("sample_accurate", [True, False], ids=["sample-accurate", "rtmidi"])
def test_each_lane_on_its_own_port(jack_server, port_name, recorder_factory, sample_accurate):
    """Drums, clock and transport at one recorder, the melody at another: each port carries its
    own lane only, and on the sample-accurate path (two JACK clients, one frame clock) the
    melody's notes on a beat land on the very frame of the kick at the other port."""
    melody_port = f"{port_name}-mel"
    mel_rec = recorder_factory(jack_server, f"{melody_port}:{melody_port}")
    seq, rec = start_sequencer(jack_server, port_name, recorder_factory, sample_accurate=sample_accurate,
                               controls=Controls(tempo_bpm=120, groove=0.0),
                               melody_controls=MelodyControls(channel=2), melody_port=melody_port)
    assert mel_rec.wait_connected(10), jack_server.ports(connections=True)
    assert seq.status().melody_port_state == "ok"
    try:
        seq.set_pattern(kicks_on_beats())
        seq.set_melody(four_bars())
        seq.play()
        assert seq.wait_status(lambda s: s.step >= 40, 30)  # a melody note (G) sounds now
        seq.stop()
        stats = seq.sync().stats
    finally:
        seq.close()
    drums, melody = heard_and_paired(rec), heard_and_paired(mel_rec)
    assert {d[0] & 0x0F for _, d, _ in drums if d[0] < 0xF0} == {9}
    assert {d[0] & 0x0F for _, d, _ in melody} == {2}  # no clock or transport either
    assert (0xF8,) in [d for _, d, _ in drums] and (0xB2, 123, 0) in [d for _, d, _ in melody[-3:]]
    notes = notes_by_channel(melody, 2)
    assert [p for *_, p, _ in notes] == [p for *_, p in EXPECTED][:len(notes)] and len(notes) >= 4
    assert stats["sent"]["on"] == len(notes_by_channel(drums, 9)) + len(notes)
    if sample_accurate:
        # a cycle the server skipped or ran late sends what fell in it at the next cycle's
        # start, at both ports alike (one frame clock): late by the server, not by us
        skipped = skipped_spans(stats, jack_server.period)
        kicks = notes_by_channel(drums, 9)
        origin = kicks[0][0]
        kick_frames = {on for on, *_ in kicks}
        on_beats = 0
        for on, off, pitch, _ in notes[:-1]:  # to the frame, as on one port
            start, end = next((s, e) for s, e, p in EXPECTED if p == pitch)
            due_on, due_off = origin + start * STEP_FRAMES_120, origin + end * STEP_FRAMES_120
            assert on_frame(on, due_on, skipped) and on_frame(off, due_off, skipped), \
                (pitch, on - due_on, off - due_off, skipped[:10])
            if start % 4 == 0:  # on a beat: the very frame of the kick at the other port
                assert on in kick_frames, (pitch, on - origin, skipped[:10])
                on_beats += 1
        assert on_beats >= 3, (on_beats, [(on - origin, p) for on, _, p, _ in notes], skipped[:10])


@pytest.mark.parametrize("path", [[], ["--sample-accurate"]], ids=["rtmidi", "sample-accurate"])
def test_play_cli_melody_port_sigterm_ends_notes_on_both_ports(jack_server, recorder_factory, tmp_path, path):
    clip = tmp_path / "tune.mid"
    four_bars().write_midi(clip)
    rec, mel_rec = recorder_factory(jack_server, None), recorder_factory(jack_server, None)
    proc = play_cli(rec.port, "--melody-clip", str(clip), "--melody-port", mel_rec.port,
                    "--start-delay", "0.5", *path)
    out, err = interrupt_after_notes(proc, rec, 10, "SIGTERM")  # the melody's G sounds for a bar here
    assert proc.returncode == 0, err
    time.sleep(0.2)
    rec.stop(), mel_rec.stop()
    drum_events, melody_events = rec.heard_events(), mel_rec.heard_events()
    drums, melody = [e[1] for e in drum_events], [e[1] for e in melody_events]
    # every note paired as received, but for what a recorder on an overloaded machine did
    # not hear (a cycle its callback missed) or heard twice (a cycle replayed), which may
    # cover 1 % of what it ran for at most
    for events, recorder in ((drum_events, rec), (melody_events, mel_rec)):
        blind = recorder.blind_spans()
        problems = unheard_pairing_problems(events, blind)
        assert problems == [] and blind_share(recorder) <= 0.01, \
            (problems, blind, blind_share(recorder), pairing_context(events, problems, 16))
    assert any(m[0] == 0x90 and m[2] > 0 for m in melody) and not any(m[0] & 0x0F == 0 for m in drums
                                                                        if m[0] < 0xF0)
    assert melody[-1] == (0xB0, 123, 0) and (0xB9, 123, 0) in drums[-4:]
    lanes = json.loads(out)["stats"]["lanes"]
    assert lanes["melody"]["count"] > 0 and lanes["drums"]["count"] > 0


@pytest.mark.parametrize("sample_accurate", [True, False], ids=["sample-accurate", "rtmidi"])
def test_the_melody_port_lost_alone_the_drums_play_on_and_it_reconnects(jack_server, port_name,
                                                                        recorder_factory, tmp_path,
                                                                        sample_accurate):
    """The melody on an existing input (a synth's, here a recorder's) that goes away: the
    melody port is in error while the drums play on, and it reconnects when the input is back."""
    from tests.support.jack_server import Recorder

    synth = f"synth-{port_name}"
    first = Recorder(jack_server, None, tmp_path / "synth1.jsonl", name=synth)
    seq, rec = start_sequencer(jack_server, port_name, recorder_factory, sample_accurate=sample_accurate,
                               controls=Controls(tempo_bpm=300, groove=0.0))
    try:
        seq.set_pattern(kicks_on_beats())
        seq.set_melody(four_bars())
        seq.set_melody_port(first.port, virtual=False)
        seq.play()
        assert seq.wait_status(lambda s: s.melody_port_state == "ok" and s.step >= 16, 30)
        first.stop()  # the synth quits
        assert seq.wait_status(lambda s: s.melody_port_state == "error", 10)
        lost_at = seq.status().step
        assert seq.wait_status(lambda s: s.step >= lost_at + 16, 20)
        second = Recorder(jack_server, None, tmp_path / "synth2.jsonl", name=synth)  # back
        assert seq.wait_status(lambda s: s.melody_port_state == "ok", 10), seq.status().melody_port_error
        back_at = seq.status().step
        assert seq.wait_status(lambda s: s.step >= back_at + 24, 20)
        seq.stop()
        seq.sync()
    finally:
        seq.close()
    drums, melody = heard_and_paired(rec), heard_and_paired(second)
    kicks = notes_by_channel(drums, 9)
    gaps = np.diff([on for on, *_ in kicks]) / STEP_FRAMES_120 / 2.5  # steps at 300 BPM
    assert len(kicks) >= 12 and gaps.max() <= 4.5  # a kick every beat, the melody's loss or not
    assert notes_by_channel(melody, 0) and not notes_by_channel(drums, 0)


def test_moving_the_melody_between_ports_while_playing_never_holds_the_drums(jack_server, port_name,
                                                                            recorder_factory):
    """On the sample-accurate path the melody moves to a port of its own, to another, and back
    to the drums' while 16th hats play: every hat still lands on its very frame (the drums'
    port is pulled all along; opening and closing the melody's ports waits for JACK cycles,
    never on the drums), and every melody note ends on the port that started it."""
    names = [f"{port_name}-m{i}" for i in range(3)]
    mel_recs = [recorder_factory(jack_server, f"{n}:{n}") for n in names]
    hats = pattern_from_cells({(s, Voice.CLOSED_HAT): (90 / 127, 0.0) for s in range(32)})
    seq, rec = start_sequencer(jack_server, port_name, recorder_factory, sample_accurate=True,
                               controls=Controls(tempo_bpm=240, groove=0.0),
                               melody_controls=MelodyControls(channel=2))
    try:
        seq.set_pattern(hats)
        seq.set_melody(four_bars())
        seq.play()
        assert seq.wait_status(lambda s: s.step >= 8, 20)
        for name, mel_rec in zip(names, mel_recs, strict=True):
            seq.set_melody_port(name)
            assert mel_rec.wait_connected(10), jack_server.ports(connections=True)
            assert seq.wait_status(lambda s: s.melody_port_state == "ok", 10), seq.status().melody_port_error
            at = seq.status().step
            # 24 steps: the melody's longest stretch without a note-on is 20 (a held G)
            assert seq.wait_status(lambda s, at=at: s.step >= at + 24, 20)
        seq.set_melody_port(None)  # back to the drums' port
        at = seq.status().step
        assert seq.wait_status(lambda s: s.step >= at + 12, 20)
        seq.stop()
        stats = seq.sync().stats
    finally:
        seq.close()
    drums = heard_and_paired(rec)
    melodies = [heard_and_paired(r) for r in mel_recs]
    assert all(notes_by_channel(m, 2) for m in melodies)  # each port played the melody a while
    skipped = skipped_spans(stats, jack_server.period)
    step = STEP_FRAMES_120 // 2  # a 16th at 240 BPM
    ons = [on for on, *_ in notes_by_channel(drums, 9)]
    origin = ons[0]
    late = [(on - origin) / step for on in ons
            if not on_frame(on, origin + round((on - origin) / step) * step, skipped)]
    assert len(ons) > 50 and late == [], (late[:10], skipped[:10])
