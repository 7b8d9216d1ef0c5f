"""Attribute-preserving augmentation of training patterns: voice swaps a drummer would make.

The fader-VAE overfits the hits of the Groove train split (validation hit loss stops falling
after about 100 epochs while the training loss keeps going down). These transforms make new,
plausible grooves from real ones without changing any knob's attribute, so the conditioning
vector of a row stays exact and need not be recomputed:

- **ride swap**: the closed hi-hat and ride parts trade places (a groove moved to the ride,
  or off it). Both are time keepers and both are in the cymbal layer, so density,
  syncopation, intensity, laid_back and hat_busyness are unchanged.
- **tom shuffle**: the three toms are permuted (a fill played on other drums). All toms are
  in the drum layer, so again no attribute changes.
- **bar rotation**: the pattern starts one bar later (for two bars, they swap: the fill
  moves to the first bar). Syncopation scores the pattern as a loop and every bar has the
  same metrical weights, so it is unchanged, as are the per-step averages.

A test checks the invariance against :func:`engine.music.attributes.compute`.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.music.drums import NUM_VOICES, Voice

_TOMS = (int(Voice.LOW_TOM), int(Voice.MID_TOM), int(Voice.HIGH_TOM))
# the five non-identity orders of the toms
_TOM_ORDERS = ((0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


def _columns(order: list[int]) -> list[int]:
    """Column indices of all three channels (hit, velocity, offset) for a voice order."""
    return [c * NUM_VOICES + v for c in range(3) for v in order]


def voice_orders(ride_swap: np.ndarray, tom_order: np.ndarray) -> list[list[int]]:
    """The voice permutation of each row: ``ride_swap`` bools, ``tom_order`` -1 or 0..4."""
    orders = []
    for swap, tom in zip(ride_swap, tom_order, strict=True):
        order = list(range(NUM_VOICES))
        if swap:
            order[Voice.CLOSED_HAT], order[Voice.RIDE] = int(Voice.RIDE), int(Voice.CLOSED_HAT)
        if tom >= 0:
            for dst, src in zip(_TOMS, _TOM_ORDERS[tom], strict=True):
                order[dst] = _TOMS[src]
        orders.append(order)
    return orders


def augment_batch(x: torch.Tensor, rng: np.random.Generator, ride_swap: float,
                  tom_shuffle: float, bar_rotate: float = 0.0,
                  steps_per_bar: int = 16) -> torch.Tensor:
    """``x`` (batch, steps, 27) with each row's voices swapped, and bars rotated, at the
    given probabilities.

    Returns ``x`` itself when nothing is drawn (no copy); otherwise a new tensor.
    """
    b = x.shape[0]
    swap = rng.random(b) < ride_swap
    toms = np.where(rng.random(b) < tom_shuffle, rng.integers(0, len(_TOM_ORDERS), b), -1)
    rotate = rng.random(b) < bar_rotate
    changed = np.flatnonzero(swap | (toms >= 0))
    if changed.size == 0 and not rotate.any():
        return x
    out = x.clone()
    if changed.size:
        cols = torch.tensor([_columns(o) for o in voice_orders(swap[changed], toms[changed])],
                            device=x.device)
        rows = torch.from_numpy(changed).to(x.device)
        out[rows] = torch.gather(x[rows], 2, cols[:, None, :].expand(-1, x.shape[1], -1))
    if rotate.any():
        rows = torch.from_numpy(np.flatnonzero(rotate)).to(x.device)
        out[rows] = torch.roll(out[rows], -steps_per_bar, dims=1)
    return out
