"""Against a real JACK server: what a receiving client in another process records.

Exact notes, velocities, order, note-off pairing, clock ticks, the sample-accurate path's
frames, SIGTERM / Ctrl-C of ``groovefader play``, external clock, and recovery from a
server killed mid-play. Timing bounds are loose: the server runs without real-time
priority on a shared machine, so only the sample-accurate frames are checked exactly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from engine.music.drums import NUM_VOICES, Voice
from engine.music.pattern import Pattern
from engine.realtime.sequencer import Sequencer
from engine.realtime.steps import Controls
from engine.realtime.timebase import frame_diff
from tests.support.jack_server import (
    Recorder,
    blind_share,
    check_note_pairs,
    on_frame,
    pairing_context,
    skipped_spans,
    start_test_server,
    unheard_pairing_problems,
)

pytestmark = pytest.mark.jack


def groove() -> Pattern:
    """One bar: kick 0/8, snare 4/12 (two velocities), hats on 8ths with an accent."""
    hits = np.zeros((16, NUM_VOICES), bool)
    vel = np.zeros((16, NUM_VOICES), np.float32)
    for s, v, velocity in [(0, Voice.KICK, 110), (8, Voice.KICK, 90), (4, Voice.SNARE, 120),
                           (12, Voice.SNARE, 70)] + [(s, Voice.CLOSED_HAT, 100 if s % 4 == 0 else 50)
                                                     for s in range(0, 16, 2)]:
        hits[s, v], vel[s, v] = True, velocity / 127
    return Pattern(hits, vel)


def expected_bar() -> list[tuple[int, int]]:
    """(note, velocity) note-ons of one bar in send order (same step: lower voice first)."""
    out = []
    for s in range(16):
        row = []
        if s in (0, 8):
            row.append((36, 110 if s == 0 else 90))
        if s in (4, 12):
            row.append((38, 120 if s == 4 else 70))
        if s % 2 == 0:
            row.append((42, 100 if s % 4 == 0 else 50))
        out += row
    return out


def note_ons(events):
    return [(e[1][1], e[1][2]) for e in events if e[1][0] == 0x99 and e[1][2] > 0]


def start_sequencer(server, port, recorder_factory, **kwargs):
    rec = recorder_factory(server, f"{port}:{port}")
    seq = Sequencer(port, "jack", **kwargs)
    assert seq.status().port_state == "ok", seq.status().error
    assert rec.wait_connected(10), server.ports(connections=True)
    return seq, rec


def play_groove(seq, steps: int = 40) -> dict:
    """Play the test groove for ``steps`` steps (2.5 bars), stop, close; the final stats."""
    try:
        seq.set_pattern(groove())
        seq.play()
        assert seq.wait_status(lambda s: s.step >= steps, 15)
        seq.stop()
        return seq.sync().stats
    finally:
        seq.close()


def test_notes_velocities_order_pairs_and_clock(jack_server, port_name, recorder_factory):
    seq, rec = start_sequencer(jack_server, port_name, recorder_factory,
                               controls=Controls(tempo_bpm=240, groove=0.0))
    play_groove(seq)
    events = rec.stop()
    msgs = [e[1] for e in events]
    ons = note_ons(events)
    bar = expected_bar()
    assert len(ons) >= 2 * len(bar)
    assert ons[:2 * len(bar)] == bar * 2  # exact notes, velocities and order
    assert check_note_pairs(msgs) == []  # every note-on has its note-off; none stuck
    start, stop = msgs.index((0xFA,)), msgs.index((0xFC,))
    assert start < msgs.index((0x99, 36, 110)) and (0xB9, 123, 0) in msgs[stop - 2:]
    # 24 clock ticks per quarter: between consecutive kicks (2 quarters apart) 48 ticks
    stream = msgs[start:stop]
    kick_positions = [i for i, m in enumerate(stream) if m[:2] == (0x99, 36)]
    for a, b in zip(kick_positions, kick_positions[1:], strict=False):
        assert sum(1 for m in stream[a:b] if m == (0xF8,)) == 48
    # kicks 2 quarters apart: 0.5 s at 240 BPM = 24,000 of the server's frames. On JACK the
    # sequencer times notes by the server's frame clock (what a DAW records by), and a server
    # on a loaded machine can run its frames slower than the wall clock (10-25 % in CI), so
    # the tempo is checked on the frames (rtmidi's sends land on period boundaries: ± 32)
    kick_frames = [e[0] for e in events if e[1][:2] == (0x99, 36)]
    assert np.median(np.diff(kick_frames)) == pytest.approx(24_000, rel=0.02)


def test_rtmidi_on_the_jack_time_base_keeps_notes_order_and_pairs(jack_server, port_name, recorder_factory):
    """rtmidi timed by JACK's frame clock: the same notes, order and pairing; each note on
    (about) its frame — rtmidi's sends land on the next period, so only loosely."""
    seq, rec = start_sequencer(jack_server, port_name, recorder_factory, time_base="jack",
                               controls=Controls(tempo_bpm=240, groove=0.0))
    stats = play_groove(seq)
    events = rec.stop()
    assert stats["time_base"] == "jack" and stats["time_base_setting"] == "jack"
    # renewed every 100 ms while it played (over a second): a loaded machine's housekeeping
    # runs late now and then, so not quite ten times
    assert stats["frame_clock"]["resyncs"] >= 6
    ons = note_ons(events)
    bar = expected_bar()
    assert ons[:2 * len(bar)] == bar * 2  # exact notes, velocities and order
    assert check_note_pairs([e[1] for e in events]) == []  # every note-on has its note-off
    # 240 BPM at 48 kHz: hats every 8th = 6000 *frames* (rtmidi adds up to a period). Loose:
    # this test server (not real-time, loaded machine) ran its frames 3-7 % slower than the
    # wall clock and processed cycles up to ~10 ms late, so single gaps were 5700-6400 frames
    # (one 8100 after a stall); on the wall time base the median gap was ~5600 frames here.
    gaps = np.diff([e[0] for e in events if e[1][:2] == (0x99, 42)])
    assert len(gaps) >= 15
    assert abs(np.median(gaps) - 6000) <= 120  # the tempo on the frames, within 2 %
    # most notes within 10 ms of their frames; a server without real-time priority (where -R
    # cannot start) stalls whole cycles under load (in CI 8 of 20 gaps were off by 800-3400
    # frames), so there only half
    share = 0.75 if jack_server.running_realtime() else 0.5
    assert np.mean(np.abs(gaps - 6000) < 480) >= share


