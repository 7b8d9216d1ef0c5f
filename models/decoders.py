"""Decoders p(x | z, a): latent code + normalised attributes -> per-step hits, velocities, offsets.

Teacher semantics are the same for every decoder, as in an autoregressive RNN: the teacher
value of step ``t`` (where ``teacher_mask[t]`` is True) informs the outputs of steps
``> t`` only, never step ``t`` itself. So a teacher-forced reconstruction is next-step
prediction (MusicVAE's "teacher-forced accuracy") and the engine's transition strategy 2
(teacher forcing with a Bernoulli mix of two patterns) gets model output, not a copy.

- :class:`ConvDecoder` (shipped): non-autoregressive. ``z, a`` give every step its own
  features; the (shifted, masked) teacher enters through its own projection; residual
  *causal* dilated convolutions mix time so no future teacher leaks. One pass per pattern
  (latency: bench/model_decode_latency.py); trained with random teacher masks so both
  paths work.
- :class:`RNNDecoder`: GRU/LSTM, autoregressive. Fully teacher-forced = one fused RNN call;
  free-running = step by step, feeding back its own (greedy or sampled) outputs.
- :class:`HierarchicalDecoder`: MusicVAE's conductor: an RNN emits one embedding per bar
  from ``z``; a per-bar decoder (either kind above) renders each bar's steps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from models.config import HAT_BUSYNESS_KNOB, FaderVAEConfig
from models.soft_attributes import TIME_KEEPERS


@dataclass(frozen=True)
class DecoderOutput:
    """Decoder outputs, all ``(B, T, 9)``.

    Attributes:
        hit_logits: Bernoulli logits of a hit per step and voice.
        velocities: in [0, 1] (MIDI velocity / 127).
        offsets: in [-0.5, 0.5] steps.
    """

    hit_logits: torch.Tensor
    velocities: torch.Tensor
    offsets: torch.Tensor

    def hit_probs(self, temperature: float = 1.0) -> torch.Tensor:
        return torch.sigmoid(self.hit_logits / max(temperature, 1e-6))

    def to_array(self, threshold: float = 0.5, sample: bool = False, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """``(B, T, 27)`` codec layout ``[hits | velocities | offsets]`` (see engine.music.pattern).

        Hits are ``p > threshold`` (greedy) or, with ``sample=True``, Bernoulli draws of
        ``sigmoid(logit / temperature)``. Velocity and offset are zeroed where no hit.
        """
        if sample:
            probs = self.hit_probs(temperature)
            hits = (torch.rand(probs.shape, generator=generator, device=probs.device) < probs)
        else:
            hits = torch.sigmoid(self.hit_logits) > threshold
        hits = hits.to(self.velocities.dtype)
        return torch.cat([hits, self.velocities * hits, self.offsets * hits], dim=-1)


def _head_to_output(raw: torch.Tensor, voices: int) -> DecoderOutput:
    logits, vel, off = raw.split(voices, dim=-1)
    return DecoderOutput(logits, torch.sigmoid(vel), 0.5 * torch.tanh(off))


def teacher_input(teacher: torch.Tensor | None, mask: torch.Tensor | None, batch: int, steps: int,
                  features: int, like: torch.Tensor) -> torch.Tensor:
    """``(B, T, features + 1)``: step t holds the masked teacher of step t-1 and its mask bit.

    Absent teacher = zeros with mask bit 0, which the model tells apart from a silent step.
    """
    out = like.new_zeros(batch, steps, features + 1)
    if teacher is None:
        return out
    m = (torch.ones(teacher.shape[:2], dtype=torch.bool, device=teacher.device)
         if mask is None else mask.to(torch.bool))
    mf = m.to(teacher.dtype).unsqueeze(-1)
    out[:, 1:, :features] = (teacher * mf)[:, :-1]
    out[:, 1:, features:] = mf[:, :-1]
    return out


class _InferenceWeights(NamedTuple):
    """Tensors derived from a :class:`ConvDecoder`'s parameters for its inference path.

    Rebuilt whenever a parameter changes (see :meth:`ConvDecoder._inference_weights`) and
    never used while training or with grad enabled, so autograd only ever sees the plain
    parameters. Weights keep the ``(out, in)`` layout of ``nn.Linear`` so that ``F.linear``
    runs the same kernel as the reference and rounds the same way.
    """

    key: tuple[int, ...]                 # (version, data_ptr) of every watched parameter
    modules: tuple[nn.Module, ...]       # the decoder's submodules (not itself: no cycle)
    glob_w: torch.Tensor                 # (hid, Z + A) first glob layer, trunk-hidden knobs zeroed
    cond_w: torch.Tensor | None          # (N, A) every other projection of a, stacked (see build)
    cond_b: torch.Tensor | None          # (N,)
    conv_w: tuple[torch.Tensor, ...]     # per block (C, 3C): conv weight over taps [t-2d, t-d, t]
    vo_cond: tuple[torch.Tensor, torch.Tensor] | None  # velocity trunk: its blocks' attr projections
    vo_conv_w: tuple[torch.Tensor, ...]  # velocity trunk: conv_w of its blocks


def _conv_taps_weight(blocks: nn.ModuleList) -> tuple[torch.Tensor, ...]:
    """Per block ``(C, 3C)``: the conv weight laid out over the taps ``[t-2d, t-d, t]``."""
    return tuple(blk.conv.weight.permute(0, 2, 1).reshape(blk.conv.out_channels, -1).contiguous()
                 for blk in blocks)


def _blocks_inference(h: torch.Tensor, blocks: nn.ModuleList, conv_w: tuple[torch.Tensor, ...],
                      cond: torch.Tensor | None, cond_at: int) -> None:
    """The residual blocks of :class:`_CausalBlock` without grad or dropout, on ``h (B, T, C)``
    in place: block ``i``'s attribute projection is ``cond[..., cond_at + i*C : cond_at + (i+1)*C]``."""
    steps, c = h.shape[1], h.shape[2]
    for i, (blk, w) in enumerate(zip(blocks, conv_w, strict=True)):
        d = blk.dilation
        yp = F.pad(F.layer_norm(h, (c,), blk.norm.weight, blk.norm.bias, blk.norm.eps),
                   (0, 0, 2 * d, 0))                                                  # (B, T + 2d, C)
        # taps [y_{t-2d}, y_{t-d}, y_t] side by side. cat beats one strided copy of an
        # overlapping as_strided view (~3 vs ~20 us) and three shifted matmuls summed
        # (faster, but a different summation order: not the reference's floats)
        taps = torch.cat([yp[:, :steps], yp[:, d:d + steps], yp[:, 2 * d:]], dim=-1)  # (B, T, 3C)
        y = F.linear(taps, w, blk.conv.bias)                                           # (B, T, C)
        if cond is not None:
            y += cond[..., cond_at + i * c:cond_at + (i + 1) * c]
        h += F.linear(F.gelu(y), blk.out.weight, blk.out.bias)


