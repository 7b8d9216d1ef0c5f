"""What the app asks of the model, as functions the generator's worker thread runs.

Each takes the loaded :class:`~engine.generation.generator.Generator` and immutable inputs
(latents, a :class:`~engine.generation.knobs.KnobState`, patterns) captured on the GUI
thread, and returns plain values the controller shows; none touches Qt or app state, so a
decode still in flight cannot see a later change half-made. The generator's module is
imported for type checking only: torch loads with the checkpoint, on the loader thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from engine.generation import expression_edit
from engine.generation.knobs import KnobState
from engine.generation.voice_lock import VoiceLock
from engine.music import attributes as attr_lib
from engine.music.pattern import Pattern

if TYPE_CHECKING:
    from engine.generation.generator import Generator

HEATMAP_RESOLUTION = 32  # pad points per side of the attribute heat-map
PLANE_CORNERS = ((-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0))  # A, B, C, D on the pad


@dataclass(frozen=True, eq=False)
class Decoded:
    """A pattern decoded for the pad: its latent, its measured attributes, its pad point."""

    z: np.ndarray
    pattern: Pattern
    measured: dict[str, float]
    pad: tuple[float, float]
    # where the knobs' detents lie: the attributes of the groove a turn on this latent walks
    # from (None: the knobs do not walk, or the decode did not say)
    detent_centres: dict[str, float] | None = None


@dataclass(frozen=True, eq=False)
class Encoded:
    """A pattern the user brought, placed in the model: latent, knobs that reproduce it, pad point."""

    pattern: Pattern
    z: np.ndarray
    knobs: dict[str, float]
    pad: tuple[float, float]


@dataclass(frozen=True)
class KnobSettings:
    """The knobs a decode is made with, as they stood when it was asked for."""

    state: KnobState
    holding: bool
    temperature: float
    seed: int
    lock: VoiceLock = VoiceLock()  # voices kept while the rest is decoded around them
    # the knobs nobody set follow a turned one as the data's drummers do (else they stay
    # where the groove had them)
    following: bool = True
    # intensity and laid back edit the playing groove's feel (else they walk the data)
    keeping: bool = False
    # density and hat busyness add or remove the playing groove's hits (else they walk)
    keeping_hits: bool = False


def kept_knobs(g: Generator, keeping: bool, keeping_hits: bool = False) -> tuple[str, ...]:
    """The knobs that keep the playing groove: the model's own choice
    (:attr:`WalkSettings.keep`) and the feel knobs it has with ``keeping``, its hit knobs
    with ``keeping_hits``."""
    if not g.has_data_map:
        return ()
    return expression_edit.kept_knobs(g.walk_settings.keep, g.attribute_names, keeping, keeping_hits)


@contextmanager
def _walking(g: Generator, keeping: bool, following: bool = True, keeping_hits: bool = False
             ) -> Iterator[None]:
    """``g``'s walk keeping :func:`kept_knobs` for one job (the worker runs one at a time),
    its knobs nobody set held still when not ``following`` (so a kept knob finds the groove
    another knob's turn played with the targets that turn had)."""
    kept = kept_knobs(g, keeping, keeping_hits)
    shipped = g.walk_settings
    follow = shipped.follow if following else 0.0
    if kept == tuple(shipped.keep) and follow == shipped.follow:
        yield
        return
    g.walk_settings = replace(shipped, keep=kept, follow=follow)
    try:
        yield
    finally:
        g.walk_settings = shipped


def knob_targets(g: Generator, knobs: KnobSettings) -> tuple[np.ndarray | None, str | None]:
    """What a decode holds and the knob being turned (:meth:`KnobState.targets`): nothing
    when not holding; the knobs nobody set following the data's trend when following."""
    if not knobs.holding:
        return None, None
    return knobs.state.targets(g.data_trend if knobs.following else None), knobs.state.turning


def decode(g: Generator, knobs: KnobSettings, *, z: np.ndarray | None = None,
           pad: tuple[float, float] | None = None, corners: list[np.ndarray] | None = None,
           draw: Callable[[Generator], np.ndarray] | None = None) -> Decoded:
    """The pattern at a latent ``z`` (or the one ``draw(g)`` picks, here on the worker: a
    Randomize with voices locked searches the training grooves), a pad point, or a corner
    blend at ``pad``, meeting the held knobs (the turned one first) when holding, else the
    model's one decode."""
    own = None  # a corner blend's own attributes: its corners' feel, not the nearest data's
    if draw is not None:
        z = draw(g)
    if corners is not None and pad is not None:
        (zz, own), where = g.corner_blend(np.stack(corners), *pad), pad
    elif z is not None:
        zz = np.asarray(z, np.float64)
        where = pad if pad is not None else g.z_to_pad(zz)
    else:
        assert pad is not None
        zz, where = g.pad_to_z(*pad), pad
    state, temperature = knobs.state, knobs.temperature
    targets, turning = knob_targets(g, knobs)
    with _walking(g, knobs.keeping, knobs.following, knobs.keeping_hits):
        pattern = g.decode(zz, state.inputs, temperature=temperature,
                           seed=knobs.seed if temperature > 0 else None, targets=targets, turning=turning,
                           lock=knobs.lock, own=own, held=state.held - {turning})
    assert isinstance(pattern, Pattern)
    centres = g.playing_attributes(zz, own) if knobs.holding and g.has_data_map else None
    return Decoded(zz, pattern, g.attributes_of(pattern), where, centres)


def encode(g: Generator, pattern: Pattern) -> Encoded:
    z = g.encode(pattern)
    return Encoded(pattern, z, g.knobs_for_pattern(g.fit_length(pattern)), g.z_to_pad(z))


def corner_latents(g: Generator, corners: list[np.ndarray | None]) -> list[np.ndarray]:
    """The four corners' latents; an empty corner is the pad's own corner."""
    return [c if c is not None else g.pad_to_z(*PLANE_CORNERS[i]) for i, c in enumerate(corners)]


def prepare_corners(g: Generator, corners: np.ndarray) -> None:
    """The corner blend's graph search for these four corners ``(4, Z)``, ahead of the first
    pad point (on a map of the data, where blends play the data; a few hundred ms), so that a
    drag after a corner is filled answers as fast as any other."""
    if g.data_blend.enabled and g.groove_bank is not None:
        g.corner_field(np.asarray(corners, np.float64))


def heatmap(g: Generator, name: str, knob_values: dict[str, float],
            corners: np.ndarray | None = None) -> np.ndarray:
    """``(res, res)`` of ``name`` over the pad, knobs as the model's input: the plane's
    map, or (``corners`` ``(4, Z)``) the corner blend's, decoded as one batch."""
    if corners is None:
        return g.heatmap(name, HEATMAP_RESOLUTION, knob_values)
    # the corner blend is not a plane: decode the blend grid in one batch
    grid = np.linspace(-1.0, 1.0, HEATMAP_RESOLUTION)
    mixes = [g.corner_blend(corners, x, y) for y in grid for x in grid]
    zs, own = np.stack([m[0] for m in mixes]), np.stack([m[1] for m in mixes])
    # on a map of the data: each blend with its own attributes, as the pad plays it
    batch = g.decode_batch(zs, None if g.has_data_map else knob_values, own=own).to_array()
    return attr_lib.ATTRIBUTES[name](batch).reshape(HEATMAP_RESOLUTION, HEATMAP_RESOLUTION)


def transition(g: Generator, a: Pattern, b: Pattern | np.ndarray, knobs: KnobState, bars: int,
               strategy: int, seed: int) -> Pattern:
    """A→B over ``bars`` bars; ``b`` a pattern, or a corner's latent decoded as that
    corner's own groove (the knobs set are held, the playing groove's anchor is not)."""
    from engine.generation.transitions import transition as bridge

    if not isinstance(b, Pattern):
        corner = knobs.new_groove()
        decoded = g.decode(b, corner.inputs, targets=corner.targets())
        assert isinstance(decoded, Pattern)
        b = decoded
    return bridge(g, a, b, bars, strategy, seed=seed)
