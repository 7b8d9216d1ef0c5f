"""MIDI import/export: quantisation, tempo and metre handling, round trips, bad files."""

from __future__ import annotations

import os
from pathlib import Path

import mido
import numpy as np
import pytest

from engine.errors import MidiFileError
from engine.music.drums import GM_NOTE_MAP, NOTE_MAP_PRESETS, NUM_VOICES, Voice
from engine.music.midifile import (
    MidiReadError,
    pattern_to_midifile,
    read_clip,
    read_drum_file,
    read_drum_pattern,
    windows,
    write_clip,
)
from engine.music.pattern import Pattern

GROOVE = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "groove"
TPQ = 480
STEP = TPQ // 4  # ticks per 16th note


def random_pattern(seed: int = 0, bars: int = 2, density: float = 0.25) -> Pattern:
    rng = np.random.default_rng(seed)
    shape = (bars * 16, NUM_VOICES)
    offsets = rng.uniform(-0.5, 0.5, shape)
    offsets[0] = np.abs(offsets[0])  # nothing can be written before tick 0
    return Pattern(rng.random(shape) < density, rng.integers(1, 128, shape) / 127, offsets)


def save(path: Path, tracks: list[list[mido.Message | mido.MetaMessage]], midi_type: int = 1,
         tpq: int = TPQ) -> Path:
    """Write raw tracks (messages with delta times) as a MIDI file."""
    midi = mido.MidiFile(type=midi_type, ticks_per_beat=tpq)
    for track in tracks:
        midi.tracks.append(mido.MidiTrack(track))
    midi.save(str(path))
    return path


def hit(note: int, delta: int, velocity: int = 100, channel: int = 9) -> list[mido.Message]:
    return [mido.Message("note_on", channel=channel, note=note, velocity=velocity, time=delta),
            mido.Message("note_off", channel=channel, note=note, velocity=0, time=10)]


def notes_at(ticks_notes: list[tuple[int, int, int]], channel: int = 9) -> list[mido.Message]:
    """Absolute (tick, note, velocity) onsets → a delta-timed track, 10-tick notes."""
    events = []
    for tick, note, vel in ticks_notes:
        events.append((tick, 1, note, vel))
        events.append((tick + 10, 0, note, 0))
    events.sort()
    out, now = [], 0
    for tick, on, note, vel in events:
        kind = "note_on" if on else "note_off"
        out.append(mido.Message(kind, channel=channel, note=note, velocity=vel, time=tick - now))
        now = tick
    return out


# -- reading: quantisation ---------------------------------------------------------------

def test_onsets_land_on_nearest_step_with_offset_and_velocity(tmp_path):
    # kick 10 ticks late on step 0, snare 30 ticks early on step 4, hat on the grid at step 31
    track = notes_at([(10, 36, 127), (4 * STEP - 30, 38, 64), (31 * STEP, 42, 1), (32 * STEP - 1, 51, 90)])
    f = save(tmp_path / "q.mid", [[mido.MetaMessage("set_tempo", tempo=500000, time=0), *track]])
    (take,) = read_drum_pattern(f)
    p = take.pattern
    assert p.steps == 32 and take.tempo_bpm == pytest.approx(120.0)
    assert p.hits[0, Voice.KICK] and p.offsets[0, Voice.KICK] == pytest.approx(10 / STEP)
    assert p.hits[4, Voice.SNARE] and p.offsets[4, Voice.SNARE] == pytest.approx(-30 / STEP)
    assert p.velocities[4, Voice.SNARE] == pytest.approx(64 / 127)
    assert p.midi_velocities()[31, Voice.CLOSED_HAT] == 1 and p.offsets[31, Voice.CLOSED_HAT] == 0
    # one tick before the end of the clip rounds to step 32, which does not exist: dropped
    assert p.num_hits == 3


def test_two_onsets_of_one_voice_in_a_step_keep_the_loudest(tmp_path):
    # 36 and 35 are both kick; 38 and 40 both snare
    track = notes_at([(0, 36, 50), (20, 35, 110), (4 * STEP, 38, 120), (4 * STEP + 30, 40, 30),
                      (31 * STEP, 42, 80)])
    f = save(tmp_path / "m.mid", [track])
    result = read_drum_file(f)
    p = result.takes[0].pattern
    assert p.midi_velocities()[0, Voice.KICK] == 110 and p.offsets[0, Voice.KICK] == pytest.approx(20 / STEP)
    assert p.midi_velocities()[4, Voice.SNARE] == 120 and p.offsets[4, Voice.SNARE] == 0
    assert result.merged_onsets == 2