class _CausalBlock(nn.Module):
    """Pre-norm residual block: causal dilated conv + attribute injection + pointwise layer."""

    def __init__(self, channels: int, dilation: int, attrs: int, dropout: float) -> None:
        super().__init__()
        self.dilation = dilation
        self.norm = nn.LayerNorm(channels)
        self.conv = nn.Conv1d(channels, channels, 3, dilation=dilation)
        self.attr = nn.Linear(attrs, channels) if attrs else None
        self.out = nn.Linear(channels, channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, a: torch.Tensor | None) -> torch.Tensor:
        # The causal dilated conv as one matmul over the three taps [x_{t-2d}, x_{t-d}, x_t]:
        # same weights and result as Conv1d on a left-padded input, but ~2x faster at batch 1
        # on CPU, where torch's dilated conv takes a slow im2col path.
        y = self.norm(h)                                       # (B, T, C)
        d, steps = self.dilation, h.shape[1]
        yp = F.pad(y, (0, 0, 2 * d, 0))                        # (B, T + 2d, C), zeros before t = 0
        taps = torch.cat([yp[:, :steps], yp[:, d:d + steps], yp[:, 2 * d:]], dim=-1)  # (B, T, 3C)
        w = self.conv.weight.permute(0, 2, 1).reshape(self.conv.out_channels, -1)   # (C, 3C)
        y = F.linear(taps, w, self.conv.bias)                  # causal: (B, T, C)
        if self.attr is not None and a is not None:
            y = y + self.attr(a).unsqueeze(1)
        return h + self.drop(self.out(F.gelu(y)))


