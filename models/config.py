"""The one frozen config per model, and the named presets.

A checkpoint stores ``dataclasses.asdict(config)``; the model is rebuilt from it alone with
``FaderVAE(FaderVAEConfig.from_dict(meta["config"]))``. Override a preset with
``dataclasses.replace(PRESETS["fader_2bar"], z_dim=64)``, never with globals.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

# The pattern codec's voice count (engine.music.drums.NUM_VOICES; a test checks they agree).
# Not imported: models sit below engine (app → engine → models).
NUM_VOICES = 9
# Knob columns of the attribute vector (engine.music.attributes.ATTRIBUTES order; a test checks).
DENSITY_KNOB = 0
HAT_BUSYNESS_KNOB = 4
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
    # a shared head. Its own parameters keep the velocity/offset losses (weighted 25/50 in the
    # shipped run) from crowding the hit trunk, and knowing the hits lets it place accents.
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
        return cls(**data)


PRESETS: MappingProxyType[str, FaderVAEConfig] = MappingProxyType({
    # The shipped instrument: BiGRU encoder, non-autoregressive causal-teacher conv decoder
    # (well under 1 ms per pattern on one CPU thread), attributes at every layer, latent
    # discriminator. Sizes chosen for this shared 2-core CPU: a training step (batch 256) of
    # BiGRU-256 + conv-256 took 5 s under the load of the other engineers' jobs, this one
    # 0.45 s, so about 80 epochs fit the 45-minute budget. Same beta/free bits as GrooVAE.
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