def test_sample_accurate_frames_are_exact(jack_server, port_name, recorder_factory):
    seq, rec = start_sequencer(jack_server, port_name, recorder_factory, sample_accurate=True,
                               controls=Controls(tempo_bpm=120, groove=0.0))
    try:
        seq.set_pattern(groove())
        seq.play()
        assert seq.wait_status(lambda s: s.step >= 18, 15)
        seq.stop()
        stats = seq.sync().stats
    finally:
        seq.close()
    rec.stop()
    # what the recorder heard: a cycle its own callback missed (a loaded machine) can lose
    # events, which only excuses what was due inside it (its blind spans)
    events, blind = rec.heard_events(), rec.blind_spans()
    assert unheard_pairing_problems(events, blind) == []
    assert note_ons(events)[:len(expected_bar())] == expected_bar()
    # 120 BPM at 48 kHz: a 16th is 6000 frames, a clock tick 1000 frames, to the frame,
    # except what fell in a cycle the server itself skipped (it goes at the next one)
    spans = skipped_spans(stats, jack_server.period)
    hat_frames = [e[0] for e in events if e[1][:2] == (0x99, 42)]
    tick_frames = [e[0] for e in events if e[1] == (0xF8,)]
    excused = 0
    for frames, every in ((hat_frames, 12_000), (tick_frames, 1_000)):
        assert len(frames) > 8
        slots = [round((f - frames[0]) / every) for f in frames]  # each event's grid slot
        off = [(k, f - frames[0] - k * every) for k, f in zip(slots, frames, strict=True)
               if not on_frame(f, frames[0] + k * every, spans)]
        assert not off and slots == sorted(set(slots)), (off[:10], spans[:10])
        missing = sorted(set(range(slots[-1] + 1)) - set(slots))
        unheard = [k for k in missing if not any(a <= frames[0] + k * every < b for a, b in blind)]
        assert not unheard, (unheard, blind[:10])  # lost where the recorder was listening
        excused += len(missing) + sum(f != frames[0] + k * every for k, f in zip(slots, frames, strict=True))
    assert excused <= 3, (excused, spans[:10], blind[:10])  # a server that keeps skipping measures nothing
    assert stats["count"] > 0
    if not [b for _, b in spans if b > tick_frames[0]]:  # no cycle skipped while it played:
        assert stats["max_ms"] == 0.0, stats  # nothing written after its frame