class _VelocityTrunk(nn.Module):
    """Velocities and offsets from ``z``, every knob and the hit probabilities (see
    ``FaderVAEConfig.velocity_trunk``).

    The hits enter causally, as ``[p_{t-2}, p_{t-1}, p_t]`` per step: ``p_t`` depends on the
    teacher of steps before ``t`` only, so the teacher rule of the module docstring holds.
    """

    def __init__(self, cfg: FaderVAEConfig, steps: int, z_in: int) -> None:
        super().__init__()
        c, a, v = cfg.velocity_trunk, cfg.num_attributes, cfg.num_voices
        self.steps, self.proj, self.voices = steps, cfg.decoder_proj, v
        self.glob = nn.Sequential(nn.Linear(z_in + a, cfg.decoder_hidden), nn.GELU(),
                                  nn.Linear(cfg.decoder_hidden, steps * self.proj))
        self.lift = nn.Linear(self.proj, c)
        self.pos = nn.Parameter(torch.zeros(steps, c))
        self.hits = nn.Linear(3 * v, c)
        self.teacher = nn.Linear(cfg.features + 1, c)
        self.blocks = nn.ModuleList(
            _CausalBlock(c, 2 ** (i % 4), a, cfg.dropout) for i in range(cfg.decoder_layers))
        self.norm = nn.LayerNorm(c)
        self.head = nn.Linear(c, 2 * v)

    def forward(self, z: torch.Tensor, a: torch.Tensor | None, probs: torch.Tensor,
                teacher_in: torch.Tensor | None) -> torch.Tensor:
        """``probs (B, T, 9)`` (no gradient flows back through them), ``teacher_in`` from
        :func:`teacher_input` or None -> raw ``(B, T, 18)`` velocity and offset pre-activations."""
        b = z.shape[0]
        za = z if a is None else torch.cat([z, a], dim=-1)
        h = self.lift(self.glob(za).view(b, self.steps, self.proj)) + self.pos
        pp = F.pad(probs.detach(), (0, 0, 2, 0))
        h = h + self.hits(torch.cat([pp[:, :-2], pp[:, 1:-1], pp[:, 2:]], dim=-1))
        h = h + (self.teacher.bias if teacher_in is None else self.teacher(teacher_in))
        for block in self.blocks:
            h = block(h, a)
        return self.head(self.norm(h))

    def fast(self, z: torch.Tensor, a: torch.Tensor | None, probs: torch.Tensor,
             teacher_in: torch.Tensor | None, w: _InferenceWeights) -> torch.Tensor:
        """:meth:`forward` without grad or dropout in fewer ops, with the folded weights of
        the owning :class:`ConvDecoder`'s cache: one projection of ``a`` for every block,
        taps by concatenation, in-place adds. Same arithmetic in the same order
        (tests/models/test_decoder_inference.py)."""
        b, steps = z.shape[0], self.steps
        za = z if a is None else torch.cat([z, a], dim=-1)
        g = F.gelu(F.linear(za, self.glob[0].weight, self.glob[0].bias))
        g = F.linear(g, self.glob[2].weight, self.glob[2].bias)
        h = F.linear(g.view(b, steps, self.proj), self.lift.weight, self.lift.bias)
        h += self.pos
        pp = F.pad(probs, (0, 0, 2, 0))
        h += F.linear(torch.cat([pp[:, :-2], pp[:, 1:-1], pp[:, 2:]], dim=-1), self.hits.weight,
                      self.hits.bias)
        h += self.teacher.bias if teacher_in is None else self.teacher(teacher_in)
        cond = (F.linear(a, *w.vo_cond).unsqueeze(1)
                if a is not None and w.vo_cond is not None else None)
        _blocks_inference(h, self.blocks, w.vo_conv_w, cond, 0)
        hn = F.layer_norm(h, (h.shape[2],), self.norm.weight, self.norm.bias, self.norm.eps)
        return F.linear(hn, self.head.weight, self.head.bias)


