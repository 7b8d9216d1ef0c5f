"""Whatever a user gives as a checkpoint, the drum and the melody loaders name it in one line:
not a checkpoint at all, truncated, pickled code, a newer format, absurd sizes (refused before
anything is allocated), unknown attribute names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from engine.errors import CheckpointError
from engine.music.melody import codec_meta
from models.checkpoint import load_checkpoint, save_checkpoint
from models.config import PRESETS
from models.fader_vae import FaderVAE
from models.melody_checkpoint import load_melody_checkpoint, save_melody_checkpoint
from models.melody_vae import MelodyVAE, preset
from tests.models.test_checkpoint import make_meta

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]


class RunsCode:
    """Unpickling this would call ``os.getcwd`` (harmless, but code all the same)."""

    def __reduce__(self):
        return (os.getcwd, ())


@pytest.fixture(scope="module")
def drum(tmp_path_factory) -> Path:
    model = FaderVAE(PRESETS["tiny"])
    return save_checkpoint(tmp_path_factory.mktemp("drum") / "d.pt", model, PRESETS["tiny"], make_meta(model))


@pytest.fixture(scope="module")
def melody(tmp_path_factory) -> Path:
    model = MelodyVAE(preset("melody_tiny"))
    z = model.config.z_dim
    meta = {"data_fingerprint": "t", "metrics": {}, "codec": codec_meta(),
            "latent": {"mean": [0.0] * z, "std": [1.0] * z}}
    return save_melody_checkpoint(tmp_path_factory.mktemp("melody") / "m.pt", model, meta)


def edited(src: Path, dst: Path, edit: Callable[[dict], None]) -> Path:
    payload = torch.load(src, weights_only=True)
    meta = json.loads(payload["meta_json"])
    edit(meta)
    payload["meta_json"] = json.dumps(meta)
    torch.save(payload, dst)
    return dst


def foreign_files(folder: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """name → (file, the words its one-line diagnosis must hold)."""
    cases: dict[str, tuple[Path, str]] = {}

    def add(name: str, content: bytes, expect: str) -> None:
        path = folder / f"{name}.pt"
        path.write_bytes(content)
        cases[name] = (path, expect)

    add("empty", b"", "not a checkpoint: the file is empty")
    add("random", bytes(range(7, 250)) * 20, "not a checkpoint: neither a PyTorch file nor a pickle")
    add("json", b'{"tempo": 120}', "not a checkpoint: a JSON file")
    add("metadata", good.with_suffix(".json").read_bytes(),
        "the JSON copy of a checkpoint's metadata; load the .pt file beside it")
    add("text", b"hello there\n", "not a checkpoint: a text file")
    add("midi", b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x00\x04\x00\xff\x2f\x00",
        "not a checkpoint: a MIDI file")
    add("pickle_junk", b"\x80\x02garbage", "not a checkpoint: unreadable pickle data")
    data = good.read_bytes()
    add("truncated", data[: len(data) // 2], "truncated checkpoint: the file ends early")
    add("cut_head", data[:100], "truncated checkpoint: the file ends early")
    code = folder / "code.pt"
    torch.save({"format": "groovefader-checkpoint", "x": RunsCode()}, code)
    cases["code"] = (code, "refused: loading it would run Python code (posix.getcwd)")
    other = folder / "other.pt"
    torch.save({"encoder.weight": torch.zeros(2)}, other)
    cases["other_program"] = (other, "not a groovefader checkpoint: a PyTorch file of another program")
    cases["newer"] = (edited(good, folder / "newer.pt", lambda m: m.update(format_version=7)),
                      "written by a newer groovefader (checkpoint format 7; this one reads 1)")
    cases["z_dim"] = (edited(good, folder / "zdim.pt", lambda m: m["config"].update(z_dim=10**9)),
                      "refused: its config asks for z_dim=1000000000")
    return cases


def test_drum_loader_names_every_foreign_file(tmp_path, drum):
    cases = foreign_files(tmp_path, drum)
    cases["huge_steps"] = (edited(drum, tmp_path / "steps.pt",
                                  lambda m: m["config"].update(steps=16 * 10**8)),
                           "refused: its config asks for steps=1600000000")
    cases["wide"] = (edited(drum, tmp_path / "wide.pt", lambda m: m["config"].update(encoder_size=64)),
                     "weights do not match the config: ")
    def cowbell(meta: dict) -> None:
        meta["attributes"]["names"][0] = "cowbell"

    cases["attributes"] = (edited(drum, tmp_path / "attr.pt", cowbell),
                           "attribute(s) 'cowbell' unknown to this groovefader")
    cases["attribute_types"] = (edited(drum, tmp_path / "attr2.pt",
                                       lambda m: m["attributes"].update(names=[1, 2, 3, 4, 5])),
                                "attributes.names must be a list of names")
    cases["hand_edited"] = (edited(drum, tmp_path / "means.pt", lambda m: m["attributes"].update(mean=3)),
                            "malformed metadata (TypeError")
    for name, (path, expect) in cases.items():
        with pytest.raises(CheckpointError) as caught:
            load_checkpoint(path)
        message = str(caught.value)
        assert expect in message, (name, message)
        assert message.startswith(str(path)) and "\n" not in message, (name, message)


def test_melody_loader_names_every_foreign_file(tmp_path, melody):
    cases = foreign_files(tmp_path, melody)
    cases["bars"] = (edited(melody, tmp_path / "bars.pt", lambda m: m["config"].update(bars=10**7)),
                     "refused: its config asks for bars=10000000")
    cases["hidden"] = (edited(melody, tmp_path / "hid.pt", lambda m: m["config"].update(dec_hidden=4096)),
                       "weights do not match the config: ")
    for name, (path, expect) in cases.items():
        with pytest.raises(CheckpointError) as caught:
            load_melody_checkpoint(path)
        message = str(caught.value)
        assert expect in message, (name, message)
        assert "\n" not in message


def test_a_model_larger_than_the_limit_is_refused_without_allocating(tmp_path, drum):
    """Sizes each under the field limit but together ~10¹¹ weights: refused from the meta
    model's count, in a process whose address space could not hold them."""
    big = edited(drum, tmp_path / "big.pt", lambda m: m["config"].update(
        decoder_hidden=60000, decoder_proj=60000))
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30));"
            "from models.checkpoint import load_checkpoint; from engine.errors import CheckpointError\n"
            "try: load_checkpoint(sys.argv[1])\nexcept CheckpointError as e: print(e)")
    proc = subprocess.run([sys.executable, "-c", code, str(big)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert "refused: its config asks for a model of" in proc.stdout


@pytest.mark.parametrize("content, says", [
    (b'{"not": "a model"}', "not a checkpoint: a JSON file"),
    # a plain pickle (another program's, protocol 4): torch warned about it in two lines of its own
    (__import__("pickle").dumps({"weights": [1.0, 2.0]}, protocol=4), "not a checkpoint"),
], ids=["json", "pickle"])
def test_the_cli_says_it_in_one_line(tmp_path, drum, content, says):
    bad = tmp_path / "notes.pt"
    bad.write_bytes(content)
    proc = subprocess.run([sys.executable, "-m", "app.cli", "generate", "-o", str(tmp_path / "x.mid"),
                           "--checkpoint", str(bad)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"groovefader: error: {bad}: {says}"), \
        proc.stderr
    assert not (tmp_path / "x.mid").exists()
