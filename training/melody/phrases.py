"""Phrases of codes: the posterior means of a real tune's consecutive 2-bar windows.

A tune longer than the model's window is several windows; drawn one code each they are
phrases of unrelated tunes side by side (leaps at every window line, no repeats). A stored
phrase keeps one tune's order, repeats and register; :func:`engine.generation.latent_paths.
sample_phrases` draws new tunes from them as the 2-bar draws come from stored codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.errors import GrooveFaderError
from training.melody import data as mdata

PHRASES = 256  # training tunes stored
PHRASE_WINDOWS = 8  # model windows per stored phrase (16 bars of a 2-bar model)


def phrase_windows(corpus: mdata.MelodyCorpus, window_bars: int, count: int = PHRASES,
                   windows: int = PHRASE_WINDOWS, seed: int = 7) -> np.ndarray:
    """``(P, windows, T)`` classes: for up to ``count`` training tunes (one each, the first
    window of ``windows`` model windows in each), its consecutive model windows."""
    long = mdata.windows(corpus, window_bars * windows, "train")
    steps = long.classes.shape[1] // windows
    if len(long) == 0:
        return np.zeros((0, windows, steps), np.int64)
    _, first = np.unique(long.tune, return_index=True)  # each tune's first long window
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(first, min(count, len(first)), replace=False))
    return long.classes[pick].reshape(len(pick), windows, steps)


def encode_phrases(model: Any, segments: np.ndarray) -> np.ndarray:
    """``(P, windows, Z)``: the posterior means of :func:`phrase_windows`' windows."""
    p, windows, steps = segments.shape
    if p == 0:
        return np.zeros((0, windows, model.config.z_dim))
    model.eval()
    with torch.no_grad():
        mu, _ = model.encode(torch.from_numpy(segments.reshape(p * windows, steps)))
    return np.round(mu.numpy().reshape(p, windows, -1), 4)


def phrase_codes(model: Any, corpus: mdata.MelodyCorpus, count: int = PHRASES,
                 windows: int = PHRASE_WINDOWS, seed: int = 7) -> np.ndarray:
    """``(P, windows, Z)``: :func:`encode_phrases` of :func:`phrase_windows`."""
    return encode_phrases(model, phrase_windows(corpus, int(model.config.bars), count, windows, seed))


def add_phrases(path: Path, corpus: mdata.MelodyCorpus | None = None, windows: int = PHRASE_WINDOWS,
                noise: float | None = None) -> int:
    """Store :func:`phrase_codes` (and ``noise``, the σ of a longer tune's shared noise draw,
    when given) in the melody checkpoint at ``path`` (rewritten atomically, its weights
    unchanged); returns how many phrases. Re-export it after (``groovefader export``)."""
    from models.melody_checkpoint import load_melody_checkpoint, save_melody_checkpoint

    ck = load_melody_checkpoint(path)
    corpus = mdata.build_corpus() if corpus is None else corpus
    codes = phrase_codes(ck.model, corpus, windows=windows)
    if len(codes) == 0:
        raise GrooveFaderError(f"no training tune has {windows} windows of {ck.model.config.bars} bars")
    meta = dict(ck.meta)
    meta["latent"] = dict(meta["latent"], phrases=codes.tolist())
    if noise is not None:
        meta["latent"]["phrase_noise"] = float(noise)
    save_melody_checkpoint(path, ck.model, meta)
    return len(codes)
