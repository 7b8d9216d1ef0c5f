"""A MusicVAE-style melody VAE: BiLSTM encoder, flat or hierarchical (conductor) decoder.

Input and output are per-16th-step classes of :mod:`engine.music.melody` (0 = note-off,
1 = no event, 2.. = note-on of pitch 48..84): ``x`` is ``(B, T)`` int64, ``T = bars * 16``.

* Encoder: one-hot ``(B, T, C)`` → bidirectional LSTM (``enc_hidden`` each way) → the last
  states of both directions → ``mu``, ``sigma`` (softplus) of ``q(z|x)``, ``z`` ``(B, Z)``.
* Hierarchical encoder (``encoder='hier'``, MusicVAE's HierarchicalLstmEncoder): that
  BiLSTM reads each ``segment_bars``-bar segment on its own and ``segment_mu`` gives its
  code ``(B, S, segment_z)``; a second BiLSTM (``code_hidden`` each way) over the S codes
  gives ``mu``, ``sigma``. The segment part has a 2-bar model's encoder's shape, so a
  trained one can be copied in (and frozen): a long window is read as the codes a model
  that already reads 2 bars well gives its segments, not as hundreds of raw steps.
* Flat decoder: one LSTM over all T steps, fed ``[one-hot(previous class), z]``, its
  initial state ``tanh(Linear(z))``.
* Hierarchical decoder (MusicVAE's conductor): a conductor LSTM, initial state from ``z``,
  runs one step per bar and gives one embedding ``c_b`` per bar; the note decoder LSTM
  restarts each bar from ``tanh(Linear(c_b))`` and is fed ``[one-hot(previous class), c_b]``.
  A bar's notes see ``z`` only through ``c_b``, so the latent has to carry the whole phrase
  (MusicVAE's remedy for the posterior collapse of flat long decoders). The conductor runs
  any number of bars, so a 16-bar model also decodes 2-bar phrases.
* Conductor input (``conductor_input``): ``'none'`` (MusicVAE's: the conductor is fed zeros
  and sees ``z`` only through its initial state, so it must unroll all bars from that state)
  or ``'z'`` (a departure from MusicVAE: ``z``, after ``conductor_dropout``, is also its input
  at every bar, so a late bar's embedding need not survive 15 recurrent steps). ``'z'``
  models decode through torch only: the numpy loop (and so the ONNX export) has no
  conductor input and refuses them.
* Segment conductor (``conductor_bars`` > 1, ``conductor_read='linear'``, ``code_skip``): a
  departure from MusicVAE's one embedding per bar. Each conductor step covers
  ``conductor_bars`` bars, the note decoder restarting at each; ``c_u`` is a learned linear
  read of ``z`` for step ``u`` plus the conductor LSTM's output; and with ``code_skip`` the
  hierarchical encoder's ``mu`` (and ``sigma``'s pre-activation) start from the segments' own
  posteriors, concatenated, the code BiLSTM adding to them. Built with the read selecting
  segment ``u``'s block of ``z`` and the LSTM's and BiLSTM's outputs at zero, a model whose
  segment reader and note decoder are a 2-bar model's starts as that model playing each
  segment from its own code; training can then add what the whole phrase says about each
  segment (45 minutes of it did not: docs/melody.md). Torch only, like ``'z'``.
* Training: teacher forcing; word dropout replaces previous-class inputs by zeros with
  probability ``word_dropout``, which makes the decoder lean on ``z``.

Decoding (:meth:`MelodyVAE.decode`) is autoregressive: greedy (``temperature=0``) or
sampled; ``forced`` inputs (per step a class, or -1 for "the model's own previous output")
give the teacher-forced mixes of the transition strategies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.errors import CheckpointError

# The codec's sizes (engine.music.melody owns their meaning; models does not import engine).
NUM_CLASSES = 39  # note-off, no event, note-on of MIDI pitch 48..84
STEPS_PER_BAR = 16  # 16th notes in a 4/4 bar

DECODERS = ("flat", "hier")
CONDUCTOR_INPUTS = ("none", "z")
CONDUCTOR_READS = ("none", "linear")


class NoDecodeLoopError(CheckpointError):
    """The model has no numpy-loop form (a conductor fed ``z``): a ``CheckpointError`` so that
    the export after training says so in one line and the run's checkpoint plays on torch."""
