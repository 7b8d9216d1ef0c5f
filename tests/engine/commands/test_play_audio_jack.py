"""`groovefader play --audio` against a real JACK server (dummy backend): the kit's ports appear
beside the MIDI port and play; an audio output that cannot open is one line and MIDI plays on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from engine.music.midifile import write_clip
from tests.support.jack_audio_recorder import AudioRecorder
from tests.support.patterns import pattern_from_cells

pytestmark = pytest.mark.jack


def play(args: list[str], env: dict[str, str], cwd: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", "play", *args], env=env, capture_output=True,
                          text=True, timeout=90, cwd=cwd)


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "groove.mid"
    write_clip(path, pattern_from_cells({(s, 0): (0.9, 0.0) for s in range(0, 32, 4)}
                                        | {(s, 2): (0.7, 0.1) for s in range(2, 32, 4)}))
    return path


def test_play_audio_on_jack_plays_the_kit_on_ports_beside_the_midi(jack_server, port_name, clip,
                                                                    tmp_path) -> None:
    env = {**os.environ, **jack_server.env}
    rec = AudioRecorder(jack_server, (f"{port_name}-kit:audio_L", f"{port_name}-kit:audio_R"),
                        tmp_path / "a.raw")
    try:
        result = play(["--midi-api", "jack", "--port", port_name, "--clip", str(clip), "--audio",
                       "--volume", "0.5", "--start-delay", "1.0", "--seconds", "2.5", "--stats"], env)
    finally:
        rec.stop()
    assert result.returncode == 0, result.stderr
    assert f"kit on JACK ports {port_name}-kit:audio_L, {port_name}-kit:audio_R" in result.stderr
    stats = json.loads(result.stdout)["stats"]
    assert stats["audio"]["output"] == "jack" and stats["audio"]["volume"] == 0.5
    assert stats["audio"]["hits"] == stats["sent"]["on"] > 0
    _, audio = rec.audio()
    assert audio.size and abs(audio).max() > 0.05  # heard at the recorder


def test_an_audio_output_that_cannot_open_is_one_line_and_midi_plays_on(jack_server, port_name, clip) -> None:
    env = {**os.environ, **jack_server.env}
    result = play(["--midi-api", "jack", "--port", port_name, "--clip", str(clip), "--audio",
                   "--audio-output", "jack", "--time-base", "wall", "--seconds", "1.5", "--stats"], env)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "kit" in line]
    assert lines == ["groovefader: no kit audio: JACK audio plays on the sample-accurate JACK output "
                     "(--midi-api jack --sample-accurate); MIDI plays on"]
    stats = json.loads(result.stdout)["stats"]
    assert stats["sent"]["on"] > 0 and stats["audio"]["output"] is None


def test_a_bad_volume_is_one_line(jack_server, port_name, clip) -> None:
    result = play(["--midi-api", "jack", "--port", port_name, "--clip", str(clip), "--audio",
                   "--volume", "3", "--seconds", "1"], {**os.environ, **jack_server.env})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == "groovefader: error: volume must lie in [0, 1], got 3.0"


def test_a_soundfont_that_cannot_be_used_is_one_line_and_the_built_in_kit_plays(jack_server, port_name, clip,
                                                                                 tmp_path) -> None:
    pytest.importorskip("tinysoundfont", reason="soundfonts are played through the tinysoundfont package")
    (tmp_path / "drums.sf2").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + bytes(40))
    env = {**os.environ, **jack_server.env}
    result = play(["--midi-api", "jack", "--port", port_name, "--clip", str(clip), "--audio",
                   "--soundfont", "drums.sf2", "--seconds", "1.5", "--stats"], env, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "kit" in line]
    assert lines == [f"groovefader: kit on JACK ports {port_name}-kit:audio_L, {port_name}-kit:audio_R",
                     "groovefader: drums.sf2: not a readable SF2 soundfont; playing the built-in kit"]
    stats = json.loads(result.stdout)["stats"]
    assert stats["audio"]["output"] == "jack" and stats["audio"]["hits"] == stats["sent"]["on"] > 0
