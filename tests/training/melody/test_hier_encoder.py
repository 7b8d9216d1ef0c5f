"""A conductor model with a hierarchical encoder warm-started from a 2-bar model: the copied
segment reader gives the source's codes, stays frozen, and a short run learns."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("music21")

from engine.errors import GrooveFaderError  # noqa: E402
from engine.generation.onnx_nets import find_export  # noqa: E402
from models.melody_checkpoint import load_melody_checkpoint  # noqa: E402
from models.melody_vae import MelodyVAE, preset  # noqa: E402
from tests.support.melody_runs import log_rows, tiny_run  # noqa: E402
from training.melody import warm_start as ws  # noqa: E402
from training.melody.train import segment_codes, train  # noqa: E402

READER = ("encoder.", "segment_mu.")


@pytest.fixture(scope="module")
def source(folk, tmp_path_factory):
    """A trained 2-bar flat ``melody_tiny`` checkpoint (z 8, encoder 16 each way)."""
    folder = tmp_path_factory.mktemp("source")
    return train(tiny_run(folk, folder / "run", max_steps=20, lr=1e-2), quiet=True)


def _source_codes(src: MelodyVAE, x: torch.Tensor) -> torch.Tensor:
    """The source's posterior mean of each 2-bar segment of ``x`` ``(B, T)`` → ``(B, S, Z)``."""
    with torch.no_grad():
        return torch.stack([src.encode(x[:, s:s + 32])[0] for s in range(0, x.shape[1], 32)], dim=1)


def test_the_copied_reader_gives_each_segment_the_sources_code(source) -> None:
    src = ws.load_source(source)
    model = MelodyVAE(preset("melody_tiny_hier_enc")).eval()
    copied = ws.copy_weights(model, src, source)
    assert {k.split(".")[0] for k in copied} == {"dec_init", "decoder", "out", "encoder", "segment_mu"}
    x = torch.randint(0, 39, (5, 64))
    assert torch.allclose(segment_codes(model, x, batch=2), _source_codes(src, x), atol=1e-6)
    assert set(ws.segment_encoder_parameters(model)) == {
        k for k, _ in model.named_parameters() if k.startswith(READER)}


def test_a_reader_of_another_code_size_is_refused(source) -> None:
    src = ws.load_source(source)
    model = MelodyVAE(preset("melody_tiny_hier_enc", segment_z=4))
    with pytest.raises(GrooveFaderError, match="segment_z=4 but the source's z_dim=8"):
        ws.copy_weights(model, src, source)


def _frozen_warm_run(folk, source, run, name: str, distill: int, steps: int):
    """A warm-started run of preset ``name`` with its segment encoder frozen: its best
    checkpoint and the logged distillation and reconstruction losses."""
    best = train(tiny_run(folk, run, preset=name, warm_start=str(source), freeze_segment_encoder=True,
                          distill_steps=distill, max_steps=steps, log_every=10, val_every_s=1e9, lr=1e-2),
                 quiet=True)
    rows = log_rows(run)
    return (best, [r["train_distill"] for r in rows if "train_distill" in r],
            [r["train_recon"] for r in rows if "train_recon" in r])


def test_a_frozen_run_keeps_the_reader_and_its_losses_fall(folk, source, tmp_path) -> None:
    src = ws.load_source(source)
    run = tmp_path / "run"
    best, fits, recons = _frozen_warm_run(folk, source, run, "melody_tiny_hier_enc", 40, 100)
    assert len(fits) == 4 and fits[-1] < 0.7 * fits[0]
    assert len(recons) == 6 and recons[-1] < recons[0]
    ck = load_melody_checkpoint(best)
    mine, theirs = ck.model.state_dict(), src.state_dict()
    for k in mine:
        if k.startswith("encoder."):
            assert torch.equal(mine[k], theirs[k])
    assert torch.equal(mine["segment_mu.weight"], theirs["to_mu.weight"])
    x = torch.randint(0, 39, (3, 64))
    assert torch.allclose(ck.model.segment_codes(x), _source_codes(src, x), atol=1e-6)
    assert ck.meta["train"]["freeze_segment_encoder"] is True
    assert find_export(best, "melody")[0] is not None  # the encoder exports for ONNX Runtime


def test_freezing_needs_a_hierarchical_encoder_and_a_source(folk, source, tmp_path) -> None:
    with pytest.raises(GrooveFaderError, match="hierarchical encoder"):
        train(tiny_run(folk, tmp_path / "a", preset="melody_tiny_hier", warm_start=str(source),
                   freeze_segment_encoder=True), quiet=True)
    with pytest.raises(GrooveFaderError, match="warm-start source"):
        train(tiny_run(folk, tmp_path / "b", preset="melody_tiny_hier_enc", freeze_segment_encoder=True),
              quiet=True)


def test_a_perfect_conductor_plays_each_bar_as_the_source_decodes_its_pair(source) -> None:
    src = ws.load_source(source)
    torch.manual_seed(3)
    x = torch.randint(0, 39, (4, 64))
    out = ws.perfect_conductor_decode(src, x, batch=3)
    assert out.shape == (4, 64)
    for b in range(3):  # bar b is the first bar of the source's greedy decode of bars (b, b + 1)
        pair = x[:, 16 * b:16 * (b + 2)]
        assert torch.equal(out[:, 16 * b:16 * (b + 1)], src.decode(src.encode(pair)[0])[:, :16])


def test_a_conductor_fed_z_trains_warm_and_is_not_exported(folk, source, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    best, fits, _ = _frozen_warm_run(folk, source, run, "melody_tiny_hier_enc_zin", 20, 40)
    assert len(fits) == 2 and fits[-1] < fits[0]
    ck = load_melody_checkpoint(best)
    assert ck.config.conductor_input == "z" and ck.model.conductor.weight_ih_l0.shape[1] == 8
    assert ck.model.decode(ck.model.encode(torch.randint(0, 39, (2, 64)))[0]).shape == (2, 64)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "not exported" in ln]
    assert len(lines) == 1 and "decodes through torch only" in lines[0]
    assert find_export(best, "melody")[0] is None  # the app plays it on torch
