"""Checkpoint files: a weights-only state dict plus JSON metadata, and nothing that runs code.

File layout (one ``torch.save`` zip, loaded with ``weights_only=True``):
``{"format": "groovefader-checkpoint", "meta_json": str, "state_dict": {name: tensor}}``.
A human-readable copy of the metadata is written next to it (``<name>.json``); the loader
uses the embedded copy only, so the ``.pt`` alone is the checkpoint.

Metadata keys: ``format_version``, ``model_kind`` ('fader_vae' |
'vae'), ``config`` (:class:`FaderVAEConfig` as a dict), ``attributes`` (names, mean, std,
low, high; normalised = (raw - mean) / std), ``note_map``, ``data_fingerprint``, ``metrics``,
``latent`` (mean, std, plane {origin, axes, scale}, optionally anchors [N][Z] and anchor_noise:
what "Randomize" draws near), optionally ``training`` (the run that made it: ``config``, the
full training config whose ``preset`` + ``model`` give ``config`` above; ``code_revision``, a
git commit or "unknown"; ``dirty``, whether the code differed from that commit, null if not
known) and, for the plain VAE, ``attribute_vectors`` ({name: [Z]}). The model is rebuilt
from the file alone with ``strict=True``. Every problem is one :class:`CheckpointError` line
naming the file.
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.atomic import atomic_write
from models.config import FaderVAEConfig
from models.errors import CheckpointError
from models.fader_vae import FaderVAE

FORMAT_NAME = "groovefader-checkpoint"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("format_version", "model_kind", "config", "attributes", "note_map",
                 "data_fingerprint", "metrics", "latent")
ATTRIBUTE_KEYS = ("names", "mean", "std", "low", "high")
DRUM_KINDS = ("fader_vae", "vae")  # other kinds ('melody_vae') have their own loader


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the model in eval mode, its config and its metadata."""

    model: FaderVAE
    config: FaderVAEConfig
    meta: dict[str, Any]
    path: Path
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def model_kind(config: FaderVAEConfig) -> str:
    return "fader_vae" if config.num_attributes else "vae"