def play_cli(port: str, *extra: str) -> subprocess.Popen:
    """``groovefader play`` sending into an existing port (connected before the first note)."""
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "play", "--midi-api", "jack", "--existing", "--port", port,
         "--bpm", "300", "--groove", "0", "--stats", "--quiet", "--seconds", "60", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        # as a terminal's foreground job: SIGINT at its default even when pytest itself was
        # started in the background (where the shell sets it to ignored, inherited here)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def interrupt_after_notes(proc, rec, notes: int, how: str) -> tuple[str, str]:
    """Wait (≤ 20 s) until ``rec`` has ``notes`` note-ons, stop ``play`` by ``how``
    ("SIGTERM", else Ctrl-C: SIGINT to the whole process group, as a terminal does) and
    return its ``(stdout, stderr)``; a player still alive afterwards is killed."""
    try:
        end = time.monotonic() + 20
        while time.monotonic() < end and len(note_ons(rec.events())) < notes and proc.poll() is None:
            time.sleep(0.02)
        if how == "SIGTERM":
            proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        return proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_play_cli_interrupted_leaves_no_stuck_note(jack_server, recorder_factory, how):
    rec = recorder_factory(jack_server, None)
    proc = play_cli(rec.port)
    # interrupt while a note sounds: right after a note-on the recorder has seen
    out, err = interrupt_after_notes(proc, rec, 6, how)
    assert proc.returncode == 0, err
    time.sleep(0.2)
    rec.stop()
    events = rec.heard_events()
    msgs = [e[1] for e in events]
    # connected before the transport started (the CC 123 sent right at open may precede the link)
    assert msgs[0] in ((0xB9, 123, 0), (0xFA,))
    assert len(note_ons([(0, m, 0) for m in msgs])) >= 6
    # every note paired as received, but for cycles an overloaded recorder did not hear
    # (1 % of what it ran for at most)
    blind = rec.blind_spans()
    problems = unheard_pairing_problems(events, blind)
    assert problems == [] and blind_share(rec) <= 0.01, \
        (problems, blind, blind_share(rec), pairing_context(events, problems, 16))
    assert (0xB9, 123, 0) in msgs[-4:]
    assert '"count"' in out  # --stats JSON was printed


CLOCK_SENDER = textwrap.dedent("""
    import sys, time, rtmidi
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=sys.argv[1])
    out.open_virtual_port("clock")
    print("ready", flush=True)
    sys.stdin.readline()  # wait until the follower listens
    tick = 60 / (float(sys.argv[2]) * 24)
    t0 = time.perf_counter() + 0.05
    out.send_message([0xFA])
    for i in range(int(sys.argv[3])):
        while time.perf_counter() < t0 + i * tick:
            time.sleep(0.0002)
        out.send_message([0xF8])
    out.send_message([0xFC])
    print("done", flush=True)
    sys.stdin.readline()  # stay until the follower has closed (a vanished client stalls a -S server)
    out.close_port()
    out.delete()
""")


