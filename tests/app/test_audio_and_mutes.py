"""The kit toggle and volume, mute/solo per voice (with MIDI learn) and *Export audio*,
offscreen, through a real SequencerLink and clock process (no MIDI port)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt

from app.audio_binding import AudioBinding, stored_mix
from app.sequencer_link import SequencerLink
from app.transport_state import TransportState
from app.voice_mute_binding import VoiceMuteBinding
from app.widgets.audio_controls import AudioControls
from app.widgets.voice_strip import VoiceStrip
from engine.audio.render import read_wav, render
from engine.music.drums import NUM_VOICES, Voice
from engine.music.midifile import write_clip
from engine.realtime.sequencer import Sequencer
from engine.realtime.steps import Controls
from tests.support.patterns import pattern_from_cells


@pytest.fixture
def transport(qtbot):
    made: list[Sequencer] = []

    def factory(**_kwargs) -> Sequencer:
        made.append(Sequencer(port_name=None, realtime=False))
        return made[-1]

    link = SequencerLink(factory=factory)
    state = TransportState(link)
    link.start()
    state.made = made
    yield state
    link.close()


def audio_stats(transport) -> dict:
    return transport.made[0].status().stats.get("audio", {}) if transport.made else {}


def test_kit_toggle_and_volume_reach_the_clock_and_no_device_is_one_line(qtbot, transport, tmp_path):
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    store.setValue("audio/enabled", "false")  # a saved choice: off (a new user starts with it on)
    controls = AudioControls()
    qtbot.addWidget(controls)
    binding = AudioBinding(controls, transport, store)
    messages: list[tuple[str, str]] = []
    transport.message.connect(lambda level, text: messages.append((level, text)))
    qtbot.mouseClick(controls.kit, Qt.MouseButton.LeftButton)
    assert binding.settings.enabled and controls.kit.isChecked()
    qtbot.waitUntil(lambda: binding.report not in ("", "Kit: starting…"), timeout=20_000)
    report = audio_stats(transport)
    assert report["enabled"] is True
    if report["output"] is None:  # no sound card here: one line, shown once, MIDI unaffected
        assert binding.report.startswith("Kit: ") and binding.report.endswith("MIDI plays on")
        assert "\n" not in binding.report
        assert [m for m in messages if "Kit" in m[1]] == [("warning", binding.report)]
    elif report["output"] == "jack":  # a JACK server in the environment: the kit's own client
        assert binding.report.startswith("Kit: JACK ports ")
    else:
        assert binding.report == "Kit: audio device"
    controls.volume.setValue(30)
    qtbot.waitUntil(lambda: audio_stats(transport).get("volume") == pytest.approx(0.3), timeout=10_000)
    assert transport.made[0].status().alive
    # remembered: a new binding on the same settings starts with the kit on at 30 %
    again = AudioControls()
    qtbot.addWidget(again)
    AudioBinding(again, transport, store)
    assert again.kit.isChecked() and again.volume.value() == 30
    qtbot.mouseClick(controls.kit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: audio_stats(transport).get("enabled") is False, timeout=10_000)


def test_mute_solo_buttons_and_learned_controls_silence_voices_in_the_sequencer(qtbot, transport):
    strip = VoiceStrip()
    qtbot.addWidget(strip)
    strip.resize(strip.width(), 16 + NUM_VOICES * 24)
    binding = VoiceMuteBinding(strip, transport)

    def click(kind: str, voice: int) -> None:
        where = strip.button_rect(kind, voice).center().toPoint()
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=where)

    def silenced_in_clock() -> frozenset[int]:
        return transport.made[0].controls.muted_voices if transport.made else frozenset({-1})

    click("mute", Voice.SNARE)
    qtbot.waitUntil(lambda: silenced_in_clock() == {Voice.SNARE}, timeout=20_000)
    click("solo", Voice.KICK)
    every_but_kick = frozenset(range(NUM_VOICES)) - {Voice.KICK}
    qtbot.waitUntil(lambda: silenced_in_clock() == every_but_kick, timeout=10_000)
    assert strip.mutes.soloed == {Voice.KICK} and binding.silenced() == every_but_kick
    click("solo", Voice.KICK)
    click("mute", Voice.SNARE)
    qtbot.waitUntil(lambda: silenced_in_clock() == frozenset(), timeout=10_000)
    # MIDI learn: the next control change binds; 64 and up is on, below is off
    transport.learn("Mute Ride")
    transport.handle_cc(0, 20, 127)
    qtbot.waitUntil(lambda: silenced_in_clock() == {Voice.RIDE}, timeout=10_000)
    transport.handle_cc(0, 20, 0)
    qtbot.waitUntil(lambda: silenced_in_clock() == frozenset(), timeout=10_000)
    assert strip._bindings["Mute Ride"] == "CC 20 ch 1"


def test_export_audio_writes_the_groove_as_it_plays(qtbot, make_window, tmp_path):
    window = make_window(load=False)
    clip = tmp_path / "beat.mid"
    pattern = pattern_from_cells({(s, Voice.KICK): (0.9, 0.0) for s in range(0, 32, 4)}
                                 | {(s, Voice.CLOSED_HAT): (0.6, -0.1) for s in range(2, 32, 4)})
    write_clip(clip, pattern)
    with qtbot.waitSignal(window.controller.patternChanged, timeout=10_000):
        window.controller.load_clip(clip)
    assert window.transport.audio.kit.text() == "Kit"  # the kit's controls sit in the transport
    strip = window.voice_strip
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton,
                     pos=strip.button_rect("mute", Voice.CLOSED_HAT).center().toPoint())
    window.controller.transport.set(tempo_bpm=100.0)
    out = tmp_path / "groove.wav"
    with qtbot.waitSignal(window.audio_export.finished, timeout=30_000) as done:
        window.audio_export.export(out, 2)
    assert done.args[0] == "info" and str(out) in done.args[1]
    audio, rate = read_wav(out)
    expected = render(window.controller.pattern, Controls(tempo_bpm=100.0,
                                                          muted_voices=frozenset({Voice.CLOSED_HAT})), 2)
    assert audio.shape == expected.shape and np.abs(audio - expected).max() < 1e-6
    assert window.audio_export.action in window.menuBar().actions()[0].menu().actions()


def test_kit_mix_dialog_sets_levels_and_pans_kept_and_exported(qtbot, make_window, tmp_path):
    window = make_window(load=False)
    clip = tmp_path / "beat.mid"
    write_clip(clip, pattern_from_cells({(s, Voice.KICK): (0.9, 0.0) for s in range(0, 32, 8)}
                                        | {(s, Voice.SNARE): (0.8, 0.05) for s in range(4, 32, 8)}))
    with qtbot.waitSignal(window.controller.patternChanged, timeout=10_000):
        window.controller.load_clip(clip)
    binding = window.audio_binding
    window.transport.audio.kit.customContextMenuRequested.emit(QPoint(2, 2))  # right-click on Kit
    dialog = binding.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.levels[Voice.SNARE].setValue(0)
    dialog.pans[Voice.KICK].setValue(-100)
    mix = binding.settings.mix
    assert mix.levels[Voice.SNARE] == 0.0 and mix.pans[Voice.KICK] == -1.0 and mix.volume == 0.8
    assert stored_mix(window.settings) == mix  # kept for the next run
    out = tmp_path / "mixed.wav"
    with qtbot.waitSignal(window.audio_export.finished, timeout=30_000):
        window.audio_export.export(out, 2)
    audio, _ = read_wav(out)
    assert np.abs(audio - render(window.controller.pattern, Controls(), 2, mix=mix)).max() < 1e-6
    assert np.abs(audio[:, 1]).max() < 1e-6  # only the kick is heard, hard left