def test_type0_and_type1_with_separate_tracks_give_the_same_pattern(tmp_path):
    onsets = [(i * STEP * 2, 42, 80) for i in range(16)] + [(0, 36, 100), (8 * STEP, 38, 90)]
    tempo = [mido.MetaMessage("set_tempo", tempo=600000, time=0)]
    a = save(tmp_path / "t0.mid", [tempo + notes_at(onsets)], midi_type=0)
    piano = notes_at([(0, 60, 90), (5 * STEP, 64, 90)], channel=0)  # not drums: ignored
    b = save(tmp_path / "t1.mid", [tempo, piano, notes_at(onsets)], midi_type=1)
    (ta,), (tb,) = read_drum_pattern(a), read_drum_pattern(b)
    assert ta.pattern == tb.pattern and ta.pattern.num_hits == 18
    assert ta.tempo_bpm == pytest.approx(100.0)


def test_tempo_changes_keep_the_grid_and_give_each_bar_its_tempo(tmp_path):
    # 120 BPM for bar 1, 90 BPM from bar 2; notes on every quarter
    meta = [mido.MetaMessage("set_tempo", tempo=500000, time=0),
            mido.MetaMessage("set_tempo", tempo=666667, time=4 * TPQ)]
    onsets = [(i * TPQ, 36, 100) for i in range(12)]
    f = save(tmp_path / "tc.mid", [meta, notes_at(onsets)])
    (take,) = read_drum_pattern(f)
    assert take.pattern.bars == 3
    np.testing.assert_allclose(take.bar_tempos_bpm, [120.0, 90.0, 90.0], rtol=1e-5)
    kicks = take.pattern.hits[:, Voice.KICK]
    assert kicks.sum() == 12 and kicks[::4].all()
    assert np.abs(take.pattern.offsets).max() == 0


def test_non_four_four_passages_are_skipped_with_a_reason(tmp_path):
    bar44, bar34 = 4 * TPQ, 3 * TPQ
    meta = [mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
            mido.MetaMessage("time_signature", numerator=3, denominator=4, time=2 * bar44),
            mido.MetaMessage("time_signature", numerator=4, denominator=4, time=2 * bar34)]
    starts = [0, bar44, 2 * bar44, 2 * bar44 + bar34, 2 * bar44 + 2 * bar34,
              3 * bar44 + 2 * bar34]
    onsets = [(s + q * TPQ, 36 if q == 0 else 42, 100) for s in starts for q in range(3)]
    onsets.append((4 * bar44 + 2 * bar34 - STEP, 38, 100))  # last 16th of the last bar
    f = save(tmp_path / "ts.mid", [meta, notes_at(onsets)])
    result = read_drum_file(f)
    assert [t.pattern.bars for t in result.takes] == [2, 2]
    assert [t.start_bar for t in result.takes] == [0, 4]
    assert len(result.skipped_passages) == 1
    assert "3/4" in result.skipped_passages[0] and "bars 3-4" in result.skipped_passages[0]
    second = result.takes[1].pattern
    assert second.hits[0, Voice.KICK] and second.hits[31, Voice.SNARE]


def test_only_non_four_four_raises(tmp_path):
    meta = [mido.MetaMessage("time_signature", numerator=6, denominator=8, time=0)]
    f = save(tmp_path / "68.mid", [meta, notes_at([(i * TPQ, 36, 100) for i in range(12)])])
    with pytest.raises(MidiReadError, match=r"68\.mid: no 4/4 passage.*6/8") as err:
        read_drum_file(f)
    assert err.value.reason == "no 4/4 passage"


def test_windows_slide_by_hop():
    p = random_pattern(3, bars=5)
    ws = windows(p, bars=2, hop_bars=1)
    assert len(ws) == 4 and all(w.bars == 2 for w in ws)
    assert ws[1] == p.bar_slice(1, 2)
    assert len(windows(p, bars=2, hop_bars=2)) == 2
    assert windows(p, bars=6) == []
    with pytest.raises(ValueError):
        windows(p, bars=0)


# -- writing and round trips ---------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_round_trip_is_exact_in_hits_and_velocities_offsets_within_a_tick(tmp_path, seed):
    p = random_pattern(seed, bars=2 + seed % 3)
    path = write_clip(tmp_path / "rt.mid", p, tempo_bpm=93.0)
    q = read_clip(path)
    assert np.array_equal(q.hits, p.hits)
    assert np.array_equal(q.midi_velocities(), p.midi_velocities())
    assert np.abs(q.offsets - p.offsets).max() <= 1 / STEP + 1e-6
    assert read_drum_pattern(path)[0].tempo_bpm == pytest.approx(93.0, rel=1e-5)