class ConvDecoder(nn.Module):
    """Non-autoregressive decoder with an optional causal teacher channel (see module doc)."""

    def __init__(self, cfg: FaderVAEConfig, steps: int, z_in: int) -> None:
        super().__init__()
        c, a = cfg.decoder_size, cfg.num_attributes
        self.steps, self.features, self.voices = steps, cfg.features, cfg.num_voices
        self.proj = cfg.decoder_proj
        hid = cfg.decoder_hidden
        self.glob = nn.Sequential(nn.Linear(z_in + a, hid), nn.GELU(), nn.Linear(hid, steps * self.proj))
        self.lift = nn.Linear(self.proj, c)
        self.pos = nn.Parameter(torch.zeros(steps, c))
        self.attr = nn.Linear(a, c) if a else None
        self.teacher = nn.Linear(cfg.features + 1, c)
        self.blocks = nn.ModuleList(
            _CausalBlock(c, 2 ** (i % 4), a, cfg.dropout) for i in range(cfg.decoder_layers))
        self.norm = nn.LayerNorm(c)
        # with a velocity trunk, this trunk's head gives the hit logits only
        self.vo_trunk = _VelocityTrunk(cfg, steps, z_in) if cfg.velocity_trunk else None
        self.head = nn.Linear(c, self.voices if self.vo_trunk is not None else cfg.features)
        # Monotone knobs (cfg.monotone_density / monotone_hats): the trunk never sees them;
        # they reach the hit logits only as softplus(slope(h)) * knob, h a function of z and
        # the other knobs, so every cell's logit is non-decreasing in the knob. Velocities and
        # offsets still see them, through a per-voice linear term.
        self.mono = list(cfg.monotone_knobs)
        if self.mono:
            keep = torch.ones(a)
            keep[self.mono] = 0.0
            self.register_buffer("trunk_keep", keep, persistent=False)
            # +1: the knob can only raise the voice's logits; -1: only lower them (the other
            # voices under a trading hat knob); 0: no path
            voice_mask = torch.zeros(len(self.mono), self.voices)
            for i, k in enumerate(self.mono):
                if k == HAT_BUSYNESS_KNOB:
                    voice_mask[i] = -1.0 if cfg.monotone_hats_trade else 0.0
                    voice_mask[i, list(TIME_KEEPERS)] = 1.0
                else:
                    voice_mask[i] = 1.0
            self.register_buffer("slope_voices", voice_mask, persistent=False)
            self.slope = nn.Linear(c, len(self.mono) * self.voices)
        # the shared head's velocities and offsets see the monotone knobs through this; a
        # velocity trunk sees every knob itself
        self.knob_vo = (nn.Linear(len(self.mono), 2 * self.voices)
                        if self.mono and self.vo_trunk is None else None)

        self._inference: _InferenceWeights | None = None

    def forward(self, z: torch.Tensor, a: torch.Tensor | None, teacher: torch.Tensor | None = None,
                teacher_mask: torch.Tensor | None = None, temperature: float = 0.0,
                generator: torch.Generator | None = None, hits_only: bool = False) -> DecoderOutput:
        """``z (B, Z)``, ``a (B, A)`` or None, teacher ``(B, T, 27)`` + mask ``(B, T)`` -> outputs.

        ``hits_only`` (inference path only): skip the velocity trunk; velocities and offsets
        are then zeros (0.5 and 0 after the output maps), hit logits unchanged.

        In eval mode with grad disabled (``no_grad``/``inference_mode``: the engine's decodes)
        this runs :meth:`_forward_inference`: the same arithmetic in fewer ops (bit-identical
        outputs in tests/models/test_decoder_inference.py); otherwise
        :meth:`_forward_reference`, which training uses.
        """
        if not self.training and not torch.is_grad_enabled():
            return self._forward_inference(z, a, teacher, teacher_mask, hits_only)
        return self._forward_reference(z, a, teacher, teacher_mask)

    def _forward_reference(self, z: torch.Tensor, a: torch.Tensor | None, teacher: torch.Tensor | None,
                           teacher_mask: torch.Tensor | None) -> DecoderOutput:
        """The decoder as trained: module calls, dropout, gradients to every parameter."""
        b = z.shape[0]
        a_full = a
        if self.mono and a is not None:
            a = a * self.trunk_keep
        za = z if a is None else torch.cat([z, a], dim=-1)
        h = self.lift(self.glob(za).view(b, self.steps, self.proj)) + self.pos
        if self.attr is not None and a is not None:
            h = h + self.attr(a).unsqueeze(1)
        t_in = None if teacher is None else teacher_input(teacher, teacher_mask, b, self.steps,
                                                           self.features, z)
        # (the projection of an all-zero teacher input is its bias)
        h = h + (self.teacher.bias if t_in is None else self.teacher(t_in))
        for block in self.blocks:
            h = block(h, a)
        hn = self.norm(h)
        raw = self.head(hn)
        v = self.voices
        if self.mono and a_full is not None:
            knobs = a_full[:, self.mono]                                     # (B, M)
            slopes = F.softplus(self.slope(hn)).view(b, self.steps, len(self.mono), v)
            push = (slopes * self.slope_voices * knobs[:, None, :, None]).sum(2)  # (B, T, 9)
            if self.knob_vo is None:
                raw = raw + push
            else:
                vo = self.knob_vo(knobs).unsqueeze(1)                        # (B, 1, 18)
                raw = torch.cat([raw[..., :v] + push, raw[..., v:] + vo], dim=-1)
        if self.vo_trunk is not None:
            raw = torch.cat([raw, self.vo_trunk(z, a_full, torch.sigmoid(raw), t_in)], dim=-1)
        return _head_to_output(raw, v)

    def train(self, mode: bool = True) -> ConvDecoder:
        self._inference = None  # a train/eval switch is also where weights were just changed
        return super().train(mode)

    def _apply(self, fn, recurse: bool = True):  # .to(), .half(), ...: new tensors, drop the cache
        self._inference = None
        return super()._apply(fn, recurse)

    def _watched_key(self, modules: tuple[nn.Module, ...]) -> tuple[int, ...]:
        """``(version, data_ptr)`` of every parameter: an in-place update (optimizer step,
        ``load_state_dict``, ``p.mul_`` under no_grad) bumps the version, a new tensor
        (``p.data = ...``, ``.to()``) moves the pointer. Not seen: writes through ``p.data``
        (``p.data.copy_(...)``) in eval mode; call ``.eval()`` again after those. ~10 us."""
        return tuple([x for m in (self, *modules) for p in m._parameters.values() if p is not None
                      for x in (p._version, p.data_ptr())])

    def _inference_weights(self) -> _InferenceWeights:
        """The cached derived tensors, rebuilt if any parameter changed since they were made."""
        cached = self._inference
        if cached is not None and cached.key == self._watched_key(cached.modules):
            return cached
        self._inference = self._build_inference_weights()
        return self._inference

    @torch.no_grad()
    def _build_inference_weights(self) -> _InferenceWeights:
        """Fold the parameters into the stacked form :meth:`_forward_inference` uses.

        Rows of ``cond_w`` (one ``F.linear(a, cond_w, cond_b)`` replaces every projection of
        ``a`` after the glob layer): ``[attr (C) | each block's attr (C) | knob_vo (18) |
        knob * voice mask (M*9)]``. The columns of the knobs the trunk must not see are
        zero, which equals the reference's ``a * trunk_keep`` exactly (a zero product adds
        nothing); likewise knob_vo's two columns are embedded in zero columns.
        """
        modules = tuple(m for m in self.modules() if m is not self)
        key = self._watched_key(modules)
        glob1 = self.glob[0]
        glob_w, cond_w, cond_b = glob1.weight, None, None
        if self.attr is not None:
            n_attr = self.attr.in_features
            keep = self.trunk_keep if self.mono else glob_w.new_ones(n_attr)
            glob_w = torch.cat([glob_w[:, :glob_w.shape[1] - n_attr], glob_w[:, -n_attr:] * keep], dim=1)
            rows = [self.attr.weight * keep] + [blk.attr.weight * keep for blk in self.blocks]
            biases = [self.attr.bias] + [blk.attr.bias for blk in self.blocks]
            if self.mono:
                v = self.voices
                if self.knob_vo is not None:
                    vo_w = glob_w.new_zeros(2 * v, n_attr)
                    vo_w[:, self.mono] = self.knob_vo.weight
                    rows.append(vo_w)
                    biases.append(self.knob_vo.bias)
                knob_w = glob_w.new_zeros(len(self.mono) * v, n_attr)
                for i, k in enumerate(self.mono):
                    knob_w[i * v:(i + 1) * v, k] = self.slope_voices[i]
                rows.append(knob_w)
                biases.append(glob_w.new_zeros(len(self.mono) * v))
            cond_w, cond_b = torch.cat(rows).contiguous(), torch.cat(biases)
        vo_cond, vo_conv_w = None, ()
        if self.vo_trunk is not None:
            vo_attrs = [blk.attr for blk in self.vo_trunk.blocks if blk.attr is not None]
            if vo_attrs:
                vo_cond = (torch.cat([m.weight for m in vo_attrs]).contiguous(),
                           torch.cat([m.bias for m in vo_attrs]))
            vo_conv_w = _conv_taps_weight(self.vo_trunk.blocks)
        return _InferenceWeights(key=key, modules=modules, glob_w=glob_w.contiguous(), cond_w=cond_w,
                                 cond_b=cond_b, conv_w=_conv_taps_weight(self.blocks), vo_cond=vo_cond,
                                 vo_conv_w=vo_conv_w)

    def _forward_inference(self, z: torch.Tensor, a: torch.Tensor | None, teacher: torch.Tensor | None,
                           teacher_mask: torch.Tensor | None, hits_only: bool = False) -> DecoderOutput:
        """:meth:`_forward_reference` without grad or dropout, in about half the ops.

        Same arithmetic in the same order, so the same floats (this trained network turns a
        1e-7 reordering into 1e-5 on its logits). The savings are all overhead, which is
        what a batch-1 decode is made of: the conv weights are reshaped once, not per call;
        ``a`` is projected once for all its uses; no module calls, dropout or ``a[:, mono]``
        indexing; adds into fresh tensors happen in place; the monotone heads need no split
        and concatenation.
        """
        w = self._inference_weights()
        b, steps, c, v = z.shape[0], self.steps, self.lift.out_features, self.voices
        use_a = a is not None and w.cond_w is not None
        za = torch.cat([z, a], dim=-1) if a is not None else z
        g = F.gelu(F.linear(za, w.glob_w, self.glob[0].bias))                       # (B, hid)
        g = F.linear(g, self.glob[2].weight, self.glob[2].bias)                      # (B, T * proj)
        h = F.linear(g.view(b, steps, self.proj), self.lift.weight, self.lift.bias)  # (B, T, C)
        h += self.pos
        cond = F.linear(a, w.cond_w, w.cond_b).unsqueeze(1) if use_a else None     # (B, 1, N)
        if cond is not None:
            h += cond[..., :c]
        t_in = None if teacher is None else teacher_input(teacher, teacher_mask, b, steps, self.features, z)
        if t_in is None:
            h += self.teacher.bias
        else:
            h += self.teacher(t_in)
        _blocks_inference(h, self.blocks, w.conv_w, cond, c)
        hn = F.layer_norm(h, (c,), self.norm.weight, self.norm.bias, self.norm.eps)
        raw = F.linear(hn, self.head.weight, self.head.bias)                           # (B, T, 27 or 9)
        logits, vel_off = raw[..., :v], raw[..., v:]
        if self.mono and cond is not None:
            # (head and slope stacked in one matmul would round the slopes differently)
            at = (len(self.blocks) + 1) * c
            n_vo = 0 if self.knob_vo is None else 2 * v
            knob_mask = cond[..., at + n_vo:]                                          # (B, 1, M*9)
            slopes = F.softplus(F.linear(hn, self.slope.weight, self.slope.bias))      # (B, T, M*9)
            push = (slopes * knob_mask).view(b, steps, len(self.mono), v).sum(2)
            logits = logits + push
            if n_vo:
                vel_off = vel_off + cond[..., at:at + n_vo]
        if self.vo_trunk is not None:
            vel_off = (logits.new_zeros(b, steps, 2 * v) if hits_only
                       else self.vo_trunk.fast(z, a, torch.sigmoid(logits), t_in, w))
        return DecoderOutput(logits, torch.sigmoid(vel_off[..., :v]), 0.5 * torch.tanh(vel_off[..., v:]))


