"""The melody VAE's hierarchical encoder: shapes, its two levels, checkpoints, older configs."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from engine.music.melody import NUM_CLASSES, codec_meta  # noqa: E402
from models.melody_checkpoint import load_melody_checkpoint, save_melody_checkpoint  # noqa: E402
from models.melody_vae import MelodyVAE, MelodyVAEConfig, preset  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _meta(z: int) -> dict:
    return {"data_fingerprint": "x", "metrics": {}, "codec": codec_meta(),
            "latent": {"mean": [0.0] * z, "std": [1.0] * z}}


def test_each_segment_is_read_alone_and_the_codes_make_the_posterior() -> None:
    torch.manual_seed(0)
    model = MelodyVAE(preset("melody_tiny_hier_enc")).eval()  # 4 bars: 2 segments of 2 bars
    x = torch.randint(0, NUM_CLASSES, (3, 64))
    codes = model.segment_codes(x)
    assert codes.shape == (3, 2, 8)
    # a segment's code depends on that segment only: changing segment 2 leaves code 1 alone
    other = x.clone()
    other[:, 40] = (x[:, 40] + 1) % NUM_CLASSES
    changed = model.segment_codes(other)
    assert torch.equal(changed[:, 0], codes[:, 0]) and not torch.allclose(changed[:, 1], codes[:, 1])
    mu, sigma = model.encode(x)
    assert mu.shape == sigma.shape == (3, 8) and (sigma > 0).all()
    mu2, sigma2 = model.encode_codes(codes)
    assert torch.equal(mu, mu2) and torch.equal(sigma, sigma2)
    logits, _, _ = model(x)
    assert logits.shape == (3, 64, NUM_CLASSES)
    with pytest.raises(ValueError, match="whole 2-bar segments"):
        model.encode(x[:, :48])


def test_the_16bar_preset_reads_eight_segments_into_a_256_value_z() -> None:
    cfg = preset("melody_16bar_hier_enc", enc_hidden=8, code_hidden=8, dec_hidden=8, conductor_hidden=8)
    model = MelodyVAE(cfg).eval()
    x = torch.randint(0, NUM_CLASSES, (2, 256))
    assert model.segment_codes(x).shape == (2, 8, 32)
    assert model.encode(x)[0].shape == (2, 256)


def test_config_checks_segments_and_older_configs_read_as_flat_encoders() -> None:
    with pytest.raises(ValueError, match="encoder must be one of"):
        MelodyVAEConfig(encoder="tree")
    with pytest.raises(ValueError, match="multiple of segment_bars"):
        MelodyVAEConfig(bars=3, encoder="hier")
    old = preset("melody_16bar_hier_warm").to_dict()
    for k in ("encoder", "segment_bars", "segment_z", "code_hidden"):
        del old[k]  # a checkpoint written before the hierarchical encoder existed
    cfg = MelodyVAEConfig.from_dict(old)
    assert cfg.encoder == "flat" and not hasattr(MelodyVAE(cfg), "code_rnn")


def test_checkpoint_round_trip_reproduces_the_posterior_and_decodes(tmp_path) -> None:
    torch.manual_seed(1)
    model = MelodyVAE(preset("melody_tiny_hier_enc")).eval()
    path = save_melody_checkpoint(tmp_path / "m.pt", model, _meta(8))
    ck = load_melody_checkpoint(path)
    assert ck.config == model.config and ck.config.encoder == "hier"
    x = torch.randint(0, NUM_CLASSES, (4, 64))
    mu, sigma = model.encode(x)
    mu2, sigma2 = ck.model.encode(x)
    assert torch.equal(mu, mu2) and torch.equal(sigma, sigma2)
    assert torch.equal(model.decode(mu), ck.model.decode(mu2))


@pytest.mark.parametrize("name", ["hier16_small", "flat16_small"])
def test_the_committed_16bar_checkpoints_still_load(name) -> None:
    path = REPO / "docs" / "studies" / "melody_transitions" / "models" / f"{name}.pt"
    if not path.is_file():
        pytest.skip(f"{path.name} not in this checkout")
    ck = load_melody_checkpoint(path)
    assert ck.config.encoder == "flat" and ck.config.bars == 16


@pytest.mark.parametrize("name", ["melody_tiny_hier_enc", "melody_tiny"])
def test_given_bar_conditioning_replaces_the_conductor(name) -> None:
    torch.manual_seed(2)
    model = MelodyVAE(preset(name)).eval()
    z = torch.randn(3, 8)
    bars = model.config.bars
    own = (model.bar_embeddings(z, bars) if model.config.decoder == "hier"
           else z.unsqueeze(1).expand(3, bars, 8))
    assert torch.equal(model.decode(z, bar_conditioning=own), model.decode(z))
    # z is then unused: any z with these bar embeddings decodes what z does
    assert torch.equal(model.decode(torch.zeros_like(z), bar_conditioning=own), model.decode(z))
