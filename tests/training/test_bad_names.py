"""``groovefader data`` on a folder whose names are any bytes: every good file used, each bad
entry one escaped line, the printed summary and its JSON never crash."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.music.drums import NUM_VOICES, Voice
from engine.music.midifile import write_clip
from engine.music.pattern import Pattern
from models.pathnames import shown
from training.dataset import build

# name (bytes, as a disk from an old archive holds them) → good groove file
GOOD_NAMES = (b"latin1_\xe9.mid", b"with space.mid", b"new\nline.mid", b"-dash.mid",
              b"esc\x1b[31m.mid", b"L" * 240 + b".mid", b"x.mid/inner.mid", b"-lead/-x.mid",
              "utf8_é.mid".encode())


def groove(seed: int) -> Pattern:
    rng = np.random.default_rng(seed)
    h = rng.random((48, NUM_VOICES)) < 0.2
    h[::4, Voice.KICK] = True
    return Pattern(h, rng.integers(30, 128, h.shape) / 127)


def odd_folder(root: Path) -> Path:
    """A folder of good grooves under odd names plus links that loop or lead nowhere."""
    src = root / "src"
    src.mkdir()
    for i, name in enumerate(GOOD_NAMES):
        path = Path(os.fsdecode(bytes(src) + b"/" + name))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_clip(path, groove(i))
    os.symlink("loop2.mid", src / "loop1.mid")  # a link loop with a MIDI name
    os.symlink("loop1.mid", src / "loop2.mid")
    os.symlink("nowhere.mid", src / "dangling.mid")
    os.symlink("..", src / "x.mid" / "up")  # a folder loop: must not make the walk endless
    (src / "random.mid").write_bytes(np.random.default_rng(7).bytes(300))
    return src


def test_build_uses_every_good_file_whatever_its_name(tmp_path):
    src = odd_folder(tmp_path)
    ds, summary = build(src, cache_dir=tmp_path / "cache", workers=1)
    assert ds is not None
    assert summary["files_used"] == len(GOOD_NAMES)
    reasons = {s["file"]: s["reason"] for s in summary["skipped_files"]}
    assert reasons == {"loop1.mid": "broken or looping link", "loop2.mid": "broken or looping link",
                       "dangling.mid": "broken or looping link", "random.mid": "not a readable MIDI file"}
    # the dataset keeps each source's exact name (a window traces back to its file)
    assert {os.fsencode(s) for s in ds.source} == set(GOOD_NAMES)
    # the cache round-trips the odd names
    again, summary2 = build(src, cache_dir=tmp_path / "cache", workers=1)
    assert summary2["cache"] == "hit" and {os.fsencode(s) for s in again.source} == set(GOOD_NAMES)


def test_fingerprint_of_a_utf8_name_is_unchanged(tmp_path, monkeypatch):
    """Hashing a name's bytes gives what hashing its UTF-8 text gave: the data keeps its fingerprint."""
    import hashlib

    from training import dataset
    from training.dataset import FORMAT_VERSION, fingerprint

    monkeypatch.setattr(dataset, "READER_VERSION", dataset.UNHASHED_READER_VERSION)

    src = tmp_path / "src"
    src.mkdir()
    path = write_clip(src / "é.mid", groove(0))
    h = hashlib.sha256()
    h.update(json.dumps({"format": FORMAT_VERSION}, sort_keys=True).encode())
    h.update("é.mid".encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    assert fingerprint(src, [path], {}) == h.hexdigest()


def _without_root_powers() -> list[str]:
    """A command prefix under which file modes bind (root reads any file otherwise): nothing
    for a user; for root, ``setpriv`` dropping the capabilities that override them."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("as root, file modes bind only without CAP_DAC_OVERRIDE: setpriv (util-linux) is missing")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def test_unreadable_files_and_folders_are_one_line_each_and_the_rest_is_used(tmp_path):
    src = tmp_path / "src"
    (src / "locked_dir").mkdir(parents=True)
    write_clip(src / "good.mid", groove(0))
    write_clip(src / "locked_dir" / "inner.mid", groove(1))
    locked = write_clip(src / "locked.mid", groove(2))
    locked.chmod(0)
    (src / "locked_dir").chmod(0)
    try:
        proc = subprocess.run([*_without_root_powers(), sys.executable, "-m", "app.cli", "data", str(src),
                               "--no-cache", "--json", "--workers", "1"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[2], timeout=120)
    finally:
        locked.chmod(0o644)
        (src / "locked_dir").chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["files_used"] == 1
    assert {(s["file"], s["reason"], s["message"]) for s in summary["skipped_files"]} == {
        ("locked.mid", "cannot open file", f"{src}/locked.mid: cannot open file (Permission denied)"),
        ("locked_dir", "unreadable folder",
         f"{src}/locked_dir: cannot read the folder (Permission denied); its files are not used")}


@pytest.mark.parametrize("as_json", [False, True])
def test_data_cli_prints_odd_names_escaped_on_one_line(tmp_path, as_json):
    """A real process with a strict UTF-8 stdout (a pipe): the summary prints, no traceback."""
    src = odd_folder(tmp_path)
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", GROOVEFADER_CACHE=str(tmp_path / "cache"))
    cmd = [sys.executable, "-m", "app.cli", "data", os.fsdecode(bytes(src)), "-v", "--workers", "1"]
    proc = subprocess.run(cmd + (["--json"] if as_json else []), capture_output=True, env=env,
                          cwd=Path(__file__).resolve().parents[2], timeout=120)
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Traceback" not in out
    if as_json:
        summary = json.loads(out)
        assert summary["files_used"] == len(GOOD_NAMES)
        for item in summary["skipped_files"]:
            assert "\n" not in item["message"]
    else:
        lines = out.splitlines()
        dead = [ln for ln in lines if "leads to no file" in ln]
        assert len(dead) == 3 and all(ln.startswith("  skipped ") for ln in dead)
        assert f"{len(GOOD_NAMES)} gave windows" in out
        assert "  skipped " + shown(src / "random.mid") + ": not a readable MIDI file" in out


def test_shown_names_are_printable_one_line_and_distinct():
    names = [os.fsdecode(n) for n in GOOD_NAMES]
    out = [shown(n) for n in names]
    assert out[0] == "latin1_\\xe9.mid" and out[2] == "new\\nline.mid" and out[4] == "esc\\x1b[31m.mid"
    assert out[-1] == "utf8_é.mid"  # valid UTF-8 stays readable
    for text in out:
        text.encode("utf-8")  # never raises
        assert "\n" not in text and "\x1b" not in text
    assert len(set(out)) == len(out)


def test_the_eval_report_names_odd_paths_in_text_that_encodes():
    """The command line quoted in eval's JSON and markdown is written as UTF-8: odd names escaped."""
    from app.cli import build_parser
    from training.eval_cli import _command_line

    odd = os.fsdecode(b"/data/caf\xe9\nset")
    args = build_parser().parse_args(["eval", "--checkpoint", odd + ".pt", "--data", odd, "--json", "e.json"])
    line = _command_line(args)
    line.encode("utf-8")
    assert "--checkpoint /data/caf\\xe9\\nset.pt --data /data/caf\\xe9\\nset " in line


def test_a_latin1_info_csv_assigns_its_latin1_files(tmp_path):
    """An archive from an old system: names and info.csv both in Latin-1."""
    src = tmp_path / "src"
    src.mkdir()
    for i, name in enumerate((b"caf\xe9.mid", b"na\xefve.mid", b"plain.mid")):
        write_clip(Path(os.fsdecode(bytes(src) + b"/" + name)), groove(i))
    (src / "info.csv").write_bytes(b"midi_filename,split\ncaf\xe9.mid,test\nna\xefve.mid,validation\n"
                                   b"plain.mid,train\n")
    ds, summary = build(src, cache_dir=tmp_path / "cache", workers=1)
    assert summary["files_used"] == 3 and summary["files_skipped"] == 0
    by_file = {os.fsencode(s): str(sp) for s, sp in zip(ds.source, ds.split, strict=True)}
    assert by_file == {b"caf\xe9.mid": "test", b"na\xefve.mid": "validation", b"plain.mid": "train"}
