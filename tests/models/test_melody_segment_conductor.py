"""The segment conductor (``conductor_bars``, ``conductor_read``, ``code_skip``): shapes, its
starting point (each step reads its own segment's block of z), config checks, and the numpy
loop's refusal."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from pathlib import Path  # noqa: E402

from engine.music.melody import NUM_CLASSES  # noqa: E402
from models.melody_checkpoint import load_melody_checkpoint  # noqa: E402
from models.melody_vae import MelodyVAE, NoDecodeLoopError, preset  # noqa: E402

SEG16 = (Path(__file__).resolve().parents[2] / "docs" / "studies" / "melody_transitions" / "models"
         / "seg16.pt")


def _model(seed: int = 0, **kw) -> MelodyVAE:
    torch.manual_seed(seed)
    return MelodyVAE(preset("melody_tiny_seg", **kw)).eval()


def test_each_conductor_step_covers_two_bars_and_reads_its_block() -> None:
    model = _model()
    z = torch.randn(3, 16)
    emb = model.bar_embeddings(z, 4)
    assert emb.shape == (3, 2, 8)  # 4 bars = 2 steps of 2 bars
    assert torch.equal(emb, z.view(3, 2, 8))  # as built: the read is the identity, the LSTM silent
    x = torch.randint(0, NUM_CLASSES, (3, 64))
    logits, mu, sigma = model(x)
    assert logits.shape == (3, 64, NUM_CLASSES) and mu.shape == sigma.shape == (3, 16)
    assert model.decode(mu).shape == (3, 64) and model.decode(mu, bars=2).shape == (3, 32)
    assert torch.equal(model.decode(mu), model.decode_reference(mu))


def test_the_encoder_starts_at_the_segments_own_posteriors() -> None:
    model = _model(1)
    x = torch.randint(0, NUM_CLASSES, (4, 64))
    mu, sigma = model.encode(x)
    for s in range(2):
        seg = x[:, 32 * s:32 * (s + 1)]
        feats = model._read(seg)
        assert torch.allclose(mu[:, 8 * s:8 * (s + 1)], model.segment_mu(feats), atol=1e-6)
        want = torch.nn.functional.softplus(model.segment_sigma(feats)) + 1e-4
        assert torch.allclose(sigma[:, 8 * s:8 * (s + 1)], want, atol=1e-6)
    assert torch.allclose(model.encode_codes(model.segment_features(x))[0], mu)


def test_a_bar_depends_on_its_own_segment_only_at_the_start_and_on_all_after_training_moves() -> None:
    model = _model(2)
    z = torch.randn(2, 16)
    moved = z.clone()
    moved[:, 8:] += 1.0  # the second segment's block
    a, b = model.bar_embeddings(z, 4), model.bar_embeddings(moved, 4)
    assert torch.equal(a[:, 0], b[:, 0]) and not torch.equal(a[:, 1], b[:, 1])
    with torch.no_grad():  # the conductor LSTM's output switched on: every step sees all of z
        model.conductor_out.weight.normal_()
    a, b = model.bar_embeddings(z, 4), model.bar_embeddings(moved, 4)
    assert not torch.equal(a[:, 0], b[:, 0])


def test_config_checks_and_lengths() -> None:
    with pytest.raises(ValueError, match="code_skip needs"):
        preset("melody_tiny_seg", z_dim=12)
    with pytest.raises(ValueError, match="whole number of conductor steps"):
        preset("melody_tiny_seg", bars=6, conductor_bars=4)
    with pytest.raises(ValueError, match="hierarchical"):
        preset("melody_tiny", conductor_read="linear")
    model = _model()
    with pytest.raises(ValueError, match="whole 2-bar steps"):
        model.decode(torch.zeros(1, 16), bars=3)
    with pytest.raises(ValueError, match="at most 4 bars"):
        model.decode(torch.zeros(1, 16), bars=8)
    with pytest.raises(NoDecodeLoopError, match="conductor_input='z'"):
        model.decoder_arrays()
    with pytest.raises(NoDecodeLoopError, match="segment conductor.*reads z once"):
        _model(conductor_input="none").decoder_arrays()
    assert model.config.torch_only and not preset("melody_16bar_hier_enc").torch_only


def test_the_committed_segment_conductor_plays_16_bars_on_torch() -> None:
    if not SEG16.is_file():
        pytest.skip(f"{SEG16.name} not in this checkout")
    ck = load_melody_checkpoint(SEG16)
    c = ck.config
    assert c.conductor_bars == 2 and c.code_skip and c.bars == 16 and c.torch_only
    x = torch.randint(0, NUM_CLASSES, (2, 256), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        mu, _ = ck.model.encode(x)
        assert ck.model.bar_embeddings(mu, 16).shape == (2, 8, 32)
        assert ck.model.decode(mu).shape == (2, 256)
    with pytest.raises(NoDecodeLoopError):
        ck.model.decoder_arrays()
