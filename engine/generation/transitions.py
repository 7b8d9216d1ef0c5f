"""Transitions from pattern A to pattern B over N bars, with a trained model.

The three strategies of the melody-transition study this project follows:

1. **Latent interpolation, bar by bar.** Output bar ``i`` (of N) decodes
   ``z_i = lerp(z_A, z_B, w_i)``, rescaled to the ends' mean length, with the
   knobs interpolated likewise (``lerp(attrs(A), attrs(B), ...)``; a baseline checkpoint
   keeps its knobs at their defaults) and keeps one bar of the 2-bar decode: bar
   ``i % 2``, so the output keeps the two-bar phrase phase of A and B. ``w_i`` is
   ``i / (N - 1)`` leaned towards the nearer end by ``Generator.mix_shape``.
2. **Teacher forcing with a Bernoulli mix.** A and B are looped to N bars; step ``t``
   of the mix is B's with probability ``t / (S - 1)`` (S = all steps), else A's. For
   output bar ``i`` the 2-bar window of the mix holding bar ``i`` (at position ``i % 2``)
   is fed to the decoder as its teacher input, with z and knobs taken from that window
   itself (its posterior mean and measured attributes), and bar ``i % 2`` is kept: the
   model smooths the raw mix into something it finds plausible.
3. **Both.** As 2, but with z and knobs of strategy 1.

On a checkpoint with a map of the data, strategies 1 and 3 follow **a path through the
data** instead of the straight line (``Generator.data_path``, on by default): the first and
last bars are A's and B's own decodes as above, and every bar between plays a training
groove on the cheapest chain of nearest-neighbour links from A's code to B's
(:mod:`engine.generation.data_path`; links into grooves near everything cost more), taken at
that bar's share of the chain's length and decoded with its own attributes (strategy 3
feeds the mix as its teacher as before). The straight line's middle decodes a latent where
no training groove lies: a softer, stiffer groove than any drummer plays (validation C2ST
0.77 / 0.74 against 0.51 / 0.55 on the data path; docs/studies/transition_paths). The
price is steps: neighbouring bars are different real grooves, about 15 hits apart against
the straight line's 13. ``Generator.on_data`` (off by default) can instead pull the
straight path towards the nearest training grooves.

All N bars are decoded in one batch.
"""

from __future__ import annotations

import numpy as np

from engine.generation.generator import Generator
from engine.generation.pad_map import blend
from engine.music.pattern import Pattern, stack

STRATEGIES = (1, 2, 3)


