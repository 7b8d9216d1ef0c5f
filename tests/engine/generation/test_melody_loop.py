"""The numpy decoder loop against the torch model it was laid out from: the same greedy,
forced and sampled-from decodes for flat, deep and hierarchical decoders, and a beam
search that finds sequences at least as likely as greedy decoding's."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from engine.generation.melody_loop import MelodyLoop, has_loop_arrays  # noqa: E402
from models.melody_vae import MelodyVAE, preset  # noqa: E402

SHAPES = {"flat": {}, "flat_3_layers": {"dec_layers": 3}, "hier": {"decoder": "hier", "bars": 4},
          "hier_2_layers": {"decoder": "hier", "dec_layers": 2, "bars": 4}}


def model_and_loop(shape: str, sharpen: float = 1.0) -> tuple[MelodyVAE, MelodyLoop]:
    """A random tiny model; ``sharpen`` scales its output layer (an untrained model's softmax
    is nearly flat: its argmax is a near-tie and every path about as likely)."""
    torch.manual_seed(0)
    model = MelodyVAE(preset("melody_tiny", **SHAPES[shape])).eval()
    with torch.no_grad():
        model.out.weight.mul_(sharpen)
        model.out.bias.mul_(sharpen)
    arrays = model.decoder_arrays()
    assert has_loop_arrays(arrays)
    return model, MelodyLoop(arrays, model.config.steps_per_bar, model.config.decoder == "hier")


def log_likelihood(model: MelodyVAE, z: torch.Tensor, x: np.ndarray) -> np.ndarray:
    """Sum over steps of log p(x_t | x_<t, z): the teacher-forced torch decoder."""
    xt = torch.from_numpy(x)
    with torch.no_grad():
        logp = torch.log_softmax(model.decode_teacher(z, xt), dim=-1)
    return logp.gather(2, xt.unsqueeze(-1))[..., 0].sum(1).double().numpy()


@pytest.mark.parametrize("shape", list(SHAPES))
def test_greedy_and_forced_decodes_equal_torch(shape: str) -> None:
    model, loop = model_and_loop(shape)
    z = torch.randn(24, model.config.z_dim) * 1.5
    rng = np.random.default_rng(0)
    for bars in (2, 5):  # past the window: the flat state runs on, the conductor goes on
        want = model.decode(z, bars=bars).numpy()
        assert np.array_equal(loop.decode(z.numpy(), bars), want)
        forced = np.where(rng.random(want.shape) < 0.5, rng.integers(0, 39, want.shape), -1)
        assert np.array_equal(loop.decode(z.numpy(), bars, forced=forced),
                              model.decode(z, bars=bars, forced=torch.from_numpy(forced)).numpy())


@pytest.mark.parametrize("shape", ["flat", "hier"])
def test_a_melody_fed_unless_the_decoder_strikes_a_note_equals_torch(shape: str) -> None:
    """``-2 - c``: class c fed unless the decoder struck a note there, then its own."""
    model, loop = model_and_loop(shape, sharpen=4.0)
    z = torch.randn(24, model.config.z_dim) * 1.5
    melody = np.random.default_rng(3).integers(0, 39, (24, 2 * model.config.steps_per_bar))
    forced = -2 - melody
    got = loop.decode(z.numpy(), 2, forced=forced)
    assert np.array_equal(got, model.decode(z, bars=2, forced=torch.from_numpy(forced)).numpy())
    # what it fed: its own note-ons, the melody's class elsewhere; the same as fed explicitly
    explicit = np.where(got >= 2, -1, melody)
    assert np.array_equal(loop.decode(z.numpy(), 2, forced=explicit), got)
    assert not np.array_equal(loop.decode(z.numpy(), 2, forced=melody), got)


def test_fed_class_keeps_own_note_ons_only_where_asked() -> None:
    from engine.generation.melody_loop import fed_class

    own = np.array([5, 1, 0, 7, 7, 1])
    forced = np.array([3, 3, -1, -1, -2 - 9, -2 - 9])
    assert fed_class(forced, own).tolist() == [3, 3, 0, 7, 7, 9]


def test_sampling_follows_the_temperature() -> None:
    model, loop = model_and_loop("flat", sharpen=6.0)
    z = np.random.default_rng(1).standard_normal((64, model.config.z_dim)).astype(np.float32)
    greedy = loop.decode(z, 2)
    cold = loop.decode(z, 2, temperature=1e-4, rng=np.random.default_rng(2))
    hot = loop.decode(z, 2, temperature=1.0, rng=np.random.default_rng(2))
    assert np.array_equal(cold, greedy)  # a near-zero temperature is the argmax
    assert (hot != greedy).mean() > 0.2
    again = loop.decode(z, 2, temperature=1.0, rng=np.random.default_rng(2))
    assert np.array_equal(hot, again)


@pytest.mark.parametrize("shape", ["flat", "hier"])
def test_beam_search_is_at_least_as_likely_as_greedy(shape: str) -> None:
    model, loop = model_and_loop(shape, sharpen=6.0)
    z = torch.randn(16, model.config.z_dim) * 1.5
    bars = model.config.bars
    greedy = model.decode(z, bars=bars).numpy()
    one, _ = loop.beam(z.numpy(), bars, width=1)
    assert np.array_equal(one, greedy)  # width 1 is greedy decoding
    beam, score = loop.beam(z.numpy(), bars, width=4)
    # the reported score is the sequence's log-likelihood under the decoder
    assert np.allclose(score, log_likelihood(model, z, beam), atol=1e-3)
    ll_greedy, ll_beam = log_likelihood(model, z, greedy), log_likelihood(model, z, beam)
    assert np.all(ll_beam >= ll_greedy - 1e-4)
    assert np.any(ll_beam > ll_greedy + 1e-3)  # it does find better sequences
