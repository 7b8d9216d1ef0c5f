"""Locked voices stay as locked while the rest is redrawn around them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from engine.generation.voice_lock import VoiceLock, fit_around  # noqa: E402
from engine.music.drums import Voice  # noqa: E402
from engine.music.pattern import Pattern  # noqa: E402
from models.vocabulary import NUM_VOICES  # noqa: E402
from tests.support.tiny_checkpoint import synthetic_patterns, tiny_checkpoint  # noqa: E402


@pytest.fixture(scope="module")
def gen():
    from engine.generation.generator import Generator

    return Generator.from_checkpoint(tiny_checkpoint("fader_vae"))


def test_locked_voices_survive_many_randomize_presses_and_the_rest_changes(gen) -> None:
    kept = Pattern.from_array(synthetic_patterns(1, seed=4)[0])
    lock = VoiceLock.of(kept, [Voice.KICK, Voice.SNARE])
    z = gen.sample(40, seed=1)
    free = np.stack([p.to_array() for p in gen.decode(z)])
    locked = np.stack([p.to_array() for p in gen.decode(z, lock=lock)])
    cols = lock.columns()
    want = np.broadcast_to(kept.to_array()[:, cols], locked[:, :, cols].shape)
    np.testing.assert_array_equal(locked[:, :, cols], want)
    others = [v for v in range(NUM_VOICES) if v not in lock.voices]
    hats = locked[:, :, others]
    assert len({h.tobytes() for h in hats}) > 1  # the other voices still change with z
    # fitted around the lock, not the free decode with the kept voices pasted over it
    pasted = lock.paste(free)
    assert (locked[:, :, others] != pasted[:, :, others]).any()


def test_no_lock_changes_nothing(gen) -> None:
    z = gen.sample(3, seed=2)
    plain = np.stack([p.to_array() for p in gen.decode(z)])
    np.testing.assert_array_equal(fit_around(gen, plain, VoiceLock()), plain)
    np.testing.assert_array_equal(np.stack([p.to_array() for p in gen.decode(z, lock=VoiceLock())]), plain)


def test_a_shorter_part_loops_and_bad_locks_are_refused() -> None:
    one_bar = Pattern.from_array(synthetic_patterns(1, seed=5)[0][:16])
    lock = VoiceLock.of(one_bar, [Voice.KICK])
    out = lock.paste(np.zeros((1, 32, 27), np.float32))
    np.testing.assert_array_equal(out[0, 16:, Voice.KICK], out[0, :16, Voice.KICK])
    with pytest.raises(ValueError):
        VoiceLock(frozenset({NUM_VOICES}), one_bar.to_array())
    with pytest.raises(ValueError):
        VoiceLock(frozenset({0}), None)


def test_toggling_locks_a_voice_as_it_plays_now_and_keeps_the_others() -> None:
    a, b = (Pattern.from_array(x) for x in synthetic_patterns(2, seed=6))
    lock = VoiceLock().toggled(Voice.KICK, a)
    assert lock.voices == {Voice.KICK}
    lock = lock.toggled(Voice.SNARE, b)  # the kick stays as it was in a
    out = lock.paste(np.zeros((1, a.steps, 27), np.float32))[0]
    np.testing.assert_array_equal(out[:, Voice.KICK], a.to_array()[:, Voice.KICK])
    np.testing.assert_array_equal(out[:, Voice.SNARE], b.to_array()[:, Voice.SNARE])
    released = lock.toggled(Voice.KICK, b)
    assert released.voices == {Voice.SNARE} and not released.toggled(Voice.SNARE, b).active


def test_randomize_with_a_lock_draws_among_the_grooves_that_play_the_lock_nearest() -> None:
    from engine.generation.generator import Generator
    from tests.support.tiny_checkpoint import mapped_checkpoint

    g = Generator.from_checkpoint(mapped_checkpoint()[0])
    bank = g._bank
    lock = VoiceLock.of(Pattern.from_array(synthetic_patterns(1, seed=11)[0]), [Voice.KICK, Voice.SNARE])
    hits = lock.part[:, :NUM_VOICES] > 0.5
    dist = bank.hit_distance(hits, lock.voices)
    g._map_noise = 0.0  # the drawn latents are the codes themselves

    def drawn(k: int) -> np.ndarray:
        g.lock_candidates = k
        z = g.sample_like_data(200, seed=3, lock=lock)
        idx, d2 = bank.nearest(z, 1)
        assert np.allclose(d2, 0.0)
        return idx[:, 0]

    k = 8
    near = drawn(k)
    # every draw is among the k grooves whose kick and snare differ least from the lock's
    assert dist[near].max() <= np.sort(dist)[k - 1]
    assert len(set(near.tolist())) > 1  # still a choice among them
    free = drawn(0)  # no preference: any groove of the bank
    assert dist[free].mean() > dist[near].mean()
    # no lock: the same draws as before locks existed
    g.lock_candidates = k
    np.testing.assert_array_equal(g.sample_like_data(5, seed=3),
                                  g.sample_like_data(5, seed=3, lock=VoiceLock()))


def test_a_draw_made_for_the_lock_keeps_its_own_groove_and_any_other_latent_is_fitted() -> None:
    from engine.generation.generator import Generator
    from tests.support.tiny_checkpoint import mapped_checkpoint

    g = Generator.from_checkpoint(mapped_checkpoint()[0])
    g.lock_candidates, g.lock_passes = 8, 0
    lock = VoiceLock.of(Pattern.from_array(synthetic_patterns(1, seed=12)[0]), [Voice.KICK])
    cols = lock.columns()
    drawn = g.sample_like_data(3, seed=5, lock=lock)
    own = np.stack([p.to_array() for p in g.decode(drawn)])
    locked = np.stack([p.to_array() for p in g.decode(drawn, lock=lock)])
    # chosen to fit the lock: the draw's own groove with the lock pasted over it
    np.testing.assert_array_equal(locked, lock.paste(own))
    # a latent the lock did not choose (the pad's, a Variation's) is redrawn around it
    other = g.sample_like_data(3, seed=5)
    plain = np.stack([p.to_array() for p in g.decode(other)])
    fitted = np.stack([p.to_array() for p in g.decode(other, lock=lock)])
    kept = np.broadcast_to(lock.part[:, cols], fitted[:, :, cols].shape)
    np.testing.assert_array_equal(fitted[:, :, cols], kept)
    assert (fitted != lock.paste(plain)).any()
