"""The command table: every subcommand listed without importing its module, and a command
run imports its own module only (``generate`` must not pay for training's imports)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli

ROOT = Path(__file__).resolve().parents[2]

# Runs ``groovefader ARGS`` in a fresh interpreter; prints the modules loaded at exit.
RUNNER = """
import atexit, json, sys
atexit.register(lambda: print("MODULES", json.dumps(sorted(sys.modules)), file=sys.stderr))
from app.cli import main
sys.exit(main(sys.argv[1:]))
"""


def loaded_modules(*args: str, rc: int = 0) -> tuple[set[str], subprocess.CompletedProcess]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GROOVEFADER_BACKEND": "auto"}
    proc = subprocess.run([sys.executable, "-c", RUNNER, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == rc, proc.stderr[-2000:]
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("MODULES ")][-1]
    return set(json.loads(line.split(" ", 1)[1])), proc


def registered_help(parser) -> dict[str, str]:
    sub = next(a for a in parser._actions if a.dest == "command")  # noqa: SLF001
    return {a.dest: a.help for a in sub._choices_actions}  # noqa: SLF001


def test_the_table_says_what_the_modules_register() -> None:
    full = registered_help(cli.build_parser())  # every module imported and registering
    assert list(full) == [c.name for c in cli.COMMANDS]
    assert full == {c.name: c.help for c in cli.COMMANDS}


@pytest.mark.parametrize("command", [c.name for c in cli.COMMANDS])
def test_a_lazy_table_lists_every_command_in_order(command: str) -> None:
    lazy = cli.build_parser([command, "--help"])
    assert registered_help(lazy) == {c.name: c.help for c in cli.COMMANDS}
    # the named command is the real one: its own options parse
    sub = next(a for a in lazy._actions if a.dest == "command")  # noqa: SLF001
    assert sub.choices[command]._actions[1:]  # noqa: SLF001 - more than -h


def test_help_lists_all_commands_and_imports_none(capsys) -> None:
    modules, proc = loaded_modules("--help")
    for c in cli.COMMANDS:
        assert f"    {c.name}" in proc.stdout
        assert c.module not in modules


def test_generate_imports_no_other_command_or_training(tmp_path: Path) -> None:
    clip = tmp_path / "a.mid"
    modules, _ = loaded_modules("generate", "--checkpoint", str(ROOT / "checkpoints" / "default.pt"),
                                "-o", str(clip), "--seed", "1")
    assert clip.stat().st_size > 0
    assert "engine.commands.generate" in modules
    others = {c.module for c in cli.COMMANDS} - {"engine.commands.generate"}
    assert not modules & others
    heavy = {"PySide6", "torch", "training", "matplotlib", "scipy"}
    assert not {m.split(".")[0] for m in modules} & heavy, sorted(m for m in modules
                                                                  if m.split(".")[0] in heavy)


def test_an_unknown_command_names_them_all(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["nope"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nope'" in err and all(f"'{c.name}'" in err for c in cli.COMMANDS)


def test_the_command_is_its_first_word() -> None:
    assert cli.chosen_command(["--help"]) is None
    assert cli.chosen_command(["generate", "-o", "x.mid"]) == "generate"
    assert cli.chosen_command(["-h", "play", "--bpm", "120"]) == "play"
