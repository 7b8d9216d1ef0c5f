"""The one frozen config per model, and the named presets.

A checkpoint stores ``dataclasses.asdict(config)``; the model is rebuilt from it alone with
``FaderVAE(FaderVAEConfig.from_dict(meta["config"]))``. Override a preset with
``dataclasses.replace(PRESETS["fader_2bar"], z_dim=64)``, never with globals.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from models.vocabulary import DENSITY_KNOB, HAT_BUSYNESS_KNOB, NUM_VOICES

__all__ = ["DENSITY_KNOB", "HAT_BUSYNESS_KNOB", "NUM_VOICES"]  # and the configs below
# Fields added after checkpoint format 1 shipped, with the value that reproduces the older
# models exactly: a config written before them still loads.
ADDED_FIELDS: dict[str, Any] = {"monotone_density": False, "monotone_hats": False,
                                "monotone_hats_trade": False, "velocity_trunk": 0}

ENCODER_KINDS = ("gru", "lstm", "conv")
DECODER_KINDS = ("flat", "hierarchical")
# "conv": non-autoregressive (z, a, optional causal teacher) -> all steps in one pass.
# "gru"/"lstm": autoregressive RNN, step by step when free-running (MusicVAE/GrooVAE).
DECODER_CELLS = ("conv", "gru", "lstm")


@dataclass(frozen=True)
class FaderVAEConfig:
    """Architecture and loss settings of a (fader-)VAE over ``(steps, 27)`` drum patterns.

    ``num_attributes == 0`` is the plain VAE (the GrooVAE-style baseline): no attribute
    input to the decoder and no discriminator.
    """

    steps: int = 32                   # pattern length in 16th steps (2 bars)
    steps_per_bar: int = 16
    num_voices: int = NUM_VOICES
    num_attributes: int = 5           # 0 = plain VAE; else engine.music.attributes.ATTRIBUTES[:n]
    z_dim: int = 128
    # encoder: bidirectional RNN over the steps (or a conv stack), final states -> (mu, logvar)
    encoder_kind: str = "gru"
    encoder_size: int = 256
    encoder_layers: int = 1
    # decoder
    decoder: str = "flat"             # "flat" | "hierarchical" (conductor RNN, one embedding per bar)
    decoder_cell: str = "conv"        # "conv" | "gru" | "lstm"
    decoder_size: int = 128           # channels (conv) or hidden units (rnn)
    decoder_proj: int = 64            # conv only: per-step channels of the z -> (T, C) projection
    decoder_hidden: int = 256         # conv only: hidden width of the z -> (T, proj) MLP
    decoder_layers: int = 3           # residual causal conv blocks, or stacked RNN layers
    conductor_size: int = 256         # hierarchical only
    dropout: float = 0.1
    # discriminator on mu (Fader Networks); ignored when num_attributes == 0
    disc_size: int = 256
    disc_layers: int = 2
    # losses (GrooVAE: hits BCE, velocities/offsets MSE on true hits, summed per pattern)
    velocity_weight: float = 1.0
    offset_weight: float = 1.0
    beta: float = 0.2                 # final KL weight
    free_bits: float = 0.0            # total KL bits per pattern left unpenalised (MusicVAE)
    # conv decoder only: share of training batches decoded with a (randomly masked) teacher
    teacher_prob: float = 0.5
    # conv decoder only: knobs that are monotone by construction. The density knob (and the
    # hat-busyness knob for the hi-hat/ride voices) then reaches the hit logits only through
    # ``softplus(slope(z, other knobs)) * knob``, so turning it up can only add hits, never
    # remove one, for every z (see models.decoders.ConvDecoder).
    monotone_density: bool = False
    monotone_hats: bool = False
    # with monotone_hats: the hat knob also reaches the *other* voices, as
    # -softplus(slope) * knob (non-increasing), so it can trade kick/snare hits for hats and
    # hold the density instead of only adding onsets; hat busyness stays non-decreasing.
    monotone_hats_trade: bool = False
    # conv decoder only: channels of a second conv trunk that decodes velocities and offsets
    # from z, all knobs and the hit trunk's (detached) hit probabilities; 0 = one trunk with
    # a shared head. Its own parameters keep heavily weighted velocity/offset losses from
    # crowding the hit trunk, and knowing the hits lets it place accents.
    velocity_trunk: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.steps > 0 and self.steps_per_bar > 0 and self.steps % self.steps_per_bar == 0,
             f"steps ({self.steps}) must be a positive multiple of steps_per_bar ({self.steps_per_bar})"),
            (self.num_voices == NUM_VOICES, f"num_voices must be {NUM_VOICES}"),
            (self.num_attributes >= 0, "num_attributes must be >= 0"),
            (self.z_dim > 0, "z_dim must be > 0"),
            (self.encoder_kind in ENCODER_KINDS, f"encoder_kind must be one of {ENCODER_KINDS}"),
            (self.decoder in DECODER_KINDS, f"decoder must be one of {DECODER_KINDS}"),
            (self.decoder_cell in DECODER_CELLS, f"decoder_cell must be one of {DECODER_CELLS}"),
            (min(self.encoder_size, self.decoder_size, self.decoder_proj, self.decoder_hidden,
                 self.conductor_size,
                 self.disc_size) > 0,
             "sizes must be > 0"),
            (self.encoder_layers >= 1 and self.decoder_layers >= 1 and self.disc_layers >= 1,
             "layer counts must be >= 1"),
            (0.0 <= self.dropout < 1.0, "dropout must lie in [0, 1)"),
            (self.beta >= 0 and self.free_bits >= 0, "beta and free_bits must be >= 0"),
            (0.0 <= self.teacher_prob <= 1.0, "teacher_prob must lie in [0, 1]"),
            (not self.monotone_density or (self.num_attributes > DENSITY_KNOB
                                           and self.decoder_cell == "conv"),
             "monotone_density needs the conv decoder and the density knob"),
            (not self.monotone_hats or (self.num_attributes > HAT_BUSYNESS_KNOB
                                        and self.decoder_cell == "conv"),
             "monotone_hats needs the conv decoder and the hat_busyness knob"),
            (not self.monotone_hats_trade or self.monotone_hats, "monotone_hats_trade needs monotone_hats"),
            (self.velocity_trunk >= 0 and (not self.velocity_trunk or self.decoder_cell == "conv"),
             "velocity_trunk must be >= 0 and needs the conv decoder"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def features(self) -> int:
        return 3 * self.num_voices

    @property
    def monotone_knobs(self) -> tuple[int, ...]:
        """Indices of the knobs that are monotone by construction (monotone_density / _hats)."""
        return tuple(k for k, on in ((DENSITY_KNOB, self.monotone_density),
                                     (HAT_BUSYNESS_KNOB, self.monotone_hats)) if on)

    @property
    def bars(self) -> int:
        return self.steps // self.steps_per_bar

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaderVAEConfig:
        """Inverse of :meth:`to_dict`; unknown or missing keys raise ``ValueError`` (except the
        :data:`ADDED_FIELDS`, which take the value the older models were built with)."""
        names = {f.name for f in dataclasses.fields(cls)}
        data = {**{k: v for k, v in ADDED_FIELDS.items() if k not in data}, **data}
        unknown = set(data) - names
        missing = names - set(data)
        if unknown or missing:
            raise ValueError(f"config keys differ: unknown {sorted(unknown)}, missing {sorted(missing)}")
        return cls(**checked_fields(cls, data))


# -- typed fields: config files and command lines are checked against the annotations ---------

_BOOL_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def field_types(cls: type) -> dict[str, Any]:
    """``{field name: resolved annotation}`` of a config dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _optional(hint: Any) -> tuple[Any, bool]:
    """``(T, True)`` for ``T | None``, else ``(hint, False)``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0], True
    return hint, False


def type_name(hint: Any) -> str:
    """How a field's type reads in an error message: 'an integer', 'true or false', ..."""
    inner, optional = _optional(hint)
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if typing.get_origin(inner) is dict:
        text = "an object of NAME: VALUE"
    else:
        text = names.get(inner, getattr(inner, "__name__", str(inner)))
    return text + (" or null" if optional else "")


