"""The fader-VAE: a drum-pattern VAE whose decoder is conditioned on musical attributes.

Encoder q(z|x) -> decoder p(x|z, a), the normalised attribute vector ``a`` injected at every
step and layer; a latent discriminator predicts ``a`` from ``mu`` and the encoder is trained
against it (Fader Networks, Lample et al. 2017), so ``z`` carries the groove and ``a`` the
knobs. ``num_attributes == 0`` gives the plain VAE (the GrooVAE-configuration baseline),
controlled instead by MusicVAE attribute vectors (see :mod:`models.latent`).

Shapes: patterns ``(B, T, 27)`` in the codec layout of :mod:`engine.music.pattern`; ``z`` ``(B, Z)``;
attributes ``(B, A)`` normalised (``(raw - mean) / std``, statistics in the checkpoint).
"""

from __future__ import annotations

import torch
from torch import nn

from models.config import PRESETS, FaderVAEConfig
from models.decoders import DecoderOutput, build_decoder
from models.encoders import build_encoder

__all__ = ["PRESETS", "DecoderOutput", "FaderVAE", "FaderVAEConfig"]


class FaderVAE(nn.Module):
    """See the module docstring. Build from a config alone: ``FaderVAE(PRESETS["fader_2bar"])``."""

    def __init__(self, config: FaderVAEConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = build_encoder(config)
        self.decoder = build_decoder(config)
        self.disc: nn.Module | None = None
        if config.num_attributes:
            layers: list[nn.Module] = []
            width = config.z_dim
            for _ in range(config.disc_layers):
                layers += [nn.Linear(width, config.disc_size), nn.LeakyReLU(0.2)]
                width = config.disc_size
            layers.append(nn.Linear(width, config.num_attributes))
            self.disc = nn.Sequential(*layers)

    @property
    def is_fader(self) -> bool:
        return self.config.num_attributes > 0

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, 27)`` -> ``(mu, logvar)``, each ``(B, Z)``."""
        self._check_pattern(x)
        return self.encoder(x)

    def decode(self, z: torch.Tensor, attrs: torch.Tensor | None = None,
               teacher: torch.Tensor | None = None, teacher_mask: torch.Tensor | None = None,
               temperature: float = 0.0, generator: torch.Generator | None = None,
               hits_only: bool = False) -> DecoderOutput:
        """Decode ``z (B, Z)`` under normalised ``attrs (B, A)`` (None for the plain VAE).

        ``teacher (B, T, 27)`` / ``teacher_mask (B, T)`` bool: teacher forcing at the masked
        steps (all steps without a mask); a step's teacher value informs later steps only.
        ``temperature`` matters only for autoregressive decoders (0 = greedy feedback);
        sampling of the final hits is done by :meth:`DecoderOutput.to_array`. ``hits_only``: the
        caller needs the hits alone; a conv decoder (flat or per bar) with a velocity trunk then
        skips it (in eval without grad) and returns placeholder velocities and offsets.
        """
        if z.ndim != 2 or z.shape[1] != self.config.z_dim:
            raise ValueError(f"z must have shape (B, {self.config.z_dim}), got {tuple(z.shape)}")
        if self.is_fader:
            if attrs is None:
                attrs = z.new_zeros(z.shape[0], self.config.num_attributes)  # the data mean
            if attrs.shape != (z.shape[0], self.config.num_attributes):
                raise ValueError(f"attrs must have shape ({z.shape[0]}, {self.config.num_attributes}),"
                                 f" got {tuple(attrs.shape)}")
        else:
            attrs = None
        if teacher is not None:
            self._check_pattern(teacher)
            if teacher_mask is not None and teacher_mask.shape != teacher.shape[:2]:
                raise ValueError(f"teacher_mask must have shape {tuple(teacher.shape[:2])}")
        return self.decoder(z, attrs, teacher, teacher_mask, temperature, generator, hits_only=hits_only)

    def discriminator(self, z: torch.Tensor) -> torch.Tensor:
        """Predicted normalised attributes ``(B, A)`` from a latent code ``(B, Z)``."""
        if self.disc is None:
            raise ValueError("a plain VAE (num_attributes=0) has no discriminator")
        return self.disc(z)

    def forward(self, x: torch.Tensor, attrs: torch.Tensor | None = None,
                teacher_mask: torch.Tensor | None = None
                ) -> tuple[DecoderOutput, torch.Tensor, torch.Tensor]:
        """Training pass: encode, sample z, decode (teacher = x at ``teacher_mask`` steps).

        Returns ``(output, mu, logvar)``. The RNN decoders are always fully teacher-forced here.
        """
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        if self.config.decoder_cell != "conv":
            teacher, teacher_mask = x, None
        else:
            teacher = None if teacher_mask is None else x
        return self.decode(z, attrs, teacher, teacher_mask), mu, logvar

    def _check_pattern(self, x: torch.Tensor) -> None:
        if x.ndim != 3 or x.shape[1:] != (self.config.steps, self.config.features):
            raise ValueError(f"patterns must have shape (B, {self.config.steps}, {self.config.features}),"
                             f" got {tuple(x.shape)}")
