"""`groovefader play`'s choice of pattern, without a MIDI port (the port side is in test_play_jack)."""

from __future__ import annotations

import argparse

import pytest

from engine.commands import generate as cli
from engine.commands import play as play_cli
from engine.errors import GrooveFaderError


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    play_cli.register(parser.add_subparsers())
    return parser.parse_args(["play", *argv])


def test_shipped_checkpoint_is_found_from_any_directory(tmp_path, monkeypatch) -> None:
    """The default checkpoint sits next to the package, not in the working directory."""
    pytest.importorskip("torch")
    if not cli.DEFAULT_CHECKPOINT.exists():
        pytest.skip("no shipped checkpoint in this tree")
    monkeypatch.chdir(tmp_path)
    pattern, where = play_cli.choose_pattern(_args("--seed", "3", "--knob", "density=0.5"))
    assert where.startswith(f"checkpoint {cli.DEFAULT_CHECKPOINT} (seed 3")
    assert pattern.hits.shape == (32, 9) and pattern.hits.any()
    _, where = play_cli.choose_pattern(_args())
    assert "(a random seed, knobs defaults)" in where and "None" not in where


def test_a_knob_the_model_lacks_is_one_clear_error() -> None:
    pytest.importorskip("torch")
    if not cli.DEFAULT_CHECKPOINT.exists():
        pytest.skip("no shipped checkpoint in this tree")
    with pytest.raises(GrooveFaderError, match=r"unknown attribute\(s\) \['cowbell'\]; this model has"):
        play_cli.choose_pattern(_args("--knob", "cowbell=1"))


def test_knob_without_checkpoint_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(play_cli, "DEFAULT_CHECKPOINT", tmp_path / "absent.pt")
    with pytest.raises(GrooveFaderError, match="--knob needs a checkpoint"):
        play_cli.choose_pattern(_args("--knob", "density=0.5"))
    pattern, where = play_cli.choose_pattern(_args())
    assert where.startswith("built-in demo groove") and pattern.hits.any()


@pytest.mark.parametrize("text", ["density", "=0.5", " =1", "density=loud", "density=%", "density=101%",
                                  "density=-1%", "density=nan%"])
def test_bad_knob_text_is_a_usage_error(text) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cli.knob_arg(text)
    assert cli.knob_arg(" density = 0.25") == ("density", 0.25)
    name, share = cli.knob_arg("density=90%")
    assert name == "density" and share.value(1.0, 3.0) == pytest.approx(2.8) and repr(share) == "90%"
