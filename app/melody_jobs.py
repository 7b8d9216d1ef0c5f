"""What the melody panel asks of the melody model, as functions its worker thread runs.

Like :mod:`app.model_jobs` for the drums: each takes the loaded
:class:`~engine.generation.melody.MelodyGenerator` and immutable inputs captured on the GUI
thread and returns plain values; none touches Qt. The generator's module is imported for
type checking only (torch loads with the checkpoint, on the loader thread).

The melody pad is a map of the training tunes (:class:`~engine.generation.melody_pad.MelodyPad`,
built from the loaded checkpoint's stored codes on the loader thread): every point decodes
one training code or a blend of four neighbouring ones, as the groove pad does; without
stored codes, a plane on the prior's first two axes. A tune longer than the model's window
takes its pad point on the map of whole stored tunes instead
(:attr:`MelodyGenerator.phrase_pad`), so it moves on as a tune does rather than repeating
its first window; a checkpoint without stored phrases repeats the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine.generation.latent_paths import nudge
from engine.generation.melody import loop_to
from engine.generation.melody_pad import MelodyPad
from engine.music.melody import Melody

if TYPE_CHECKING:
    from engine.generation.melody import MelodyGenerator

VARIATION_AMOUNT = 0.35  # Variation's step, as a share of the codes' spread

@dataclass(frozen=True, eq=False)
class MelodyDecoded:
    """A decoded melody, the latent(s) it came from (one per model window) and its pad point."""

    melody: Melody
    z: np.ndarray  # (windows, Z)
    pad: tuple[float, float]


def _decode(g: MelodyGenerator, pad_map: MelodyPad, z: np.ndarray, bars: int, temperature: float,
            seed: int | None, at: tuple[float, float] | None = None) -> MelodyDecoded:
    """Decode ``z`` to ``bars`` bars; its pad point is ``at`` (where the user put it), else
    where it lies on the pad that plays tunes of its length (:func:`pad_point`)."""
    z = np.atleast_2d(np.asarray(z, np.float64))
    windows = -(-bars // g.bars)
    if len(z) < windows:  # one latent for a longer melody: its window repeats
        z = np.concatenate([z] * windows)[:windows]
    decoded = g.decode_batch(z[:windows], temperature=temperature, seed=seed)
    melody = loop_to(Melody.concatenate(decoded), bars)
    return MelodyDecoded(melody, z[:windows], pad_point(g, pad_map, z[:windows]) if at is None else at)


def pad_point(g: MelodyGenerator, pad_map: MelodyPad, z: np.ndarray) -> tuple[float, float]:
    """Where a tune's window codes ``z`` ``(W, Z)`` lie on the pad: a longer tune on the map of
    whole stored tunes (when the checkpoint has one), a 2-bar one on the map of windows."""
    z = np.atleast_2d(z)
    phrases = g.phrase_pad if len(z) > 1 else None
    return pad_map.to_pad(z[0]) if phrases is None else phrases.to_pad(z)


def randomize(g: MelodyGenerator, pad_map: MelodyPad, bars: int, temperature: float,
              seed: int) -> MelodyDecoded:
    """New melody near the training tunes (:meth:`MelodyGenerator.sample_tunes`: a longer
    one follows a stored tune's phrase)."""
    z = g.sample_tunes(1, -(-bars // g.bars), seed=seed)[0]
    return _decode(g, pad_map, z, bars, temperature, seed)


def variation(g: MelodyGenerator, pad_map: MelodyPad, z: np.ndarray, bars: int, temperature: float,
              seed: int, amount: float = VARIATION_AMOUNT) -> MelodyDecoded:
    """A neighbour of the melody at ``z``: its windows' latents nudged by ``amount`` spreads,
    one draw for the whole tune (its repeats stay repeats; the phrase study's rule)."""
    return _decode(g, pad_map, nudge(z, pad_map.spread * float(amount), seed, shared=True), bars,
                   temperature, seed)


def at_pad(g: MelodyGenerator, pad_map: MelodyPad, x: float, y: float, bars: int, temperature: float,
           seed: int) -> MelodyDecoded:
    """The melody under pad point ``(x, y)``: a 2-bar one from the map of windows; a longer one
    from the map of whole stored tunes (chosen on validation: docs/studies/melody_phrases),
    or without stored phrases its window repeated to ``bars``."""
    windows = -(-bars // g.bars)
    phrases = g.phrase_pad if windows > 1 else None
    z = pad_map.to_z(x, y) if phrases is None else phrases.to_z(x, y, windows)
    return _decode(g, pad_map, z, bars, temperature, seed, (float(x), float(y)))


# points per side of the melody pad's heat-maps (one batch of decodes on the worker): fewer on
# the map of whole tunes, each point a tune of up to 8 windows
def resized(g: MelodyGenerator, pad_map: MelodyPad, z: np.ndarray, bars: int, temperature: float,
            seed: int) -> MelodyDecoded:
    """The tune at ``z`` ``(W, Z)`` at another length: shorter, its first windows; longer, its
    windows and then the rest of the stored tune whose window at its last one is nearest (a
    real tune's continuation, as Randomize's longer tunes follow one; without stored phrases,
    its windows repeat)."""
    z = np.atleast_2d(np.asarray(z, np.float64))
    windows = -(-bars // g.bars)
    phrases = g.phrases
    if len(z) < windows and phrases is not None and phrases.shape[1] > len(z):
        at = len(z) - 1  # continue from the phrase position the tune has reached
        nearest = int(np.argmin(((phrases[:, at] - z[-1]) ** 2).sum(1)))
        rest = phrases[nearest, len(z):]
        reps = -(-(windows - len(z)) // len(rest))
        z = np.concatenate([z, np.concatenate([rest] * reps)[:windows - len(z)]])
    return _decode(g, pad_map, z, bars, temperature, seed)


HEAT_RESOLUTION = 16
PHRASE_HEAT_RESOLUTION = 10
HEAT_NAMES = ("register", "notes")  # mean pitch of the note-ons; note-ons per bar


def pad_heat(g: MelodyGenerator, pad_map: MelodyPad, bars: int) -> dict[str, np.ndarray]:
    """``{name: (res, res)}`` over the pad that plays ``bars``-bar tunes (as :func:`at_pad`
    picks it; rows y = -1 → 1, columns x): the register (mean MIDI pitch of the note-ons, NaN
    without notes) and the note-ons per bar of the greedy decode at each point, decoded as
    one batch."""
    windows = -(-bars // g.bars)
    phrases = g.phrase_pad if windows > 1 else None
    res = HEAT_RESOLUTION if phrases is None else PHRASE_HEAT_RESOLUTION
    grid = np.linspace(-1.0, 1.0, res)
    if phrases is None:  # one window, or one repeated: its figures are the tune's
        windows = 1
        z = np.stack([pad_map.to_z(x, y) for y in grid for x in grid])
    else:
        z = np.concatenate([phrases.to_z(x, y, windows) for y in grid for x in grid])
    events = np.stack([m.events for m in g.decode_batch(z)]).reshape(res * res, -1)
    on = events >= 0
    count = on.sum(1)
    register = np.where(count > 0, np.where(on, events, 0).sum(1) / np.maximum(count, 1), np.nan)
    notes = count / (windows * g.bars)
    return {"register": register.reshape(res, res), "notes": notes.reshape(res, res)}


def encode(g: MelodyGenerator, pad_map: MelodyPad, melody: Melody) -> tuple[np.ndarray, tuple[float, float]]:
    """A melody the user brought, placed in the model: the latent (first window) whose decode
    comes closest to it and its pad point. Of the posterior mean and draws around it, the one
    the melody agrees with on most steps (:meth:`MelodyGenerator.search_codes`; the mean on a
    tie): Variation and the pad then start from the tune itself as nearly as the model plays
    it (test tunes: 0.966 of steps against the mean's 0.939, docs/melody.md)."""
    codes, _ = g.search_codes([melody])
    z = codes[0]
    return z[None], pad_map.to_pad(z)


def transition(g: MelodyGenerator, a: Melody, b: Melody, bars: int, strategy: int, mix_scale: str,
               seed: int) -> Melody:
    """A→B over ``bars`` bars (the generator's three strategies, per bar or per note)."""
    return g.transition(a, b, bars, strategy, mix_scale=mix_scale, seed=seed)