def test_follows_external_clock(jack_server, port_name, recorder_factory):
    sender_name = f"clk-{port_name}"
    sender = subprocess.Popen([sys.executable, "-c", CLOCK_SENDER, sender_name, "150", str(24 * 16)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert sender.stdout.readline().strip() == "ready"
        seq, rec = start_sequencer(jack_server, port_name, recorder_factory,
                                   controls=Controls(tempo_bpm=90, groove=0.0))
        try:
            seq.set_pattern(groove())
            seq.set_clock_source("external", f"{sender_name}:clock", "jack")
            status = seq.sync()
            assert status.clock_source == "external" and status.error is None, status.error
            # the master starts once the follower listens (its Start would be lost before)
            end = time.monotonic() + 10
            while not jack_server.connections().get(f"{sender_name}:clock") and time.monotonic() < end:
                time.sleep(0.05)
            assert jack_server.connections().get(f"{sender_name}:clock"), jack_server.connections()
            sender.stdin.write("go\n")
            sender.stdin.flush()
            assert seq.wait_status(lambda s: s.playing, 5)
            # the tempo read while the master plays 16 beats (6.4 s): a stalled server or
            # sender squeezes a burst of pulses into a fit over 2 beats, so the readings are
            # kept to say what happened if none comes within 3 BPM
            readings: list[float] = []
            followed = seq.wait_status(lambda s: readings.append(round(s.bpm, 1)) or abs(s.bpm - 150) < 3, 7)
            assert followed, (readings[::10], seq.status().stats.get("frame_clock"))
            assert sender.stdout.readline().strip() == "done"
            assert seq.wait_status(lambda s: not s.playing, 5)  # the master's Stop stops us
        finally:
            seq.close()
    finally:
        if sender.poll() is None:
            sender.communicate("bye\n", timeout=10)
    events = rec.stop()
    msgs = [e[1] for e in events]
    assert check_note_pairs(msgs) == []
    assert (0xF8,) not in msgs  # a follower does not send clock itself
    kicks = [e[2] for e in events if e[1][:2] == (0x99, 36)]
    # 16 quarters of clock at 150 BPM: kicks on quarters 0 and 2 of each bar -> 0.8 s apart
    assert len(kicks) >= 6
    assert np.median(np.diff(kicks)) == pytest.approx(0.8e9, rel=0.05)


def test_server_killed_mid_play_reports_error_and_recovers(recorder_factory, monkeypatch):
    try:
        server = start_test_server()
    except RuntimeError as err:
        pytest.skip(f"cannot start jackd: {err}")
    monkeypatch.setenv("JACK_DEFAULT_SERVER", server.name)
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    seq = None
    try:
        rec1 = recorder_factory(server, None)
        # send into the recorder's port: after the crash the engine must find it again
        seq = Sequencer(rec1.port, "jack", virtual=False, controls=Controls(tempo_bpm=300, groove=0.0))
        assert seq.status().port_state == "ok", seq.status().error
        seq.set_pattern(groove())
        seq.play()
        # a bar in (the notes of the last steps reported may still be on their way when
        # the server dies; those before them must have arrived)
        assert seq.wait_status(lambda s: s.step >= 16, 10)
        server.kill()  # the MIDI server crashes mid-play
        assert seq.wait_status(lambda s: s.port_state == "error", 5), seq.status()
        assert seq.status().error
        step = seq.status().step
        time.sleep(0.6)
        assert seq.wait_status(lambda s: s.step > step and s.alive, 2)  # the clock keeps going
        server.start()  # the server returns under the same name; the recorder too, later
        time.sleep(0.6)
        assert seq.status().port_state == "error"  # the port is not back yet
        rec2 = Recorder(server, None, rec1.out.with_name("rec-after.jsonl"), name=rec1.name)
        try:
            assert seq.wait_status(lambda s: s.port_state == "ok", 10), seq.status()
            # a second of play once the engine's port reaches the recorder again (the port
            # opening and the connection are two steps; a loaded server takes a while between)
            assert rec2.wait_connected(10), server.connections()
            time.sleep(1.0)
            seq.stop()
            seq.sync()
            seq.close()
        finally:
            after = [e[1] for e in rec2.stop()]
        stats = seq.status().stats
        # on the wall clock while the server was away, on its frames again since
        assert stats["time_base"] == "jack" and stats["time_base_fallbacks"] >= 1
        assert after[0][0] & 0xF0 != 0x80  # no orphan note-off from before the crash
        assert len(note_ons([(0, m, 0) for m in after])) >= 4
        assert check_note_pairs(after) == []
        before = [e[1] for e in rec1.stop()]
        assert len(note_ons([(0, m, 0) for m in before])) >= 4
    finally:
        if seq is not None:
            seq.close()
        server.stop()


@pytest.mark.parametrize("path", ["rtmidi", "sample-accurate"])
def test_play_cli_every_note_sent_arrives(jack_server, recorder_factory, path):
    """Lost notes counted exactly: the clock's own count of note-ons sent (``--stats``)
    against what a receiver connected from the first message recorded."""
    rec = recorder_factory(jack_server, None)
    extra = ["--sample-accurate"] if path == "sample-accurate" else []
    proc = play_cli(rec.port, *extra)
    out, err = interrupt_after_notes(proc, rec, 12, "Ctrl-C")
    assert proc.returncode == 0, err
    time.sleep(0.2)
    heard = rec.stop()
    msgs = [e[1] for e in heard]
    sent = json.loads(out)["stats"]["sent"]
    # the Start comes first: only a cycle the recorder missed before what it heard excuses it
    blind_before = [s for s in rec.blind_spans() if heard and frame_diff(heard[0][0], s[0]) >= 0]
    assert (0xFA,) in msgs or blind_before, (heard[:4], rec.blind_spans())
    assert sent["on"] >= 12
    assert len(note_ons([(0, m, 0) for m in msgs])) == sent["on"]
    assert check_note_pairs(msgs) == []
    cycles = rec.cycles()
    assert cycles.get("callbacks", 0) > 100 and cycles["period"] == jack_server.period, \
        (cycles, rec.proc.returncode)


def test_play_following_a_clock_input_that_does_not_exist_is_one_error(jack_server, port_name,
                                                                       recorder_factory):
    rec = recorder_factory(jack_server, None)
    proc = play_cli(rec.port, "--clock", "external", "--clock-in", "no-such-clock", "--seconds", "3")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    lines = [line for line in err.strip().splitlines() if line.startswith("groovefader")]
    assert lines and "no-such-clock" in lines[-1] and "does not exist" in lines[-1], err
    rec.stop()


def test_play_following_a_clock_without_clock_in_opens_a_virtual_input(jack_server, port_name,
                                                                       recorder_factory):
    rec = recorder_factory(jack_server, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "play", "--midi-api", "jack", "--existing", "--port", rec.port,
         "--clock", "external", "--seconds", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end and "groovefader-clock-in" not in jack_server.ports():
            time.sleep(0.1)
        assert "groovefader-clock-in" in jack_server.ports(), jack_server.ports()
    finally:
        out, err = proc.communicate(timeout=60)
        rec.stop()
    assert proc.returncode == 0 and "following MIDI clock on 'groovefader-clock-in'" in err, err


def test_a_clock_master_that_quits_and_comes_back_is_followed_again(jack_server, port_name, recorder_factory):
    """The master (a DAW) restarts under the same name: its new clock port is connected to
    again and its Start followed (it had stayed unconnected, the follower deaf)."""
    sender_name = f"clk2-{port_name}"

    def master():
        proc = subprocess.Popen([sys.executable, "-c", CLOCK_SENDER, sender_name, "150", str(24 * 4)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        return proc

    def wait_connected(timeout: float = 10.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if jack_server.connections().get(f"{sender_name}:clock"):
                return True
            time.sleep(0.05)
        return False

    first = master()
    seq, rec = start_sequencer(jack_server, port_name, recorder_factory,
                               controls=Controls(tempo_bpm=90, groove=0.0))
    second = None
    try:
        seq.set_pattern(groove())
        seq.set_clock_source("external", f"{sender_name}:clock", "jack")
        assert seq.sync().error is None
        assert wait_connected()
        first.communicate("go\nbye\n", timeout=30)  # plays a bar, stops, quits
        assert seq.wait_status(lambda s: not s.playing, 5)
        second = master()  # back, under the same name
        assert wait_connected(), jack_server.connections()
        second.stdin.write("go\n")
        second.stdin.flush()
        assert seq.wait_status(lambda s: s.playing, 5)  # its Start is heard
        assert second.stdout.readline().strip() == "done"
        assert seq.wait_status(lambda s: not s.playing, 5)
    finally:
        seq.close()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.communicate("bye\n", timeout=10)
    assert check_note_pairs([e[1] for e in rec.stop()]) == []
