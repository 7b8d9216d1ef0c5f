"""Scale-aware re-spelling of a C-major melody."""

import pytest

from engine.music.melody import NO_EVENT, NOTE_OFF, Melody
from engine.music.scales import SCALES, in_scale, respell


def test_respell_keeps_degrees_and_octaves():
    c_major = [60, 62, 64, 65, 67, 69, 71, 72]
    assert [respell(p, "minor") for p in c_major] == [60, 62, 63, 65, 67, 68, 70, 72]
    assert [respell(p, "major", 2) for p in c_major] == [64, 65, 67, 69, 71, 72, 74, 76]  # up a third
    assert respell(59, "major", -1) == 57  # B down a step is A, an octave below C4's
    assert respell(61, "minor") == 61  # C#: a chromatic note keeps its distance from C


@pytest.mark.parametrize("scale", sorted(SCALES))
def test_in_scale_keeps_rhythm_and_rests(scale):
    m = Melody([60, NO_EVENT, 64, NOTE_OFF, 67, NO_EVENT, NO_EVENT, 71] + [NO_EVENT] * 8)
    out = in_scale(m, scale, 1)
    assert [(s, e) for s, e, _ in out.notes()] == [(s, e) for s, e, _ in m.notes()]
    assert out.events[3] == NOTE_OFF
    assert all(p % 12 in SCALES[scale] for *_, p in out.notes())


def test_bad_scale_or_shift_is_refused():
    with pytest.raises(ValueError, match="unknown scale 'lydian-ish'"):
        in_scale(Melody([60] * 16), "lydian-ish", 1)
    with pytest.raises(ValueError, match="degree shift must lie in -7..7"):
        in_scale(Melody([60] * 16), "major", 9)
