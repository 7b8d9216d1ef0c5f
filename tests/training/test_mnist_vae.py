"""MNIST VAE study: the IDX reader on the real files and a tiny real run."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from engine.errors import DatasetError
from training.studies.mnist_vae import (
    StudyConfig,
    binarize,
    load_mnist,
    log_checkpoints,
    main,
    read_idx,
    run_latent,
)

MNIST_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists(),
                                 reason=f"MNIST not found at {MNIST_DIR}")


@pytest.fixture(scope="module")
def mnist():
    return load_mnist(MNIST_DIR)


@needs_mnist
def test_idx_reader_parses_the_real_files(mnist):
    assert mnist.train_images.shape == (60000, 28, 28)
    assert mnist.train_labels.shape == (60000,)
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.test_labels.shape == (10000,)
    assert mnist.train_images.dtype == np.uint8
    assert set(np.unique(mnist.train_labels)) == set(range(10))
    assert set(np.unique(mnist.test_labels)) == set(range(10))
    # Known facts of the original files: the first training label is 5, the first test label 7,
    # and the training pixels' mean is 0.1307 of full scale (the usual normalisation constant).
    assert mnist.train_labels[0] == 5 and mnist.test_labels[0] == 7
    assert abs(mnist.train_images.mean() / 255 - 0.1307) < 1e-3


def test_idx_reader_round_trips_and_rejects_bad_files(tmp_path):
    data = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 0x08, 3]) + np.array([2, 3, 4], dtype=">u4").tobytes()
    good = tmp_path / "x-idx3-ubyte.gz"
    good.write_bytes(gzip.compress(header + data.tobytes()))
    np.testing.assert_array_equal(read_idx(good), data)

    truncated = tmp_path / "trunc.gz"
    truncated.write_bytes(gzip.compress(header + data.tobytes()[:-5]))
    with pytest.raises(DatasetError, match="trunc.gz.*payload"):
        read_idx(truncated)
    not_gzip = tmp_path / "junk.gz"
    not_gzip.write_bytes(b"hello, not gzip")
    with pytest.raises(DatasetError, match="junk.gz"):
        read_idx(not_gzip)
    bad_magic = tmp_path / "magic"
    bad_magic.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DatasetError, match="magic"):
        read_idx(bad_magic)


def test_binarize_and_checkpoint_grid():
    images = np.array([[[0, 127], [128, 255]]], dtype=np.uint8)
    np.testing.assert_array_equal(binarize(images, "threshold"), [[0, 0, 1, 1]])
    drawn = binarize(np.full((1000, 2, 2), 64, np.uint8), "stochastic", np.random.default_rng(0))
    assert set(np.unique(drawn)) == {0.0, 1.0}
    assert abs(drawn.mean() - 64 / 255) < 0.02
    assert log_checkpoints(300_000) == (10_000, 20_000, 50_000, 100_000, 200_000, 300_000)


@needs_mnist
def test_tiny_run_improves_the_elbo_over_the_untrained_model(mnist):
    import torch

    torch.set_num_threads(1)
    x_train = torch.from_numpy(binarize(mnist.train_images[:5000], "threshold"))
    x_test = torch.from_numpy(binarize(mnist.test_images[:1000], "threshold"))
    study = StudyConfig(latents=(2,), examples=2000, pilot_examples=1000, checkpoints=(2000,))
    result = run_latent(2, study, x_train, x_train[:1000], x_test)
    untrained, trained = result["checkpoints"][0], result["checkpoints"][-1]
    assert untrained["examples"] == 0 and trained["examples"] == 2000
    # An untrained decoder outputs p ~ 0.5 per pixel: about -784 ln 2 = -543 nats.
    assert untrained["test_elbo"] < -500
    assert trained["test_elbo"] > untrained["test_elbo"] + 150
    assert trained["train_elbo"] > untrained["train_elbo"] + 150
    assert result["step_size"] in (0.01, 0.02, 0.1)


@needs_mnist
def test_cli_writes_report_figures_and_results(tmp_path, capsys):
    out = tmp_path / "study"
    rc = main(["--data", str(MNIST_DIR), "--out", str(out), "--examples", "2000", "--latents", "2",
               "--pilot-examples", "1000", "--json"])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((out / "results.json").read_text())
    assert printed == saved
    assert [r["z_dim"] for r in saved["runs"]] == [2]
    rows = saved["runs"][0]["checkpoints"]
    assert rows[-1]["test_elbo"] > rows[0]["test_elbo"]
    report = (out / "report.md").read_text()
    assert "--examples 2000" in report and "N_z=2" in report
    for name in ("elbo_vs_examples.png", "test_elbo_overlay.png"):
        png = (out / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 300_000

    # A side run with the other binarization in a sub-folder is compared in --report-only.
    side = json.loads(json.dumps(saved))
    side["settings"]["binarization"] = "stochastic"
    for row in side["runs"][0]["checkpoints"]:
        row["test_elbo"] -= 5.0
    (out / "side").mkdir()
    (out / "side" / "results.json").write_text(json.dumps(side))
    assert main(["--data", str(MNIST_DIR), "--out", str(out), "--report-only"]) == 0
    report = (out / "report.md").read_text()
    assert "## Binarization check" in report and "| -5.0 |" in report


def test_cli_reports_a_missing_data_dir_in_one_line(tmp_path, capsys):
    rc = main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"), "--examples", "100"])
    assert rc == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("mnist_vae: error:") and "nowhere" in err and "\n" not in err