def _loop_to(pattern: Pattern, bars: int) -> Pattern:
    """``pattern`` repeated and cut to ``bars`` bars."""
    reps = -(-bars // pattern.bars)
    return Pattern.concatenate([pattern] * reps).bar_slice(0, bars)


def bernoulli_mix(a: Pattern, b: Pattern, bars: int, seed: int | None = None) -> Pattern:
    """A looped to ``bars`` bars with each step replaced by B's with probability t/(S-1).

    Whole steps (all nine voices with their velocities and offsets) are taken from one
    side. Step 0 is always A's, the last step always B's.
    """
    la, lb = _loop_to(a, bars).to_array(), _loop_to(b, bars).to_array()
    steps = la.shape[0]
    p_b = np.linspace(0.0, 1.0, steps) if steps > 1 else np.ones(1)
    from_b = np.random.default_rng(seed).random(steps) < p_b
    from_b[-1] = True
    return Pattern.from_array(np.where(from_b[:, None], lb, la), a.steps_per_bar)


def _follow_data(generator: Generator, za: np.ndarray, zb: np.ndarray, ka: np.ndarray, kb: np.ndarray,
                 z: np.ndarray, knobs: np.ndarray) -> None:
    """Fill ``z (N, Z)`` and ``knobs (N, A)`` in place with the path through the data: bars
    grouped by ``data_path.hold_bars`` (aligned to the first bar); the first group plays A,
    the last B, each group between one training groove of the chain, at the group's mean
    share of the way."""
    bars = len(z)
    hold = generator.data_path.hold_bars
    group = np.arange(bars) // hold
    t = np.linspace(0.0, 1.0, bars)
    first, last = group == group[0], group == group[-1]
    if hold > 1:
        z[first], knobs[first] = za, ka
        z[last], knobs[last] = zb, kb
    else:  # the ends alone: bar 0 and the last bar
        first, last = np.arange(bars) == 0, np.arange(bars) == bars - 1
    middle = sorted(set(group[~(first | last)].tolist()))
    if not middle:
        return
    share = np.array([t[group == g].mean() for g in middle])
    ways = generator.groove_graph().waypoints(za, zb, share)
    bank = generator.groove_bank
    assert bank is not None
    for g, w in zip(middle, ways, strict=True):
        rows = (group == g) & ~(first | last)
        z[rows] = bank.codes[w]
        knobs[rows] = bank.attributes[w]


def transition(generator: Generator, a: Pattern, b: Pattern, bars: int, strategy: int,
               seed: int | None = None, temperature: float = 0.0) -> Pattern:
    """A ``bars``-bar pattern going from ``a`` to ``b`` (module docstring for strategies).

    Args:
        generator: the loaded model; ``a`` and ``b`` are cut or looped to its length.
        bars: output length in bars, ≥ 2.
        strategy: 1, 2 or 3.
        seed: seeds the Bernoulli mix and, with ``temperature`` > 0, the hit sampling.

    Raises:
        ValueError: bad ``bars`` or ``strategy``.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be 1, 2 or 3, got {strategy!r}")
    if bars < 2:
        raise ValueError(f"a transition needs at least 2 bars, got {bars}")
    spb = generator.steps_per_bar
    win_bars = generator.steps // spb
    pa, pb = generator.fit_length(a), generator.fit_length(b)
    t = np.linspace(0.0, 1.0, bars)[:, None]
    w = generator.mix_shape.path_position(t[:, 0])[:, None]  # B's share of z and the knobs
    phase = np.arange(bars) % win_bars  # bar of the window kept for output bar i

    teacher = None
    if strategy in (1, 3):
        za, zb = generator.encode(pa), generator.encode(pb)
        # the straight line, kept at the ends' mean length: a plain lerp sinks towards the
        # origin between distant codes, where the decoder never trained
        z = blend(np.stack([np.broadcast_to(za, (bars, za.size)), np.broadcast_to(zb, (bars, zb.size))], 1),
                  np.concatenate([1 - w, w], 1))
        ka = np.array([generator.knobs_for_pattern(pa)[n] for n in generator.attribute_names])
        kb = np.array([generator.knobs_for_pattern(pb)[n] for n in generator.attribute_names])
        knobs = (1 - w) * ka + w * kb
        # between the ends, towards the nearest training grooves (with their own attributes)
        pull = generator.on_data.path_pull(t[:, 0])
        if generator.data_path.enabled and generator.has_data_map and bars > 2:
            _follow_data(generator, za, zb, ka, kb, z, knobs)
        elif generator.on_data.method == "hits" and pull.any() and generator.has_data_map:
            z = generator.between(np.stack([za, zb]), np.concatenate([1 - w, w], 1), keep=pull < 1)
            own = generator.attribute_matrix(None, bars, z)
            knobs = np.where((pull < 1)[:, None], knobs, own)
        elif pull.any() and generator.has_data_map:
            z = generator.toward_data(z, pull)
            own = generator.attribute_matrix(None, bars, z)
            knobs = (1 - pull[:, None]) * knobs + pull[:, None] * own
    if strategy in (2, 3):
        mix = bernoulli_mix(pa, pb, bars + win_bars, seed)  # padded so every window fits
        windows = [mix.bar_slice(i - phase[i], win_bars) for i in range(bars)]
        teacher = stack(windows)
        if strategy == 2:
            z, _ = generator.encode_batch(teacher)
            knobs = np.array([[generator.knobs_for_pattern(w)[n] for n in generator.attribute_names]
                              for w in windows])
    decoded = generator.decode_batch(z, knobs, teacher=teacher, temperature=temperature,
                                     seed=seed).to_array()
    decoded = generator.expression.apply(decoded)  # played as Generator.decode plays a groove
    out = [Pattern.from_array(decoded[i, phase[i] * spb:(phase[i] + 1) * spb], spb)
           for i in range(bars)]
    return Pattern.concatenate(out)
