"""*Export audio…* of a long groove (256 bars of a 64-bar transition): the render flattens the
pattern once (it rebuilt the whole table for every output step, quadratic in the length) and
the file comes out whole and as long as asked."""

from __future__ import annotations

from engine.audio import render
from engine.realtime import steps


def test_a_long_audio_export_is_written_whole(ready_window, qtbot, tmp_path) -> None:
    w = ready_window
    c = w.controller
    with qtbot.waitSignal(c.transitionReady, timeout=60_000):
        c.make_transition(c.pattern, 64, 2)
    assert c.pattern.bars == 64
    with qtbot.waitSignal(w.audio_export.finished, timeout=120_000) as done:
        w.audio_export.export(tmp_path / "long.wav", 256)
    assert done.args[0] == "info", done.args
    audio, rate = render.read_wav(tmp_path / "long.wav")
    assert len(audio) == round(256 * 4 * 60 / c.transport["tempo_bpm"] * rate) and audio.any()


def test_a_render_flattens_the_pattern_once(monkeypatch) -> None:
    from engine.music.drums import Voice
    from engine.music.pattern import Pattern

    built = []
    real = steps.StepTable.from_pattern.__func__
    monkeypatch.setattr(steps.StepTable, "from_pattern",
                        classmethod(lambda cls, p: built.append(p) or real(cls, p)))
    pattern = Pattern.empty(bars=4).with_hit(0, Voice.KICK, True, velocity=0.8)
    hits = render.hits_for(pattern, steps.Controls(), 8, 48_000)
    assert len(hits) == 2 and len(built) == 1
