"""The melody pad: a map of the checkpoint's stored training codes, neighbours related."""

import numpy as np
import pytest

from engine.generation.melody_pad import MelodyMapConfig, MelodyPad

Z = 8


def clustered_codes(clusters: int = 16, per: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Codes in tight, far-apart clusters (tunes of a few kinds) and each code's cluster."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, Z)) * 10
    label = np.repeat(np.arange(clusters), per)
    return centres[label] + rng.standard_normal((clusters * per, Z)) * 0.3, label


def test_every_node_holds_a_stored_code_and_node_points_play_it() -> None:
    codes, _ = clustered_codes()
    pad = MelodyPad.build(codes, Z)
    assert pad.on_data and pad.map is not None
    assert pad.map.shape == (8, 8)  # 256 codes: about 4 per node
    rows, cols = pad.map.shape
    for r in range(rows):
        for c in range(cols):
            x, y = 2 * c / (cols - 1) - 1, 2 * r / (rows - 1) - 1
            assert np.allclose(pad.to_z(x, y), codes[pad.map.nodes[r, c]])
            # a code's place on the pad plays it (a node that gathered no code may share one)
            assert np.allclose(pad.to_z(*pad.to_pad(codes[pad.map.nodes[r, c]])), pad.to_z(x, y))


def test_neighbouring_nodes_hold_related_codes() -> None:
    codes, label = clustered_codes()
    pad = MelodyPad.build(codes, Z)
    nodes = pad.map.nodes  # type: ignore[union-attr]
    same = np.concatenate([(label[nodes[:, 1:]] == label[nodes[:, :-1]]).ravel(),
                           (label[nodes[1:]] == label[nodes[:-1]]).ravel()])
    # random pairs would share a cluster 1 time in 16; the map puts a kind together
    assert same.mean() > 0.5
    assert len(np.unique(label[nodes])) >= 12  # and most kinds get a place on the pad


def test_a_blend_between_nodes_keeps_the_codes_length() -> None:
    codes, _ = clustered_codes()
    pad = MelodyPad.build(codes, Z)
    z = pad.to_z(0.07, -0.5)  # inside a cell, not on a node
    assert min(np.linalg.norm(codes - z, axis=1)) > 1e-6
    assert np.linalg.norm(z) == pytest.approx(np.linalg.norm(codes, axis=1).mean(), rel=0.5)


def test_the_map_is_a_pure_function_of_the_codes() -> None:
    codes, _ = clustered_codes()
    a, b = MelodyPad.build(codes, Z), MelodyPad.build(codes.copy(), Z)
    np.testing.assert_array_equal(a.map.nodes, b.map.nodes)  # type: ignore[union-attr]
    other = MelodyPad.build(codes, Z, MelodyMapConfig(seed=1))
    assert not np.array_equal(a.map.nodes, other.map.nodes)  # type: ignore[union-attr]


def test_without_codes_the_pad_is_a_prior_plane_and_bad_codes_are_refused() -> None:
    pad = MelodyPad.of_meta({"latent": {}}, Z)
    assert not pad.on_data
    np.testing.assert_allclose(pad.to_z(0.5, -1.0)[:2], [1.0, -2.0])
    assert pad.to_pad(pad.to_z(0.5, -1.0)) == pytest.approx((0.5, -1.0))
    with pytest.raises(ValueError, match="finite"):
        MelodyPad.build(np.full((10, Z), np.nan), Z)
    with pytest.raises(ValueError):
        MelodyPad.build(np.zeros((10, Z + 1)), Z)


def test_the_generator_builds_its_pad_from_its_own_checkpoint(tmp_path_factory) -> None:
    pytest.importorskip("torch")
    from engine.generation.melody import MelodyGenerator
    from tests.support.melody import melody_a, melody_b, memorised_checkpoint

    # the same folder as the generator's tests: the tiny model is trained once a session
    folder = str(tmp_path_factory.getbasetemp() / "melody")
    gen = MelodyGenerator.from_checkpoint(memorised_checkpoint(folder))
    pad = gen.pad
    assert pad is gen.pad and pad.on_data  # built once, from the two stored codes
    tunes = {tuple(m.events) for m in (melody_a(), melody_b())}
    corners = [gen.decode(pad.to_z(x, y)) for x in (-1, 1) for y in (-1, 1)]
    heard = {tuple(m.events) for m in corners}
    assert heard <= tunes and len(heard) == 2  # every corner a training tune, both on the pad


def test_the_phrase_pad_plays_whole_stored_tunes_and_finds_a_tune_s_place() -> None:
    from engine.generation.melody_pad import PhrasePad

    codes, label = clustered_codes(clusters=16, per=16)
    rng = np.random.default_rng(1)
    # 64 phrases of 3 windows, each window from a different kind of tune: a phrase's course
    phrases = np.stack([codes[rng.choice(len(codes), 3, replace=False)] for _ in range(64)])
    pad = PhrasePad.build(phrases)
    assert pad.pad.map is not None and pad.pad.map.shape == (4, 4) and pad.length == 3
    stored = {tuple(p.reshape(-1)) for p in phrases}
    for x in (-1.0, 1.0):
        for y in (-1.0, 1.0):  # a corner node plays one stored tune, window by window, looped
            tune = pad.to_z(x, y, 5)
            assert tune.shape == (5, Z) and tuple(tune[:3].reshape(-1)) in stored
            assert np.allclose(tune[3:], tune[:2])
            assert np.allclose(pad.to_z(*pad.to_pad(tune[:3]), 3), tune[:3])  # its place plays it
            # a shorter tune (its phrase's first windows) is placed by those windows alone
            assert np.allclose(pad.to_z(*pad.to_pad(tune[:2]), 2), tune[:2])
    between = pad.to_z(0.05, -0.02, 3)
    assert tuple(between.reshape(-1)) not in stored and np.isfinite(between).all()
    with pytest.raises(ValueError, match="phrase pad"):
        PhrasePad.build(phrases[:1])


def test_the_generator_s_phrase_pad_plays_its_stored_tunes(tmp_path_factory) -> None:
    pytest.importorskip("torch")
    from engine.generation.melody import MelodyGenerator
    from models.melody_checkpoint import load_melody_checkpoint
    from tests.support.melody import melody_a, melody_b, memorised_checkpoint

    ck = load_melody_checkpoint(memorised_checkpoint(str(tmp_path_factory.getbasetemp() / "melody")))
    plain = MelodyGenerator(ck.model, ck.meta)
    assert plain.phrase_pad is None  # no stored phrases: pad points repeat their window
    a, b = ck.meta["latent"]["anchors"]
    gen = MelodyGenerator(ck.model, {**ck.meta, "latent": {**ck.meta["latent"], "phrases": [[a, b], [b, a]]}})
    pad = gen.phrase_pad
    assert pad is gen.phrase_pad  # built once
    tunes = {tuple(m.events) for m in (melody_a(), melody_b())}
    orders = set()
    for x in (-1.0, 1.0):
        for y in (-1.0, 1.0):
            first, second = (tuple(m.events) for m in gen.decode_batch(pad.to_z(x, y, 2)))
            assert {first, second} == tunes  # a corner plays a stored tune: A then B, or B then A
            orders.add(first)
    assert orders == tunes  # both stored tunes are on the pad
