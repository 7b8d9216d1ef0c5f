"""Checkpoint format: round trip with strict loading, and one clear error per kind of bad file."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import CheckpointError
from models.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint
from models.config import PRESETS
from models.fader_vae import FaderVAE
from models.latent import attribute_stats, attribute_vectors, latent_summary

torch.set_num_threads(1)


def make_meta(model: FaderVAE, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    cfg = model.config
    names = ["density", "syncopation", "intensity", "laid_back", "hat_busyness"]
    names = names[: cfg.num_attributes] if cfg.num_attributes else names
    raw = rng.normal(size=(64, len(names)))
    mu = rng.normal(size=(64, cfg.z_dim))
    meta = {"attributes": attribute_stats(raw, names),
            "note_map": {"name": "GM", "notes": list(range(36, 45))},
            "data_fingerprint": "abc", "metrics": {"val_loss": 1.0}, "latent": latent_summary(mu)}
    if not cfg.num_attributes:
        meta["attribute_vectors"] = attribute_vectors(mu, raw, names)
    return meta


@pytest.mark.parametrize("name", ["tiny", "fader_2bar", "groovae_2bar", "fader_4bar_hier"])
def test_round_trip_rebuilds_the_same_model(tmp_path: Path, name: str) -> None:
    import dataclasses

    cfg = dataclasses.replace(PRESETS[name], z_dim=8, encoder_size=16, decoder_size=16, decoder_proj=8,
                              decoder_hidden=16, conductor_size=16, disc_size=16)
    torch.manual_seed(0)
    model = FaderVAE(cfg).eval()
    path = save_checkpoint(tmp_path / "m.pt", model, cfg, make_meta(model))
    assert json.loads(path.with_suffix(".json").read_text())["format_version"] == FORMAT_VERSION
    ck = load_checkpoint(path)
    assert ck.config == cfg and not ck.model.training
    assert ck.meta["model_kind"] == ("fader_vae" if cfg.num_attributes else "vae")
    x = torch.rand(2, cfg.steps, 27)
    a = torch.randn(2, cfg.num_attributes) if cfg.num_attributes else None
    with torch.no_grad():
        mu0, _ = model.encode(x)
        mu1, _ = ck.model.encode(x)
        assert torch.equal(mu0, mu1)
        assert torch.equal(model.decode(mu0, a).hit_logits, ck.model.decode(mu1, a).hit_logits)
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temp files


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    model = FaderVAE(PRESETS["tiny"])
    return save_checkpoint(tmp_path / "ok.pt", model, PRESETS["tiny"], make_meta(model))


def _rewrite(path: Path, edit) -> Path:
    payload = torch.load(path, weights_only=True)
    meta = json.loads(payload["meta_json"])
    edit(meta, payload["state_dict"])
    payload["meta_json"] = json.dumps(meta)
    out = path.with_name("edited.pt")
    torch.save(payload, out)
    return out


class _CreatesAFile:
    """Unpickling this would run ``open(target, 'w')`` — what a malicious checkpoint does."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_pickled_code_is_refused_and_never_runs(tmp_path: Path) -> None:
    target = tmp_path / "pwned.txt"
    bad = tmp_path / "evil.pt"
    torch.save({"format": "groovefader-checkpoint", "meta_json": "{}",
                "state_dict": _CreatesAFile(str(target))}, bad)
    with pytest.raises(CheckpointError, match="refused") as info:
        load_checkpoint(bad)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)
    assert not target.exists()
    # the same payload as a legacy (non-zip) plain pickle
    plain = tmp_path / "evil.pkl"
    plain.write_bytes(pickle.dumps(_CreatesAFile(str(target))))
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(plain)
    assert not target.exists()


def test_wrong_version(saved: Path) -> None:
    bad = _rewrite(saved, lambda m, s: m.update(format_version=99))
    with pytest.raises(CheckpointError, match=r"written by a newer groovefader \(checkpoint format 99; "
                                              r"this one reads 1\): update groovefader"):
        load_checkpoint(bad)