class RNNDecoder(nn.Module):
    """Autoregressive GRU/LSTM decoder (GrooVAE): input per step = [x_{t-1}, z, a]."""

    def __init__(self, cfg: FaderVAEConfig, steps: int, z_in: int) -> None:
        super().__init__()
        self.steps, self.features, self.voices = steps, cfg.features, cfg.num_voices
        self.layers, self.hidden = cfg.decoder_layers, cfg.decoder_size
        self.is_lstm = cfg.decoder_cell == "lstm"
        cond = z_in + cfg.num_attributes
        n_state = (2 if self.is_lstm else 1) * self.layers * self.hidden
        self.init = nn.Linear(cond, n_state)
        rnn = nn.LSTM if self.is_lstm else nn.GRU
        self.rnn = rnn(cfg.features + cond, self.hidden, num_layers=self.layers, batch_first=True,
                       dropout=cfg.dropout if self.layers > 1 else 0.0)
        self.head = nn.Linear(self.hidden, cfg.features)

    def _initial_state(self, cond: torch.Tensor):
        s = torch.tanh(self.init(cond)).view(cond.shape[0], -1, self.layers, self.hidden)
        s = s.permute(1, 2, 0, 3).contiguous()  # (1 or 2, layers, B, H)
        return (s[0], s[1]) if self.is_lstm else s[0]

    def forward(self, z: torch.Tensor, a: torch.Tensor | None, teacher: torch.Tensor | None = None,
                teacher_mask: torch.Tensor | None = None, temperature: float = 0.0,
                generator: torch.Generator | None = None, hits_only: bool = False) -> DecoderOutput:
        """``hits_only`` is accepted and ignored: feeding back the previous step needs its
        velocities and offsets too."""
        b = z.shape[0]
        cond = z if a is None else torch.cat([z, a], dim=-1)
        state = self._initial_state(cond)
        cond_seq = cond.unsqueeze(1).expand(b, self.steps, cond.shape[-1])
        if teacher is not None and (teacher_mask is None or bool(teacher_mask.all())):
            prev = F.pad(teacher[:, :-1], (0, 0, 1, 0))  # x_{t-1}, zeros at t = 0
            out, _ = self.rnn(torch.cat([prev, cond_seq], dim=-1), state)
            return _head_to_output(self.head(out), self.voices)
        prev = z.new_zeros(b, 1, self.features)
        raws = []
        for t in range(self.steps):
            out, state = self.rnn(torch.cat([prev, cond_seq[:, t:t + 1]], dim=-1), state)
            raw = self.head(out)
            raws.append(raw)
            step = _head_to_output(raw, self.voices).to_array(
                sample=temperature > 0, temperature=max(temperature, 1e-6), generator=generator)
            if teacher is not None:
                m = teacher_mask[:, t:t + 1, None].to(step.dtype)
                step = m * teacher[:, t:t + 1] + (1 - m) * step
            prev = step
        return _head_to_output(torch.cat(raws, dim=1), self.voices)


