"""The melody VAE's conductor fed z at every bar (``conductor_input='z'``): shapes, that every
bar's embedding reads z, checkpoints, refusal of the numpy loop, and older models unchanged."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from engine.music.melody import NUM_CLASSES, codec_meta  # noqa: E402
from models.errors import CheckpointError  # noqa: E402
from models.melody_checkpoint import load_melody_checkpoint, save_melody_checkpoint  # noqa: E402
from models.melody_vae import MelodyVAE, MelodyVAEConfig, NoDecodeLoopError, preset  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
STUDY_MODELS = REPO / "docs" / "studies" / "melody_transitions" / "models"


def _meta(z: int) -> dict:
    return {"data_fingerprint": "x", "metrics": {}, "codec": codec_meta(),
            "latent": {"mean": [0.0] * z, "std": [1.0] * z}}


def test_shapes_of_the_tiny_and_16bar_presets() -> None:
    torch.manual_seed(0)
    model = MelodyVAE(preset("melody_tiny_hier_enc_zin")).eval()
    assert model.conductor.weight_ih_l0.shape == (4 * 16, 8)  # reads z (8) at each bar
    x = torch.randint(0, NUM_CLASSES, (3, 64))
    logits, mu, sigma = model(x)
    assert logits.shape == (3, 64, NUM_CLASSES) and mu.shape == sigma.shape == (3, 8)
    assert model.bar_embeddings(mu, 4).shape == (3, 4, 8)
    assert model.decode(mu).shape == (3, 64) and model.decode(mu, bars=2).shape == (3, 32)
    assert torch.equal(model.decode(mu), model.decode_reference(mu))
    big = MelodyVAE(preset("melody_16bar_hier_enc_zin", enc_hidden=8, code_hidden=8, dec_hidden=8,
                           conductor_hidden=8)).eval()
    assert big.conductor.weight_ih_l0.shape == (32, 256)
    z = big.encode(torch.randint(0, NUM_CLASSES, (2, 256)))[0]
    assert big.bar_embeddings(z, 16).shape == (2, 16, 32)


@pytest.mark.parametrize("conductor_input", ["none", "z"])
def test_every_bar_reads_z_only_when_the_conductor_is_fed_it(conductor_input) -> None:
    torch.manual_seed(1)
    model = MelodyVAE(preset("melody_tiny_hier_enc", conductor_input=conductor_input)).eval()
    with torch.no_grad():  # a constant initial state: z can reach the bars only as input
        model.conductor_init.weight.zero_()
        model.conductor_init.bias.zero_()
    z = torch.randn(4, 8)
    a, b = model.bar_embeddings(z, 16), model.bar_embeddings(z + 1.0, 16)
    per_bar = (a - b).abs().amax(dim=(0, 2))  # (16,)
    if conductor_input == "z":
        assert (per_bar > 1e-4).all()
    else:
        assert torch.equal(a, b)


def test_conductor_dropout_acts_in_training_only() -> None:
    torch.manual_seed(2)
    model = MelodyVAE(preset("melody_tiny_hier_enc_zin", conductor_dropout=0.5))
    z = torch.randn(4, 8)
    model.train()
    assert not torch.equal(model.bar_embeddings(z, 4), model.bar_embeddings(z, 4))
    model.eval()
    assert torch.equal(model.bar_embeddings(z, 4), model.bar_embeddings(z, 4))


def test_config_checks_and_older_configs_read_as_zero_input_conductors() -> None:
    with pytest.raises(ValueError, match="conductor_input must be one of"):
        MelodyVAEConfig(decoder="hier", conductor_input="bars")
    with pytest.raises(ValueError, match="needs a hierarchical"):
        MelodyVAEConfig(decoder="flat", conductor_input="z")
    with pytest.raises(ValueError, match="conductor_dropout"):
        MelodyVAEConfig(decoder="hier", conductor_input="z", conductor_dropout=1.0)
    old = preset("melody_16bar_hier_enc").to_dict()
    for k in ("conductor_input", "conductor_dropout"):
        del old[k]  # a checkpoint written before the option existed
    cfg = MelodyVAEConfig.from_dict(old)
    assert cfg == preset("melody_16bar_hier_enc") and cfg.conductor_input == "none"
    assert MelodyVAE(replace(cfg, enc_hidden=8, dec_hidden=8)).conductor.weight_ih_l0.shape[1] == 1


def test_checkpoint_round_trip(tmp_path) -> None:
    torch.manual_seed(3)
    model = MelodyVAE(preset("melody_tiny_hier_enc_zin")).eval()
    ck = load_melody_checkpoint(save_melody_checkpoint(tmp_path / "m.pt", model, _meta(8)))
    assert ck.config == model.config and ck.config.conductor_input == "z"
    x = torch.randint(0, NUM_CLASSES, (4, 64))
    mu = model.encode(x)[0]
    assert torch.equal(mu, ck.model.encode(x)[0])
    assert torch.equal(model.bar_embeddings(mu, 4), ck.model.bar_embeddings(mu, 4))
    assert torch.equal(model.decode(mu), ck.model.decode(mu))


def test_the_numpy_loop_refuses_a_conductor_fed_z_in_one_line() -> None:
    model = MelodyVAE(preset("melody_tiny_hier_enc_zin"))
    with pytest.raises(NoDecodeLoopError, match="decodes through torch only") as err:
        model.decoder_arrays()
    assert isinstance(err.value, CheckpointError) and "\n" not in str(err.value)
    assert "cond.hh" in MelodyVAE(preset("melody_tiny_hier_enc")).decoder_arrays()


@pytest.mark.parametrize("name", ["hier16_small", "flat16_small"])
def test_the_committed_16bar_checkpoints_load_and_decode_as_before(name) -> None:
    path = STUDY_MODELS / f"{name}.pt"
    if not path.is_file():
        pytest.skip(f"{path.name} not in this checkout")
    ck = load_melody_checkpoint(path)
    model = ck.model.eval()
    assert ck.config.conductor_input == "none" and ck.config.conductor_dropout == 0.0
    if ck.config.decoder != "hier":
        return
    c = ck.config
    z = torch.randn(2, c.z_dim, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():  # the conductor as it was written: zeros in, state from z
        s = torch.tanh(model.conductor_init(z)).view(2, 2, c.conductor_hidden)
        state = (s[:, 0][None].contiguous(), s[:, 1][None].contiguous())
        out, _ = model.conductor(z.new_zeros(2, 16, 1), state)
        assert torch.equal(model.bar_embeddings(z, 16), model.conductor_out(out))
    assert "cond.hh" in model.decoder_arrays()  # still plays in the numpy loop
