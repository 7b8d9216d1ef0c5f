"""The knob panel's state, bound to Qt: a :class:`~engine.generation.knobs.KnobState`, the
temperature knob and the *Hold knobs*, *Other knobs follow the data*, *Feel knobs keep
the groove* and *Density and hats keep the groove* switches, announced through signals.

The rules of the knobs (what is held, when the groove's values are taken) live in the
engine's :class:`~engine.generation.knobs.KnobState`; this adapter only swaps states,
says what changed, and keeps them in the settings. It never touches a widget.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.generation.knobs import TEMPERATURE_RANGE, KnobState
from engine.music import attributes as attr_lib
from engine.music.pattern import Pattern

TEMPERATURE = "temperature"  # the knob that is not an attribute


def measure(pattern: Pattern, names: Sequence[str]) -> dict[str, float]:
    """``names``' attributes measured on ``pattern`` (raw units), in that order."""
    values = attr_lib.compute(pattern.to_array()[None], names)[0]
    return {n: float(v) for n, v in zip(names, values, strict=True)}


class KnobBinding(QObject):
    """Signals:
        knobChanged(str, float): a knob's value (attribute or temperature) changed.
        heldChanged(object): the set of attribute knobs the user set (held when holding).
        holdingChanged(bool): *Hold knobs* turned on or off.
        followingChanged(bool): *Other knobs follow the data* turned on or off.
        keepingChanged(bool): *Feel knobs keep the groove* turned on or off.
        keepingHitsChanged(bool): *Density and hats keep the groove* turned on or off.
    """

    knobChanged = Signal(str, float)
    heldChanged = Signal(object)
    holdingChanged = Signal(bool)
    followingChanged = Signal(bool)
    keepingChanged = Signal(bool)
    keepingHitsChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = KnobState()
        self.temperature = 0.0
        # True: the generator meets the held knobs (several decodes per change); False: the
        # model's own response to them, one decode (closer to the data's drums, reaching less)
        self.holding = True
        # True: while a knob turns, the knobs nobody set move as the data's drummers move
        # them; False: they stay where the groove had them (no cross-talk asked for)
        self.following = True
        # True: intensity and laid back play the groove playing harder, softer, earlier or
        # later; False: they walk to a recorded groove at their setting, as the data's
        # drummers play it (the shipped default: more real, docs/studies/walk_keep)
        self.keeping = False
        # True: density and hat busyness add or remove the playing groove's hits, Grids-like;
        # False: they walk to a recorded groove at their setting (docs/studies/walk_keep_hits)
        self.keeping_hits = False

    @property
    def values(self) -> dict[str, float]:
        return dict(self.state.values)

    @property
    def held(self) -> set[str]:
        return set(self.state.held)

    def _emit_held(self) -> None:
        self.heldChanged.emit(set(self.state.held))

    def range_of(self, target: str) -> tuple[float, float] | None:
        """The range of a knob (temperature or attribute), None for a knob the model lacks."""
        return TEMPERATURE_RANGE if target == TEMPERATURE else self.state.ranges.get(target)

    # -- the model ---------------------------------------------------------------------------
    def adopt_model(self, ranges: Mapping[str, tuple[float, float]], defaults: Mapping[str, float],
                    another: bool) -> None:
        """A model loaded; ``another``: it replaces one, whose grooves mean nothing to it."""
        state = self.state.new_groove() if another else self.state
        self.state = state.with_model(ranges, defaults)
        self._emit_held()

    def announce(self) -> None:
        """Every attribute knob's value (once the window has built the knobs)."""
        for name in self.state.names:
            self.knobChanged.emit(name, self.state.values[name])

    # -- the user ----------------------------------------------------------------------------
    def set_temperature(self, value: float) -> None:
        lo, hi = TEMPERATURE_RANGE
        self.temperature = min(max(float(value), lo), hi)
        self.knobChanged.emit(TEMPERATURE, self.temperature)

    def turn(self, name: str, value: float, pattern: Pattern) -> bool:
        """An attribute knob turned while ``pattern`` plays; False for a knob the model lacks."""
        if name not in self.state.ranges:
            return False
        groove: dict[str, float] = {}
        if self.state.begins_turn(name) and pattern.num_hits:
            groove = measure(pattern, self.state.names)
        before = self.state.held
        self.state = self.state.turn(name, value, groove)
        self.knobChanged.emit(name, self.state.values[name])
        if self.state.held != before:
            self._emit_held()
        return True

    def release(self, name: str) -> bool:
        """Double-click: back to the default, the groove decides; False for an unknown knob."""
        if name not in self.state.ranges:
            return False
        self.state = self.state.release(name)
        self.knobChanged.emit(name, self.state.values[name])
        self._emit_held()
        return True

    def reset(self) -> bool:
        """Every knob to its default, none held; False before a model is known."""
        if not self.state.names:
            return False
        self.state = self.state.reset()
        self._emit_held()
        self.announce()
        return True

    def restore(self, state: KnobState) -> bool:
        """Undo/redo: the knobs as ``state`` had them (values, held, the turn under way),
        shown without a decode; False (nothing changed) for a state of another model's knobs."""
        if state.ranges != self.state.ranges:
            return False
        self.state = state
        self._emit_held()
        self.announce()
        return True

    def set_holding(self, on: bool) -> bool:
        """True when the switch changed."""
        return self._switch("holding", on, self.holdingChanged)

    def set_following(self, on: bool) -> bool:
        """True when the switch changed."""
        return self._switch("following", on, self.followingChanged)

    def set_keeping(self, on: bool) -> bool:
        """True when the switch changed."""
        return self._switch("keeping", on, self.keepingChanged)

    def set_keeping_hits(self, on: bool) -> bool:
        """True when the switch changed."""
        return self._switch("keeping_hits", on, self.keepingHitsChanged)

    def _switch(self, name: str, on: bool, changed: Any) -> bool:
        if bool(on) == getattr(self, name):
            return False
        setattr(self, name, bool(on))
        changed.emit(bool(on))
        return True

    def new_groove(self) -> None:
        self.state = self.state.new_groove()

    def take_groove(self, measured: Mapping[str, float]) -> None:
        """The knobs show what a pattern the user brought measures."""
        self.state = self.state.take_groove(measured)
        for name in measured:
            if name in self.state.ranges:
                self.knobChanged.emit(name, self.state.values[name])

    def apply_preset(self, knobs: Mapping[str, float], temperature: float,
                     held: Sequence[str] | None = None, turning: str | None = None,
                     anchor: Mapping[str, float] | None = None) -> list[str]:
        """A preset's knobs (held as it says, see :meth:`KnobState.from_preset`) and
        temperature; returns the knobs it names that the model lacks."""
        self.state = self.state.from_preset(knobs, held, turning, anchor)
        self._emit_held()
        unknown = sorted(set(knobs) - set(self.state.names)) if self.state.names else []
        for name in self.state.names:
            if name in knobs:
                self.knobChanged.emit(name, self.state.values[name])
        self.temperature = temperature
        self.knobChanged.emit(TEMPERATURE, self.temperature)
        return unknown

    # -- settings ----------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {**self.state.to_dict(), "temperature": self.temperature, "holding": self.holding,
                "following": self.following, "keeping": self.keeping, "keeping_hits": self.keeping_hits}

    def restore_settings(self, values: Mapping[str, Any]) -> None:
        """Inverse of :meth:`settings`; anything malformed is skipped (``hold_knobs`` is the
        older name of ``holding``)."""
        with contextlib.suppress(KeyError, TypeError, ValueError):
            t = float(values["temperature"])
            if TEMPERATURE_RANGE[0] <= t <= TEMPERATURE_RANGE[1]:
                self.temperature = t
                self.knobChanged.emit(TEMPERATURE, t)
        self.state = self.state.restored(values)
        holding = values.get("holding", values.get("hold_knobs"))
        if isinstance(holding, bool):
            self.holding = holding
            self.holdingChanged.emit(holding)
        for name, changed in (("following", self.followingChanged), ("keeping", self.keepingChanged),
                              ("keeping_hits", self.keepingHitsChanged)):
            on = values.get(name)
            if isinstance(on, bool):
                setattr(self, name, on)
                changed.emit(on)
