"""Encoders q(z | x): a drum pattern ``(B, T, 27)`` to a diagonal Gaussian ``(mu, logvar)``."""

from __future__ import annotations

import torch
from torch import nn

from models.config import FaderVAEConfig


class RNNEncoder(nn.Module):
    """Bidirectional GRU/LSTM over the steps (MusicVAE/GrooVAE); final states -> (mu, logvar)."""

    def __init__(self, cfg: FaderVAEConfig) -> None:
        super().__init__()
        rnn = nn.LSTM if cfg.encoder_kind == "lstm" else nn.GRU
        self.rnn = rnn(cfg.features, cfg.encoder_size, num_layers=cfg.encoder_layers,
                       batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * cfg.encoder_size, 2 * cfg.z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state  # (layers*2, B, H)
        h = torch.cat([h[-2], h[-1]], dim=-1)  # last layer, forward and backward: (B, 2H)
        mu, logvar = self.out(h).chunk(2, dim=-1)
        return mu, logvar


class ConvEncoder(nn.Module):
    """Strided 1-D convolutions over the steps, flattened -> (mu, logvar). Cheaper than an RNN."""

    def __init__(self, cfg: FaderVAEConfig) -> None:
        super().__init__()
        c = cfg.encoder_size
        self.net = nn.Sequential(
            nn.Conv1d(cfg.features, c, 3, padding=1), nn.GELU(),
            nn.Conv1d(c, c, 4, stride=2, padding=1), nn.GELU(),
            nn.Conv1d(c, c, 4, stride=2, padding=1), nn.GELU(),
        )
        self.out = nn.Linear(c * (cfg.steps // 4), 2 * cfg.z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(x.transpose(1, 2)).flatten(1)  # (B, C * T/4)
        mu, logvar = self.out(h).chunk(2, dim=-1)
        return mu, logvar


def build_encoder(cfg: FaderVAEConfig) -> nn.Module:
    if cfg.encoder_kind == "conv":
        if cfg.steps % 4:
            raise ValueError("the conv encoder needs steps divisible by 4")
        return ConvEncoder(cfg)
    return RNNEncoder(cfg)