def test_offsets_at_the_edges_round_trip(tmp_path):
    h = np.zeros((16, NUM_VOICES), bool)
    h[[3, 7], Voice.SNARE] = True
    o = np.zeros(h.shape)
    o[3, Voice.SNARE], o[7, Voice.SNARE] = 0.5, -0.5
    h[0, Voice.KICK], o[0, Voice.KICK] = True, -0.3  # before tick 0: clamped onto the grid
    q = read_clip(write_clip(tmp_path / "e.mid", Pattern(h, None, o)))
    assert np.array_equal(q.hits, h)
    assert q.offsets[3, Voice.SNARE] == pytest.approx(0.5, abs=1 / STEP + 1e-6)
    assert q.offsets[7, Voice.SNARE] == pytest.approx(-0.5, abs=1 / STEP + 1e-6)
    assert q.offsets[0, Voice.KICK] == 0


def test_several_patterns_are_written_one_after_another(tmp_path):
    a, b = random_pattern(1), random_pattern(2, bars=1)
    q = read_clip(write_clip(tmp_path / "ab.mid", [a, b]))
    assert q.bars == 3
    assert np.array_equal(q.hits[:32], a.hits) and np.array_equal(q.hits[32:], b.hits)


def test_custom_note_map_is_applied_and_read_back(tmp_path):
    chromatic = NOTE_MAP_PRESETS["Chromatic C1"]
    p = random_pattern(4)
    path = write_clip(tmp_path / "c.mid", p, note_map=chromatic)
    pitches = {m.note for m in mido.MidiFile(str(path)).tracks[1] if m.type == "note_on"}
    assert pitches <= set(chromatic.notes) and 40 in pitches  # 40 = low tom here, a snare in GM
    assert np.array_equal(read_clip(path, note_map=chromatic).hits, p.hits)


