"""The generators on ONNX Runtime against the same generators on torch: exported graphs of
tiny real checkpoints (and the shipped ones) give the same patterns and melodies for the
same inputs and seeds; stale or missing exports fall back to torch; the export refuses
graphs that differ from torch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from engine.errors import CheckpointError  # noqa: E402
from engine.generation import backends  # noqa: E402
from engine.generation.generator import Generator  # noqa: E402
from engine.generation.melody import MelodyGenerator  # noqa: E402
from engine.generation.onnx_nets import export_dir_for, find_export  # noqa: E402
from engine.generation.voice_lock import VoiceLock  # noqa: E402
from engine.music.melody import codec_meta  # noqa: E402
from tests.support.melody import melody_a, melody_b, memorised_checkpoint  # noqa: E402
from tests.support.tiny_checkpoint import synthetic_patterns, tiny_checkpoint  # noqa: E402
from training.export import ExportError, export_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
VEL_TOL = 1e-4  # velocities and offsets: the export's verified tolerance


@pytest.fixture(scope="module", params=["fader_vae", "vae", "fader_vae_vtrunk"])
def exported(request, tmp_path_factory) -> Path:
    """A tiny checkpoint of each kind copied to a fresh folder and exported beside it."""
    folder = tmp_path_factory.mktemp(request.param)
    path = Path(shutil.copy(tiny_checkpoint(request.param), folder / "model.pt"))
    export_checkpoint(path)
    return path


def both(path: Path) -> tuple[Generator, Generator]:
    onnx, tor = Generator.from_checkpoint(path), Generator.from_checkpoint(path, backend="torch")
    assert (onnx.backend, tor.backend) == ("onnx", "torch")
    return onnx, tor


def assert_same(a, b) -> None:
    """Two DecodedBatch or codec arrays: hits equal, the rest within the export tolerance."""
    if hasattr(a, "hits"):
        assert np.array_equal(a.hits, b.hits)
        a, b = a.to_array(), b.to_array()
    assert np.array_equal(a[..., :9], b[..., :9])
    assert np.abs(a - b).max() <= VEL_TOL


def test_step_uniforms_are_torchs_draws() -> None:
    for seed in (0, 7, 2 ** 40 + 3, 2 ** 62 - 1):
        g = torch.Generator().manual_seed(seed)
        want = torch.cat([torch.rand((3, 1, 9), generator=g) for _ in range(32)], dim=1).numpy()
        assert np.array_equal(backends.step_uniforms(seed, 3, 32, 9), want)


def test_export_folder_holds_verified_graphs(exported: Path) -> None:
    folder = export_dir_for(exported)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "drums"
    assert set(manifest["graphs"]) == {"encoder", "decoder", "decoder_teacher"}
    assert 0 < max(manifest["verified"]["max_abs_diff"].values()) <= manifest["verified"]["tolerance"]
    assert manifest["checkpoint"]["bytes"] == exported.stat().st_size
    found, why = find_export(exported, "drums")
    assert found is not None, why
    assert found.meta["attributes"] == Generator.from_checkpoint(exported, backend="torch").meta["attributes"]


def test_same_patterns_on_both_paths(exported: Path) -> None:
    onnx, tor = both(exported)
    z = onnx.sample(24, seed=1)
    knobs = {n: lo for n, (lo, _) in onnx.attribute_ranges.items()}
    for kw in ({}, {"temperature": 1.0, "seed": 5}, {"temperature": 0.5, "seed": 11}):
        assert_same(onnx.decode_batch(z, **kw), tor.decode_batch(z, **kw))
        assert_same(onnx.decode_batch(z, knobs, **kw), tor.decode_batch(z, knobs, **kw))
    teacher = synthetic_patterns(24, seed=3)
    assert_same(onnx.decode_batch(z, teacher=teacher), tor.decode_batch(z, teacher=teacher))
    x = synthetic_patterns(16, seed=4)
    for got, want in zip(onnx.encode_batch(x), tor.encode_batch(x), strict=True):
        assert np.abs(got - want).max() <= VEL_TOL
    if onnx.attribute_names:
        targets = np.full(len(onnx.attribute_names), np.nan)
        targets[0] = list(onnx.attribute_ranges.values())[0][1]
        pa = onnx.decode(z[:6], targets=targets, turning=onnx.attribute_names[0])
        pb = tor.decode(z[:6], targets=targets, turning=tor.attribute_names[0])
        for a, b in zip(pa, pb, strict=True):
            assert_same(a.to_array(), b.to_array())
    name = onnx.attribute_names[0] if onnx.attribute_names else "density"
    assert np.abs(onnx.heatmap(name, 8) - tor.heatmap(name, 8)).max() <= 1e-6


def test_locked_voices_the_same_on_both_paths(exported: Path) -> None:
    onnx, tor = both(exported)
    base = onnx.decode(onnx.sample(1, seed=2)[0])
    lock = VoiceLock.of(base, (0, 1))  # kick and snare kept
    z = onnx.sample(4, seed=9)
    for a, b in zip(onnx.decode(z, lock=lock), tor.decode(z, lock=lock), strict=True):
        assert_same(a.to_array(), b.to_array())


def test_stale_export_falls_back_to_torch_and_onnx_only_refuses(exported: Path, tmp_path: Path) -> None:
    path = Path(shutil.copy(exported, tmp_path / "model.pt"))
    shutil.copytree(export_dir_for(exported), export_dir_for(path))
    assert Generator.from_checkpoint(path).backend == "onnx"
    with path.open("ab") as f:  # the checkpoint changes after its export (e.g. a new map)
        f.write(b"\0")
    found, why = find_export(path, "drums")
    assert found is None and "stale" in why
    with pytest.raises(CheckpointError, match="stale"):
        Generator.from_checkpoint(path, backend="onnx")
    shutil.rmtree(export_dir_for(path))
    path.write_bytes(exported.read_bytes())
    assert Generator.from_checkpoint(path).backend == "torch"  # no export: torch


def test_export_refuses_graphs_that_differ_from_torch(tmp_path: Path, monkeypatch) -> None:
    path = Path(shutil.copy(tiny_checkpoint("fader_vae"), tmp_path / "model.pt"))

    class Off(backends.TorchDrumNet):  # a reference 1e-3 away from the graphs
        def run_decoder(self, *args, **kwargs):
            logits, vel, off = super().run_decoder(*args, **kwargs)
            return logits + 1e-3, vel, off

    monkeypatch.setattr("training.export.TorchDrumNet", Off)
    with pytest.raises(ExportError, match=r"differ from torch by 1\.0\de-03.*nothing written"):
        export_checkpoint(path)
    assert not export_dir_for(path).exists()
    assert list(tmp_path.iterdir()) == [path]  # no temporary folder left behind


def test_melody_greedy_and_forced_decodes_equal_on_both_paths(tmp_path: Path) -> None:
    path = Path(shutil.copy(memorised_checkpoint(str(tmp_path)), tmp_path / "tune.pt"))
    export_checkpoint(path)
    onnx, tor = MelodyGenerator.from_checkpoint(path), MelodyGenerator.from_checkpoint(path, backend="torch")
    assert (onnx.backend, tor.backend) == ("onnx", "torch")
    z = onnx.sample(16, seed=0)
    for bars in (None, 4):
        for a, b in zip(onnx.decode_batch(z, bars), tor.decode_batch(z, bars), strict=True):
            assert np.array_equal(a.events, b.events)
    assert np.abs(onnx.encode_batch([melody_a(), melody_b()]) - tor.encode_batch([melody_a(), melody_b()])
                  ).max() <= VEL_TOL
    for strategy in (1, 2, 3):  # teacher-forced mixes feed classes back through the step graph
        a = onnx.transition(melody_a(), melody_b(), 4, strategy, seed=3, ends="decoded")
        b = tor.transition(melody_a(), melody_b(), 4, strategy, seed=3, ends="decoded")
        assert np.array_equal(a.events, b.events)
    a, b = (g.transition(melody_a(), melody_b(), 4, 1, seed=3, ends="searched", beam=2) for g in (onnx, tor))
    assert np.array_equal(a.events, b.events)  # the posterior's candidates and beam search too
    s1, s2 = (onnx.decode_batch(z[:4], temperature=1.0, seed=5) for _ in range(2))
    assert all(np.array_equal(a.events, b.events) for a, b in zip(s1, s2, strict=True))


def test_hierarchical_two_layer_melody_exports(tmp_path: Path) -> None:
    from models.melody_checkpoint import save_melody_checkpoint
    from models.melody_vae import MelodyVAE, preset

    torch.manual_seed(0)
    model = MelodyVAE(preset("melody_tiny", decoder="hier", dec_layers=2, bars=4)).eval()
    meta = {"data_fingerprint": "test", "metrics": {}, "codec": codec_meta(),
            "latent": {"mean": [0.0] * 8, "std": [1.0] * 8}}
    path = save_melody_checkpoint(tmp_path / "hier.pt", model, meta)
    report = export_checkpoint(path)
    with np.load(report.folder / "arrays.npz") as arrays:
        assert {"cond.hh", "dec.fused0", "dec.fused1", "dec.bias1"} <= set(arrays.files)
    onnx, tor = MelodyGenerator.from_checkpoint(path), MelodyGenerator.from_checkpoint(path, backend="torch")
    z = onnx.sample(8, seed=1)
    for a, b in zip(onnx.decode_batch(z, 6), tor.decode_batch(z, 6), strict=True):
        assert np.array_equal(a.events, b.events)


def test_shipped_checkpoints_ship_fresh_exports() -> None:
    for name, kind in (("default", "drums"), ("melody", "melody")):
        found, why = find_export(ROOT / "checkpoints" / f"{name}.pt", kind)
        assert found is not None, why


@pytest.mark.slow
def test_shipped_model_same_on_both_paths() -> None:
    """The shipped model with its map of the data: Randomize, pad, knob walks, heat-map."""
    onnx, tor = both(ROOT / "checkpoints" / "default.pt")
    z = np.concatenate([onnx.sample_like_data(16, seed=1), onnx.pad_to_z(np.linspace(-1, 1, 8),
                                                                          np.linspace(1, -1, 8))])
    assert_same(onnx.decode_batch(z), tor.decode_batch(z))
    assert_same(onnx.decode_batch(z, temperature=0.7, seed=3), tor.decode_batch(z, temperature=0.7, seed=3))
    targets = np.full(len(onnx.attribute_names), np.nan)
    targets[0] = onnx.attribute_ranges[onnx.attribute_names[0]][0]
    for a, b in zip(onnx.decode(z, targets=targets, turning=onnx.attribute_names[0]),
                    tor.decode(z, targets=targets, turning=tor.attribute_names[0]), strict=True):
        assert_same(a.to_array(), b.to_array())
    assert np.abs(onnx.heatmap("density", 16) - tor.heatmap("density", 16)).max() <= 1e-6


def test_melody_export_without_decoder_arrays_says_to_export_again(tmp_path: Path) -> None:
    path = Path(shutil.copy(memorised_checkpoint(str(tmp_path)), tmp_path / "tune.pt"))
    report = export_checkpoint(path)
    np.savez(report.folder / "arrays.npz")  # as an export made before the numpy loop
    with pytest.raises(CheckpointError, match="without its decoder's arrays.*export again"):
        MelodyGenerator.from_checkpoint(path, backend="onnx")
