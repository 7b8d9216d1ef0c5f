"""Melody checkpoints: the drum checkpoint's file format with ``model_kind = 'melody_vae'``.

Same layout as :mod:`models.checkpoint` (one ``torch.save`` zip loaded with
``weights_only=True``: format marker, metadata JSON, state dict; a ``.json`` copy of the
metadata beside it). Metadata keys: ``format_version``, ``model_kind`` ('melody_vae'),
``config`` (:class:`MelodyVAEConfig` as a dict — the model is rebuilt from it with
``strict=True``), ``codec`` (pitch range, classes, steps per bar: what the classes mean;
checked against the program's codec by :mod:`engine.generation.melody`),
``data_fingerprint``, ``metrics``, ``latent`` (``mean``, ``std`` and optionally
``anchors`` [N][Z] + ``anchor_noise``: training codes that "sample near the data" draws
from), ``train`` (the training config). A drum checkpoint given to the melody loader, or
the other way round, is refused with one line naming both kinds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.atomic import atomic_write
from models.checkpoint import (
    FORMAT_NAME,
    FORMAT_VERSION,
    build_checked,
    check_config_sizes,
    check_version,
    read_payload,
    torch_bytes,
)
from models.errors import CheckpointError
from models.melody_vae import MelodyVAE, MelodyVAEConfig
from models.pathnames import one_line, shown

KIND = "melody_vae"
REQUIRED_KEYS = ("format_version", "model_kind", "config", "codec", "data_fingerprint", "metrics",
                 "latent")


@dataclass(frozen=True)
class MelodyCheckpoint:
    """A loaded melody checkpoint: the model in eval mode, its config and metadata."""

    model: MelodyVAE
    config: MelodyVAEConfig
    meta: dict[str, Any]
    path: Path


def save_melody_checkpoint(path: str | os.PathLike[str], model: MelodyVAE,
                           meta: dict[str, Any]) -> Path:
    """Write ``path`` (+ ``.json``) atomically; fills format_version, model_kind and config.

    ``meta["codec"]`` (what the classes mean: ``engine.music.melody.codec_meta()``) is
    required; the generator refuses a checkpoint made for another codec.

    Raises:
        CheckpointError: metadata that would not load back.
    """
    path = Path(path)
    full = dict(meta)
    full.update(format_version=FORMAT_VERSION, model_kind=KIND, config=model.config.to_dict())
    _validate(full, model.config, path)
    meta_json = json.dumps(full, indent=1, sort_keys=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT_NAME, "meta_json": meta_json, "state_dict": state}
    data = torch_bytes(payload)
    try:  # the .pt first: the loader needs only it; a full disk leaves the old one whole
        atomic_write(path, lambda f: f.write(data))
        atomic_write(path.with_suffix(".json"), lambda f: f.write(meta_json + "\n"), text=True)
    except OSError as err:
        raise CheckpointError(f"{shown(path)}: cannot write melody checkpoint: "
                              f"{err.strerror or err}") from err
    return path


def load_melody_checkpoint(path: str | os.PathLike[str]) -> MelodyCheckpoint:
    """Load safely and rebuild the model in eval mode.

    Raises:
        CheckpointError: missing/damaged/foreign file, a drum checkpoint, wrong codec or config.
    """
    path = Path(path)
    meta, state = read_payload(path)
    check_version(meta, path)
    kind = meta.get("model_kind")
    if kind != KIND:
        raise CheckpointError(f"{shown(path)}: a {kind!r} checkpoint, not a melody model ({KIND!r})")
    if not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{shown(path)}: invalid melody config: missing or not a JSON object")
    try:
        config = MelodyVAEConfig.from_dict(meta["config"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{shown(path)}: invalid melody config: {one_line(str(err))}") from err
    check_config_sizes(config, path)
    try:
        _validate(meta, config, path)
    except (TypeError, ValueError, KeyError, AttributeError) as err:  # hand-edited: wrong types
        raise CheckpointError(f"{shown(path)}: malformed metadata ({type(err).__name__}: "
                              f"{one_line(str(err))[:160]})") from err
    model = build_checked(lambda: MelodyVAE(config), state, path)
    return MelodyCheckpoint(model, config, meta, path)


def _validate(meta: dict[str, Any], config: MelodyVAEConfig, path: Path) -> None:
    for key in REQUIRED_KEYS:
        if key not in meta:
            raise CheckpointError(f"{shown(path)}: metadata field '{key}' is missing")
    codec = meta["codec"]
    if not isinstance(codec, dict) or codec.get("num_classes") != config.num_classes:
        raise CheckpointError(f"{shown(path)}: codec {codec!r} does not match the config's "
                              f"{config.num_classes} classes")
    lat = meta["latent"]
    try:
        sizes = {"latent.mean": len(lat["mean"]), "latent.std": len(lat["std"])}
    except (KeyError, TypeError) as err:
        raise CheckpointError(f"{shown(path)}: metadata field 'latent' is incomplete ({err!r})") from err
    for name, n in sizes.items():
        if n != config.z_dim:
            raise CheckpointError(f"{shown(path)}: {name} has {n} values, expected z_dim={config.z_dim}")
    if lat.get("anchors") is not None:
        shape = np.asarray(lat["anchors"], np.float64).shape
        if len(shape) != 2 or shape[0] < 1 or shape[1] != config.z_dim:
            raise CheckpointError(f"{shown(path)}: latent.anchors has shape {shape}, "
                                  f"expected (N, {config.z_dim})")
        _check_noise(lat.get("anchor_noise", -1), "anchor_noise", path)
    if lat.get("phrases") is not None:
        shape = np.asarray(lat["phrases"], np.float64).shape
        if len(shape) != 3 or shape[0] < 1 or shape[1] < 1 or shape[2] != config.z_dim:
            raise CheckpointError(f"{shown(path)}: latent.phrases has shape {shape}, "
                                  f"expected (P, windows, {config.z_dim})")
    if lat.get("phrase_noise") is not None:
        _check_noise(lat["phrase_noise"], "phrase_noise", path)


def _check_noise(value: Any, name: str, path: Path) -> None:
    noise = float(value)
    if not np.isfinite(noise) or noise < 0:
        raise CheckpointError(f"{shown(path)}: latent.{name} must be >= 0")