def test_written_notes_are_on_channel_10_with_sensible_lengths(tmp_path):
    h = np.zeros((16, NUM_VOICES), bool)
    h[:, Voice.CLOSED_HAT] = True  # every 16th: a 32nd note each
    h[[0, 1], Voice.KICK] = True
    midi = pattern_to_midifile(Pattern(h), tempo_bpm=120)
    msgs, now, pending, lengths = [], 0, {}, []
    for m in midi.tracks[1]:
        now += m.time
        if m.type in ("note_on", "note_off"):
            msgs.append(m)
            if m.type == "note_on" and m.velocity > 0:
                assert m.note not in pending, "a note restarted before its note-off"
                pending[m.note] = now
            else:
                lengths.append(now - pending.pop(m.note))
    assert not pending, "every note-on has its note-off"
    assert all(m.channel == 9 for m in msgs)
    assert set(lengths) == {STEP // 2}
    assert sum(m.time for m in midi.tracks[0]) == 16 * STEP  # end of track = end of the bar


def test_write_refuses_to_overwrite_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "clip.mid"
    write_clip(path, random_pattern(0))
    before = path.read_bytes()
    with pytest.raises(MidiFileError, match="clip.mid: exists"):
        write_clip(path, random_pattern(1))
    assert path.read_bytes() == before
    write_clip(path, random_pattern(1), force=True)
    assert path.read_bytes() != before
    assert os.listdir(tmp_path) == ["clip.mid"]


@pytest.mark.parametrize("tempo", [0.0, -10.0, 5.0, 10_000.0, float("nan")])
def test_write_rejects_absurd_tempo(tmp_path, tempo):
    with pytest.raises(MidiFileError, match="tempo"):
        write_clip(tmp_path / "t.mid", random_pattern(0), tempo_bpm=tempo)
    assert not (tmp_path / "t.mid").exists()


def test_other_parsers_read_the_clip(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    music21 = pytest.importorskip("music21")
    p = random_pattern(5)
    path = write_clip(tmp_path / "other.mid", p, tempo_bpm=120)
    expected = int(p.hits.sum())
    # mido
    onsets = [m for m in mido.MidiFile(str(path)) if m.type == "note_on" and m.velocity > 0]
    assert len(onsets) == expected
    # pretty_midi: one drum instrument, onsets where the pattern puts them
    pm = pretty_midi.PrettyMIDI(str(path))
    (inst,) = pm.instruments
    assert inst.is_drum and len(inst.notes) == expected
    step_s = 60 / 120 / 4
    steps, voices = np.nonzero(p.hits)
    want = sorted((s + p.offsets[s, v]) * step_s for s, v in zip(steps, voices, strict=True))
    got = sorted(n.start for n in inst.notes)
    np.testing.assert_allclose(got, want, atol=step_s / STEP + 1e-9)
    assert pm.get_tempo_changes()[1][0] == pytest.approx(120.0)
    # music21: percussion chords and unpitched notes, as many strikes as hits
    score = music21.converter.parse(str(path))
    strikes = sum(len(n.notes) if hasattr(n, "notes") else 1 for n in score.recurse().notes)
    assert strikes == expected


# -- bad input: one clear line naming the file and the reason --------------------------------

def _good_bytes(tmp_path: Path) -> bytes:
    return write_clip(tmp_path / "good.mid", random_pattern(0)).read_bytes()


def _bad_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.mid"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    elif kind == "truncated":
        path.write_bytes(_good_bytes(tmp_path)[:60])
    elif kind == "no_drums":
        save(path, [notes_at([(0, 60, 100), (TPQ, 62, 100)], channel=0)])
    elif kind == "type2":
        save(path, [notes_at([(0, 36, 100)]), notes_at([(0, 38, 100)])], midi_type=2)
    elif kind.startswith("tempo"):
        usec = {"tempo_zero": 0, "tempo_fast": 6000, "tempo_slow": 0xFFFFFF}[kind]
        save(path, [[mido.MetaMessage("set_tempo", tempo=usec, time=0),
                     *notes_at([(i * TPQ, 36, 100) for i in range(8)])]])
    elif kind == "smpte":
        good = bytearray(_good_bytes(tmp_path))
        good[12:14] = bytes([0xE7, 0x28])  # -25 fps, 40 ticks per frame
        path.write_bytes(bytes(good))
    return path


@pytest.mark.parametrize("kind, reason", [
    ("empty", "empty file"),
    ("random", "not a readable MIDI file"),
    ("truncated", "not a readable MIDI file"),
    ("no_drums", "no drum notes"),
    ("type2", "type-2"),
    ("tempo_zero", "absurd tempo"),
    ("tempo_fast", "absurd tempo"),
    ("tempo_slow", "absurd tempo"),
    ("smpte", "unsupported time division"),
])
def test_bad_files_raise_one_line_naming_file_and_reason(tmp_path, kind, reason):
    path = _bad_file(tmp_path, kind)
    with pytest.raises(MidiFileError) as err:
        read_drum_file(path)
    message = str(err.value)
    assert message.startswith(str(path)) and reason in message and "\n" not in message
    assert isinstance(err.value, MidiReadError) and err.value.reason.startswith(reason)


def test_absurd_tempo_message_names_the_bpm(tmp_path):
    with pytest.raises(MidiReadError, match=r"10000 BPM"):
        read_drum_file(_bad_file(tmp_path, "tempo_fast"))


# -- real files ----------------------------------------------------------------------------

@pytest.mark.skipif(not GROOVE.is_dir(), reason="Groove MIDI Dataset not found next to the repo")
def test_real_groove_file_agrees_with_pretty_midi():
    pretty_midi = pytest.importorskip("pretty_midi")
    path = GROOVE / "drummer1" / "eval_session" / "1_funk-groove1_138_beat_4-4.mid"
    result = read_drum_file(path)
    (take,) = result.takes
    assert take.tempo_bpm == pytest.approx(138, abs=0.5)
    pm = pretty_midi.PrettyMIDI(str(path))
    (inst,) = pm.instruments
    assert inst.is_drum
    # every onset is kept or merged into a louder one of its voice on the same step
    assert take.pattern.num_hits + result.merged_onsets + result.unmapped_notes == len(inst.notes)
    step_s = 60 / take.tempo_bpm / 4
    first = min(inst.notes, key=lambda n: n.start)
    x = first.start / step_s
    s = int(np.floor(x + 0.5))
    assert take.pattern.hits[s].any()
    # pretty_midi's seconds against our ticks: the same step and offset
    from engine.music.drums import voice_for_pitch
    v = int(voice_for_pitch(first.pitch))
    assert take.pattern.offsets[s, v] == pytest.approx(x - s, abs=1e-3)
    bars = round(pm.get_end_time() / (4 * 60 / take.tempo_bpm))
    assert take.pattern.bars == bars
    assert GM_NOTE_MAP.note(Voice.KICK) == 36


def test_written_clip_is_an_ordinary_readable_file(tmp_path):
    """Exported clips get 0644, not mkstemp's 0600 (a DAW or file share must read them)."""
    import stat

    from engine.music.midifile import write_clip
    from engine.music.pattern import Pattern

    path = write_clip(tmp_path / "clip.mid", [Pattern.empty()], force=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
