"""The segment conductor warm-started from a 2-bar model starts as that model playing each
segment from its own code, and its run records that starting point before any step."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("music21")

from engine.errors import GrooveFaderError  # noqa: E402
from models.melody_vae import MelodyVAE, preset  # noqa: E402
from tests.support.melody_runs import log_rows, tiny_run  # noqa: E402
from training.melody import warm_start as ws  # noqa: E402
from training.melody.train import train  # noqa: E402


@pytest.fixture(scope="module")
def source(folk, tmp_path_factory):
    folder = tmp_path_factory.mktemp("source")
    return train(tiny_run(folk, folder / "run", max_steps=20, lr=1e-2), quiet=True)


def test_it_starts_as_the_source_playing_each_segment(source) -> None:
    src = ws.load_source(source)
    model = MelodyVAE(preset("melody_tiny_seg")).eval()
    copied = ws.copy_weights(model, src, source)
    assert "segment_sigma" in {k.split(".")[0] for k in copied}
    x = torch.randint(0, 39, (5, 64))
    with torch.no_grad():
        mu, sigma = model.encode(x)
        parts = [src.encode(x[:, s:s + 32]) for s in (0, 32)]
        assert torch.allclose(mu, torch.cat([p[0] for p in parts], 1), atol=1e-5)
        assert torch.allclose(sigma, torch.cat([p[1] for p in parts], 1), atol=1e-5)
        logits = model.decode_teacher(mu, x)
        own = torch.cat([src.decode_teacher(p[0], x[:, s:s + 32])
                         for p, s in zip(parts, (0, 32), strict=True)], 1)
    assert torch.allclose(logits[:, :32], own[:, :32], atol=1e-5)
    # the second segment's first step is fed the first's last note (the source was fed none):
    # it differs there, and less and less as the segment goes on
    diff = (logits[:, 32:] - own[:, 32:]).abs().amax(dim=(0, 2))
    assert diff[0] > 0 and diff[-8:].max() < 0.1 * diff[0]


def test_its_run_checks_validation_before_the_first_step(folk, source, tmp_path) -> None:
    run = tmp_path / "run"
    train(tiny_run(folk, run, preset="melody_tiny_seg", warm_start=str(source), freeze_segment_encoder=True,
                   max_steps=6, val_every_s=1e9), quiet=True)
    vals = [r for r in log_rows(run) if "val_step_accuracy" in r]
    assert vals[0]["step"] == 0 and vals[-1]["step"] == 6
    assert (run / "best.pt").is_file()


def test_distillation_is_refused_for_two_bar_steps(folk, source, tmp_path) -> None:
    with pytest.raises(GrooveFaderError, match="cover 2 bars"):
        train(tiny_run(folk, tmp_path / "run", preset="melody_tiny_seg", warm_start=str(source),
                       distill_steps=5), quiet=True)