def check_value(hint: Any, value: Any, name: str) -> Any:
    """``value`` if it has the field's type (an int where a float is expected becomes that
    float). Raises ``ValueError``: '<name> takes <type>, got <value>'."""
    inner, optional = _optional(hint)
    if value is None and optional:
        return None
    ok = False
    if inner is Any:
        return value
    if inner is bool:
        ok = isinstance(value, bool)
    elif inner is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif inner is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif inner is str:
        ok = isinstance(value, str)
    elif typing.get_origin(inner) is dict:
        key_hint, value_hint = typing.get_args(inner) or (str, Any)
        if isinstance(value, dict):
            return {check_value(key_hint, k, f"{name} key"): check_value(value_hint, v, f"{name}[{k!r}]")
                    for k, v in value.items()}
    if not ok:
        raise ValueError(f"{name} takes {type_name(hint)}, got {value!r}")
    return value


def checked_fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (keys: fields of ``cls``) with every value checked by :func:`check_value`."""
    types_ = field_types(cls)
    return {k: check_value(types_[k], v, k) if k in types_ else v for k, v in data.items()}


def parse_text(hint: Any, text: str, name: str) -> Any:
    """A command-line word as a value of the field's type: ``"3"`` -> 3, ``"true"`` -> True,
    ``"a=1,b=2"`` -> ``{"a": 1.0, "b": 2.0}`` for a ``dict[str, float]``. Raises ``ValueError``
    (one line: ``name``, what the field takes and what was given)."""
    inner, optional = _optional(hint)
    if optional and text.lower() in ("none", "null"):
        return None
    try:
        if inner is bool:
            return _BOOL_WORDS[text.lower()]
        if inner in (int, float, str):
            return inner(text)
        if typing.get_origin(inner) is dict:
            value_hint = (typing.get_args(inner) or (str, Any))[1]
            out = {}
            for item in filter(None, (part.strip() for part in text.split(","))):
                key, sep, word = item.partition("=")
                if not sep or not key.strip():
                    raise ValueError(item)
                out[key.strip()] = parse_text(value_hint, word.strip(), name) if value_hint is not Any \
                    else word.strip()
            return out
    except (KeyError, ValueError) as err:
        expected = "true or false" if inner is bool else (
            "NAME=VALUE[,NAME=VALUE...]" if typing.get_origin(inner) is dict else type_name(hint))
        raise ValueError(f"{name + ': ' if name else ''}expected {expected}, got {text!r}") from err
    raise ValueError(f"{name + ': ' if name else ''}cannot be given as text (type {hint})")


PRESETS: MappingProxyType[str, FaderVAEConfig] = MappingProxyType({
    # The instrument's architecture: conv encoder, non-autoregressive causal-teacher conv
    # decoder (one pass per pattern, fast enough for batch-1 decoding on one CPU thread),
    # attributes at every layer, latent discriminator. Sized for one CPU: a BiGRU-256 encoder
    # with a 256-channel decoder trains about ten times slower. Same beta/free bits as GrooVAE.
    # The shipped checkpoint is this preset with the overrides in checkpoints/default.train.json.
    "fader_2bar": FaderVAEConfig(encoder_kind="conv", encoder_size=128, decoder_size=64, decoder_proj=32,
                                 decoder_hidden=256, decoder_layers=3, dropout=0.05, beta=0.2,
                                 free_bits=48.0, teacher_prob=0.3),
    # Tiny capacity for tests: trains in seconds on synthetic patterns.
    "tiny": FaderVAEConfig(z_dim=8, encoder_size=16, decoder_size=16, decoder_proj=8, decoder_hidden=16,
                           decoder_layers=1,
                           conductor_size=16, disc_size=16, disc_layers=1, dropout=0.0),
    # Magenta's groovae_2bar: BiLSTM-512 encoder, z=256, 2-layer LSTM-256 autoregressive
    # decoder, free bits 48, beta 0.2, no attribute conditioning (plain VAE baseline).
    "groovae_2bar": FaderVAEConfig(num_attributes=0, z_dim=256, encoder_kind="lstm",
                                   encoder_size=512, decoder_cell="lstm", decoder_size=256,
                                   decoder_layers=2, dropout=0.0, beta=0.2, free_bits=48.0,
                                   teacher_prob=0.0),
    # Longer patterns: a conductor RNN emits one embedding per bar, a per-bar decoder
    # (the same conv decoder, 16 steps) renders each bar (MusicVAE's hierarchical decoder).
    "fader_4bar_hier": FaderVAEConfig(steps=64, decoder="hierarchical", z_dim=256),
})
