"""The kit's sounds in the app: a soundfont chosen in the transport reaches the clock process,
is remembered, shows its name, and *Export audio* renders with it; *Built-in kit* goes back."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from app.audio_binding import AudioBinding, stored_soundfont
from app.sequencer_link import SequencerLink
from app.transport_state import TransportState
from app.widgets.audio_controls import AudioControls
from engine.audio.render import read_wav, render
from engine.audio.soundfont import load_soundfont_kit
from engine.music.drums import GM_NOTE_MAP, Voice
from engine.music.midifile import write_clip
from engine.realtime.sequencer import Sequencer
from engine.realtime.steps import Controls
from tests.support.patterns import pattern_from_cells
from tests.support.sf2 import tone, write_sf2

pytest.importorskip("tinysoundfont", reason="soundfonts are played through the tinysoundfont package")


@pytest.fixture
def font(tmp_path):
    return write_sf2(tmp_path / "Studio Kit.sf2", {GM_NOTE_MAP.note(v): tone(150.0 + 90 * v, 0.1, 0.03)
                                                   for v in Voice})


def test_a_chosen_soundfont_reaches_the_clock_is_kept_and_built_in_goes_back(qtbot, tmp_path, font):
    made: list[Sequencer] = []

    def factory(**_kwargs) -> Sequencer:
        made.append(Sequencer(port_name=None, realtime=False))
        return made[-1]

    link = SequencerLink(factory=factory)
    transport = TransportState(link)
    link.start()
    try:
        store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
        controls = AudioControls()
        qtbot.addWidget(controls)
        binding = AudioBinding(controls, transport, store)
        assert controls.sounds.text() == "Built-in" and binding.settings.soundfont is None
        controls.soundfontChosen.emit(str(font))  # what the file dialog emits once a file is chosen
        assert binding.settings.soundfont == str(font) and stored_soundfont(store) == str(font)
        assert controls.sounds.text() == "Studio Kit" and "Studio Kit.sf2" in controls.sounds.toolTip()
        qtbot.waitUntil(lambda: bool(made), timeout=20_000)
        again = AudioControls()  # remembered for the next run
        qtbot.addWidget(again)
        assert AudioBinding(again, transport, store).settings.soundfont == str(font)
        assert again.sounds.text() == "Studio Kit"
        controls.builtin_action.trigger()
        assert binding.settings.soundfont is None and stored_soundfont(store) is None
        assert controls.sounds.text() == "Built-in"
    finally:
        link.close()


def test_export_audio_renders_with_the_chosen_soundfont(qtbot, make_window, tmp_path, font):
    window = make_window(load=False)
    clip = tmp_path / "beat.mid"
    write_clip(clip, pattern_from_cells({(s, Voice.KICK): (0.9, 0.0) for s in range(0, 32, 4)}
                                        | {(s, Voice.SNARE): (0.7, 0.1) for s in range(2, 32, 8)}))
    with qtbot.waitSignal(window.controller.patternChanged, timeout=10_000):
        window.controller.load_clip(clip)
    window.transport.audio.soundfontChosen.emit(str(font))
    window.controller.transport.set(tempo_bpm=100.0)
    out = tmp_path / "groove.wav"
    with qtbot.waitSignal(window.audio_export.finished, timeout=30_000) as done:
        window.audio_export.export(out, 2)
    assert done.args[0] == "info" and str(out) in done.args[1]
    audio, _ = read_wav(out)
    kit, _ = load_soundfont_kit(font, 48_000)
    expected = render(window.controller.pattern, Controls(tempo_bpm=100.0), 2, kit=kit)
    assert audio.shape == expected.shape and np.abs(audio - expected).max() < 1e-6
    window.transport.audio.builtin_action.trigger()
    with qtbot.waitSignal(window.audio_export.finished, timeout=30_000):
        window.audio_export.export(out, 2)
    builtin = render(window.controller.pattern, Controls(tempo_bpm=100.0), 2)
    assert np.abs(read_wav(out)[0] - builtin).max() < 1e-6
