"""The inference facade: everything the app and the CLI ask of a trained model.

:class:`Generator` owns the checkpoint, eval mode, ``no_grad``, the device and the torch
thread count (one thread, so decoding never fights the sequencer process or the GUI for
the machine's two cores). Callers speak numpy and :class:`~engine.music.pattern.Pattern`.
The network runs behind :class:`~engine.generation.backends.DrumNet`: on ONNX Runtime when
the checkpoint has a verified export beside it (``groovefader export``; torch is then never
imported), else on torch, imported on the first checkpoint load, so
``import engine.generation.generator`` is instant either way.

Knobs are attributes in *raw units* (e.g. density in onsets per step), see
:mod:`engine.music.attributes`. A fader-VAE checkpoint feeds them (normalised with the
checkpoint's mean/std) to its decoder. A plain-VAE baseline checkpoint (``model_kind ==
"vae"``) has no attribute input; its knobs move z along the checkpoint's attribute
vectors, MusicVAE style: ``z + sum_k (value_k - default_k) / span_k * v_k``, so a knob at
its default leaves z alone (see :meth:`Generator.knobs_for_pattern`).

A checkpoint with a *map of the data* (its training grooves and a self-organising map of
them, :mod:`engine.generation.groove_bank`, :mod:`engine.generation.pad_map`) plays on it:
the XY pad is the map, Randomize and Variation draw training grooves, a latent is decoded
with its own attributes, and :meth:`Generator.decode` with ``targets`` (from
:meth:`engine.generation.knobs.KnobState.targets`) *walks* to the training groove that
meets them with the fewest hits changed (:meth:`Generator.decode_walking`). Without a map
it corrects the model's attribute input until the decoded pattern's measured attributes
reach the targets (:meth:`Generator.decode_meeting`, :mod:`engine.generation.knob_feedback`).
Attributes without a target (NaN) are the groove's own, so a fresh latent plays its own
groove. Without targets it is the model's one open-loop decode, as
:meth:`Generator.decode_batch` is for the evaluation of the model itself, reconstruction
and transitions. What :meth:`Generator.decode` plays has the velocities and micro-timing
spread the decoder averages out given back (:attr:`Generator.expression`,
:mod:`engine.generation.expression`); :meth:`Generator.decode_batch` gives the model's own.

:class:`AsyncGenerator` runs a generator on a worker thread with one latest-wins request
slot per request kind, so the GUI and ``play`` never wait on the model.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import CheckpointError
from engine.generation import latent_paths
from engine.generation.backends import DrumNet, TorchDrumNet, sigmoid, step_uniforms, torch_loader
from engine.generation.data_blend import CornerField, DataBlendSettings
from engine.generation.data_path import DataPathSettings, GrooveGraph, in_degree
from engine.generation.data_trend import DataTrend
from engine.generation.expression import Expression
from engine.generation.expression_edit import FEEL_KNOBS, meet_feel
from engine.generation.groove_bank import GrooveBank, WalkSettings, detent_values, nearest_detent
from engine.generation.hit_edit import HIT_KNOBS, VoiceCurve, cell_levels, edit_hits, sweep_inputs
from engine.generation.knob_feedback import FeedbackConfig, FeedbackResult, meet_targets
from engine.generation.latent_paths import MixShape, OnData
from engine.generation.pad_map import PadMap, StyleLabel, blend
from engine.generation.voice_lock import PASSES, VoiceLock, fit_around
from engine.generation.walk_balance import WalkBalance
from engine.music import attributes as attr_lib
from engine.music.pattern import FEATURES, Pattern, stack

log = logging.getLogger(__name__)

CORNER_ORDER = ((-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0))
"""Pad coordinates of the four corners given to :meth:`Generator.blend_corners`."""
MADE_LATENTS = 4096  # latents remembered (corner blends, lock draws): a 32² heat map and a drag
# intra-op threads of the pad heat-map's one batched decode (at most the machine's cores)
HEATMAP_THREADS = 2
VARIATION_NEIGHBOURS = 24  # training grooves a Variation of amount 1 picks among
SAMPLING_FLOOR = 0.05  # see Generator.sampling_floor (chosen on validation, docs/studies/sampling_floor)
HUB_POOL = 4  # 'neighbour-hub' Variation: nearest grooves ranked by link cost, per groove it keeps
# Randomize with voices locked draws among the training grooves whose locked voices play
# nearest the lock (0 = among all), so the rest already fits it; such a draw is then decoded
# with the lock pasted and LOCK_PASSES rounds of fit_around (every other latent: PASSES).
# Both chosen on validation by rules written first (bench/voice_lock.py, docs/model.md)
LOCK_CANDIDATES = 1024
LOCK_PASSES = 0
WALK_TOLERANCE = 0.03  # share of an attribute's range within which a walked groove meets a knob


@dataclass(frozen=True)
class DecodedBatch:
    """Raw decoder output for a batch, as numpy.

    Attributes:
        hits: ``(B, T, 9)`` bool, thresholded (temperature 0) or sampled hits.
        hit_probs: ``(B, T, 9)`` sigmoid of the hit logits (temperature 1).
        velocities: ``(B, T, 9)`` in [0, 1], *not* masked by ``hits``.
        offsets: ``(B, T, 9)`` in [-0.5, 0.5] steps, *not* masked by ``hits``.
    """

    hits: np.ndarray
    hit_probs: np.ndarray
    velocities: np.ndarray
    offsets: np.ndarray

    def to_array(self) -> np.ndarray:
        """``(B, T, 27)`` codec layout, velocities/offsets zeroed where there is no hit."""
        h = self.hits.astype(np.float32)
        return np.concatenate([h, self.velocities * h, self.offsets * h], axis=2).astype(np.float32)


def _meta_config(meta: Mapping[str, Any], config: Any, key: str, default: Any = None) -> Any:
    if config is not None and hasattr(config, key):
        return getattr(config, key)
    cfg = meta.get("config") or {}
    return cfg.get(key, default) if isinstance(cfg, Mapping) else default


@dataclass(frozen=True)
class _KeptBase:
    """What a kept knob edits (:meth:`Generator._kept_base`), per row: the latent and decoder
    inputs of the groove, its decode and measured attributes, the bank groove it is (-1 = the
    latent's own), and whether the decode is one of that latent (False: a kept edit)."""

    latents: np.ndarray
    inputs: np.ndarray
    decoded: DecodedBatch
    measured: np.ndarray
    picks: np.ndarray
    carried: np.ndarray


class Generator:
    """A loaded model behind a numpy/Pattern API (see the module docstring).

    Args:
        model: the network: a :class:`~engine.generation.backends.DrumNet` (ONNX Runtime or
            torch), or a ``FaderVAE``-shaped ``torch.nn.Module`` (``encode``, ``decode``),
            which is run on torch.
        meta: the checkpoint's JSON metadata (``attributes``, ``latent``, ``model_kind``...).
        config: the model's frozen config (for ``steps``, ``steps_per_bar``, ``z_dim``).
        device: torch device string (a torch module only).

    Raises:
        CheckpointError: when ``meta`` lacks what the generator needs.
    """

    def __init__(self, model: Any, meta: Mapping[str, Any], config: Any = None,
                 device: str = "cpu", arrays: Mapping[str, np.ndarray] | None = None) -> None:
        self._net: DrumNet = model if isinstance(model, DrumNet) else TorchDrumNet(model, device)
        self._model = getattr(self._net, "model", None)  # the torch module, when on torch
        self.heatmap_threads = max(1, min(HEATMAP_THREADS, os.cpu_count() or 1))
        self._meta = dict(meta)
        self._lock = threading.RLock()
        try:
            att = meta["attributes"]
            self._names = tuple(str(n) for n in att["names"])
            self._mean = np.asarray(att["mean"], np.float64)
            self._std = np.asarray(att["std"], np.float64)
            self._low = np.asarray(att["low"], np.float64)
            self._high = np.asarray(att["high"], np.float64)
            self._default = np.asarray(att.get("median", att["mean"]), np.float64)
            lat = meta["latent"]
            plane = lat["plane"]
            self._origin = np.asarray(plane["origin"], np.float64)
            self._axes = np.asarray(plane["axes"], np.float64)
            self._scale = float(plane["scale"])
            anchors = lat.get("anchors")
            self._anchors = None if anchors is None else np.asarray(anchors, np.float64)
            self._anchor_noise = float(lat.get("anchor_noise", 0.0))
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"checkpoint metadata incomplete: {err!r}") from err
        self._kind = str(meta.get("model_kind", "fader_vae"))
        self._steps = int(_meta_config(meta, config, "steps", 32))
        self._steps_per_bar = int(_meta_config(meta, config, "steps_per_bar", 16))
        self._z_dim = int(_meta_config(meta, config, "z_dim", self._origin.shape[0]))
        n = len(self._names)
        if not all(a.shape == (n,) for a in (self._mean, self._std, self._low, self._high)):
            raise CheckpointError(f"checkpoint attribute statistics do not match {n} names")
        if self._origin.shape != (self._z_dim,) or self._axes.shape != (2, self._z_dim):
            raise CheckpointError(
                f"checkpoint latent plane has shapes {self._origin.shape}/{self._axes.shape}, "
                f"expected ({self._z_dim},)/(2, {self._z_dim})")
        if self._anchors is not None and (self._anchors.ndim != 2 or self._anchors.shape[1] != self._z_dim
                                          or len(self._anchors) == 0):
            raise CheckpointError(f"checkpoint latent anchors have shape {self._anchors.shape}, "
                                  f"expected (N, {self._z_dim})")
        self._vectors = self._attribute_vectors(meta) if self._kind == "vae" else None
        self.feedback = FeedbackConfig()
        self.walk_settings = WalkSettings()
        self.on_data = OnData()
        self.mix_shape = MixShape()
        self.data_path = DataPathSettings()
        self._graph: GrooveGraph | None = None
        self._in_degree_cache: np.ndarray | None = None  # the stored lists' in-degree (Variation)
        # the walk's prices (WalkSettings.balance) for the trend's follow, built on first use
        self._balance: tuple[float, WalkBalance] | None = None
        self.data_blend = DataBlendSettings()
        self._field: tuple[bytes, GrooveGraph, CornerField] | None = None
        # 'neighbour-even': one of the nearest training grooves drawn with odds 1 / its
        # in-degree, so that a groove near many (a plainer one) comes no more often than any
        # other (chosen on validation, docs/studies/variation_even); 'neighbour': one of the
        # nearest drawn alike (docs/studies/variation_draws); 'noise': z plus Gaussian noise
        # (also what a checkpoint without a map plays); 'neighbour+noise': a nearest groove's
        # code plus Randomize's noise; 'neighbour-hub': a nearby training groove by the
        # transitions' hub-penalised link cost. Without stored neighbour lists the even draw
        # draws alike (searching the lists takes seconds).
        self.variation_method = "neighbour-even"
        # sampling (temperature > 0) leaves the cells the model is this sure of as they are:
        # a hit it gives less than this never plays, one it gives more than 1 minus this
        # always does (0.05, chosen on validation: docs/studies/sampling_floor); 0 = plain
        # Bernoulli draws. Not for a decoder that feeds its own draws back (its hits are
        # the ones it drew)
        self.sampling_floor = SAMPLING_FLOOR
        self._feeds_back = _meta_config(meta, config, "decoder_cell", "conv") != "conv"
        self.lock_candidates = LOCK_CANDIDATES
        # fit_around's rounds for a latent drawn for the lock (0 = the lock pasted only)
        self.lock_passes = LOCK_PASSES
        self._lock_draws: OrderedDict[bytes, None] = OrderedDict()  # latents drawn from a lock's pool
        self._between_cache: tuple[bytes, np.ndarray] | None = None
        # a knob drag walks from the same latent at every move: its own decode, measured
        # attributes and hit distances to the bank are kept for the last latents walked from
        self._walk_cache: tuple[bytes, tuple[np.ndarray, DecodedBatch, np.ndarray, np.ndarray]] | None = None
        self._chain_memo: dict[tuple[Any, ...], int] = {}  # chained detent picks (GrooveBank.walk_chain)
        # a kept hit knob's cell levels and fills for the last latent it edited (a drag)
        self._sweep_cache: tuple[bytes, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self._curve: tuple[int, VoiceCurve] | None = None  # the data's hits per voice along density
        # the last latent's own groove, measured (a walk or a decode of it made it), so
        # playing_attributes needs no decode of its own
        self._playing: tuple[bytes, np.ndarray] | None = None
        self._corner_cache: tuple[bytes, np.ndarray] | None = None
        # latents made by corner_blend -> the attributes they were made with (a knob turned
        # after a blend starts from the groove that played, not its nearest codes' feel)
        self._made: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._bank, self._pad = self._data_map(meta, arrays or {})
        # the data's trend for the knobs nobody set, built now rather than on the first turn
        self._trend = None if self._bank is None else DataTrend(self._bank.attributes)
        # the bank's nearest-neighbour lists when the map stores them (else searched on first use)
        self._bank_neighbours = None if self._bank is None else (arrays or {}).get("bank.neighbours")
        self._map_noise = float((meta.get("data_map") or {}).get("config", {}).get("randomize_noise", 0.0))
        # the spread of dynamics and feel the decoder's averages take out, given back to what
        # the instrument plays (engine.generation.expression; identity when not fitted)
        try:
            self.expression = Expression.from_meta(meta.get("expression"))
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"bad expression in the checkpoint's metadata: {err}") from err

    def _data_map(self, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
                  ) -> tuple[GrooveBank | None, PadMap | None]:
        """The groove bank and pad map a checkpoint carries (``meta["data_map"]``), or none."""
        info = meta.get("data_map")
        if not isinstance(info, Mapping) or not self._names:
            return None, None
        try:
            bank = GrooveBank(arrays["bank.codes"].astype(np.float32), arrays["bank.attributes"],
                              arrays["bank.measured"], arrays["bank.hits"], arrays["bank.styles"],
                              info["style_names"], self._steps, FEATURES // 3)
            if bank.z_dim != self._z_dim or bank.attributes.shape[1] != len(self._names):
                raise ValueError(f"bank of shape {bank.codes.shape}/{bank.attributes.shape} for a "
                                 f"model with z_dim {self._z_dim} and {len(self._names)} attributes")
            labels = [StyleLabel(str(d["style"]), float(d["x"]), float(d["y"]))
                      for d in info.get("labels", [])]
            pad = PadMap(arrays["pad.nodes"], bank.codes, float(info["config"]["sharpness"]), labels)
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"checkpoint data map incomplete or inconsistent: {err}") from err
        return bank, pad

    def _attribute_vectors(self, meta: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """``(A, Z)`` directions and ``(A,)`` spans (raw attribute change one vector adds)."""
        raw = meta.get("attribute_vectors")
        if not isinstance(raw, Mapping):
            raise CheckpointError("baseline checkpoint has no attribute_vectors")
        spans_meta = meta.get("attribute_vector_spans") or {}
        vecs, spans = [], []
        for i, name in enumerate(self._names):
            entry = raw.get(name)
            if entry is None:
                raise CheckpointError(f"baseline checkpoint has no attribute vector for {name!r}")
            if isinstance(entry, Mapping):
                vec = entry.get("vector", entry.get("z"))
                span = entry.get("span")
                if span is None and "high_value" in entry and "low_value" in entry:
                    span = float(entry["high_value"]) - float(entry["low_value"])
            else:
                vec, span = entry, None
            v = np.asarray(vec, np.float64)
            if v.shape != (self._z_dim,):
                raise CheckpointError(f"attribute vector {name!r} has shape {v.shape}")
            vecs.append(v)
            # The span is the raw attribute change one whole vector adds; without a
            # calibrated one (meta "attribute_vector_spans"), one vector is taken to move
            # the attribute across the data's 5–95 % range.
            span = span if span is not None else spans_meta.get(name)
            span = float(span) if span else float(self._high[i] - self._low[i]) or 1.0
            spans.append(span)
        return np.stack(vecs), np.asarray(spans)

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu", backend: str | None = None) -> Generator:
        """Load ``path`` and wrap it: on ONNX Runtime from its export folder when there is a
        usable one (:mod:`engine.generation.onnx_nets`; torch is then never imported), else
        the checkpoint itself on torch, read safely (weights only).

        ``backend``: 'auto' (default, or ``$GROOVEFADER_BACKEND``), 'onnx' or 'torch'.

        Raises:
            CheckpointError: missing, truncated, unsafe or incompatible file; no usable
                export when 'onnx' is asked for; neither a usable export nor torch.
        """
        from engine.generation.onnx_nets import OnnxDrumNet, open_export

        export = open_export(path, "drums", backend) if device == "cpu" else None
        if export is not None:
            return cls(OnnxDrumNet(export), export.meta, None, arrays=export.arrays)
        load_checkpoint = torch_loader(path, "models.checkpoint", "load_checkpoint", "drums")
        ckpt = load_checkpoint(path)
        return cls(ckpt.model, ckpt.meta, getattr(ckpt, "config", None), device=device, arrays=ckpt.arrays)

    @property
    def backend(self) -> str:
        """Where the network runs: 'onnx' (ONNX Runtime) or 'torch'."""
        return self._net.backend

    # -- what the GUI shows ------------------------------------------------------------
    @property
    def meta(self) -> dict[str, Any]:
        return dict(self._meta)

    @property
    def model_kind(self) -> str:
        """``'fader_vae'`` or ``'vae'`` (the attribute-vector baseline)."""
        return self._kind

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def attribute_ranges(self) -> dict[str, tuple[float, float]]:
        """Knob range per attribute, raw units: the training data's 5th–95th percentile."""
        return {n: (float(lo), float(hi)) for n, lo, hi in zip(self._names, self._low, self._high,
                                                                strict=True)}

    @property
    def attribute_defaults(self) -> dict[str, float]:
        """Knob default per attribute: the training data's median (mean if not stored)."""
        return {n: float(v) for n, v in zip(self._names, self._default, strict=True)}

    @property
    def z_dim(self) -> int:
        return self._z_dim

    @property
    def steps(self) -> int:
        """Steps of one decoded pattern (32 for 2 bars of 16ths)."""
        return self._steps

    @property
    def steps_per_bar(self) -> int:
        return self._steps_per_bar

    # -- attributes ----------------------------------------------------------------------
    def attributes_of(self, pattern: Pattern) -> dict[str, float]:
        """The checkpoint's attributes measured on ``pattern`` (raw units)."""
        values = attr_lib.compute(pattern.to_array()[None], self._names)[0]
        return {n: float(v) for n, v in zip(self._names, values, strict=True)}

    def knobs_for_pattern(self, pattern: Pattern) -> dict[str, float]:
        """Knob settings under which ``decode(encode(pattern), knobs)`` reconstructs it.

        A fader-VAE needs the pattern's own attributes; the baseline's z already carries
        them, so its knobs go to their defaults (no attribute-vector offset).
        """
        return self.attribute_defaults if self._kind == "vae" else self.attributes_of(pattern)

    def attribute_matrix(self, attributes: Mapping[str, float] | np.ndarray | None,
                         batch: int, z: np.ndarray | None = None,
                         own: np.ndarray | None = None) -> np.ndarray:
        """``(batch, A)`` raw attribute rows; unnamed knobs take the latent's own values
        (``own``, ``(A,)`` or ``(batch, A)``, when the caller knows them; else a latent this
        generator made by :meth:`corner_blend` keeps the attributes it was made with, and any
        other with ``z`` and a data map the attributes its nearest training grooves carry,
        the input the decoder was trained with), else their defaults.

        Raises:
            ValueError: an unknown attribute name or a wrongly shaped array.
        """
        def base() -> np.ndarray:
            if own is not None:
                return np.array(np.broadcast_to(np.asarray(own, np.float64), (batch, len(self._names))))
            if z is not None and self._bank is not None:
                rows = self._as_batch_z(z)
                out = self._bank.own_attributes(rows)
                if self._made:
                    for i, row in enumerate(rows):
                        known = self._made.get(row.tobytes())
                        if known is not None:
                            out[i] = known
                return out
            return np.tile(self._default, (batch, 1))

        if attributes is None:
            return base()
        if isinstance(attributes, Mapping):
            unknown = sorted(set(attributes) - set(self._names))
            if unknown:
                raise ValueError(f"unknown attribute(s) {unknown}; this model has {list(self._names)}")
            if all(n in attributes for n in self._names):
                return np.tile([float(attributes[n]) for n in self._names], (batch, 1))
            rows = base()
            for i, n in enumerate(self._names):
                if n in attributes:
                    rows[:, i] = float(attributes[n])
            return rows
        arr = np.asarray(attributes, np.float64)
        if arr.ndim == 1:
            arr = np.tile(arr, (batch, 1))
        if arr.shape != (batch, len(self._names)):
            raise ValueError(f"attributes must have shape ({batch}, {len(self._names)}), got {arr.shape}")
        return arr

    # -- batched core --------------------------------------------------------------------
    def _as_batch_z(self, z: np.ndarray) -> np.ndarray:
        zz = np.asarray(z, np.float64)
        if zz.ndim == 1:
            zz = zz[None]
        if zz.ndim != 2 or zz.shape[1] != self._z_dim:
            raise ValueError(f"z must have shape ({self._z_dim},) or (B, {self._z_dim}), got {np.shape(z)}")
        return zz

    def decode_batch(self, z: np.ndarray, attributes: Mapping[str, float] | np.ndarray | None = None,
                     *, teacher: np.ndarray | None = None, temperature: float = 0.0,
                     seed: int | None = None, use_knobs: bool = True,
                     hits_only: bool = False, own: np.ndarray | None = None) -> DecodedBatch:
        """Decode ``(B, Z)`` latents in one model call.

        Args:
            z: ``(B, Z)`` or ``(Z,)`` latents.
            attributes: raw knob values: a mapping (same for the batch), ``(A,)`` or ``(B, A)``;
                None = defaults.
            teacher: ``(B, T, 27)`` codec arrays fed to the decoder as its previous steps
                (teacher forcing) instead of its own outputs.
            temperature: 0 = hits where p > 0.5; > 0 = Bernoulli(sigmoid(logit / temperature)),
                the same draws an autoregressive decoder fed back to itself (for one that
                does not, the cells :attr:`sampling_floor` calls sure stay as they are).
            seed: seeds the Bernoulli draws (None = a fresh random seed).
            use_knobs: False decodes a baseline checkpoint's z without attribute vectors.
            hits_only: only ``hits``/``hit_probs`` are wanted; a model with a velocity trunk
                skips it and the velocities and offsets returned are placeholders.
            own: the latents' own attributes where known (:meth:`attribute_matrix`).
        """
        zz = self._as_batch_z(z)
        raw = self.attribute_matrix(attributes, zz.shape[0], zz, own)
        attrs = None
        if self._vectors is not None:
            if use_knobs:
                vecs, spans = self._vectors
                zz = zz + ((raw - self._default) / spans) @ vecs
        elif self._names:
            attrs = ((raw - self._mean) / self._std).astype(np.float32)
        tt = None
        if teacher is not None:
            tt = np.asarray(teacher, np.float32)
            if tt.shape != (zz.shape[0], self._steps, FEATURES):
                raise ValueError(f"teacher must have shape ({zz.shape[0]}, {self._steps}, {FEATURES}), "
                                 f"got {tt.shape}")
        sampling = temperature > 0
        if sampling and seed is None:
            seed = int(np.random.default_rng().integers(2 ** 62))
        with self._lock:
            logits, vel, off = self._net.run_decoder(
                zz.astype(np.float32), attrs, tt, temperature=float(temperature),
                seed=int(seed) if sampling else None, hits_only=hits_only)
        logits = logits.astype(np.float32, copy=False)
        if sampling:
            # The same uniforms, drawn in the same order (one (B, 1, 9) draw per step), as an
            # autoregressive decoder's own feedback sampling on torch: the hits returned are
            # the hits it fed back; a non-autoregressive one never drew them.
            u = step_uniforms(int(seed), *logits.shape)
            hits = u < sigmoid(logits / np.float32(max(float(temperature), 1e-6)))
            floor = float(self.sampling_floor)
            if floor > 0 and not self._feeds_back:
                p = sigmoid(logits)
                hits = np.where(p >= 1.0 - floor, True, hits & (p >= floor))
        else:
            hits = logits > 0.0
        return DecodedBatch(hits, sigmoid(logits), np.clip(vel, 0.0, 1.0).astype(np.float32),
                            np.clip(off, -0.5, 0.5).astype(np.float32))

    def target_matrix(self, targets: np.ndarray, batch: int) -> np.ndarray:
        """``(batch, A)`` targets from ``(A,)`` (the same for every pattern) or ``(batch, A)``.

        Raises:
            ValueError: a wrongly shaped array.
        """
        t = np.array(targets, np.float64)
        if t.ndim == 1:
            t = np.tile(t, (batch, 1))
        if t.shape != (batch, len(self._names)):
            raise ValueError(f"targets must have shape ({len(self._names)},) or ({batch}, "
                             f"{len(self._names)}), got {np.shape(targets)}")
        return t

    def decode_meeting(self, z: np.ndarray, attributes: Mapping[str, float] | np.ndarray | None,
                       targets: np.ndarray, *, turning: str | None = None,
                       temperature: float = 0.0, seed: int | None = None,
                       config: FeedbackConfig | None = None, keep_inputs: bool = False,
                       ) -> tuple[DecodedBatch, FeedbackResult]:
        """Decode ``(B, Z)`` latents so the patterns' measured attributes meet ``targets``.

        The knobs (``attributes``) are the model's attribute input at first; then the inputs
        are corrected until the attributes with a target (``(A,)`` or ``(B, A)``, raw units,
        NaN = left to the model) meet it (:func:`engine.generation.knob_feedback.meet_targets`).
        ``turning`` (the knob the user is turning, which must have a target) is met first,
        then the others as far as that keeps it met: its sweep stays monotone and the other
        held attributes stay put. Returns the decodes kept and the loop's record (inputs
        used, attributes, decodes spent). Sampled hits (``temperature > 0``) draw the same
        uniforms in every correction. ``keep_inputs``: a starting input outside the data's
        5-95 % range (and the config's reach) stays allowed for its pattern.

        Raises:
            ValueError: unknown attributes, wrongly shaped ``attributes``/``targets``, or a
                ``turning`` knob without a target.
        """
        zz = self._as_batch_z(z)
        inputs = self.attribute_matrix(attributes, zz.shape[0])
        targets = self.target_matrix(targets, zz.shape[0])
        if turning is not None and turning not in self._names:
            raise ValueError(f"unknown attribute {turning!r}; this model has {list(self._names)}")
        sampling = temperature > 0
        if sampling:
            seed = int(np.random.default_rng().integers(2 ** 62)) if seed is None else int(seed)

        def decode(rows: np.ndarray, rows_in: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
            if sampling:  # a pattern's draws depend on the batch: always decode all of it
                full = inputs.copy()
                full[rows] = rows_in
                out = self.decode_batch(zz, full, temperature=temperature, seed=seed)
                out = DecodedBatch(out.hits[rows], out.hit_probs[rows], out.velocities[rows],
                                   out.offsets[rows])
            else:
                out = self.decode_batch(zz[rows], rows_in)
            measured = attr_lib.compute(out.to_array(), self._names)
            return (out.hits, out.hit_probs, out.velocities, out.offsets), measured

        primary = None if turning is None else self._names.index(turning)
        res = np.array([attr_lib.resolution(n, self._steps, self._steps_per_bar) for n in self._names])
        result = meet_targets(decode, inputs, targets, self._low, self._high, config or self.feedback,
                              primary, res, keep_inputs)
        return DecodedBatch(*result.arrays), result

    def decode_targets(self, z: np.ndarray, attributes: Mapping[str, float] | np.ndarray | None,
                       targets: np.ndarray, *, turning: str | None = None, temperature: float = 0.0,
                       seed: int | None = None, own: np.ndarray | None = None,
                       held: Collection[str] | None = None) -> DecodedBatch:
        """Decode meeting ``targets`` as the instrument does: walking the data
        (:meth:`decode_walking`) on a checkpoint with a data map, else correcting the
        model's attribute input (:meth:`decode_meeting`, which starts from ``attributes``)."""
        if self._bank is not None:
            return self.decode_walking(z, targets, turning=turning, temperature=temperature, seed=seed,
                                       own=own, held=held)[0]
        return self.decode_meeting(z, attributes, targets, turning=turning, temperature=temperature,
                                   seed=seed)[0]

    @property
    def has_data_map(self) -> bool:
        """Whether the checkpoint carries the groove bank and pad map (knobs walk the data)."""
        return self._bank is not None

    @property
    def groove_bank(self) -> GrooveBank | None:
        """The training grooves of the checkpoint's map of the data (None without one)."""
        return self._bank

    @property
    def data_trend(self) -> DataTrend | None:
        """How the knobs nobody set follow a turned one (:attr:`WalkSettings.follow` of the
        data's trend over the bank's grooves), for :meth:`KnobState.targets`; None without a
        map of the data or when they are held still."""
        settings = self.walk_settings
        follow = float(settings.follow)
        if self._trend is None or follow == 0.0:
            return None
        trend = self._trend.with_follow(follow)
        if settings.trend_at_detents and settings.anchors > 1:
            trend = trend.with_detents(self._low, self._high, settings.anchors)
        return trend

    def _in_degree(self) -> np.ndarray | None:
        """``(N,)`` how many bank grooves have each among their nearest (the groove graph's
        in-degree), counted from the map's stored neighbour lists without building the graph
        (Variation asks for it on the GUI thread); None without stored lists (searching them
        takes seconds)."""
        if self._graph is not None and self._graph.settings.neighbours == self.data_path.neighbours:
            return self._graph.in_degree
        stored = self._bank_neighbours
        if self._bank is None or stored is None or stored.shape[1] < self.data_path.neighbours:
            return None
        if self._in_degree_cache is None:
            self._in_degree_cache = in_degree(np.asarray(stored)[:, :self.data_path.neighbours],
                                              len(self._bank))
        return self._in_degree_cache

    def groove_graph(self) -> GrooveGraph:
        """The bank's nearest-neighbour graph for :attr:`data_path` (built on first use and
        kept while the settings stay; :mod:`engine.generation.data_path`).

        Raises:
            RuntimeError: the checkpoint has no data map.
        """
        if self._bank is None:
            raise RuntimeError("this checkpoint has no data map to walk")
        graph = self._graph
        if graph is None:
            stored = self._bank_neighbours
            usable = stored is not None and stored.shape[1] >= self.data_path.neighbours
            graph = GrooveGraph(self._bank.codes, self.data_path,
                                np.asarray(stored) if usable else None)
        elif graph.settings != self.data_path:
            graph = graph.with_settings(self.data_path)
        self._graph = graph
        return graph

    @property
    def pad_labels(self) -> tuple[StyleLabel, ...]:
        """Styles written on the pad where their grooves gather (empty without a data map)."""
        return () if self._pad is None else self._pad.labels

    def walk_tolerance(self) -> np.ndarray:
        """``(A,)`` how close a walked groove's turned attribute must come to the knob: half
        the attribute's smallest step, at least 3 % of its range."""
        res = np.array([attr_lib.resolution(n, self._steps, self._steps_per_bar) for n in self._names])
        return np.maximum(0.5 * res * (1 + 1e-6), WALK_TOLERANCE * (self._high - self._low))

    def decode_walking(self, z: np.ndarray, targets: np.ndarray, *, turning: str | None = None,
                       temperature: float = 0.0, seed: int | None = None,
                       own: np.ndarray | None = None, held: Collection[str] | None = None
                       ) -> tuple[DecodedBatch, np.ndarray]:
        """Meet ``targets`` by moving along the data (:meth:`GrooveBank.walk`): each latent's
        own groove, or the training groove that meets the targets with the fewest hits
        changed, decoded with its own attributes and its other held knobs corrected
        (:meth:`_decode_walked`; greedy decodes only). Returns the decodes and, per row, the
        bank index played (-1 = the latent's own groove). Two model calls, and up to
        ``2 × WalkSettings.correct`` more for the corrections. A knob that keeps the groove
        (:attr:`WalkSettings.keep`) edits the groove the other knobs play instead
        (:meth:`_decode_kept`; ``held``: the knobs the user set, else any knob whose target
        lies away from where the playing groove has it counts as set).

        Raises:
            RuntimeError: the checkpoint has no data map.
            ValueError: wrongly shaped ``targets`` or an unknown ``turning`` knob.
        """
        zz = self._as_batch_z(z)
        t = self.target_matrix(targets, len(zz))
        if turning is not None and turning in self.walk_settings.keep:
            return self._decode_kept(zz, t, turning, temperature, seed, own, held)
        inputs, playing, measured, picks = self._walk(zz, t, turning, own)
        chosen = zz.copy()
        inputs = inputs.copy()
        moved = picks >= 0
        chosen[moved] = self._bank.codes[picks[moved]]
        inputs[moved] = self._bank.attributes[picks[moved]]
        # between detents a groove kept as it plays is carried to the knob's value too
        redo = moved | (self.walk_settings.anchors > 1 and turning is not None)
        if temperature <= 0 and not redo.any():
            return playing, picks
        if temperature <= 0:
            out = self._decode_walked(chosen[redo], inputs[redo], t[redo], turning)
            arrays = [a.copy() for a in
                      (playing.hits, playing.hit_probs, playing.velocities, playing.offsets)]
            for a, b in zip(arrays, (out.hits, out.hit_probs, out.velocities, out.offsets), strict=True):
                a[redo] = b
            return DecodedBatch(*arrays), picks
        return self.decode_batch(chosen, inputs, temperature=temperature, seed=seed), picks

    def walk_picks(self, z: np.ndarray, targets: np.ndarray, *, turning: str | None = None,
                   own: np.ndarray | None = None, held: Collection[str] | None = None) -> np.ndarray:
        """``(B,)`` the bank groove :meth:`decode_walking` plays for each latent (-1 = its
        own), without decoding the grooves picked: one model call (the playing grooves')."""
        zz = self._as_batch_z(z)
        t = self.target_matrix(targets, len(zz))
        if turning is not None and turning in self.walk_settings.keep:
            return self._kept_base(zz, t, self._names.index(turning), own, held).picks
        return self._walk(zz, t, turning, own)[3]

    def _walk(self, zz: np.ndarray, t: np.ndarray, turning: str | None, own: np.ndarray | None
              ) -> tuple[np.ndarray, DecodedBatch, np.ndarray, np.ndarray]:
        """The playing grooves' decoder inputs, decodes and measured attributes, and the
        walk's pick per row."""
        if self._bank is None:
            raise RuntimeError("this checkpoint has no data map to walk")
        if turning is not None and turning not in self._names:
            raise ValueError(f"unknown attribute {turning!r}; this model has {list(self._names)}")
        primary = None if turning is None else self._names.index(turning)
        inputs, playing, measured, distances = self._walk_start(zz, own)
        ranges = np.maximum(self._high - self._low, 1e-9)
        tol = self.walk_tolerance()
        if self.walk_settings.anchors > 1 and primary is not None:
            t = self.anchored_targets(t, primary, measured[:, primary])
        in_degree = self._in_degree() if self.walk_settings.hub_weight else None
        settings = self.walk_settings
        if settings.slack and settings.slack_knob is not None and settings.slack_knob != turning:
            settings = replace(settings, slack=0.0)
        prices = [None] * len(zz)
        if settings.balance and primary is not None:
            prices = [self._walk_prices(primary, t[b, primary]) if np.isfinite(t[b, primary]) else None
                      for b in range(len(zz))]
        if settings.chain and settings.anchors > 1 and primary is not None:
            picks = np.array([self._bank.walk_chain(
                playing.hits[b], measured[b], self.detent_path(t[b], primary, measured[b, primary]),
                ranges, tol, primary, settings, distances=distances[b], memo=self._chain_memo)
                for b in range(len(zz))])
            return inputs, playing, measured, picks
        picks = np.array([self._bank.walk(playing.hits[b], measured[b], t[b], ranges, tol, primary,
                                          settings, distances=distances[b], in_degree=in_degree,
                                          prices=prices[b])
                          for b in range(len(zz))])
        return inputs, playing, measured, picks

    def _walk_start(self, zz: np.ndarray, own: np.ndarray | None
                    ) -> tuple[np.ndarray, DecodedBatch, np.ndarray, np.ndarray]:
        """The playing grooves a walk starts from: their decoder inputs, decodes, measured
        attributes and hit distances to the bank (kept for a single latent: a knob drag)."""
        assert self._bank is not None
        key = self._walk_key(zz, own)
        cached = self._walk_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        same_time = bool(self.walk_settings.same_time)
        inputs = self.attribute_matrix(None, len(zz), zz, own)
        playing = self.decode_batch(zz, inputs)
        measured = attr_lib.compute(playing.to_array(), self._names)
        distances = np.stack([self._bank.hit_distance(h, same_time=same_time) for h in playing.hits])
        if len(zz) == 1:  # a knob on the playing groove (an evaluation's batches pass once)
            inputs = inputs.copy()
            for a in (inputs, measured, distances, playing.hits, playing.hit_probs, playing.velocities,
                      playing.offsets):
                a.setflags(write=False)
            self._walk_cache = (key, (inputs, playing, measured, distances))
            self._playing = (key, measured)
        return inputs, playing, measured, distances

    def detent_path(self, targets: np.ndarray, turning: int, own: float) -> list[np.ndarray]:
        """The targets ``(A,)`` of each detent a turn passes on its way from the playing
        groove's own value ``own`` to the turned knob's detent in ``targets`` (already
        :meth:`anchored_targets`), that one last; none when it is the groove's own value.
        The detents passed are the knob's detents as shown (:func:`detent_values`), so a
        groove whose own value lies outside the range stops at the range's end on its way in."""
        goal = float(targets[turning])
        if not np.isfinite(goal) or not np.isfinite(own):
            return [targets]
        lo, hi = float(self._low[turning]), float(self._high[turning])
        eps = 1e-9 * max(hi - lo, 1e-12) / max(self.walk_settings.anchors - 1, 1)
        if abs(goal - own) <= eps:
            return []
        sign = 1.0 if goal > own else -1.0
        shown = detent_values(own, lo, hi, self.walk_settings.anchors)
        passed = sorted((float(v) for v in shown if sign * (v - own) > eps and sign * (goal - v) > eps),
                        key=lambda v: sign * v)
        path = []
        for v in [*passed, goal]:
            row = np.array(targets, np.float64, copy=True)
            row[turning] = v
            path.append(row)
        return path

    def playing_attributes(self, z: np.ndarray, own: np.ndarray | None = None) -> dict[str, float]:
        """The attributes of the groove a knob turn on latent ``z`` (``(Z,)``) walks from:
        its decode with its own attributes (``own``: a corner blend's), measured; the knobs'
        detents lie around them. Read from the last walk or plain decode when it was of ``z``."""
        zz = self._as_batch_z(z)[:1]
        key = self._walk_key(zz, own)
        if self._playing is None or self._playing[0] != key:
            playing = self.decode_batch(zz, self.attribute_matrix(None, 1, zz, own))
            self._playing = (key, attr_lib.compute(playing.to_array(), self._names))
        return {n: float(v) for n, v in zip(self._names, self._playing[1][0], strict=True)}

    def _walk_key(self, zz: np.ndarray, own: np.ndarray | None) -> bytes:
        """What a walk's cached playing groove depends on: the latents, their own attributes
        where given, and whether the time voices count as one."""
        return (zz.tobytes() + (b"" if own is None else np.asarray(own, np.float64).tobytes())
                + bytes([bool(self.walk_settings.same_time)]))

    def anchored_targets(self, targets: np.ndarray, turning: int, own: np.ndarray) -> np.ndarray:
        """``targets (B, A)`` with the turned knob's moved to its nearest detent: the playing
        groove's own value ``own (B,)`` plus a whole number of detent steps (a step is the
        knob's range over :attr:`WalkSettings.anchors` - 1), or either end of the range. The
        playing groove is a detent, so a knob touched at its groove's value keeps that
        groove, and a knob turned to an end meets that end."""
        out = np.array(targets, np.float64, copy=True)
        out[:, turning] = nearest_detent(out[:, turning], own, self._low[turning], self._high[turning],
                                         self.walk_settings.anchors)
        return out

    def _walk_prices(self, turning: int, value: float) -> np.ndarray:
        """``(N,)`` the bank grooves' prices for a turn of knob ``turning`` to ``value``
        (:class:`~engine.generation.walk_balance.WalkBalance`, built on first use)."""
        assert self._bank is not None
        trend = self.data_trend  # the prices carry the other knobs as the walk's targets move them
        follow = 0.0 if trend is None else trend.follow
        if self._balance is None or self._balance[0] != follow:
            balance = WalkBalance(self._bank, self._low, self._high, self.walk_tolerance(), trend)
            self._balance = (follow, balance)
        return self._balance[1].prices(turning, float(value), self.walk_settings)

    def _decode_walked(self, z: np.ndarray, inputs: np.ndarray, targets: np.ndarray,
                       turning: str | None) -> DecodedBatch:
        """The walked grooves' decodes: with their own attributes, or with
        :attr:`WalkSettings.correct` corrections of the decoder's input toward the held knobs
        they miss (the turned knob stays met, or with detents is carried on to its value; the
        inputs stay inside the data's range)."""
        rounds = self.walk_settings.correct
        others = ~np.isnan(targets)
        # between detents (WalkSettings.anchors) the turned knob is corrected from its
        # detent's groove to its own value as well
        if turning is not None and self.walk_settings.anchors <= 1:
            others[:, self._names.index(turning)] = False
        if rounds <= 0 or not others.any():
            return self.decode_batch(z, inputs)
        config = replace(self.feedback, iterations=int(rounds), reach=0.0)
        # a walked groove's own attributes may lie outside the 5-95 % range: its first decode
        # keeps them, and only corrections toward the held knobs move an input
        out = self.decode_meeting(z, inputs, targets, turning=turning, config=config, keep_inputs=True)[0]
        if self.walk_settings.keep_voices:
            out = _within_voices(out, self.decode_batch(z, inputs).hits)
        return out

    def _kept_base(self, zz: np.ndarray, t: np.ndarray, k: int, own: np.ndarray | None,
                   held: Collection[str] | None = None) -> _KeptBase:
        """The grooves a kept knob ``k`` edits: what the other knobs play. A row whose other
        knobs lie where its playing groove has them (the knobs nobody set following this
        turn as the data does, within the walk's tolerance) edits its playing groove. One
        with a knob set elsewhere (``held``, or where no ``held`` is given any knob off its
        groove) edits the groove that knob's turn walked to: the furthest such knob turned
        again with the targets its turn had (the other knobs set at their values, the rest
        where the groove has them, following it), so a kept knob never undoes another."""
        if self._bank is None:
            raise RuntimeError("this checkpoint has no data map to walk")
        inputs, playing, measured, _ = self._walk_start(zz, own)
        goal = t[:, k]
        trend = self.data_trend
        expected = np.array(measured, np.float64, copy=True)
        if trend is not None:  # the knobs nobody set follow this turn as the data does
            start = measured[:, k]
            expected += trend.shift(k, start, np.where(np.isfinite(goal), goal, start))
        candidates = np.arange(t.shape[1]) != k
        if held is not None:
            candidates &= np.isin(np.array(self._names), list(held))
        elsewhere = np.isfinite(t) & (np.abs(t - expected) > self.walk_tolerance()) & candidates[None, :]
        latents, base_in = zz.copy(), np.array(inputs, copy=True)
        arrays = [np.array(a, copy=True) for a in (playing.hits, playing.hit_probs, playing.velocities,
                                                   playing.offsets)]
        base_measured = np.array(measured, copy=True)
        picks = np.full(len(zz), -1, np.int64)
        carried = np.ones(len(zz), bool)
        ranges = np.maximum(self._high - self._low, 1e-9)
        far = np.where(elsewhere, np.abs(t - measured) / ranges, -1.0).argmax(axis=1)
        for j in np.unique(far[elsewhere.any(axis=1)]):
            rows = elsewhere.any(axis=1) & (far == j)
            row_own = own[rows] if own is not None and np.ndim(own) == 2 else own
            name = self._names[j]
            base_t = np.where(elsewhere[rows], t[rows], measured[rows])
            if trend is not None:
                shift = trend.shift(int(j), measured[rows, j], t[rows, j])
                base_t = np.where(elsewhere[rows], base_t, base_t + shift)
            out, got = self.decode_walking(zz[rows], base_t, turning=name, own=row_own, held=held)
            for a, b in zip(arrays, (out.hits, out.hit_probs, out.velocities, out.offsets), strict=True):
                a[rows] = b
            base_measured[rows] = attr_lib.compute(out.to_array(), self._names)
            picks[rows] = got
            carried[rows] = name not in self.walk_settings.keep  # a kept edit is no decode
            walked = np.flatnonzero(rows)[got >= 0]
            latents[walked] = self._bank.codes[got[got >= 0]]
            base_in[walked] = self._bank.attributes[got[got >= 0]]
        return _KeptBase(latents, base_in, DecodedBatch(*arrays), base_measured, picks, carried)

    def _decode_kept(self, zz: np.ndarray, t: np.ndarray, turning: str, temperature: float,
                     seed: int | None, own: np.ndarray | None, held: Collection[str] | None = None
                     ) -> tuple[DecodedBatch, np.ndarray]:
        """A knob of :attr:`WalkSettings.keep` turned on the grooves the other knobs play
        (:meth:`_kept_base`): a feel knob by the decoder and an edit of the groove's
        velocities or offsets (:meth:`_feel_kept`), a hit knob by adding or removing hits in
        the decoder's order (:meth:`_hits_kept`). Returns the decodes and the bank grooves
        edited (-1 = the latent's own)."""
        k = self._names.index(turning)
        base = self._kept_base(zz, t, k, own, held)
        goal = t[:, k]
        if not np.isfinite(goal).any():
            return base.decoded, base.picks
        if turning in HIT_KNOBS:
            if temperature > 0:
                base = self._sampled(base, temperature, seed)
            return self._hits_kept(base, k, t), base.picks
        return self._feel_kept(base, k, goal, turning, temperature, seed), base.picks

    def _sampled(self, base: _KeptBase, temperature: float, seed: int | None) -> _KeptBase:
        """``base`` with the rows that are decodes drawn at ``temperature`` instead: what a kept
        hit knob edits when the temperature knob is up."""
        rows = base.carried
        if not rows.any():
            return base
        drawn = self.decode_batch(base.latents, base.inputs, temperature=temperature, seed=seed)
        d = base.decoded
        arrays = [np.where(rows[:, None, None], a, b) for a, b in
                  zip((drawn.hits, drawn.hit_probs, drawn.velocities, drawn.offsets),
                      (d.hits, d.hit_probs, d.velocities, d.offsets), strict=True)]
        return replace(base, decoded=DecodedBatch(*arrays))

    def _feel_kept(self, base: _KeptBase, k: int, goal: np.ndarray, turning: str, temperature: float,
                   seed: int | None) -> DecodedBatch:
        """A feel knob turned on ``base``: where it is a decode, its latent decoded with the
        knob's input corrected toward ``goal`` and the other knobs held where the groove has
        them (:attr:`WalkSettings.correct` rounds, inputs inside the data's range; sampled
        at ``temperature`` > 0 with the knob's input moved instead); then its velocities or
        offsets edited to meet the knob
        (:func:`~engine.generation.expression_edit.meet_feel`)."""
        playing = base.decoded
        arrays = [np.array(a, copy=True) for a in
                  (playing.hits, playing.hit_probs, playing.velocities, playing.offsets)]
        rows = np.isfinite(goal) & base.carried
        held = np.array(base.measured, np.float64, copy=True)
        held[:, k] = goal
        rounds = int(self.walk_settings.correct)
        if rows.any() and (temperature > 0 or rounds <= 0):
            moved = base.inputs[rows].copy()
            moved[:, k] = np.clip(goal[rows], self._low[k], self._high[k])
            out = self.decode_batch(base.latents[rows], moved, temperature=temperature, seed=seed)
        elif rows.any():
            config = replace(self.feedback, iterations=rounds, reach=0.0)
            out = self.decode_meeting(base.latents[rows], base.inputs[rows], held[rows], turning=turning,
                                      config=config, keep_inputs=True)[0]
            if self.walk_settings.keep_voices:
                out = _within_voices(out, playing.hits[rows])
        if rows.any():
            for a, b in zip(arrays, (out.hits, out.hit_probs, out.velocities, out.offsets), strict=True):
                a[rows] = b
        velocities, offsets = meet_feel(arrays[0], arrays[2], arrays[3], turning, goal)
        return DecodedBatch(arrays[0], arrays[1], velocities, offsets)

    def _voice_curve(self, k: int) -> VoiceCurve:
        """The bank's hits per voice along attribute ``k`` (density), built on first use."""
        assert self._bank is not None
        if self._curve is None or self._curve[0] != k:
            self._curve = (k, VoiceCurve(self._bank.measured[:, k], self._bank.voice_hits()))
        return self._curve[1]

    def _hits_kept(self, base: _KeptBase, k: int, t: np.ndarray) -> DecodedBatch:
        """A hit knob turned on ``base`` to its targets in ``t (B, A)``: hits added or removed
        until the knob is met, in the order the decoder plays them over the knob's range from
        the base groove's latent (:mod:`~engine.generation.hit_edit`; one model call per
        latent, kept for a drag); with :attr:`WalkSettings.hits_hold_others` the other knobs'
        targets held as far as the edit allows."""
        goal = t[:, k]
        sweep = sweep_inputs(self._low[k], self._high[k])
        n, s = len(base.latents), len(sweep)
        key = base.latents.tobytes() + base.inputs.tobytes() + bytes([k])
        if self._sweep_cache is not None and self._sweep_cache[0] == key:
            levels, vel, off = self._sweep_cache[1]
        else:
            inputs = np.repeat(base.inputs, s, axis=0)
            inputs[:, k] = np.tile(sweep, n)
            out = self.decode_batch(np.repeat(base.latents, s, axis=0), inputs)
            shape = (n, s, *out.hits.shape[1:])
            levels = cell_levels(out.hit_probs.reshape(shape))
            vel, off = out.velocities.reshape(shape), out.offsets.reshape(shape)
            if n == 1:
                self._sweep_cache = (key, (levels, vel, off))
        at = np.abs(sweep[None, :] - np.nan_to_num(goal)[:, None]).argmin(axis=1)
        rows = np.arange(n)
        d = base.decoded
        ratios = None
        if self._names[k] == "density" and self.walk_settings.hits_by_voice:
            ratios = self._voice_curve(k).ratio(base.measured[:, k], np.nan_to_num(goal))
        hold = self.walk_settings.hits_hold_others
        others = [j for j, n in enumerate(self._names) if n in HIT_KNOBS and j != k]
        other = t[:, others[0]] if hold and others else None
        hits, velocities, offsets = edit_hits(d.hits, d.velocities, d.offsets, levels, vel[rows, at],
                                              off[rows, at], self._names[k], goal,
                                              own_voices=self.walk_settings.hits_own_voices, ratios=ratios,
                                              other=other)
        if hold:  # the feel knobs where the walk would hold them
            for j, name in enumerate(self._names):
                if name in FEEL_KNOBS:
                    velocities, offsets = meet_feel(hits, velocities, offsets, name, t[:, j])
        return DecodedBatch(hits, d.hit_probs, velocities, offsets)

    def encode_batch(self, arrays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(B, T, 27)`` codec arrays → posterior ``(mu, logvar)``, each ``(B, Z)``."""
        x = np.asarray(arrays, np.float32)
        if x.ndim != 3 or x.shape[1:] != (self._steps, FEATURES):
            raise ValueError(f"expected (B, {self._steps}, {FEATURES}), got {x.shape}")
        with self._lock:
            mu, logvar = self._net.run_encoder(x)
        return np.asarray(mu, np.float64), np.asarray(logvar, np.float64)

    # -- the contract --------------------------------------------------------------------
    def fit_length(self, pattern: Pattern) -> Pattern:
        """``pattern`` cut or looped to the model's length (first 2 bars; a 1-bar loop doubled).

        Raises:
            ValueError: a pattern on another grid or that does not loop into the model length.
        """
        if pattern.steps_per_bar != self._steps_per_bar:
            raise ValueError(f"pattern has {pattern.steps_per_bar} steps per bar, the model "
                             f"{self._steps_per_bar}")
        if pattern.steps >= self._steps:
            return pattern.bar_slice(0, self._steps // self._steps_per_bar)
        if self._steps % pattern.steps:
            raise ValueError(f"a {pattern.bars}-bar pattern does not loop into {self._steps} steps")
        return Pattern.concatenate([pattern] * (self._steps // pattern.steps))

    def decode(self, z: np.ndarray, attributes: Mapping[str, float] | np.ndarray | None = None,
               temperature: float = 0.0, seed: int | None = None, *,
               targets: np.ndarray | None = None, turning: str | None = None,
               lock: VoiceLock | None = None, own: np.ndarray | None = None,
               held: Collection[str] | None = None) -> Pattern | list[Pattern]:
        """``(Z,)`` → one Pattern; ``(B, Z)`` → list of B Patterns.

        ``lock``: voices kept as they are, the others redrawn to fit around them
        (:func:`~engine.generation.voice_lock.fit_around`).

        ``targets`` (``(A,)`` or ``(B, A)``, NaN = left to the model; see
        :meth:`engine.generation.knobs.KnobState.targets`): the patterns' measured
        attributes are brought to them (:meth:`decode_targets`; ``turning`` names the knob
        the user is turning, met first). All NaN: on a map of the data the latent's own
        groove (its own attributes, ``attributes`` unused), else one open-loop model call
        with ``attributes``. None: one open-loop call with ``attributes`` (the knobs as the
        model's input, *Hold knobs* off). ``own``: the latents' own attributes where the
        caller knows them (a corner blend's, :meth:`corner_blend`), for the knobs not given.
        ``held``: the knobs the user set (:attr:`KnobState.held`), which a knob that keeps the
        groove leaves where they are (:meth:`decode_walking`).
        """
        single = np.ndim(z) == 1
        if targets is not None and self._bank is not None and np.isnan(np.asarray(targets, np.float64)).all():
            # nothing held on a map of the data: the latent's own groove, its own attributes
            batch = self.decode_batch(z, None, temperature=temperature, seed=seed, own=own)
            if single and temperature <= 0:  # the groove a knob turn would walk from
                zz = self._as_batch_z(z)
                self._playing = (self._walk_key(zz, own), attr_lib.compute(batch.to_array(), self._names))
        elif targets is not None and self._names and not np.isnan(np.asarray(targets, np.float64)).all():
            batch = self.decode_targets(z, attributes, targets, turning=turning, temperature=temperature,
                                        seed=seed, own=own, held=held)
        else:
            batch = self.decode_batch(z, attributes, temperature=temperature, seed=seed, own=own)
        arrays = batch.to_array()
        if lock is not None and lock.active:
            drawn = np.array([row.tobytes() in self._lock_draws for row in self._as_batch_z(z)])
            for rounds, rows in ((self.lock_passes, drawn), (PASSES, ~drawn)):
                if rows.any():
                    arrays[rows] = fit_around(self, arrays[rows], lock, rounds)
        arrays = self.expression.apply(arrays)
        if lock is not None and lock.active:  # the locked part plays exactly as it was locked
            arrays = lock.paste(arrays)
        pats = [Pattern.from_array(a, self._steps_per_bar) for a in arrays]
        return pats[0] if single else pats

    def encode(self, pattern: Pattern) -> np.ndarray:
        """Posterior mean ``(Z,)`` of ``pattern`` (cut or looped to the model length)."""
        mu, _ = self.encode_batch(self.fit_length(pattern).to_array()[None])
        return mu[0]

    def sample(self, n: int, temperature: float = 1.0, seed: int | None = None) -> np.ndarray:
        """``(n, Z)`` draws from the prior N(0, temperature² I)."""
        rng = np.random.default_rng(seed)
        return rng.standard_normal((int(n), self._z_dim)) * float(temperature)

    @property
    def has_anchors(self) -> bool:
        """Whether the checkpoint stores training codes to draw new grooves near."""
        return self._anchors is not None

    def sample_like_data(self, n: int, seed: int | None = None, lock: VoiceLock | None = None,
                         distinct: bool = False) -> np.ndarray:
        """``(n, Z)`` latents for a new groove ("Randomize"): a training code stored in the
        checkpoint plus N(0, anchor_noise² I). Prior draws decode grooves unlike the data (the
        shipped model: 3.3× its tom hits); near the codes the voice mix is the data's. Without
        stored codes (older checkpoints): the prior. With voices locked (an active ``lock``)
        and :attr:`lock_candidates` > 0, the code is one of the training grooves whose
        locked voices play nearest the lock. ``distinct``: no training groove twice while
        there are enough (a batch of clips, a sample pack)."""
        rng = np.random.default_rng(seed)
        if self._bank is not None:  # a training groove, nudged by the map's noise (0: as it is)
            pool = self._lock_pool(lock, rng) if lock is not None and lock.active else None
            idx = (latent_paths.pick_indices(rng, len(self._bank), int(n), distinct) if pool is None
                   else pool[latent_paths.pick_indices(rng, len(pool), int(n), distinct)])
            picked = self._bank.codes[idx].astype(np.float64)
            picked = picked + self._map_noise * rng.standard_normal(picked.shape)
            if pool is not None:  # chosen to fit the lock: decode() pastes it on LOCK_PASSES rounds
                for row in picked:
                    _keep(self._lock_draws, row, None)
            return picked
        if self._anchors is None:
            return self.sample(n, seed=seed)
        picked = self._anchors[latent_paths.pick_indices(rng, len(self._anchors), int(n), distinct)]
        return picked + self._anchor_noise * rng.standard_normal(picked.shape)

    def _lock_pool(self, lock: VoiceLock, rng: np.random.Generator) -> np.ndarray | None:
        """The :attr:`lock_candidates` training grooves whose locked voices' hits differ
        least from the lock's (ties in random order), or None for no preference."""
        assert self._bank is not None
        k = int(self.lock_candidates)
        if k <= 0 or k >= len(self._bank):
            return None
        part = lock.paste(np.zeros((1, self._bank.steps, FEATURES), np.float32))[0]
        d = self._bank.hit_distance(part[:, :self._bank.voices] > 0.5, lock.voices)
        return np.lexsort((rng.random(len(d)), d))[:k]

    def variation(self, z: np.ndarray, amount: float = 0.3, seed: int | None = None) -> np.ndarray:
        """``z`` moved by Gaussian noise of std ``amount`` (prior units): 0 = same, 1 = far.

        On a map of the data: one of the training grooves nearest ``z`` instead (the ``1 +
        round(amount * VARIATION_NEIGHBOURS)`` nearest, ``z``'s own code excepted), with odds
        1 / in-degree (:attr:`variation_method` ``'neighbour-even'``, the default) or alike
        (``'neighbour'``), plus Randomize's noise with ``'neighbour+noise'``; ``'noise'``
        keeps the Gaussian step there too.
        ``'neighbour-hub'`` ranks the ``HUB_POOL`` × as many nearest by the transitions' link
        cost (:mod:`engine.generation.data_path`), which charges the plain grooves near
        everything. The in-degree (how many grooves have a groove among their nearest) evens
        out that a plain nearest draw reaches plain grooves, which lie near many, more often
        than others: its variations had less swing and micro-timing spread than the data
        (docs/studies/variation_draws, variation_even).
        """
        rng = np.random.default_rng(seed)
        zz = np.asarray(z, np.float64)
        if self._bank is not None and amount > 0 and self.variation_method != "noise":
            k = 1 + int(round(float(amount) * VARIATION_NEIGHBOURS))
            flat = zz.reshape(-1, self._z_dim)
            hubs = self.variation_method == "neighbour-hub"
            idx, d2 = self._bank.nearest(flat, (HUB_POOL * k if hubs else k) + 1)
            if hubs:  # the k cheapest by the data path's link cost: length^power × hub factor
                graph = self.groove_graph()
                cost = np.sqrt(np.maximum(d2, 0.0)) ** graph.settings.power * graph.hub[idx]
                order = np.argsort(cost, axis=1, kind="stable")
                idx, d2 = np.take_along_axis(idx, order, 1), np.take_along_axis(d2, order, 1)
            in_degree = self._in_degree() if self.variation_method == "neighbour-even" else None
            out = np.empty_like(flat)
            for b in range(len(flat)):
                choices = idx[b][d2[b] > 1e-6][:k]
                if not len(choices):
                    out[b] = flat[b]
                    continue
                odds = None
                if in_degree is not None:  # a groove near many is drawn as rarely as it is near
                    odds = 1.0 / np.maximum(in_degree[choices], 1)
                    odds = odds / odds.sum()
                out[b] = self._bank.codes[rng.choice(choices, p=odds)]
            if self.variation_method == "neighbour+noise":  # as Randomize draws near a code
                out = out + self._map_noise * rng.standard_normal(out.shape)
            return out.reshape(zz.shape)
        return zz + float(amount) * rng.standard_normal(zz.shape)

    def interpolate(self, za: np.ndarray, zb: np.ndarray, n: int,
                    method: str = "slerp") -> np.ndarray:
        """``(n, Z)`` latents from ``za`` to ``zb`` (ends included).

        ``method='slerp'`` (default; spherical, as MusicVAE: keeps the prior's typical norm
        in between) or ``'linear'``.
        """
        return latent_paths.interpolate(za, zb, n, method)

    # -- the XY pad ----------------------------------------------------------------------
    def pad_to_z(self, x: float | np.ndarray, y: float | np.ndarray) -> np.ndarray:
        """Pad point(s) in [-1, 1]² → z: on the map of training grooves when the checkpoint
        carries one (:class:`~engine.generation.pad_map.PadMap`), else on the plane
        z = origin + scale·(x·axes[0] + y·axes[1]).

        Scalars give ``(Z,)``; arrays of equal shape S give ``S + (Z,)``.
        """
        if self._pad is not None:
            return self._pad.latents(x, y)
        xx, yy = np.asarray(x, np.float64), np.asarray(y, np.float64)
        return self._origin + self._scale * (xx[..., None] * self._axes[0] + yy[..., None] * self._axes[1])

    def z_to_pad(self, z: np.ndarray) -> tuple[float, float]:
        """Where ``z`` lies on the pad: the map node whose groove is nearest (with a data
        map), else the least-squares projection onto the plane, clipped to [-1, 1]²."""
        if self._pad is not None:
            return self._pad.nearest_point(z)
        d = (np.asarray(z, np.float64) - self._origin) / self._scale
        coef, *_ = np.linalg.lstsq(self._axes.T, d, rcond=None)
        x, y = np.clip(coef, -1.0, 1.0)
        return float(x), float(y)

    def blend_corners(self, corners: Sequence[Pattern] | np.ndarray, x: float, y: float) -> np.ndarray:
        """The latent of :meth:`corner_blend` at pad point (x, y)."""
        return self.corner_blend(corners, x, y)[0]

    def corner_blend(self, corners: Sequence[Pattern] | np.ndarray, x: float, y: float
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Beat-Blender blend of four corners at pad point (x, y): ``(z (Z,), own (A,))``.

        ``corners`` are four Patterns (encoded here) or a ``(4, Z)`` array, placed at
        :data:`CORNER_ORDER` = (-1,-1), (1,-1), (-1,1), (1,1). z is the corners' latents
        mixed with :attr:`mix_shape`'s weights, kept at their mean length
        (:func:`~engine.generation.pad_map.blend`); each corner point returns its own z
        exactly. ``own`` is the corners' attributes mixed alike, measured on the corners'
        grooves (a latent's own decode): the latent carries the groove, the attributes the
        decoder's other input, so a blend is decoded with its corners' feel rather than
        that of the generic grooves nearest the mix. The mix can also be pulled towards
        the nearest training groove (:attr:`on_data`; off by default).
        """
        if len(corners) != 4:
            raise ValueError(f"need 4 corners, got {len(corners)}")
        if isinstance(corners[0], Pattern):
            fitted = stack([self.fit_length(p) for p in corners])
            zs, _ = self.encode_batch(fitted)
            attrs = attr_lib.compute(fitted, self._names) if self._names else np.zeros((4, 0))
        else:
            zs = np.asarray(corners, np.float64)
            if zs.shape != (4, self._z_dim):
                raise ValueError(f"corner latents must have shape (4, {self._z_dim}), got {zs.shape}")
            attrs = self._corner_attributes(zs)
        if self.data_blend.enabled and self._bank is not None:
            return self._corner_on_data(zs, attrs, x, y)
        w = self.mix_shape.corner_weights(x, y)
        own = w @ attrs
        if self.on_data.method == "hits" and self.on_data.pull > 0 and self._bank is not None:
            z = self.between(zs, w[None], keep=w.max() >= self.on_data.own_weight)[0]
            return z, self.attribute_matrix(None, 1, z)[0]
        pull = self.on_data.corner_pull(w)
        z = self.toward_data(blend(zs, w), pull)
        if pull > 0:
            own = (1 - pull) * own + pull * self.attribute_matrix(None, 1, z)[0]
        self._remember(z, own)
        return z, own

    def _corner_on_data(self, zs: np.ndarray, attrs: np.ndarray, x: float, y: float
                        ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`corner_blend` on a data map (:mod:`engine.generation.data_blend`): a corner's
        own groove where it weighs at least ``own_weight``, else the bank groove at the
        corners' graph barycentre (with ``softness``, a mix of the few nearest to being it),
        with its own attributes; over ``handoff`` below ``own_weight`` the corner fades in."""
        assert self._bank is not None
        s = self.data_blend
        w = MixShape(corner_sharpness=s.sharpness).corner_weights(x, y)
        top = int(np.argmax(w))
        if w[top] >= s.own_weight:
            z, own = np.array(zs[top], np.float64), np.array(attrs[top], np.float64)
        else:
            field = self.corner_field(zs)
            if s.softness > 0:
                idx, mix = field.soft_pick(w, s.softness)
            else:
                idx, mix = np.array([field.pick(w)]), np.ones(1)
            codes = self._bank.codes[idx].astype(np.float64)
            z = codes[0] if len(idx) == 1 else blend(codes, mix)  # one groove plays exactly itself
            own = mix @ np.asarray(self._bank.attributes[idx], np.float64)
            fade = (w[top] - (s.own_weight - s.handoff)) / s.handoff if s.handoff > 0 else 0.0
            if fade > 0:  # the corner's own groove fading in as its weight nears own_weight
                z = blend(np.stack([zs[top], z]), np.array([fade, 1.0 - fade]))
                own = fade * np.asarray(attrs[top], np.float64) + (1.0 - fade) * own
        self._remember(z, own)
        return z, own

    def corner_field(self, zs: np.ndarray) -> CornerField:
        """The graph distances of four corner latents ``(4, Z)`` (kept for the next call with
        the same corners and graph: a drag asks for every point of the same four)."""
        graph = self.groove_graph()
        key = np.asarray(zs, np.float64).tobytes()
        if self._field is None or self._field[0] != key or self._field[1] is not graph:
            self._field = (key, graph, CornerField(graph, zs))
        return self._field[2]

    def _remember(self, z: np.ndarray, own: np.ndarray) -> None:
        _keep(self._made, z, np.array(own, np.float64))

    def _corner_attributes(self, zs: np.ndarray) -> np.ndarray:
        """``(4, A)`` attributes measured on the corner latents' own decodes (kept for the
        next call with the same corners: a drag asks for every point of the same four)."""
        key = zs.tobytes()
        if self._corner_cache is None or self._corner_cache[0] != key:
            grooves = self.decode_batch(zs, None).to_array()
            attrs = attr_lib.compute(grooves, self._names) if self._names else np.zeros((len(zs), 0))
            self._corner_cache = (key, np.asarray(attrs, np.float64))
        return self._corner_cache[1]

    def between(self, ends: np.ndarray, weights: np.ndarray, keep: bool | np.ndarray = False
                ) -> np.ndarray:
        """``(B, Z)``: for each row of ``weights (B, K)`` over the latents ``ends (K, Z)``,
        the code of the training groove between the ends' decodes in hit space
        (:meth:`GrooveBank.between`); rows where ``keep`` is true play the heaviest end itself.
        The ends' distances to the bank are kept for the next call with the same ends."""
        assert self._bank is not None
        ends = np.asarray(ends, np.float64)
        w = np.atleast_2d(np.asarray(weights, np.float64))
        key = ends.tobytes()
        if self._between_cache is None or self._between_cache[0] != key:
            hits = self.decode_batch(ends, None).hits
            self._between_cache = (key, np.stack([self._bank.hit_distance(h) for h in hits]))
        picks = self._bank.between(self._between_cache[1], w)
        out = self._bank.codes[picks].astype(np.float64)
        keep = np.broadcast_to(np.asarray(keep, bool), (len(w),))
        out[keep] = ends[np.argmax(w[keep], axis=1)]
        return out

    def toward_data(self, z: np.ndarray, pull: float | np.ndarray = 1.0) -> np.ndarray:
        """Latent(s) ``z`` pulled onto the data: a norm-kept blend of ``z`` and the nearest
        training groove's code, ``pull`` (per row or one) of the way (1: that code). Without
        a data map ``z`` is returned as it is."""
        zz = np.asarray(z, np.float64)
        if self._bank is None:
            return zz
        rows = self._as_batch_z(zz)
        p = np.broadcast_to(np.asarray(pull, np.float64), (len(rows),))
        if not p.any():
            return zz
        idx, _ = self._bank.nearest(rows, 1)
        snap = self._bank.codes[idx[:, 0]].astype(np.float64)
        out = blend(np.stack([rows, snap], 1), np.stack([1.0 - p, p], 1))
        out[p >= 1.0] = snap[p >= 1.0]  # exactly the training code (its own attributes)
        return out.reshape(zz.shape)

    def heatmap(self, attribute_name: str, resolution: int = 32,
                attributes: Mapping[str, float] | None = None) -> np.ndarray:
        """``(res, res)`` of ``attribute_name`` (raw units) measured on the pattern decoded
        at each pad point, in ONE batched decode; row i ↔ y = linspace(-1, 1, res)[i],
        column j ↔ x = linspace(-1, 1, res)[j]. Knobs from ``attributes`` (defaults), as
        the model's input, not held: the map shows where the latent pulls the groove (denser,
        busier...), which :meth:`decode` then corrects towards the knobs.
        """
        if attribute_name not in attr_lib.ATTRIBUTES:
            raise ValueError(f"unknown attribute {attribute_name!r}; known: {sorted(attr_lib.ATTRIBUTES)}")
        if self._bank is not None:  # the map's grooves as the pad plays them: their own attributes
            attributes = None
        g = np.linspace(-1.0, 1.0, int(resolution))
        yy, xx = np.meshgrid(g, g, indexing="ij")
        z = self.pad_to_z(xx.ravel(), yy.ravel())
        if self._pad is not None:  # the nodes' own attributes, blended as their latents are
            attributes = self._pad.attributes(xx.ravel(), yy.ravel(), self._bank.attributes)
        with self._lock, self._net.threads(self.heatmap_threads):
            # One big batch parallelises where a batch-1 decode does not: the heat-map gets
            # up to HEATMAP_THREADS intra-op threads, single decodes stay on one (no thread
            # hand-off in their latency). The lock keeps other decodes out meanwhile.
            batch = self.decode_batch(z, attributes,
                                      hits_only=attribute_name in attr_lib.HIT_ATTRIBUTES).to_array()
        values = attr_lib.ATTRIBUTES[attribute_name](batch)
        return values.reshape(int(resolution), int(resolution))


# -- the worker thread -----------------------------------------------------------------
@dataclass
class _Request:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    callback: Callable[[Any], None] | None
    on_error: Callable[[BaseException], None] | None


class AsyncGenerator:
    """Runs :class:`Generator` calls on one worker thread; callers never wait.

    Each request *kind* (``"decode"``, ``"heatmap"``, ...) has one slot: a new request
    replaces a pending one of the same kind (latest wins), so a knob dragged at 60 Hz
    never builds a backlog. Results go to ``callback(result)`` on the worker thread
    (the GUI forwards them through a queued signal); errors to ``on_error(exc)`` (or the
    log). Kinds are served in the order their latest request arrived.
    """

    def __init__(self, generator: Generator, name: str = "groovefader-generator") -> None:
        self.generator = generator
        self._cond = threading.Condition()
        self._slots: dict[str, _Request] = {}
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def request(self, kind: str, *args: Any, callback: Callable[[Any], None] | None = None,
                on_error: Callable[[BaseException], None] | None = None,
                fn: Callable[..., Any] | None = None, **kwargs: Any) -> None:
        """Queue ``generator.<kind>(*args, **kwargs)`` (or ``fn(*args, **kwargs)``).

        Raises:
            RuntimeError: after :meth:`close`.
            AttributeError: ``kind`` is not a generator method and no ``fn`` is given.
        """
        target = fn if fn is not None else getattr(self.generator, kind)
        with self._cond:
            if self._closed:
                raise RuntimeError("AsyncGenerator is closed")
            self._slots.pop(kind, None)  # latest wins, and moves to the back
            self._slots[kind] = _Request(target, args, kwargs, callback, on_error)
            self._cond.notify_all()

    def pending(self) -> list[str]:
        """Kinds waiting for the worker (not the one running)."""
        with self._cond:
            return list(self._slots)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running (for tests and shutdown)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._slots and not self._busy, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Drop pending requests, let the running one finish, stop the thread."""
        with self._cond:
            self._closed = True
            self._slots.clear()
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._slots or self._closed)
                if self._closed:
                    self._cond.notify_all()
                    return
                kind = next(iter(self._slots))
                req = self._slots.pop(kind)
                self._busy = True
            try:
                result = req.fn(*req.args, **req.kwargs)
            except Exception as err:  # delivered, never kills the worker
                self._deliver_error(kind, req, err)
            else:
                if req.callback is not None:
                    try:
                        req.callback(result)
                    except Exception:
                        log.exception("generator callback for %r failed", kind)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    @staticmethod
    def _deliver_error(kind: str, req: _Request, err: Exception) -> None:
        if req.on_error is None:
            log.error("generator request %r failed: %s", kind, err)
            return
        try:
            req.on_error(err)
        except Exception:
            log.exception("generator error callback for %r failed", kind)


def _within_voices(out: DecodedBatch, hits: np.ndarray) -> DecodedBatch:
    """``out`` with the hits of voices that ``hits (B, T, V)`` never plays removed."""
    plays = np.asarray(hits, bool).any(axis=1, keepdims=True)
    return DecodedBatch(out.hits & plays, out.hit_probs, out.velocities, out.offsets)


def _keep(memory: OrderedDict[bytes, Any], z: np.ndarray, value: Any) -> None:
    """Remember ``value`` for latent ``z (Z,)`` (keyed by its float64 bytes, as the decodes
    look it up), the oldest of more than :data:`MADE_LATENTS` forgotten."""
    key = np.asarray(z, np.float64).tobytes()
    memory[key] = value
    memory.move_to_end(key)
    while len(memory) > MADE_LATENTS:
        memory.popitem(last=False)
