"""The clock loop playing both lanes against recording outputs (no MIDI server needed)."""

from __future__ import annotations

import time

from engine.ports import PortSpec
from engine.realtime.melody_lane import MelodyControls
from engine.realtime.messages import Close, SetMelody, SetMelodyControls, SetPattern, SetPort, Start, Stop
from engine.realtime.sequencer import Sequencer
from engine.realtime.steps import Controls
from tests.engine.realtime.test_clock_process import LoopHarness, beat, messages
from tests.support.jack_server import check_note_pairs
from tests.support.melody import melody_a


def test_loop_plays_both_lanes_reports_each_and_ends_both_on_stop():
    h = LoopHarness(Controls(tempo_bpm=300, groove=0.0))
    h.thread.start()
    h.commands.put(SetMelodyControls(MelodyControls(channel=2, transpose=2)))
    h.commands.put(SetMelody(melody_a(), "step"))
    h.commands.put(SetPattern(beat(), "step"))
    h.commands.put(Start())
    time.sleep(0.5)  # 50 ms steps: inside a melody note (4 steps = 200 ms each)
    h.commands.put(Stop())
    h.commands.put(Close())
    h.thread.join(5)
    sent = messages(h.outputs[0])
    melody_ons = [m for m in sent if m[0] == 0x92 and m[2] > 0]
    assert [m[1] for m in melody_ons][:3] == [62, 64, 66]  # melody A up a whole tone, channel 3
    assert any(m[0] == 0x99 for m in sent)
    assert check_note_pairs(sent) == []
    assert (0xB2, 123, 0) in sent and (0xB9, 123, 0) in sent
    final = next(r for r in h.reports() if r.final)
    lanes = final.stats["lanes"]
    # the ons and their timed offs; melody A is legato, so the last note was ended by the stop
    assert lanes["melody"]["count"] == 2 * len(melody_ons) - 1
    assert lanes["drums"]["count"] > 0
    assert final.sounding == 0


def test_port_change_ends_the_melody_note_on_the_old_port():
    h = LoopHarness(Controls(tempo_bpm=120, groove=0.0))
    h.thread.start()
    h.commands.put(SetMelody(melody_a(), "step"))
    h.commands.put(Start())
    time.sleep(0.1)  # 60 sounds (500 ms long at 120 BPM)
    h.commands.put(SetPort(PortSpec("other", "jack")))
    time.sleep(0.2)
    h.commands.put(Close())
    h.thread.join(5)
    old = messages(h.outputs[0])
    assert (0x90, 60, 90) in old and (0x80, 60, 0) in old
    assert check_note_pairs(old) == []
    assert check_note_pairs(messages(h.outputs[1])) == []


def test_facade_posts_melody_and_its_controls():
    with Sequencer(port_name=None, controls=Controls(tempo_bpm=200),
                   melody_controls=MelodyControls(channel=4)) as seq:
        seq.set_melody(melody_a(), "phrase")
        seq.set_melody_controls(MelodyControls(channel=4, octave=1))
        seq.play()
        assert seq.wait_status(lambda s: s.playing and s.step > 2, 5)
        assert seq.melody_controls.octave == 1
        seq.set_melody(None)
        status = seq.sync()
        assert status.alive and "lanes" in status.stats


def test_port_loss_mid_melody_note_then_a_new_port_releases_both_channels():
    h = LoopHarness(Controls(tempo_bpm=300, groove=0.0))
    h.thread.start()
    h.commands.put(SetMelodyControls(MelodyControls(channel=5)))
    h.commands.put(SetMelody(melody_a(), "step"))
    h.commands.put(SetPattern(beat(), "step"))
    h.commands.put(Start())
    time.sleep(0.3)
    h.refuse = True
    h.outputs[0].is_alive = False  # the port vanishes while a melody note sounds
    assert h.wait_report(lambda r: r.port_state == "error" and r.playing and r.sounding == 0, 3)
    h.refuse = False
    assert h.wait_report(lambda r: r.port_state == "ok", 3)
    time.sleep(0.4)
    h.commands.put(Stop())
    h.commands.put(Close())
    h.thread.join(5)
    sent = messages(h.outputs[1])
    assert sent[:2] == [(0xB9, 123, 0), (0xB5, 123, 0)]  # the new port: all-notes-off on both lanes
    assert any(m[0] == 0x95 for m in sent) and any(m[0] == 0x99 for m in sent)
    assert check_note_pairs(sent) == []