ENCODERS = ("flat", "hier")


@dataclass(frozen=True)
class MelodyVAEConfig:
    """Everything that fixes the network's shape (stored in the checkpoint's metadata)."""

    bars: int = 2  # window length in 4/4 bars
    steps_per_bar: int = STEPS_PER_BAR  # 16th notes
    num_classes: int = NUM_CLASSES  # note-off, no event, note-on 48..84
    z_dim: int = 32
    enc_hidden: int = 256  # per direction
    decoder: str = "flat"  # 'flat' | 'hier'
    dec_hidden: int = 256
    dec_layers: int = 1
    conductor_hidden: int = 256
    conductor_dim: int = 128  # size of the per-bar embedding c_b
    dropout: float = 0.1  # between decoder layers and on its output
    word_dropout: float = 0.2  # probability of blanking a previous-class input (training)
    encoder: str = "flat"  # 'flat' (BiLSTM over the steps) | 'hier' (over segment codes)
    segment_bars: int = 2  # hier encoder: bars per segment (a 2-bar model's window)
    segment_z: int = 32  # hier encoder: a segment's code size (that model's z_dim)
    code_hidden: int = 256  # hier encoder: the BiLSTM over the segment codes, per direction
    conductor_input: str = "none"  # hier decoder: 'none' (zeros, MusicVAE) | 'z' (z at every bar)
    conductor_dropout: float = 0.0  # with conductor_input 'z': dropout on that input (training)
    conductor_bars: int = 1  # hier decoder: bars per conductor step (the note decoder restarts at each)
    conductor_read: str = "none"  # hier decoder: 'linear' adds a per-step linear read of z to c_u
    code_skip: bool = False  # hier encoder: mu, sigma start from the segments' own, concatenated

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {self.decoder!r}")
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {self.encoder!r}")
        if self.conductor_input not in CONDUCTOR_INPUTS:
            raise ValueError(f"conductor_input must be one of {CONDUCTOR_INPUTS}, "
                             f"got {self.conductor_input!r}")
        if self.conductor_input != "none" and self.decoder != "hier":
            raise ValueError("conductor_input needs a hierarchical (conductor) decoder")
        if self.conductor_read not in CONDUCTOR_READS:
            raise ValueError(f"conductor_read must be one of {CONDUCTOR_READS}, got {self.conductor_read!r}")
        if (self.conductor_read != "none" or self.conductor_bars != 1) and self.decoder != "hier":
            raise ValueError("conductor_read and conductor_bars need a hierarchical (conductor) decoder")
        if int(self.conductor_bars) < 1 or self.bars % int(self.conductor_bars):
            raise ValueError(f"bars ({self.bars}) must be a whole number of conductor steps "
                             f"(conductor_bars={self.conductor_bars})")
        if self.code_skip and (self.encoder != "hier"
                               or self.z_dim != self.bars // self.segment_bars * self.segment_z):
            raise ValueError("code_skip needs a hierarchical encoder whose z_dim is the segments' codes "
                             f"side by side ({self.bars // self.segment_bars} x {self.segment_z})")
        for name in ("bars", "steps_per_bar", "num_classes", "z_dim", "enc_hidden", "dec_hidden",
                     "dec_layers", "conductor_hidden", "conductor_dim", "segment_bars", "segment_z",
                     "code_hidden"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.encoder == "hier" and self.bars % self.segment_bars:
            raise ValueError(f"a hierarchical encoder needs bars ({self.bars}) to be a multiple of "
                             f"segment_bars ({self.segment_bars})")
        if not all(0.0 <= p < 1.0 for p in (self.dropout, self.word_dropout, self.conductor_dropout)):
            raise ValueError("dropout, word_dropout and conductor_dropout must lie in [0, 1)")

    @property
    def steps(self) -> int:
        return self.bars * self.steps_per_bar

    @property
    def segment_steps(self) -> int:
        """Steps per segment of the hierarchical encoder."""
        return self.segment_bars * self.steps_per_bar

    @property
    def unit_bars(self) -> int:
        """Bars the note decoder plays from one conditioning vector before it restarts (a flat
        decoder's state runs on; 1 bar is its unit of conditioning)."""
        return self.conductor_bars if self.decoder == "hier" else 1

    @property
    def torch_only(self) -> bool:
        """Whether the numpy decode loop (and so the ONNX export) cannot run this model."""
        return self.conductor_input != "none" or self.conductor_read != "none" or self.conductor_bars != 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MelodyVAEConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown melody config field(s) {sorted(unknown)}")
        return cls(**d)


PRESETS: dict[str, MelodyVAEConfig] = {
    "melody_2bar": MelodyVAEConfig(bars=2, decoder="flat", dec_layers=1, word_dropout=0.1),
    "melody_16bar_flat": MelodyVAEConfig(bars=16, decoder="flat", dec_layers=2),
    "melody_16bar_hier": MelodyVAEConfig(bars=16, decoder="hier", dec_layers=1),
    # small ones: the 16-bar comparison at a CPU budget, and tests
    "melody_16bar_flat_small": MelodyVAEConfig(bars=16, decoder="flat", enc_hidden=128,
                                               dec_hidden=128, dec_layers=2),
    "melody_16bar_hier_small": MelodyVAEConfig(bars=16, decoder="hier", enc_hidden=128,
                                               dec_hidden=128, conductor_hidden=128, conductor_dim=64),
    # the conductor started from melody_2bar: its note decoder has that model's decoder's shape
    # (conductor_dim = its z_dim), so training.melody.warm_start can copy it
    "melody_16bar_hier_warm": MelodyVAEConfig(bars=16, decoder="hier", z_dim=256, enc_hidden=256,
                                              dec_hidden=256, dec_layers=1, conductor_hidden=512,
                                              conductor_dim=32, word_dropout=0.1),
    # the same with MusicVAE's hierarchical encoder: melody_2bar's encoder reads each 2-bar
    # segment (training.melody.warm_start copies it), a BiLSTM over the 8 codes gives z
    "melody_16bar_hier_enc": MelodyVAEConfig(bars=16, decoder="hier", z_dim=256, enc_hidden=256,
                                             dec_hidden=256, dec_layers=1, conductor_hidden=512,
                                             conductor_dim=32, word_dropout=0.1, encoder="hier",
                                             segment_bars=2, segment_z=32, code_hidden=256),
    # the same with z fed to the conductor at every bar (not only through its initial state),
    # dropped out at 0.2 there against the hier_enc run's overfitting
    "melody_16bar_hier_enc_zin": MelodyVAEConfig(bars=16, decoder="hier", z_dim=256, enc_hidden=256,
                                                 dec_hidden=256, dec_layers=1, conductor_hidden=512,
                                                 conductor_dim=32, word_dropout=0.1, encoder="hier",
                                                 segment_bars=2, segment_z=32, code_hidden=256,
                                                 conductor_input="z", conductor_dropout=0.2),
    # the segment conductor (module docstring): 8 steps of 2 bars, each reading its segment's
    # block of z; it starts as melody_2bar playing each segment from its own code
    "melody_16bar_seg": MelodyVAEConfig(bars=16, decoder="hier", z_dim=256, enc_hidden=256,
                                        dec_hidden=256, dec_layers=1, conductor_hidden=256,
                                        conductor_dim=32, word_dropout=0.1, encoder="hier",
                                        segment_bars=2, segment_z=32, code_hidden=128,
                                        conductor_input="z", conductor_dropout=0.2, conductor_bars=2,
                                        conductor_read="linear", code_skip=True),
    "melody_tiny_seg": MelodyVAEConfig(bars=4, decoder="hier", z_dim=16, enc_hidden=16,
                                       dec_hidden=16, conductor_hidden=16, conductor_dim=8,
                                       dropout=0.0, word_dropout=0.0, encoder="hier",
                                       segment_bars=2, segment_z=8, code_hidden=16,
                                       conductor_input="z", conductor_bars=2,
                                       conductor_read="linear", code_skip=True),
    "melody_tiny_hier_enc_zin": MelodyVAEConfig(bars=4, decoder="hier", z_dim=8, enc_hidden=16,
                                                dec_hidden=16, conductor_hidden=16, conductor_dim=8,
                                                dropout=0.0, word_dropout=0.0, encoder="hier",
                                                segment_bars=2, segment_z=8, code_hidden=16,
                                                conductor_input="z"),
    "melody_tiny_hier_enc": MelodyVAEConfig(bars=4, decoder="hier", z_dim=8, enc_hidden=16,
                                            dec_hidden=16, conductor_hidden=16, conductor_dim=8,
                                            dropout=0.0, word_dropout=0.0, encoder="hier",
                                            segment_bars=2, segment_z=8, code_hidden=16),
    "melody_tiny_hier": MelodyVAEConfig(decoder="hier", z_dim=8, enc_hidden=16, dec_hidden=16,
                                        conductor_hidden=16, conductor_dim=8, dropout=0.0,
                                        word_dropout=0.0),
    "melody_tiny": MelodyVAEConfig(bars=2, z_dim=8, enc_hidden=16, dec_hidden=16, conductor_hidden=16,
                                   conductor_dim=8, dropout=0.0, word_dropout=0.0),
}


def preset(name: str, **overrides: Any) -> MelodyVAEConfig:
    """A named config, optionally changed with ``dataclasses.replace``."""
    if name not in PRESETS:
        raise KeyError(f"unknown melody preset {name!r}; known: {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides)


class MelodyVAE(nn.Module):
    """See the module docstring. ``forward(x)`` returns ``(logits (B,T,C), mu, sigma)``."""

    def __init__(self, config: MelodyVAEConfig) -> None:
        super().__init__()
        self.config = c = config
        self.encoder = nn.LSTM(c.num_classes, c.enc_hidden, batch_first=True, bidirectional=True)
        feats = 2 * c.enc_hidden
        if c.encoder == "hier":
            self.segment_mu = nn.Linear(2 * c.enc_hidden, c.segment_z)
            if c.code_skip:
                self.segment_sigma = nn.Linear(2 * c.enc_hidden, c.segment_z)
            self.code_rnn = nn.LSTM(c.segment_z, c.code_hidden, batch_first=True, bidirectional=True)
            feats = 2 * c.code_hidden
        self.to_mu = nn.Linear(feats, c.z_dim)
        self.to_sigma = nn.Linear(feats, c.z_dim)
        if c.decoder == "hier":
            self.conductor = nn.LSTM(c.z_dim if c.conductor_input == "z" else 1, c.conductor_hidden,
                                     batch_first=True)
            self.conductor_in_dropout = nn.Dropout(c.conductor_dropout)  # no parameters: old state dicts load
            self.conductor_init = nn.Linear(c.z_dim, 2 * c.conductor_hidden)
            self.conductor_out = nn.Linear(c.conductor_hidden, c.conductor_dim)
            if c.conductor_read == "linear":
                self.conductor_read = nn.Linear(c.z_dim, c.bars // c.conductor_bars * c.conductor_dim)
            cond = c.conductor_dim
        else:
            cond = c.z_dim
        self.dec_init = nn.Linear(cond, 2 * c.dec_layers * c.dec_hidden)
        self.decoder = nn.LSTM(c.num_classes + cond, c.dec_hidden, num_layers=c.dec_layers,
                               batch_first=True, dropout=c.dropout if c.dec_layers > 1 else 0.0)
        self.out_dropout = nn.Dropout(c.dropout)
        self.out = nn.Linear(c.dec_hidden, c.num_classes)
        self._start_at_segments()

    @torch.no_grad()
    def _start_at_segments(self) -> None:
        """The segment conductor's starting point (module docstring): the residual paths at
        zero and, where the shapes line up, each conductor step reading its segment's block."""
        c = self.config
        if c.code_skip:
            for layer in (self.to_mu, self.to_sigma):
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
        if c.decoder == "hier" and c.conductor_read == "linear":
            nn.init.zeros_(self.conductor_out.weight)
            nn.init.zeros_(self.conductor_out.bias)
            if (c.code_skip and c.conductor_bars == c.segment_bars and c.conductor_dim == c.segment_z):
                nn.init.eye_(self.conductor_read.weight)
                nn.init.zeros_(self.conductor_read.bias)

    # -- encoder ---------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``(B, T)`` classes → ``mu, sigma`` ``(B, Z)``.

        Raises:
            ValueError: a hierarchical encoder given a length that is not whole segments.
        """
        if self.config.encoder == "hier":
            return self.encode_codes(self.segment_features(x))
        return self._posterior(self._read(x))

    def _read(self, x: torch.Tensor) -> torch.Tensor:
        """The step BiLSTM's last states of both directions: ``(B, T)`` → ``(B, 2H)``."""
        _, (h, _) = self.encoder(F.one_hot(x, self.config.num_classes).float())  # h: (2, B, H)
        return torch.cat([h[0], h[1]], dim=-1)

    def _posterior(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.to_mu(feats), F.softplus(self.to_sigma(feats)) + 1e-4

    def _segment_reads(self, x: torch.Tensor) -> torch.Tensor:
        """The step BiLSTM's reading of each segment: ``x`` ``(B, T)`` → ``(B, S, 2H)``."""
        seg = self.config.segment_steps
        b, t = x.shape
        if t % seg:
            raise ValueError(f"a hierarchical encoder reads whole {self.config.segment_bars}-bar "
                             f"segments ({seg} steps); got {t} steps")
        return self._read(x.reshape(b * (t // seg), seg)).reshape(b, t // seg, -1)

    def segment_codes(self, x: torch.Tensor) -> torch.Tensor:
        """Hierarchical encoder, first level: ``x`` ``(B, T)`` → each segment's code
        ``(B, T // segment_steps, segment_z)`` (what the copied 2-bar model's ``mu`` would be)."""
        return self.segment_mu(self._segment_reads(x))

    def segment_features(self, x: torch.Tensor) -> torch.Tensor:
        """What :meth:`encode_codes` reads: the segment codes ``(B, S, segment_z)``, with
        ``code_skip`` followed by their sigmas' pre-activations ``(B, S, 2 * segment_z)``."""
        if not self.config.code_skip:
            return self.segment_codes(x)
        feats = self._segment_reads(x)
        return torch.cat([self.segment_mu(feats), self.segment_sigma(feats)], dim=-1)

    def encode_codes(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Hierarchical encoder, second level: :meth:`segment_features` ``(B, S, ·)`` → ``mu,
        sigma`` ``(B, Z)`` (the trainer feeds precomputed ones here when the first level is frozen)."""
        c = self.config
        if not c.code_skip:
            _, (h, _) = self.code_rnn(codes)  # h: (2, B, code_hidden)
            return self._posterior(torch.cat([h[0], h[1]], dim=-1))
        mu_s, pre_s = codes[..., :c.segment_z], codes[..., c.segment_z:]
        _, (h, _) = self.code_rnn(mu_s)
        feats = torch.cat([h[0], h[1]], dim=-1)
        mu = mu_s.flatten(1) + self.to_mu(feats)
        return mu, F.softplus(pre_s.flatten(1) + self.to_sigma(feats)) + 1e-4

    # -- decoder pieces --------------------------------------------------------------------
    def _init_state(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``cond`` ``(N, D)`` → LSTM ``(h, c)``, each ``(layers, N, H)``."""
        c = self.config
        s = torch.tanh(self.dec_init(cond)).view(cond.shape[0], 2, c.dec_layers, c.dec_hidden)
        return s[:, 0].transpose(0, 1).contiguous(), s[:, 1].transpose(0, 1).contiguous()

    def _units(self, bars: int) -> int:
        """Conductor steps (note-decoder restarts) in ``bars`` bars.

        Raises:
            ValueError: ``bars`` not a whole number of conductor steps, or more steps than a
                linear read has.
        """
        c = self.config
        if bars % c.unit_bars:
            raise ValueError(f"this model decodes whole {c.unit_bars}-bar steps; got {bars} bars")
        units = bars // c.unit_bars
        if c.decoder == "hier" and c.conductor_read == "linear" and units > c.bars // c.conductor_bars:
            raise ValueError(f"this model's conductor reads at most {c.bars} bars; got {bars}")
        return units

    def bar_embeddings(self, z: torch.Tensor, bars: int) -> torch.Tensor:
        """Conductor: ``z`` ``(B, Z)`` → one embedding per conductor step (per bar unless
        ``conductor_bars`` > 1) ``(B, units, conductor_dim)``."""
        c = self.config
        units = self._units(bars)
        s = torch.tanh(self.conductor_init(z)).view(z.shape[0], 2, c.conductor_hidden)
        h0, c0 = s[:, 0].unsqueeze(0).contiguous(), s[:, 1].unsqueeze(0).contiguous()
        if c.conductor_input == "z":
            inp = self.conductor_in_dropout(z).unsqueeze(1).expand(-1, units, -1)
        else:
            inp = z.new_zeros(z.shape[0], units, 1)
        out, _ = self.conductor(inp, (h0, c0))
        emb = self.conductor_out(out)
        if c.conductor_read == "linear":
            emb = emb + self.conductor_read(z).view(z.shape[0], -1, c.conductor_dim)[:, :units]
        return emb

    def _prev_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """Previous-class inputs: one-hot of ``x`` shifted one step, zeros at step 0 ``(B, T, C)``."""
        prev = F.one_hot(x, self.config.num_classes).float()
        prev = torch.cat([prev.new_zeros(prev.shape[0], 1, prev.shape[2]), prev[:, :-1]], dim=1)
        if self.training and self.config.word_dropout > 0:
            keep = torch.rand(prev.shape[:2], device=prev.device) >= self.config.word_dropout
            prev = prev * keep.unsqueeze(-1)
        return prev

    def decode_teacher(self, z: torch.Tensor, x: torch.Tensor,
                       inputs: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, C)`` for targets ``x`` ``(B, T)``.

        ``inputs`` ``(B, T)``: the classes fed as "previous" one step later (default ``x``);
        scheduled sampling puts some of the model's own outputs there.
        """
        c = self.config
        b, t = x.shape
        prev = self._prev_inputs(x if inputs is None else inputs)
        if c.decoder == "flat":
            inp = torch.cat([prev, z.unsqueeze(1).expand(b, t, z.shape[1])], dim=-1)
            out, _ = self.decoder(inp, self._init_state(z))
        else:
            emb = self.bar_embeddings(z, t // c.steps_per_bar)  # (B, units, D)
            units = emb.shape[1]
            flat_emb = emb.reshape(b * units, -1)
            inp = torch.cat([prev.reshape(b * units, t // units, -1),
                             flat_emb.unsqueeze(1).expand(-1, t // units, -1)], dim=-1)
            out, _ = self.decoder(inp, self._init_state(flat_emb))
            out = out.reshape(b, t, -1)
        return self.out(self.out_dropout(out))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, sigma = self.encode(x)
        z = mu + sigma * torch.randn_like(sigma) if self.training else mu
        return self.decode_teacher(z, x), mu, sigma

    # -- autoregressive decoding -----------------------------------------------------------
    @torch.no_grad()
    def decode(self, z: torch.Tensor, bars: int | None = None, temperature: float = 0.0,
               forced: torch.Tensor | None = None, generator: torch.Generator | None = None,
               bar_conditioning: torch.Tensor | None = None) -> torch.Tensor:
        """Autoregressive decode → classes ``(B, T)``.

        Args:
            z: ``(B, Z)`` latents.
            bars: output length in bars (default: the config's). A flat decoder runs any
                length too, but was trained on its own.
            temperature: 0 = argmax (greedy); > 0 samples from softmax(logits / temperature).
            forced: ``(B, T)`` int64, per step the class fed as "previous" to the NEXT step, or
                -1 to feed the model's own output (teacher forcing where >= 0), or ``-2 - c``
                to feed class ``c`` unless the model struck a note there (then its own).
            bar_conditioning: ``(B, units, D)`` what each conductor step's (each bar's unless
                ``conductor_bars`` > 1) notes are decoded from, in place of the conductor's
                embeddings (or ``z``): e.g. a perfect conductor's, to measure what the note
                decoder alone can do; ``z`` is then unused.
        """
        c = self.config
        bars = c.bars if bars is None else int(bars)
        b = z.shape[0]
        t_total = bars * c.steps_per_bar
        units = self._units(bars)
        unit_steps = c.unit_bars * c.steps_per_bar
        if bar_conditioning is not None:
            emb = bar_conditioning[:, :units]
        elif c.decoder == "hier":
            emb = self.bar_embeddings(z, bars)  # (B, units, D)
        else:
            emb = z.unsqueeze(1).expand(b, bars, z.shape[1])
        # One LSTM step by hand: the previous class is one-hot, so its input term is a row of
        # the input weights, and the bar's conditioning term is computed once per bar. Same
        # numbers as nn.LSTM (eval mode), a fraction of its per-call cost (a 2-bar melody is
        # 32 sequential steps at batch 1).
        layers = [(getattr(self.decoder, f"weight_ih_l{k}"), getattr(self.decoder, f"weight_hh_l{k}"),
                   getattr(self.decoder, f"bias_ih_l{k}") + getattr(self.decoder, f"bias_hh_l{k}"))
                  for k in range(c.dec_layers)]
        w_prev = layers[0][0][:, :c.num_classes].t().contiguous()  # (C, 4H): row = a class's term
        w_cond = layers[0][0][:, c.num_classes:]  # (4H, D)
        prev_term = torch.zeros(b, 4 * c.dec_hidden, device=emb.device)
        out = torch.empty(b, t_total, dtype=torch.long, device=emb.device)
        h: list[torch.Tensor] = []
        cell: list[torch.Tensor] = []
        for unit in range(units):
            cond = emb[:, unit]
            if not h or c.decoder == "hier":  # a flat decoder's state runs on
                h0, c0 = self._init_state(cond)
                h, cell = list(h0.unbind(0)), list(c0.unbind(0))
            cond_term = torch.addmm(layers[0][2], cond, w_cond.t())  # (B, 4H)
            for step in range(unit_steps):
                i = unit * unit_steps + step
                x_term = cond_term + prev_term
                for k, (w_ih, w_hh, bias) in enumerate(layers):
                    if k > 0:
                        x_term = torch.addmm(bias, h[k - 1], w_ih.t())
                    gates = torch.addmm(x_term, h[k], w_hh.t())
                    ig, fg, gg, og = gates.chunk(4, dim=1)
                    cell[k] = torch.sigmoid(fg) * cell[k] + torch.sigmoid(ig) * torch.tanh(gg)
                    h[k] = torch.sigmoid(og) * torch.tanh(cell[k])
                logits = self.out(h[-1])
                if temperature > 0:
                    probs = torch.softmax(logits / temperature, dim=-1)
                    cls = torch.multinomial(probs, 1, generator=generator)[:, 0]
                else:
                    cls = logits.argmax(dim=-1)
                out[:, i] = cls
                fed = cls
                if forced is not None:
                    f = forced[:, i]
                    own = (f == -1) | ((f <= -2) & (cls >= 2))  # class 2 on: note-ons
                    fed = torch.where(f >= 0, f, torch.where(own, cls, -2 - f))
                prev_term = w_prev[fed]
        return out

    @torch.no_grad()
    def decoder_arrays(self) -> dict[str, np.ndarray]:
        """The decoder's weights laid out for the numpy loop of
        :mod:`engine.generation.melody_loop` (its docstring names the arrays): gates
        reordered to input, forget, output | cell, each layer's recurrent weights fused with
        what reads its state next (the layer above, or the output projection).

        Raises:
            NoDecodeLoopError: a conductor fed ``z`` or a segment conductor (the loop has
                neither a conductor input nor a read of ``z``).
        """
        c = self.config
        if c.torch_only:
            what = (f"conductor_input={c.conductor_input!r}: the numpy decode loop (and so the ONNX "
                    "export) has no conductor input" if c.conductor_input != "none"
                    else "a segment conductor (conductor_read / conductor_bars): the numpy decode loop "
                    "(and so the ONNX export) reads z once, not a block of it per segment")
            raise NoDecodeLoopError(f"{what}; this model decodes through torch only")
        hid, ncls, layers = c.dec_hidden, c.num_classes, c.dec_layers

        def gates(w: torch.Tensor) -> np.ndarray:  # rows in torch's i, f, g, o order
            i, f, g, o = w.detach().float().chunk(4, dim=0)
            return torch.cat([i, f, o, g], dim=0).numpy()

        dec = self.decoder
        w_ih0 = gates(dec.weight_ih_l0)  # (4H, C + D)
        out: dict[str, np.ndarray] = {
            "dec.init_w": self.dec_init.weight.detach().t().numpy(),
            "dec.init_b": self.dec_init.bias.detach().numpy(),
            "dec.cond_w": w_ih0[:, ncls:].T,
            "dec.bias0": gates(dec.bias_ih_l0 + dec.bias_hh_l0),
            "dec.prev_w": np.concatenate([w_ih0[:, :ncls].T, np.zeros((1, 4 * hid), np.float32)]),
            "dec.out_b": self.out.bias.detach().numpy(),
        }
        for k in range(layers):
            w_hh = gates(getattr(dec, f"weight_hh_l{k}")).T  # (H, 4H)
            above = (gates(getattr(dec, f"weight_ih_l{k + 1}")).T if k + 1 < layers
                     else self.out.weight.detach().t().numpy())
            out[f"dec.fused{k}"] = np.concatenate([w_hh, above], axis=1)
            if k > 0:
                out[f"dec.bias{k}"] = gates(getattr(dec, f"bias_ih_l{k}") + getattr(dec, f"bias_hh_l{k}"))
        if c.decoder == "hier":
            out |= {
                "cond.init_w": self.conductor_init.weight.detach().t().numpy(),
                "cond.init_b": self.conductor_init.bias.detach().numpy(),
                "cond.hh": gates(self.conductor.weight_hh_l0).T,
                "cond.bias": gates(self.conductor.bias_ih_l0 + self.conductor.bias_hh_l0),
                "cond.out_w": self.conductor_out.weight.detach().t().numpy(),
                "cond.out_b": self.conductor_out.bias.detach().numpy(),
            }
        return {k: np.ascontiguousarray(v, np.float32) for k, v in out.items()}

    @torch.no_grad()
    def decode_reference(self, z: torch.Tensor, bars: int | None = None) -> torch.Tensor:
        """Greedy decode through ``nn.LSTM`` one step at a time: the plain form of
        :meth:`decode` (kept to test the hand-written step against)."""
        c = self.config
        bars = c.bars if bars is None else int(bars)
        b = z.shape[0]
        emb = self.bar_embeddings(z, bars) if c.decoder == "hier" else z.unsqueeze(1).expand(b, bars, -1)
        prev = torch.zeros(b, 1, c.num_classes)
        out, state = [], None
        for unit in range(self._units(bars)):
            cond = emb[:, unit]
            if state is None or c.decoder == "hier":
                state = self._init_state(cond)
            for _ in range(c.unit_bars * c.steps_per_bar):
                hh, state = self.decoder(torch.cat([prev, cond.unsqueeze(1)], dim=-1), state)
                cls = self.out(hh[:, 0]).argmax(dim=-1)
                out.append(cls)
                prev = F.one_hot(cls, c.num_classes).float().unsqueeze(1)
        return torch.stack(out, dim=1)


def kl_divergence(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per example and dimension ``(B, Z)``."""
    return 0.5 * (mu.pow(2) + sigma.pow(2) - 1.0) - torch.log(sigma)