def save_checkpoint(path: str | os.PathLike, model: FaderVAE, config: FaderVAEConfig,
                    meta: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> Path:
    """Validate and write ``path`` (+ ``path.with_suffix('.json')``) atomically.

    ``format_version``, ``model_kind`` and ``config`` are filled in from the arguments.
    ``arrays`` (plain numeric arrays, e.g. the data map's groove bank) are stored as tensors
    beside the weights; only the .pt holds them.
    Raises:
        CheckpointError: if the metadata would not load back (missing field, wrong sizes).
    """
    path = Path(path)
    full = dict(meta)
    full.update(format_version=FORMAT_VERSION, model_kind=model_kind(config), config=config.to_dict())
    _validate_meta(full, config, path)
    meta_json = json.dumps(full, indent=1, sort_keys=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    payload: dict[str, Any] = {"format": FORMAT_NAME, "meta_json": meta_json, "state_dict": state}
    if arrays:
        payload["arrays"] = {str(k): torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    atomic_write(path, lambda f: torch.save(payload, f))
    atomic_write(path.with_suffix(".json"), lambda f: f.write(meta_json + "\n"), text=True)
    return path


def read_payload(path: str | os.PathLike, map_location: str | torch.device = "cpu"
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(metadata, state_dict)`` of a groovefader checkpoint file of any model kind.

    Raises:
        CheckpointError: missing, truncated or foreign file, or pickled code.
    """
    meta, state, _ = _read(path, map_location)
    return meta, state


def _read(path: str | os.PathLike, map_location: str | torch.device = "cpu"
          ) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path}: refused: the file holds pickled Python objects/code, not plain weights "
            f"({str(err).splitlines()[0][:160]})") from err
    except Exception as err:  # noqa: BLE001 - torch/pickle raise many types for damaged bytes
        raise CheckpointError(f"{path}: unreadable or truncated checkpoint "
                              f"({type(err).__name__}: {str(err).splitlines()[0][:160]})") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: not a groovefader checkpoint (no '{FORMAT_NAME}' marker)")
    try:
        meta = json.loads(payload["meta_json"])
        state = payload["state_dict"]
    except (KeyError, TypeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: damaged checkpoint: metadata or weights missing ({err})") from err
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: damaged checkpoint: metadata is not a JSON object")
    raw = payload.get("arrays") or {}
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise CheckpointError(f"{path}: damaged checkpoint: its arrays are not tensors")
    return meta, state, {str(k): v.numpy() for k, v in raw.items()}


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint safely (no pickled code) and rebuild its model in eval mode.

    Raises:
        CheckpointError: missing, truncated or foreign file, pickled code, wrong format
            version, missing metadata field, or weights whose names/shapes differ.
    """
    path = Path(path)
    meta, state, arrays = _read(path, map_location)
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!r} is not supported "
                              f"(this groovefader reads version {FORMAT_VERSION})")
    if "model_kind" in meta and meta["model_kind"] not in DRUM_KINDS:
        raise CheckpointError(f"{path}: a {meta.get('model_kind')!r} checkpoint, not a drum model "
                              f"({' or '.join(map(repr, DRUM_KINDS))})")
    for key in REQUIRED_KEYS:
        if key not in meta:
            raise CheckpointError(f"{path}: metadata field '{key}' is missing")
    try:
        config = FaderVAEConfig.from_dict(meta["config"])
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: invalid model config: {err}") from err
    _validate_meta(meta, config, path)
    model = load_weights(FaderVAE(config), state, path)
    return Checkpoint(model=model, config=config, meta=meta, path=path, arrays=arrays)


def load_weights(model: torch.nn.Module, state: dict[str, Any], path: Path) -> torch.nn.Module:
    """``state`` loaded strictly into ``model``, returned in eval mode.

    Raises:
        CheckpointError: weights whose names or shapes differ from the model's.
    """
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as err:
        first = " ".join(str(err).split())[:300]
        raise CheckpointError(f"{path}: weights do not match the config (names or shapes): {first}") from err
    return model.eval()


def _validate_meta(meta: dict[str, Any], config: FaderVAEConfig, path: Path) -> None:
    for key in REQUIRED_KEYS:
        if key not in meta:
            raise CheckpointError(f"{path}: metadata field '{key}' is missing")
    kind = model_kind(config)
    if meta["model_kind"] != kind:
        raise CheckpointError(
            f"{path}: model_kind {meta['model_kind']!r} does not match its config ({kind!r})")
    attrs = meta["attributes"]
    if not isinstance(attrs, dict):
        raise CheckpointError(f"{path}: metadata field 'attributes' must be an object")
    for key in ATTRIBUTE_KEYS:
        if key not in attrs:
            raise CheckpointError(f"{path}: metadata field 'attributes.{key}' is missing")
    n = len(attrs["names"])
    if config.num_attributes and n != config.num_attributes:
        raise CheckpointError(f"{path}: {n} attribute names for a model with {config.num_attributes} inputs")
    for key in ATTRIBUTE_KEYS[1:]:
        if len(attrs[key]) != n:
            raise CheckpointError(f"{path}: attributes.{key} has {len(attrs[key])} values, expected {n}")
    latent = meta["latent"]
    z = config.z_dim
    try:
        plane = latent["plane"]
        sizes = [("latent.mean", len(latent["mean"])), ("latent.std", len(latent["std"])),
                 ("latent.plane.origin", len(plane["origin"]))]
        sizes += [(f"latent.plane.axes[{i}]", len(ax)) for i, ax in enumerate(plane["axes"])]
        float(plane["scale"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: metadata field 'latent' is incomplete ({err!r})") from err
    anchors = latent.get("anchors")  # optional: older checkpoints have none (Randomize uses the prior)
    if anchors is not None:
        try:
            shape = np.asarray(anchors, np.float64).shape
            noise = float(latent["anchor_noise"])
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"{path}: latent.anchors is malformed ({err!r})") from err
        if len(shape) != 2 or shape[0] < 1 or shape[1] != z:
            raise CheckpointError(f"{path}: latent.anchors has shape {shape}, expected (N, {z})")
        if not np.isfinite(noise) or noise < 0:
            raise CheckpointError(f"{path}: latent.anchor_noise must be >= 0, got {noise}")
    if len(plane["axes"]) != 2:
        raise CheckpointError(f"{path}: latent.plane.axes must hold 2 vectors, got {len(plane['axes'])}")
    for name, size in sizes:
        if size != z:
            raise CheckpointError(f"{path}: {name} has {size} values, expected z_dim={z}")
    training = meta.get("training")  # optional: older checkpoints have none
    if training is not None and not (
            isinstance(training, dict) and isinstance(training.get("config"), dict)
            and isinstance(training.get("code_revision"), str)
            and (training.get("dirty") is None or isinstance(training.get("dirty"), bool))):
        raise CheckpointError(f"{path}: metadata field 'training' must hold 'config' (an object), "
                              "'code_revision' (a string) and 'dirty' (true, false or null)")
    if kind == "vae":
        vectors = meta.get("attribute_vectors")
        if not isinstance(vectors, dict):
            raise CheckpointError(f"{path}: metadata field 'attribute_vectors' is missing (plain VAE)")
        for name, vec in vectors.items():
            if len(vec) != z:
                raise CheckpointError(f"{path}: attribute_vectors[{name!r}] has {len(vec)} values, "
                                      f"expected z_dim={z}")
