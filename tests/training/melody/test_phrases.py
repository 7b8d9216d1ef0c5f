"""Phrases of codes: a training tune's consecutive windows, stored in a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("music21")

from engine.errors import CheckpointError, GrooveFaderError  # noqa: E402
from models.melody_checkpoint import load_melody_checkpoint, save_melody_checkpoint  # noqa: E402
from training.melody import data as mdata  # noqa: E402
from training.melody.phrase_study import repeat_share, swap_windows, toward_neighbour, window_leap  # noqa: E402
from training.melody.phrases import add_phrases, phrase_codes  # noqa: E402
from training.melody.train import MelodyTrainConfig, train  # noqa: E402


@pytest.fixture(scope="module")
def trained(folk, tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    cfg = MelodyTrainConfig(preset="melody_tiny", run_dir=str(run / "r"), batch_size=8, max_steps=4,
                            val_every_s=0.0, log_every=2, val_windows=16, kl_warmup_steps=2,
                            cache_dir=str(run / "cache"), corpus_root=str(folk), collections=("folk",))
    corpus = mdata.build_corpus(cache_dir=cfg.cache_dir, root=folk, collections=("folk",))
    return train(cfg, quiet=True), corpus


def test_phrases_are_the_codes_of_a_tunes_consecutive_windows(trained) -> None:
    path, corpus = trained
    model = load_melody_checkpoint(path).model
    codes = phrase_codes(model, corpus, count=5, windows=2)  # 4-bar tunes: two 2-bar windows
    assert codes.shape == (5, 2, model.config.z_dim)
    long = mdata.windows(corpus, 4, "train")
    with torch.no_grad():  # each phrase is some training tune's two halves, in order
        mu, _ = model.encode(torch.from_numpy(long.classes.reshape(-1, 32)))
    halves = np.round(mu.numpy(), 4).reshape(len(long), 2, -1)
    assert all(np.abs(halves - c).max(axis=(1, 2)).min() < 1e-3 for c in codes)
    assert len(phrase_codes(model, corpus, windows=8)) == 0  # no tune is 16 bars long


def test_add_phrases_rewrites_the_checkpoint_keeping_its_weights(trained, tmp_path) -> None:
    path, corpus = trained
    copy = tmp_path / "m.pt"
    before = load_melody_checkpoint(path)
    save_melody_checkpoint(copy, before.model, before.meta)
    assert add_phrases(copy, corpus, windows=2) > 0
    after = load_melody_checkpoint(copy)
    assert all(torch.equal(v, after.model.state_dict()[k]) for k, v in before.model.state_dict().items())
    assert np.asarray(after.meta["latent"]["phrases"]).shape[1:] == (2, before.config.z_dim)
    assert after.meta["latent"]["anchors"] == before.meta["latent"]["anchors"]
    assert "phrase_noise" not in after.meta["latent"]  # the anchors' noise unless given
    add_phrases(copy, corpus, windows=2, noise=0.3)
    assert load_melody_checkpoint(copy).meta["latent"]["phrase_noise"] == 0.3
    with pytest.raises(CheckpointError, match="phrase_noise must be >= 0"):
        save_melody_checkpoint(tmp_path / "neg.pt", after.model,
                               dict(after.meta, latent=dict(after.meta["latent"], phrase_noise=-1.0)))
    with pytest.raises(GrooveFaderError, match="no training tune has 8 windows"):
        add_phrases(copy, corpus, windows=8)
    bad = dict(after.meta, latent=dict(after.meta["latent"], phrases=[[1.0, 2.0]]))
    with pytest.raises(CheckpointError, match="latent.phrases has shape"):
        save_melody_checkpoint(tmp_path / "bad.pt", after.model, bad)


def test_the_studys_leaps_and_repeats() -> None:
    a = np.full(32, 1)  # holds ...
    a[0], a[16] = 2 + 12, 2 + 14  # ... two notes: C4 then D4
    b = np.full(32, 1)
    b[::4] = 2 + 12  # eight C4s ...
    b[0] = 2 + 19  # ... after a G4: unlike a on 8 of 32 steps
    tune = np.concatenate([a, a, b])[None]  # window lines: D4→C4 (2), D4→G4 (5)
    assert window_leap(tune, 32) == pytest.approx(3.5)
    assert repeat_share(tune, 32) == pytest.approx(0.5)  # the second window repeats the first
    one = np.full((1, 32), 1)
    assert window_leap(one, 32) is None and repeat_share(one, 32) is None  # no window line


def test_the_pad_studys_continuation_follows_the_nearest_phrase_window() -> None:
    from training.melody.phrase_study import continue_tune

    x, y = np.eye(3)[0], np.eye(3)[1]
    phrases = np.stack([[x, y, x]])  # one stored tune: X Y X
    assert np.allclose(continue_tune(phrases, y, 4), [y, x, x, y])  # from Y on, looping
    d = np.full(3, 0.01)
    assert np.allclose(continue_tune(phrases, y + d, 2), [y + d, x + d])  # moved as a whole


def test_eval_measures_longer_tunes_as_the_app_draws_them(trained, tmp_path) -> None:
    from training.melody.evaluate import evaluate_checkpoint, to_markdown

    path, corpus = trained  # the training split: the small corpus holds out too few 4-bar tunes
    copy = tmp_path / "m.pt"
    ck = load_melody_checkpoint(path)
    save_melody_checkpoint(copy, ck.model, ck.meta)
    plain = evaluate_checkpoint(copy, corpus, "train", 8, 12, seed=0, long_bars=4)
    assert set(plain["realism"]) == {"sample_like_data", "prior"}  # no phrases: nothing longer
    add_phrases(copy, corpus, windows=2)
    res = evaluate_checkpoint(copy, corpus, "train", 8, 12, seed=0, long_bars=4)
    longer = res["realism"]["tunes_4_bars"]
    assert 0.0 <= longer["mean_oa"] <= 1.0 and 0.0 <= longer["c2st_accuracy"] <= 1.0
    assert res["reconstruction"] == plain["reconstruction"]  # the rest is measured as before
    table = to_markdown({"split": "train", "data_fingerprint": corpus.fingerprint, "models": [res]})
    assert "| tunes_4_bars: classifier accuracy |" in table


def test_toward_neighbour_moves_a_tune_toward_a_nearby_stored_tune_not_its_own() -> None:
    # stored tunes on a line, 10 apart, two windows each: tune k's windows at k*10 and k*10 + 1
    phrases = np.stack([np.stack([np.full(3, 10.0 * k), np.full(3, 10.0 * k + 1)]) for k in range(6)])
    z = phrases[2].copy()  # a tune drawn from stored tune 2 (no noise)
    reached = set()
    for seed in range(40):
        out = toward_neighbour(z, phrases, 1.0, seed, neighbours=2)
        k = int(round(out[0, 0] / 10))
        assert np.allclose(out, phrases[k])  # all the way: a stored tune, window by window
        reached.add(k)
    assert reached == {1, 3}  # the two nearest other than its own
    half = toward_neighbour(z, phrases, 0.5, 3, neighbours=2)
    assert np.allclose(np.abs(half - z), 5.0)  # half way, each window
    z[1] = z[0] + 4.0  # windows that differ from the neighbour's by different steps
    shared = toward_neighbour(z, phrases, 0.5, 3, neighbours=2, shared=True)
    assert np.allclose(shared - z, (shared - z)[0])  # one step for every window: repeats stay
    assert toward_neighbour(z[:1], phrases, 0.5, 3).shape == (1, 3)  # a 2-bar tune: first windows


def test_swap_windows_gives_a_few_phrases_other_real_ones_and_keeps_repeats() -> None:
    codes = np.arange(60, dtype=np.float64).reshape(20, 3)  # stored window codes on a line
    # an 8-window tune: A B A B C D C E (windows with the same code are repeats)
    a, b, c, d, e = codes[2], codes[6], codes[10], codes[14], codes[18]
    z = np.stack([a, b, a, b, c, d, c, e])
    for seed in range(30):
        out = swap_windows(z, codes, 0.25, seed, neighbours=2)
        changed = ~np.all(np.isclose(out, z), axis=1)
        assert np.allclose(out[0], z[0]) and np.allclose(out[2], z[2])  # the opening phrase stays
        assert 1 <= len({tuple(r) for r in z[changed]}) <= 2  # a quarter of 5 distinct phrases
        for i, j in [(0, 2), (1, 3), (4, 6)]:
            assert np.allclose(out[i], out[j])  # repeats stay repeats
        for row, before in zip(out[changed], z[changed], strict=True):
            assert any(np.allclose(row, s) for s in codes)  # a stored phrase, a near one, not its own
            assert 0 < np.abs(row - before).max() <= 6.0
    one = swap_windows(z[:1], codes, 0.25, 0, neighbours=2)
    assert not np.allclose(one, z[:1])  # a one-window tune changes its only window
