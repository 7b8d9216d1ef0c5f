"""The knobs as the instrument keeps them, and what a decode holds because of them.

:class:`KnobState` is one immutable value: the knob values (attributes in raw units, see
:mod:`engine.music.attributes`), which knobs are *held* (the user set them), which one is
*turning*, and the *anchor* (the groove's own attribute values, taken when a turn begins).
From it :meth:`KnobState.targets` gives the targets one decode meets
(:meth:`engine.generation.generator.Generator.decode`), NaN where the model is left alone.
The app, ``groovefader generate`` and ``groovefader play`` all build their targets here, so
the rules below live in one place:

- Only the knobs set are held; the others are the groove's, so a fresh latent plays its
  own groove.
- While a knob turns, the other attributes are held where the playing groove had them when
  the turn began, and the turned knob is met first: turning one does not drag the others.
  On a checkpoint with a map of the data, the ones nobody set follow the data's trend from
  there (:mod:`engine.generation.data_trend`) as far as the checkpoint's walk settings say.
- Releasing a knob (the app's double-click) puts it back to its default and lets the
  groove decide it again; reset does so for every knob.
- A new groove (pad, Randomize, Variation, a preset, another model) drops the anchor; a
  pattern the user brings (a clip, an edit) sets the knobs to what it measures.

Pure numpy, no torch and no Qt: the app's adapter (``app/knob_binding.py``) is a thin
layer over it, and the rules are tested without either.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from engine.generation.data_trend import DataTrend
from engine.generation.groove_bank import detent_values

DEFAULT_TOLERANCE = 1e-9  # a preset knob this close to its default counts as not set
# the temperature knob (not an attribute): 0 = the most likely hits, no sampling; above,
# hits drawn from the decoder's probabilities sharpened or flattened by it
TEMPERATURE_RANGE = (0.0, 1.5)
TEMPERATURE_DEFAULT = 0.0


def _frozen(values: Mapping[str, float] | None) -> Mapping[str, float] | None:
    return None if values is None else MappingProxyType({str(k): float(v) for k, v in values.items()})


@dataclass(frozen=True)
class KnobState:
    """The knobs of one model, immutable; every operation returns a new state.

    Attributes:
        defaults: knob default per attribute, in the model's attribute order (empty
            before a model is known); its order is the order of :meth:`targets`.
        ranges: ``(low, high)`` per attribute, raw units (the data's 5th-95th percentile).
        values: the knob values, raw units (before a model is known: whatever settings or
            a preset gave, fitted by :meth:`with_model`).
        held: the knobs the user set since the last reset.
        turning: the knob turned last (met first while the anchor stands), or None.
        anchor: the groove's attribute values when the current turn began (the other
            attributes are held there); None until a knob turns on this groove.
    """

    defaults: Mapping[str, float] = field(default_factory=dict)
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    values: Mapping[str, float] = field(default_factory=dict)
    held: frozenset[str] = frozenset()
    turning: str | None = None
    anchor: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "defaults", _frozen(self.defaults))
        object.__setattr__(self, "values", _frozen(self.values))
        object.__setattr__(self, "anchor", _frozen(self.anchor))
        object.__setattr__(self, "ranges", MappingProxyType(
            {str(k): (float(lo), float(hi)) for k, (lo, hi) in self.ranges.items()}))
        object.__setattr__(self, "held", frozenset(str(n) for n in self.held))

    __hash__ = None  # type: ignore[assignment]  # mappings inside: equal by value, not hashable

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def for_model(cls, ranges: Mapping[str, tuple[float, float]],
                  defaults: Mapping[str, float]) -> KnobState:
        """Every knob of a model at its default, none held."""
        return cls().with_model(ranges, defaults)

    def with_model(self, ranges: Mapping[str, tuple[float, float]],
                   defaults: Mapping[str, float]) -> KnobState:
        """These knobs on a (newly loaded) model: values it knows are kept, clipped to its
        ranges, the rest take its defaults; what it does not know is no longer held, turned
        or anchored.

        Raises:
            ValueError: ``ranges`` and ``defaults`` name different knobs.
        """
        if set(ranges) != set(defaults):
            raise ValueError(f"ranges name {sorted(ranges)}, defaults {sorted(defaults)}")
        values = {n: float(np.clip(self.values.get(n, d), *ranges[n])) for n, d in defaults.items()}
        anchor = None if self.anchor is None else {n: v for n, v in self.anchor.items() if n in values}
        return replace(self, defaults=defaults, ranges=ranges, values=values,
                       held=self.held & set(values),
                       turning=self.turning if self.turning in values else None, anchor=anchor)

    # -- what the model is asked -----------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """The model's knobs, in its attribute order."""
        return tuple(self.defaults)

    @property
    def inputs(self) -> dict[str, float]:
        """The model's knobs and their values: the decoder's attribute input to start from."""
        return {n: self.values.get(n, d) for n, d in self.defaults.items()}

    def targets(self, trend: DataTrend | None = None) -> np.ndarray:
        """``(A,)`` in :attr:`names` order: what the next decode holds, raw units.

        A held knob at its value (the turned one too), every other attribute the anchor
        names at the groove's value, NaN for the rest (left to the model). All NaN: nothing
        to hold, the model's one open-loop decode. With ``trend`` (the checkpoint's
        :class:`~engine.generation.data_trend.DataTrend`), the anchored knobs nobody set
        follow the turned knob as the data's drummers do, from where the groove had them.
        """
        anchor, values = self.anchor or {}, self.inputs
        out = np.full(len(values), np.nan)
        for i, name in enumerate(values):
            if name in self.held or name == self.turning:
                out[i] = values[name]
            elif name in anchor:
                out[i] = anchor[name]
        turned = self.turning
        if trend is not None and turned is not None and turned in anchor:
            names = list(values)
            shift = trend.shift(names.index(turned), anchor[turned], values[turned])
            follows = np.array([n not in self.held and n != turned and n in anchor for n in names])
            out[follows] += shift[follows]
        return out

    def detents(self, measured: Mapping[str, float], anchors: int,
                centres: Mapping[str, float] | None = None,
                kept: Collection[str] = ()) -> dict[str, tuple[float, ...]]:
        """Each knob's detents (:func:`~engine.generation.groove_bank.detent_values`, ``anchors``
        of them over its range): the settings where a turn plays another recorded groove,
        around the value the turn starts from: ``centres`` where the generator says (the
        groove its walk starts from, :meth:`~engine.generation.generator.Generator.
        playing_attributes`), else the anchor's for the knob turning and the value
        ``measured`` on the playing groove for the others. Empty tuples with ``anchors`` ≤ 1
        and for the ``kept`` knobs (a feel knob that edits the playing groove has none)."""
        out: dict[str, tuple[float, ...]] = {}
        for name in self.names:
            if name in kept:
                out[name] = ()
                continue
            own = (self.anchor or {}).get(name) if name == self.turning else None
            own = measured.get(name, math.nan) if own is None else own
            if centres is not None and name in centres:
                own = centres[name]
            lo, hi = self.ranges[name]
            out[name] = tuple(float(v) for v in detent_values(float(own), lo, hi, anchors))
        return out

    # -- what the user does ----------------------------------------------------------------
    def _check(self, name: str) -> None:
        if name not in self.defaults:
            raise ValueError(f"unknown attribute(s) {[name]}; this model has {list(self.names)}")

    def set(self, name: str, value: float) -> KnobState:
        """The knob held at ``value`` exactly (a command line may ask beyond the data's
        range); no turn begins.

        Raises:
            ValueError: the model has no such knob.
        """
        self._check(name)
        return replace(self, values={**self.values, name: float(value)}, held=self.held | {name})

    def set_all(self, knobs: Mapping[str, float]) -> KnobState:
        """:meth:`set` for each knob named (``--knob NAME=VALUE``, repeated).

        Raises:
            ValueError: names every knob the model does not have.
        """
        unknown = sorted(set(knobs) - set(self.defaults))
        if unknown:
            raise ValueError(f"unknown attribute(s) {unknown}; this model has {list(self.names)}")
        state = self
        for name, value in knobs.items():
            state = state.set(name, value)
        return state

    def begins_turn(self, name: str) -> bool:
        """Whether turning ``name`` now begins a turn (and so takes a new anchor)."""
        return self.anchor is None or name != self.turning

    def turn(self, name: str, value: float, groove: Mapping[str, float]) -> KnobState:
        """The user turned ``name`` to ``value`` (clipped to its range): it is held and met
        first. When this begins a turn (:meth:`begins_turn`), ``groove`` (the playing
        pattern's attributes; empty when nothing plays) becomes the anchor, where the
        other attributes stay while it turns.

        Raises:
            ValueError: the model has no such knob.
        """
        self._check(name)
        anchor = dict(groove) if self.begins_turn(name) else self.anchor
        return replace(self, values={**self.values, name: float(np.clip(value, *self.ranges[name]))},
                       held=self.held | {name}, turning=name, anchor=anchor)

    def release(self, name: str) -> KnobState:
        """Back to its default and no longer held: the groove decides this attribute again.

        Raises:
            ValueError: the model has no such knob.
        """
        self._check(name)
        return replace(self, values={**self.values, name: self.defaults[name]}, held=self.held - {name},
                       turning=None if self.turning == name else self.turning, anchor=None)

    def reset(self) -> KnobState:
        """Every knob at its default, none held or turning."""
        return replace(self, values=dict(self.defaults), held=frozenset(), turning=None, anchor=None)

    def new_groove(self) -> KnobState:
        """Another groove plays (pad, Randomize, Variation): the knobs nobody set are its own."""
        return replace(self, anchor=None)

    def take_groove(self, measured: Mapping[str, float]) -> KnobState:
        """A pattern the user brought (a clip, an edit): the knobs show what it measures
        (clipped to their ranges); which knobs are held stays."""
        values = dict(self.values)
        values.update({n: float(np.clip(v, *self.ranges[n])) for n, v in measured.items()
                       if n in self.ranges})
        return replace(self, values=values, anchor=None)

    def from_preset(self, knobs: Mapping[str, float], held: Iterable[str] | None = None,
                    turning: str | None = None, anchor: Mapping[str, float] | None = None) -> KnobState:
        """A preset's knobs. With ``held`` (what the preset says was held, the knob turned and
        the anchor of that turn) the knobs are held as they were when it was saved, so the
        decode meets the same targets and plays the same groove; without (a preset that does
        not say), the ones it moves off their defaults are held, the others are the groove's,
        and no turn is in progress. Knobs the model does not have are ignored (kept as they
        are until a model is known)."""
        known = (lambda n: n in self.defaults) if self.defaults else (lambda n: True)
        if held is None:
            held = (n for n, v in knobs.items()
                    if abs(float(v) - self.defaults.get(n, np.inf)) > DEFAULT_TOLERANCE)
            turning, anchor = None, None
        values = dict(self.values)
        if self.defaults:
            values.update({n: float(np.clip(knobs[n], *self.ranges[n])) for n in self.names if n in knobs})
        else:
            values.update({str(n): float(v) for n, v in knobs.items()})
        kept = None if anchor is None else {n: float(v) for n, v in anchor.items() if known(n)}
        return replace(self, values=values, held=frozenset(n for n in held if known(n)),
                       turning=turning if turning is not None and known(turning) else None,
                       anchor=kept if turning is not None and known(turning) else None)

    # -- settings --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain values for the app's settings (the model's ranges and defaults come with it)."""
        return {"knobs": dict(self.values), "held": sorted(self.held), "turning": self.turning,
                "anchor": None if self.anchor is None else dict(self.anchor)}

    def restored(self, values: Mapping[str, Any]) -> KnobState:
        """:meth:`to_dict`'s values read back over this state; anything malformed is skipped
        (settings outlive versions: ``engaged`` is read as ``held``)."""
        state = self
        knobs = values.get("knobs")
        if isinstance(knobs, Mapping):
            state = replace(state, values={**state.values, **{str(k): float(v) for k, v in knobs.items()
                                                             if _finite(v)}})
        if isinstance(values.get("turning"), str):
            state = replace(state, turning=values["turning"])  # checked when a model loads
        held = values.get("held", values.get("engaged"))
        if isinstance(held, list | tuple):
            state = replace(state, held=frozenset(str(n) for n in held))
        anchor = values.get("anchor")
        if isinstance(anchor, Mapping):
            state = replace(state, anchor={str(k): float(v) for k, v in anchor.items() if _finite(v)})
        return state


def _finite(value: object) -> bool:
    """A finite number (not a bool): what a saved knob value must be to be restored."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
