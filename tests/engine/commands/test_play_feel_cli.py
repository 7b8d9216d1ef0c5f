"""``play``'s feel options out of range: one line naming the option as it is typed."""

from __future__ import annotations

import pytest

from app.cli import main


@pytest.mark.parametrize(("argv", "message"), [
    (["--bpm", "500"], "--bpm must be a number in [30.0, 300.0], got 500.0"),
    (["--bpm", "nan"], "--bpm must be a number in [30.0, 300.0], got nan"),
    (["--velocity", "9"], "--velocity must be a number in [0.0, 2.0], got 9.0"),
    (["--swing", "5"], "--swing must be a number in [0.0, 0.75], got 5.0"),
    (["--groove", "-1"], "--groove must be a number in [0.0, 1.0], got -1.0"),
])
def test_a_feel_option_out_of_range_is_named_as_typed(capsys, argv, message) -> None:
    assert main(["play", *argv, "--clip", "never-read.mid", "--seconds", "0"]) == 1
    err = capsys.readouterr().err
    assert err == f"groovefader: error: {message}\n"
