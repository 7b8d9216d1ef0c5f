"""The map of the data: node picks, labels, and a generator that walks it."""

import numpy as np
import pytest

pytest.importorskip("torch")

from engine.generation.generator import Generator  # noqa: E402
from engine.generation.som import fit_som, pick_nodes  # noqa: E402
from engine.music import attributes as attr_lib  # noqa: E402
from models.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from tests.support.tiny_checkpoint import synthetic_patterns, tiny_checkpoint  # noqa: E402
from training.data_map import MapConfig, build_data_map, style_labels  # noqa: E402


def test_nodes_hold_real_members_and_labels_sit_where_styles_gather():
    rng = np.random.default_rng(1)
    codes = rng.standard_normal((200, 4))
    w, bmu = fit_som(codes, 4, 4, epochs=10)
    nodes = pick_nodes(codes, w, bmu, seed=0)
    for k, i in enumerate(nodes):
        members = np.flatnonzero(bmu == k)
        assert i in members or len(members) == 0
    node_styles = np.zeros((4, 4), int)
    node_styles[:, 3] = 1  # style 1 lives in the right column
    labels = style_labels(node_styles, ["funk", "rock"], 0.01, np.r_[np.zeros(100), np.ones(100)].astype(int))
    rock = next(lab for lab in labels if lab.style == "rock")
    assert rock.x == pytest.approx(1.0)


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    ckpt = load_checkpoint(tiny_checkpoint())
    gen = Generator(ckpt.model, ckpt.meta, ckpt.config)
    pats = synthetic_patterns(300, seed=5)
    attrs = attr_lib.compute(pats, gen.attribute_names)
    styles = np.arange(300) % 2
    arrays, info = build_data_map(gen, pats, attrs, styles, ["funk", "rock"],
                                  MapConfig(rows=6, cols=6, epochs=8))
    meta = dict(ckpt.meta, data_map=info)
    path = tmp_path_factory.mktemp("map") / "mapped.pt"
    save_checkpoint(path, ckpt.model, ckpt.config, meta, arrays)
    return Generator.from_checkpoint(path), arrays


def test_the_map_survives_the_checkpoint_and_the_pad_plays_bank_grooves(mapped):
    gen, arrays = mapped
    assert gen.has_data_map
    node = int(arrays["pad.nodes"][0, 0])
    assert np.allclose(gen.pad_to_z(-1.0, -1.0), arrays["bank.codes"][node].astype(np.float32), atol=1e-6)
    assert gen.z_to_pad(arrays["bank.codes"][node].astype(np.float64)) == (-1.0, -1.0)
    assert {lab.style for lab in gen.pad_labels} <= {"funk", "rock"}


def test_a_turned_knob_walks_to_a_training_groove_that_meets_it(mapped):
    gen, arrays = mapped
    names = list(gen.attribute_names)
    j = names.index("density")
    low, high = gen.attribute_ranges["density"]
    z = gen.pad_to_z(0.0, 0.0)
    own = attr_lib.compute(gen.decode_batch(z).to_array(), names)[0]
    measured = arrays["bank.measured"][:, j]
    tol = gen.walk_tolerance()[j]
    for target in (low, high):
        targets = np.full(len(names), np.nan)
        targets[j] = target
        batch, picks = gen.decode_walking(z, targets, turning="density")
        assert gen.walk_picks(z, targets, turning="density").tolist() == picks.tolist()
        got = attr_lib.compute(batch.to_array(), names)[0, j]
        if np.any(np.abs(measured - target) <= tol):
            assert abs(got - target) <= tol + 1e-6
            assert picks[0] >= 0
    # at its own value the groove stays the playing one
    targets = np.full(len(names), np.nan)
    targets[j] = own[j]
    _, picks = gen.decode_walking(z, targets, turning="density")
    assert picks[0] == -1
    # decode() takes the walk when the checkpoint has a map
    pat = gen.decode(z, targets=np.where(np.arange(len(names)) == j, high, np.nan), turning="density")
    assert attr_lib.compute(pat.to_array()[None], names)[0, j] == pytest.approx(
        attr_lib.compute(gen.decode_walking(z, np.where(np.arange(len(names)) == j, high, np.nan),
                                            turning="density")[0].to_array(), names)[0, j])


def test_a_foreign_data_map_is_one_clear_error(mapped, tmp_path):
    from engine.errors import CheckpointError

    gen, arrays = mapped
    ckpt = load_checkpoint(tiny_checkpoint())
    bad = dict(arrays)
    bad["bank.codes"] = arrays["bank.codes"][:, :3]
    meta = dict(ckpt.meta, data_map=gen.meta["data_map"])
    path = tmp_path / "bad.pt"
    save_checkpoint(path, ckpt.model, ckpt.config, meta, bad)
    with pytest.raises(CheckpointError, match="data map"):
        Generator.from_checkpoint(path)