@pytest.mark.parametrize("field", ["latent", "attributes", "note_map", "config", "data_fingerprint"])
def test_missing_field(saved: Path, field: str) -> None:
    bad = _rewrite(saved, lambda m, s: m.pop(field))
    with pytest.raises(CheckpointError, match=f"'{field}' is missing"):
        load_checkpoint(bad)


def test_wrong_weight_shapes(saved: Path) -> None:
    def edit(meta, state):
        key = next(k for k in state if k.endswith("weight"))
        state[key] = torch.zeros(3, 3)
    with pytest.raises(CheckpointError, match="do not match the config"):
        load_checkpoint(_rewrite(saved, edit))


def test_wrong_latent_size(saved: Path) -> None:
    bad = _rewrite(saved, lambda m, s: m["latent"]["plane"].update(origin=[0.0]))
    with pytest.raises(CheckpointError, match="latent.plane.origin has 1 values"):
        load_checkpoint(bad)


def test_missing_and_unexpected_weights(saved: Path) -> None:
    bad = _rewrite(saved, lambda m, s: s.pop(next(iter(s))))
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(bad)


def test_truncated_file(saved: Path) -> None:
    data = saved.read_bytes()
    cut = saved.with_name("cut.pt")
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated checkpoint: the file ends early"):
        load_checkpoint(cut)


def test_not_a_file_and_foreign_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a groovefader checkpoint"):
        load_checkpoint(foreign)
    text = tmp_path / "text.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError):
        load_checkpoint(text)


def test_save_refuses_incomplete_meta(tmp_path: Path) -> None:
    model = FaderVAE(PRESETS["tiny"])
    meta = make_meta(model)
    del meta["latent"]
    with pytest.raises(CheckpointError, match="'latent' is missing"):
        save_checkpoint(tmp_path / "x.pt", model, PRESETS["tiny"], meta)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize(("anchors", "noise", "message"), [
    ([[0.0, 1.0]], 0.5, r"latent.anchors has shape \(1, 2\), expected \(N, 8\)"),
    ([], 0.5, r"latent.anchors has shape \(0,\)"),
    ([[0.0] * 8], -1.0, "anchor_noise must be >= 0"),
    ([[0.0] * 8], None, "latent.anchors is malformed"),
])
def test_bad_anchors_are_one_clear_error(saved: Path, anchors, noise, message) -> None:
    def edit(meta, _state) -> None:
        meta["latent"]["anchors"] = anchors
        if noise is None:
            del meta["latent"]["anchor_noise"]
        else:
            meta["latent"]["anchor_noise"] = noise

    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(_rewrite(saved, edit))


def test_checkpoint_without_anchors_still_loads(saved: Path) -> None:
    """Checkpoints written before the anchors existed load; Randomize falls back to the prior."""
    from engine.generation.generator import Generator

    def edit(meta, _state) -> None:
        del meta["latent"]["anchors"], meta["latent"]["anchor_noise"]

    gen = Generator.from_checkpoint(_rewrite(saved, edit))
    assert not gen.has_anchors
    np.testing.assert_array_equal(gen.sample_like_data(3, seed=4), gen.sample(3, seed=4))


def test_latent_anchors_are_seeded_training_codes() -> None:
    mu = np.random.default_rng(2).normal(size=(500, 6))
    lat = latent_summary(mu, anchors=40)
    anchors = np.asarray(lat["anchors"])
    assert anchors.shape == (40, 6) and lat["anchor_noise"] > 0
    # each anchor is a code (to the stored precision), no code twice
    nearest = np.abs(mu[None] - anchors[:, None]).max(2).argmin(1)
    np.testing.assert_allclose(anchors, mu[nearest], atol=1e-3)
    assert len(set(nearest)) == 40
    assert lat["anchors"] == latent_summary(mu, anchors=40)["anchors"]  # repeatable
    assert np.asarray(latent_summary(mu[:10], anchors=40)["anchors"]).shape == (10, 6)


