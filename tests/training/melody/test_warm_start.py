"""Warm start of a conductor model from a 2-bar flat one: copy, refusal, distillation, resume."""

from __future__ import annotations

import json
import shutil

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("music21")

from engine.errors import GrooveFaderError  # noqa: E402
from engine.music.melody import codec_meta  # noqa: E402
from models.melody_checkpoint import load_melody_checkpoint, save_melody_checkpoint  # noqa: E402
from models.melody_vae import MelodyVAE, preset  # noqa: E402
from tests.support.melody_runs import log_rows, tiny_run  # noqa: E402
from training.melody import warm_start as ws  # noqa: E402
from training.melody.train import train  # noqa: E402

DECODER = ("dec_init.", "decoder.", "out.")


@pytest.fixture(scope="module")
def source(folk, tmp_path_factory):
    """A trained 2-bar flat ``melody_tiny`` checkpoint (the source of the warm starts)."""
    folder = tmp_path_factory.mktemp("source")
    return train(tiny_run(folk, folder / "run"), quiet=True)


def _decoder(model: MelodyVAE) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if k.startswith(DECODER)}


def test_the_note_decoder_is_the_sources_and_distillation_leaves_it(folk, source, tmp_path) -> None:
    src = load_melody_checkpoint(source).model
    model = MelodyVAE(preset("melody_tiny_hier"))
    copied = ws.copy_weights(model, src, source)
    assert {k.split(".")[0] for k in copied} == {"dec_init", "decoder", "out", "encoder"}
    for k, v in _decoder(src).items():
        assert torch.equal(model.state_dict()[k], v)
    # a run of distillation only: the decoder stays the source's, the metadata names the source
    run = tmp_path / "run"
    best = train(tiny_run(folk, run, preset="melody_tiny_hier", warm_start=str(source), distill_steps=4),
                 quiet=True)
    ck = load_melody_checkpoint(best)
    for k, v in _decoder(src).items():
        assert torch.equal(ck.model.state_dict()[k], v)
    assert ck.meta["warm_start"]["sha256"] == ws.file_sha256(source)
    assert ck.meta["warm_start"]["path"] == str(source)
    assert ck.meta["train"]["distill_steps"] == 4
    assert all(r.get("stage") == "distill" for r in log_rows(run) if "train_loss" in r)


def test_a_source_of_another_shape_is_refused_with_one_message(source, tmp_path) -> None:
    meta = {"data_fingerprint": "t", "metrics": {}, "codec": codec_meta(),
            "latent": {"mean": [0.0] * 8, "std": [1.0] * 8}}
    wide = MelodyVAE(preset("melody_tiny", dec_hidden=24))
    other = save_melody_checkpoint(tmp_path / "wide.pt", wide, meta)
    model = MelodyVAE(preset("melody_tiny_hier"))
    with pytest.raises(GrooveFaderError, match=r"does not fit.*dec_hidden=16 but the source's dec_hidden=24"):
        ws.copy_weights(model, ws.load_source(other), other)
    src = ws.load_source(source)
    with pytest.raises(GrooveFaderError, match=r"conductor_dim=4 but the source's z_dim=8"):
        ws.copy_weights(MelodyVAE(preset("melody_tiny_hier", conductor_dim=4)), src, source)
    with pytest.raises(GrooveFaderError, match="decoder is 'flat'"):
        ws.copy_weights(MelodyVAE(preset("melody_tiny")), src, source)
    hier = save_melody_checkpoint(tmp_path / "hier.pt", MelodyVAE(preset("melody_tiny_hier")), meta)
    with pytest.raises(GrooveFaderError, match="must be a flat melody model"):
        ws.load_source(hier)


def test_bar_targets_are_the_codes_of_each_bar_and_the_next() -> None:
    torch.manual_seed(0)
    src = MelodyVAE(preset("melody_tiny")).eval()
    x = torch.randint(0, 39, (3, 64))
    y = ws.bar_targets(src, x)
    assert y.shape == (3, 4, 8)
    for b in range(3):
        assert torch.allclose(y[:, b], src.encode(x[:, 16 * b:16 * (b + 2)])[0], atol=1e-5)
    last = torch.cat([x[:, 48:], x[:, 48:]], dim=1)
    assert torch.allclose(y[:, 3], src.encode(last)[0], atol=1e-5)


def test_distillation_lowers_its_loss(folk, source, tmp_path) -> None:
    run = tmp_path / "run"
    train(tiny_run(folk, run, preset="melody_tiny_hier", warm_start=str(source), distill_steps=60,
               max_steps=60, log_every=10, val_every_s=1e9, lr=1e-2), quiet=True)
    fits = [r["train_distill"] for r in log_rows(run) if "train_distill" in r]
    assert len(fits) == 6 and fits[-1] < 0.5 * fits[0]


def test_resume_crosses_from_distillation_to_training(folk, source, tmp_path) -> None:
    run, copy = tmp_path / "run", tmp_path / "source.pt"
    shutil.copyfile(source, copy)
    sha = ws.file_sha256(copy)
    kw = dict(preset="melody_tiny_hier", warm_start=str(copy), distill_steps=6, decoder_lr_scale=0.5)
    train(tiny_run(folk, run, **kw), quiet=True)
    state = torch.load(run / "state.pt", weights_only=True)
    assert state["step"] == 4 and json.loads(state["warm_start"])["sha256"] == sha
    # the source changed under a run still distilling: refused
    with copy.open("ab") as f:
        f.write(b"\0")
    with pytest.raises(GrooveFaderError, match="not the file the run started from"):
        train(tiny_run(folk, run, **kw, max_steps=10), resume=True, quiet=True)
    shutil.copyfile(source, copy)
    with pytest.raises(GrooveFaderError, match="different config.*decoder_lr_scale"):
        train(tiny_run(folk, run, **{**kw, "decoder_lr_scale": 1.0, "max_steps": 10}), resume=True,
              quiet=True)
    best = train(tiny_run(folk, run, **kw, max_steps=10), resume=True, quiet=True)
    assert torch.load(run / "state.pt", weights_only=True)["step"] == 10
    rows = [r for r in log_rows(run) if "train_loss" in r]
    assert [r.get("stage") for r in rows] == ["distill"] * 3 + [None] * 2
    assert rows[-1]["step"] == 10 and "train_recon" in rows[-1]
    assert load_melody_checkpoint(best).meta["warm_start"]["sha256"] == sha


def test_distillation_without_a_source_is_refused(folk, tmp_path) -> None:
    with pytest.raises(GrooveFaderError, match="needs a warm-start source"):
        train(tiny_run(folk, tmp_path / "run", preset="melody_tiny_hier", distill_steps=3), quiet=True)


def test_the_warm_preset_takes_the_2bar_presets_decoder() -> None:
    torch.manual_seed(0)
    src, model = MelodyVAE(preset("melody_2bar")), MelodyVAE(preset("melody_16bar_hier_warm"))
    copied = ws.copy_weights(model, src, "melody_2bar")
    assert {k.split(".")[0] for k in copied} == {"dec_init", "decoder", "out", "encoder"}
    assert all(torch.equal(model.state_dict()[k], v) for k, v in _decoder(src).items())