def test_map_command_adds_and_rebuilds_the_map(tmp_path, monkeypatch, capsys):
    from app.cli import main
    from engine.music.midifile import write_clip
    from engine.music.pattern import Pattern

    monkeypatch.setenv("GROOVEFADER_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "grooves"
    src.mkdir()
    rows = ["midi_filename,style,split"]
    for i, pat in enumerate(synthetic_patterns(12, seed=9)):
        clip = Pattern.concatenate([Pattern.from_array(pat)] * 2)
        write_clip(src / f"g{i}.mid", clip)
        rows.append(f"g{i}.mid,{'funk/groove' if i % 2 else 'rock/beat'},train")
    (src / "info.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "mapped.pt"
    args = ["map", "--checkpoint", str(tiny_checkpoint()), "--data", str(src), "-o", str(out),
            "--rows", "3", "--cols", "3", "--epochs", "3"]
    assert main(args) == 0
    assert "style labels" in capsys.readouterr().out
    gen = Generator.from_checkpoint(out)
    assert gen.has_data_map and gen.meta["data_map"]["style_names"] == ["funk", "rock"]
    # a checkpoint that has a map gets a new one (in place)
    assert main(["map", "--checkpoint", str(out), "--data", str(src), "--rows", "4", "--cols", "4",
                 "--epochs", "3"]) == 0
    again = Generator.from_checkpoint(out)
    assert again.meta["data_map"]["config"]["rows"] == 4
    assert again.backend == "onnx"  # re-exported with the new map, not a stale export
    fitted = again.expression  # the map also fits the spread its decodes are given back
    assert not fitted.identity and 0.5 < fitted.velocity < 3 and 0.5 < fitted.timing < 3
    # --expression-only fits it anew on a checkpoint's own map, nothing else changed
    bare = tmp_path / "bare.pt"
    ckpt = load_checkpoint(out)
    save_checkpoint(bare, ckpt.model, ckpt.config, {k: v for k, v in ckpt.meta.items() if k != "expression"},
                    ckpt.arrays)
    assert Generator.from_checkpoint(bare).expression.identity
    assert main(["map", "--expression-only", "--checkpoint", str(bare), "--data", str(src)]) == 0
    assert "expression velocity" in capsys.readouterr().out
    refit = load_checkpoint(bare)
    assert refit.meta["expression"] == fitted.to_meta()
    assert refit.meta["data_map"] == ckpt.meta["data_map"]
    assert all(np.array_equal(refit.arrays[k], v) for k, v in ckpt.arrays.items())


def test_the_map_stores_each_grooves_nearest_codes(mapped):
    from engine.generation.data_path import NEIGHBOURS

    gen, arrays = mapped
    codes = arrays["bank.codes"].astype(np.float64)
    d = ((codes[:, None] - codes[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    stored = arrays["bank.neighbours"]
    assert stored.shape == (len(codes), NEIGHBOURS)
    # nearest first, and no other code nearer than the last kept
    got = np.take_along_axis(d, stored.astype(np.int64), 1)
    assert np.all(np.diff(got, axis=1) >= -1e-9)
    assert np.all(np.sort(d, axis=1)[:, NEIGHBOURS - 1] >= got[:, -1] - 1e-9)
    # the generator's graph is built from them
    assert np.array_equal(gen.groove_graph().neighbour_lists, stored[:, :gen.data_path.neighbours])


def test_graph_only_adds_the_neighbour_lists_and_keeps_the_map(mapped, tmp_path, capsys):
    from app.cli import main

    gen, arrays = mapped
    ckpt = load_checkpoint(tiny_checkpoint())
    older = {k: v for k, v in arrays.items() if k != "bank.neighbours"}  # a map made before them
    path = tmp_path / "older.pt"
    save_checkpoint(path, ckpt.model, ckpt.config, dict(ckpt.meta, data_map=gen.meta["data_map"]), older)
    out = tmp_path / "linked.pt"
    assert main(["map", "--graph-only", "--checkpoint", str(path), "--data", str(tmp_path / "unused"),
                 "-o", str(out)]) == 0
    assert "neighbour lists of 300 training grooves" in capsys.readouterr().out
    got = load_checkpoint(out)
    assert np.array_equal(got.arrays["bank.neighbours"], arrays["bank.neighbours"])
    for k, v in older.items():
        assert np.array_equal(got.arrays[k], v)
    assert got.meta["data_map"] == gen.meta["data_map"]
    # a checkpoint without a map: one line, nothing written
    assert main(["map", "--graph-only", "--checkpoint", str(tiny_checkpoint()), "--data", "x",
                 "-o", str(tmp_path / "none.pt")]) == 1
    assert "no map of the data" in capsys.readouterr().err and not (tmp_path / "none.pt").exists()


@pytest.mark.parametrize("flag, value", [("--batch-size", "0"), ("--rows", "0"), ("--sharpness", "nan"),
                                         ("--randomize-noise", "-1")])
def test_map_settings_that_cannot_build_a_map_are_one_line_before_any_work(tmp_path, capsys, flag,
                                                                           value) -> None:
    from app.cli import main
    from tests.support.tiny_checkpoint import tiny_checkpoint

    ckpt = tiny_checkpoint("fader_vae")
    before = ckpt.read_bytes()
    assert main(["map", "--checkpoint", str(ckpt), "--data", str(tmp_path), flag, value]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("groovefader: error: map ")
    assert flag[2:].replace("-", "_") in err[0]
    assert ckpt.read_bytes() == before