def _make_flat(cfg: FaderVAEConfig, steps: int, z_in: int) -> nn.Module:
    return ConvDecoder(cfg, steps, z_in) if cfg.decoder_cell == "conv" else RNNDecoder(cfg, steps, z_in)


class HierarchicalDecoder(nn.Module):
    """Conductor GRU over bars -> bar embeddings -> per-bar decoder (bars decoded as a batch)."""

    def __init__(self, cfg: FaderVAEConfig) -> None:
        super().__init__()
        self.bars, self.spb, self.features = cfg.bars, cfg.steps_per_bar, cfg.features
        cond = cfg.z_dim + cfg.num_attributes
        self.init = nn.Linear(cond, cfg.conductor_size)
        self.conductor = nn.GRU(cond, cfg.conductor_size, batch_first=True)
        self.embed = nn.Linear(cfg.conductor_size, cfg.z_dim)
        self.bar_decoder = _make_flat(replace(cfg, steps=cfg.steps_per_bar), cfg.steps_per_bar, cfg.z_dim)

    def forward(self, z: torch.Tensor, a: torch.Tensor | None, teacher: torch.Tensor | None = None,
                teacher_mask: torch.Tensor | None = None, temperature: float = 0.0,
                generator: torch.Generator | None = None, hits_only: bool = False) -> DecoderOutput:
        b = z.shape[0]
        cond = z if a is None else torch.cat([z, a], dim=-1)
        seq = cond.unsqueeze(1).expand(b, self.bars, cond.shape[-1])
        h, _ = self.conductor(seq, torch.tanh(self.init(cond)).unsqueeze(0))
        emb = torch.tanh(self.embed(h)).reshape(b * self.bars, -1)  # (B*bars, Z)
        a_bars = None if a is None else a.repeat_interleave(self.bars, dim=0)
        t_bars = None if teacher is None else teacher.reshape(b * self.bars, self.spb, self.features)
        m_bars = None if teacher_mask is None else teacher_mask.reshape(b * self.bars, self.spb)
        out = self.bar_decoder(emb, a_bars, t_bars, m_bars, temperature, generator, hits_only=hits_only)
        shape = (b, self.bars * self.spb, -1)
        return DecoderOutput(out.hit_logits.reshape(shape), out.velocities.reshape(shape),
                             out.offsets.reshape(shape))


def build_decoder(cfg: FaderVAEConfig) -> nn.Module:
    if cfg.decoder == "hierarchical":
        return HierarchicalDecoder(cfg)
    return _make_flat(cfg, cfg.steps, cfg.z_dim)
