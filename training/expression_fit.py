"""Fitting a drum checkpoint's :class:`~engine.generation.expression.Expression` on its
training windows: each window reconstructed as the instrument decodes a groove (its posterior
mean with its own attributes), and the spread of the reconstructions' velocities and offsets
measured against the originals'."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.generation.expression import Expression, fit
from engine.music import attributes as attr_lib

BATCH = 512


def reconstructions(gen: Any, patterns: np.ndarray, batch: int = BATCH) -> np.ndarray:
    """``(B, T, 27)``: the model's own decode of each pattern's posterior mean, with the
    pattern's measured attributes (no expression; a plain VAE's code carries them)."""
    x = np.asarray(patterns, np.float32)
    out = []
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        mu, _ = gen.encode_batch(xb)
        if gen.model_kind == "vae":
            out.append(gen.decode_batch(mu, use_knobs=False).to_array())
        else:
            attrs = attr_lib.compute(xb, gen.attribute_names) if gen.attribute_names else None
            out.append(gen.decode_batch(mu, attrs).to_array())
    return np.concatenate(out) if out else np.zeros((0, *x.shape[1:]), np.float32)


def fit_expression(gen: Any, patterns: np.ndarray) -> Expression:
    """The factors that give ``gen``'s reconstructions of ``patterns`` (the training
    windows) the originals' spread (:func:`engine.generation.expression.fit`)."""
    return fit(np.asarray(patterns, np.float32), reconstructions(gen, patterns))