def test_latent_plane_spans_two_std_along_principal_axes() -> None:
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(4000, 6)) * np.array([3.0, 1.0, 0.1, 0.1, 0.1, 0.1]) + 5.0
    lat = latent_summary(mu)
    plane = lat["plane"]
    origin, axes, scale = np.array(plane["origin"]), np.array(plane["axes"]), plane["scale"]
    nearest = np.argmin(((mu - mu.mean(0)) ** 2).sum(1))
    np.testing.assert_array_equal(origin, mu[nearest])  # a real code, the one nearest the mean
    assert np.allclose(origin, 5.0, atol=1.0)
    corner_x = origin + scale * axes[0]  # pad (1, 0)
    assert abs(np.abs(corner_x - origin)[0] - 6.0) < 0.3  # 2 std of the widest direction
    assert abs(np.abs(scale * axes[1])[1] - 2.0) < 0.15
    assert abs(float(axes[0] @ axes[1])) < 1e-6


def test_latent_plane_origin_lies_on_the_shell_of_the_codes() -> None:
    # 128-D unit Gaussian codes: norms ≈ 11.3, their mean ≈ 0. The pad centre must be a code
    # like the others, not the near-zero mean the decoder never saw.
    mu = np.random.default_rng(1).normal(size=(3000, 128))
    origin = np.array(latent_summary(mu)["plane"]["origin"])
    norms = np.linalg.norm(mu, axis=1)
    assert np.linalg.norm(mu.mean(0)) < 0.3 * norms.min()
    assert np.linalg.norm(origin) > 0.7 * np.median(norms)


def test_attribute_vectors_point_where_the_attribute_grows() -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(1000, 2))
    mu = np.zeros((1000, 3))
    mu[:, 0] = raw[:, 0]
    mu[:, 2] = -raw[:, 1]
    vec = attribute_vectors(mu, raw, ["a", "b"])
    assert vec["a"][0] > 2.0 and abs(vec["a"][1]) < 1e-9
    assert vec["b"][2] < -2.0


def test_models_and_the_engine_share_one_vocabulary_without_importing_the_engine():
    """models/ sits below engine/: the vocabulary both use lives in models.vocabulary."""
    import subprocess
    import sys

    from engine import errors
    from engine.music import drums, pattern
    from engine.music.attributes import ATTRIBUTES
    from models import errors as model_errors
    from models import vocabulary

    assert drums.Voice is vocabulary.Voice and drums.NUM_VOICES == vocabulary.NUM_VOICES
    assert pattern.FEATURES == vocabulary.FEATURES and pattern.STEPS_PER_BAR == vocabulary.STEPS_PER_BAR
    assert tuple(ATTRIBUTES) == vocabulary.KNOB_NAMES
    assert errors.CheckpointError is model_errors.CheckpointError
    assert issubclass(errors.CheckpointError, errors.GrooveFaderError)
    code = ("import sys, models.checkpoint, models.config, models.fader_vae; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('engine', 'app', 'training')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_training_record_is_optional_and_checked(tmp_path: Path) -> None:
    cfg = PRESETS["tiny"]
    model = FaderVAE(cfg).eval()
    record = {"config": {"preset": "tiny", "model": {}}, "code_revision": "unknown", "dirty": None}
    ck = load_checkpoint(save_checkpoint(tmp_path / "m.pt", model, cfg, {**make_meta(model),
                                                                         "training": record}))
    assert ck.meta["training"] == record
    assert "training" not in load_checkpoint(save_checkpoint(tmp_path / "old.pt", model, cfg,
                                                             make_meta(model))).meta
    for bad in ({"config": "tiny", "code_revision": "x", "dirty": False},
                {"config": {}, "code_revision": None, "dirty": False},
                {"config": {}, "code_revision": "x", "dirty": "yes"}):
        with pytest.raises(CheckpointError, match="metadata field 'training' must hold"):
            save_checkpoint(tmp_path / "bad.pt", model, cfg, {**make_meta(model), "training": bad})
