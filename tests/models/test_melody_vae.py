"""The melody VAE: every preset builds and decodes, a tiny one overfits, checkpoints round-trip."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from engine.errors import CheckpointError  # noqa: E402
from engine.music.melody import NUM_CLASSES, codec_meta  # noqa: E402
from models.checkpoint import load_checkpoint  # noqa: E402
from models.melody_checkpoint import load_melody_checkpoint, save_melody_checkpoint  # noqa: E402
from models.melody_vae import PRESETS, MelodyVAE, MelodyVAEConfig, preset  # noqa: E402
from tests.support.tiny_checkpoint import tiny_checkpoint  # noqa: E402


def _meta(z: int) -> dict:
    return {"data_fingerprint": "x", "metrics": {}, "codec": codec_meta(),
            "latent": {"mean": [0.0] * z, "std": [1.0] * z}}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_builds_encodes_and_decodes(name) -> None:
    # the preset's shape at tiny capacity: decoder kind, bars and layers are what is tested
    base = PRESETS[name]
    z = base.bars // base.segment_bars if base.code_skip else 4  # code_skip: z is the segments' codes
    cfg = preset(name, enc_hidden=8, dec_hidden=8, conductor_hidden=8, conductor_dim=4, z_dim=z,
                 segment_z=1 if base.code_skip else base.segment_z)
    model = MelodyVAE(cfg).eval()
    x = torch.randint(0, NUM_CLASSES, (3, cfg.steps))
    logits, mu, sigma = model(x)
    assert logits.shape == (3, cfg.steps, NUM_CLASSES) and mu.shape == sigma.shape == (3, z)
    assert (sigma > 0).all()
    out = model.decode(mu)
    assert out.shape == (3, cfg.steps) and out.min() >= 0 and out.max() < NUM_CLASSES
    assert model.decode(mu, bars=2).shape == (3, 32)  # any length; a 16-bar model plays 2 bars


def test_config_validates_and_round_trips() -> None:
    cfg = preset("melody_16bar_hier")
    assert MelodyVAEConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="decoder"):
        MelodyVAEConfig(decoder="tree")
    with pytest.raises(ValueError, match="unknown"):
        MelodyVAEConfig.from_dict({**cfg.to_dict(), "extra": 1})
    with pytest.raises(KeyError, match="unknown melody preset"):
        preset("melody_99bar")


@pytest.mark.parametrize("decoder", ["flat", "hier"])
def test_tiny_model_overfits_two_melodies(decoder) -> None:
    torch.manual_seed(0)
    model = MelodyVAE(preset("melody_tiny", decoder=decoder, enc_hidden=24, dec_hidden=24))
    x = torch.randint(0, NUM_CLASSES, (2, 32))
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    model.eval()  # z = mu, no dropout: memorising is fast
    for _ in range(300):
        logits, _, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, NUM_CLASSES), x.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    mu, _ = model.encode(x)
    assert (model.decode(mu) == x).float().mean() > 0.95  # sampled (greedy), not teacher-forced


def test_forced_inputs_steer_the_decoder(tmp_path_factory) -> None:
    from tests.support.melody import melody_a, melody_b, memorised_checkpoint

    model = load_melody_checkpoint(memorised_checkpoint(str(tmp_path_factory.getbasetemp() / "melody"))).model
    xa = torch.from_numpy(melody_a().to_classes())[None]
    xb = torch.from_numpy(melody_b().to_classes())[None]
    mu, _ = model.encode(xa)
    own = torch.full_like(xa, -1)
    assert torch.equal(model.decode(mu, forced=own), model.decode(mu))  # -1 = the model's own
    assert torch.equal(model.decode(mu, forced=xa), xa)  # A's notes fed back: A
    assert not torch.equal(model.decode(mu, forced=xb), xa)  # B's notes fed: it follows them


@pytest.mark.parametrize("decoder", ["flat", "hier"])
def test_teacher_inputs_are_what_the_next_step_sees(decoder) -> None:
    torch.manual_seed(0)
    model = MelodyVAE(preset("melody_tiny", decoder=decoder)).eval()
    x = torch.randint(0, NUM_CLASSES, (2, 32))
    z, _ = model.encode(x)
    assert torch.equal(model.decode_teacher(z, x, x), model.decode_teacher(z, x))
    other = x.clone()
    other[:, 5] = (x[:, 5] + 1) % NUM_CLASSES  # a different note fed at step 5 ...
    a, b = model.decode_teacher(z, x), model.decode_teacher(z, x, other)
    assert torch.equal(a[:, :6], b[:, :6])  # ... changes nothing up to it,
    assert not torch.allclose(a[:, 6], b[:, 6])  # and the step after it


def test_checkpoint_round_trip(tmp_path) -> None:
    model = MelodyVAE(preset("melody_tiny", decoder="hier")).eval()
    path = save_melody_checkpoint(tmp_path / "m.pt", model, _meta(8))
    assert json.loads(path.with_suffix(".json").read_text())["model_kind"] == "melody_vae"
    ck = load_melody_checkpoint(path)
    assert ck.config == model.config
    for k, v in model.state_dict().items():
        assert torch.equal(v, ck.model.state_dict()[k])
    with pytest.raises(CheckpointError, match="latent.mean has 3 values"):
        bad = _meta(8)
        bad["latent"]["mean"] = [0.0] * 3
        save_melody_checkpoint(tmp_path / "bad.pt", model, bad)


def test_foreign_kinds_are_refused_both_ways(tmp_path) -> None:
    drum = tiny_checkpoint("fader_vae")
    with pytest.raises(CheckpointError, match="not a melody model"):
        load_melody_checkpoint(drum)
    mel = save_melody_checkpoint(tmp_path / "m.pt", MelodyVAE(preset("melody_tiny")), _meta(8))
    with pytest.raises(CheckpointError, match="not a drum model"):
        load_checkpoint(mel)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="unreadable|refused"):
        load_melody_checkpoint(junk)


def test_model_sizes_match_the_engine_codec_and_a_foreign_codec_is_refused(tmp_path) -> None:
    import models.melody_vae as mv
    from engine.generation.melody import MelodyGenerator
    from engine.music import melody as codec

    assert (mv.NUM_CLASSES, mv.STEPS_PER_BAR) == (codec.NUM_CLASSES, codec.STEPS_PER_BAR)
    meta = _meta(8)
    meta["codec"] = {**codec_meta(), "min_pitch": 36}
    path = save_melody_checkpoint(tmp_path / "other.pt", MelodyVAE(preset("melody_tiny")), meta)
    with pytest.raises(CheckpointError, match="codec"):
        MelodyGenerator.from_checkpoint(path)


@pytest.mark.parametrize("decoder, layers", [("flat", 1), ("flat", 2), ("hier", 1), ("hier", 2)])
def test_hand_written_decode_step_matches_nn_lstm(decoder, layers) -> None:
    torch.manual_seed(3)
    model = MelodyVAE(preset("melody_tiny", decoder=decoder, dec_layers=layers)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(4.0)  # large weights: varied outputs, so the comparison has something to compare
    z = 2.0 * torch.randn(16, 8)
    out = model.decode(z, bars=3)
    assert torch.equal(out, model.decode_reference(z, bars=3))
    assert len(torch.unique(out)) > 3
