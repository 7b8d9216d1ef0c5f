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

import dataclasses
import io
import json
import os
import pickle
import re
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.atomic import atomic_write
from models.config import FaderVAEConfig
from models.errors import CheckpointError
from models.fader_vae import FaderVAE
from models.pathnames import one_line, shown
from models.vocabulary import KNOB_NAMES

FORMAT_NAME = "groovefader-checkpoint"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("format_version", "model_kind", "config", "attributes", "note_map",
                 "data_fingerprint", "metrics", "latent")
ATTRIBUTE_KEYS = ("names", "mean", "std", "low", "high")
DRUM_KINDS = ("fader_vae", "vae")  # other kinds ('melody_vae') have their own loader
# A config asking for more than these is refused before anything is built: a foreign or
# hand-edited file must not take the machine's memory (a z_dim of 10⁹ would ask for terabytes).
MAX_CONFIG_INT = 1 << 16  # any size, width, layer count or dimension
MAX_CONFIG_STEPS = 4096  # pattern length in steps (256 bars of 16ths)
CONFIG_LIMITS = {"steps": MAX_CONFIG_STEPS, "bars": MAX_CONFIG_STEPS // 16}
MAX_PARAMETERS = 100_000_000  # weights and buffers (400 MB of float32); the shipped model has 0.9 M
ZIP_MAGIC = b"PK\x03\x04"  # torch.save's format: a zip archive
PICKLE_MAGIC = b"\x80"  # the legacy torch.save format starts with a pickle protocol byte
MAX_JSON_SNIFF_BYTES = 16 * 1024 * 1024


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


def torch_bytes(obj: Any) -> bytes:
    """``torch.save``'s file as bytes: written to disk by plain writes, a full disk is an
    OSError saying so (torch's own writer answers one with an internal RuntimeError)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def save_checkpoint(path: str | os.PathLike, model: FaderVAE, config: FaderVAEConfig,
                    meta: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> Path:
    """Validate and write ``path`` (+ ``path.with_suffix('.json')``) atomically.

    ``format_version``, ``model_kind`` and ``config`` are filled in from the arguments.
    ``arrays`` (plain numeric arrays, e.g. the data map's groove bank) are stored as tensors
    beside the weights; only the .pt holds them.
    Raises:
        CheckpointError: if the metadata would not load back (missing field, wrong sizes),
            or the file cannot be written (full or read-only disk: the old file stays whole).
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
    data = torch_bytes(payload)
    try:  # the .pt first: the loader needs only it; a full disk leaves the old one whole
        atomic_write(path, lambda f: f.write(data))
        atomic_write(path.with_suffix(".json"), lambda f: f.write(meta_json + "\n"), text=True)
    except OSError as err:
        raise CheckpointError(f"{shown(path)}: cannot write checkpoint: {err.strerror or err}") from err
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
        raise CheckpointError(f"{shown(path)}: no such checkpoint file")
    sniff_foreign(path)
    try:
        with warnings.catch_warnings():  # torch's warnings about a foreign file: our one line says it
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        if found is None:  # bytes that only look like a pickle
            raise CheckpointError(f"{shown(path)}: not a checkpoint: unreadable pickle data "
                                  f"({_torch_reason(err)})") from err
        raise CheckpointError(
            f"{shown(path)}: refused: loading it would run Python code ({found.group(1)}); a "
            "groovefader checkpoint holds plain weights only") from err
    except Exception as err:  # noqa: BLE001 - torch/pickle raise many types for damaged bytes
        text = str(err)
        if "central directory" in text or isinstance(err, EOFError | zipfile.BadZipFile):
            raise CheckpointError(f"{shown(path)}: truncated checkpoint: the file ends early "
                                  f"({path.stat().st_size} bytes; copy it again)") from err
        raise CheckpointError(f"{shown(path)}: damaged checkpoint ({type(err).__name__}: "
                              f"{_torch_reason(err)})") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{shown(path)}: not a groovefader checkpoint: a PyTorch file of "
                              f"another program (no '{FORMAT_NAME}' marker)")
    try:
        meta = json.loads(payload["meta_json"])
        state = payload["state_dict"]
    except (KeyError, TypeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{shown(path)}: damaged checkpoint: metadata or weights missing "
                              f"({one_line(str(err))})") from err
    if not isinstance(meta, dict):
        raise CheckpointError(f"{shown(path)}: damaged checkpoint: metadata is not a JSON object")
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise CheckpointError(f"{shown(path)}: damaged checkpoint: its weights are not named tensors")
    raw = payload.get("arrays") or {}
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise CheckpointError(f"{shown(path)}: damaged checkpoint: its arrays are not tensors")
    return meta, state, {str(k): v.numpy() for k, v in raw.items()}


def _torch_reason(err: BaseException) -> str:
    """The line of a torch.load error that names the problem, without torch's advice around it."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    boiler = ("Weights only load failed", "Please file an issue", "Check the documentation")
    useful = [ln for ln in lines if not ln.startswith(boiler)] or lines or [type(err).__name__]
    return one_line(useful[0][:160])


def sniff_foreign(path: Path) -> None:
    """Name what a file that cannot be a checkpoint is, from its first bytes, before torch reads it.

    Raises:
        CheckpointError: an empty file, a MIDI file, a JSON file (a checkpoint's metadata
            copy is named as such), a zip that ends early, or bytes of no known kind.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(64)
    except OSError as err:
        raise CheckpointError(f"{shown(path)}: cannot read checkpoint: {err.strerror or err}") from err
    where = shown(path)
    if size == 0:
        raise CheckpointError(f"{where}: not a checkpoint: the file is empty")
    if head.startswith(b"MThd"):
        raise CheckpointError(f"{where}: not a checkpoint: a MIDI file (load it as a clip instead)")
    if head.lstrip()[:1] in (b"{", b"["):
        data = None
        if size <= MAX_JSON_SNIFF_BYTES:
            try:
                data = json.loads(path.read_bytes())
            except (ValueError, OSError):
                data = None
        if isinstance(data, dict) and "format_version" in data and "model_kind" in data:
            raise CheckpointError(f"{where}: not a checkpoint: the JSON copy of a checkpoint's metadata; "
                                  "load the .pt file beside it")
        kind = "a JSON file" if data is not None else "a text file"
        raise CheckpointError(f"{where}: not a checkpoint: {kind}")
    if head.startswith(ZIP_MAGIC):
        if not zipfile.is_zipfile(path):
            raise CheckpointError(f"{where}: truncated checkpoint: the file ends early "
                                  f"({size} bytes; copy it again)")
        return
    if head.startswith(PICKLE_MAGIC):
        return  # the legacy torch format; torch.load with weights_only judges it
    if all(b in b"\t\n\r" or 32 <= b < 127 or b >= 0x80 for b in head):
        try:
            head.decode("utf-8")  # a cut in the middle of a character still fails: then not text
            raise CheckpointError(f"{where}: not a checkpoint: a text file")
        except UnicodeDecodeError:
            pass
    raise CheckpointError(f"{where}: not a checkpoint: neither a PyTorch file nor a pickle "
                          f"(starts with {head[:8].hex(' ')})")


def check_config_sizes(config: Any, path: Path) -> None:
    """Refuse a config whose sizes are absurd, before any tensor is made.

    Every integer field must be an int in [0, MAX_CONFIG_INT]; lengths (``steps``, ``bars``)
    at most :data:`CONFIG_LIMITS`.

    Raises:
        CheckpointError: naming the first field out of bounds.
    """
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if not isinstance(f.default, int) or isinstance(f.default, bool):
            continue
        limit = CONFIG_LIMITS.get(f.name, MAX_CONFIG_INT)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
            raise CheckpointError(f"{shown(path)}: refused: its config asks for {f.name}={value!r} "
                                  f"(a whole number up to {limit} is expected)")


def build_checked(make: Callable[[], torch.nn.Module], state: dict[str, Any], path: Path) -> torch.nn.Module:
    """``make()``'s model with ``state`` loaded strictly, in eval mode; the shapes are compared on
    a model without storage (torch's meta device) first, so a config that disagrees with the
    weights, or asks for more than :data:`MAX_PARAMETERS`, allocates nothing.

    Raises:
        CheckpointError: the config cannot be built, is too large, or its weights' names or
            shapes differ from the file's (one line naming the first differences).
    """
    try:
        with torch.device("meta"):
            shell = make()
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{shown(path)}: invalid model config: {one_line(str(err))[:200]}") from err
    expected = {k: tuple(v.shape) for k, v in shell.state_dict().items()}
    total = sum(int(np.prod(s, dtype=np.int64)) for s in expected.values())
    if total > MAX_PARAMETERS:
        raise CheckpointError(f"{shown(path)}: refused: its config asks for a model of {total:,} weights "
                              f"(at most {MAX_PARAMETERS:,})")
    found = {k: tuple(v.shape) for k, v in state.items()}
    missing = [k for k in expected if k not in found]
    extra = [k for k in found if k not in expected]
    differ = [f"{k} {found[k]} in the file, {expected[k]} by the config" for k in expected
              if k in found and found[k] != expected[k]]
    if missing or extra or differ:
        parts = [f"{len(missing)} missing ({', '.join(missing[:3])})" if missing else "",
                 f"{len(extra)} unexpected ({', '.join(extra[:3])})" if extra else "",
                 f"{len(differ)} of another shape ({'; '.join(differ[:2])})" if differ else ""]
        raise CheckpointError(f"{shown(path)}: weights do not match the config: "
                              + ", ".join(p for p in parts if p))
    return load_weights(make(), state, path)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint safely (no pickled code) and rebuild its model in eval mode.

    Raises:
        CheckpointError: missing, truncated or foreign file, pickled code, wrong format
            version, missing metadata field, or weights whose names/shapes differ.
    """
    path = Path(path)
    meta, state, arrays = _read(path, map_location)
    check_version(meta, path)
    if "model_kind" in meta and meta["model_kind"] not in DRUM_KINDS:
        raise CheckpointError(f"{shown(path)}: a {meta.get('model_kind')!r} checkpoint, not a drum model "
                              f"({' or '.join(map(repr, DRUM_KINDS))})")
    for key in REQUIRED_KEYS:
        if key not in meta:
            raise CheckpointError(f"{shown(path)}: metadata field '{key}' is missing")
    if not isinstance(meta["config"], dict):
        raise CheckpointError(f"{shown(path)}: invalid model config: not a JSON object")
    try:
        config = FaderVAEConfig.from_dict(meta["config"])
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{shown(path)}: invalid model config: {one_line(str(err))}") from err
    check_config_sizes(config, path)
    try:
        _validate_meta(meta, config, path)
    except (TypeError, ValueError, KeyError, AttributeError) as err:  # hand-edited: wrong types
        raise CheckpointError(f"{shown(path)}: malformed metadata ({type(err).__name__}: "
                              f"{one_line(str(err))[:160]})") from err
    model = build_checked(lambda: FaderVAE(config), state, path)
    return Checkpoint(model=model, config=config, meta=meta, path=path, arrays=arrays)


def check_version(meta: dict[str, Any], path: Path) -> None:
    """Refuse another format version: a newer one names the update it needs.

    Raises:
        CheckpointError: ``format_version`` missing, not a whole number, or not
            :data:`FORMAT_VERSION`.
    """
    version = meta.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise CheckpointError(f"{shown(path)}: written by a newer groovefader (checkpoint format "
                              f"{version}; this one reads {FORMAT_VERSION}): update groovefader")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{shown(path)}: checkpoint format version {version!r} is not supported "
                              f"(this groovefader reads version {FORMAT_VERSION})")


def load_weights(model: torch.nn.Module, state: dict[str, Any], path: Path) -> torch.nn.Module:
    """``state`` loaded strictly into ``model``, returned in eval mode.

    Raises:
        CheckpointError: weights whose names or shapes differ from the model's.
    """
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as err:
        first = " ".join(str(err).split())[:300]
        raise CheckpointError(f"{shown(path)}: weights do not match the config (names or shapes): "
                              f"{first}") from err
    return model.eval()


def _validate_meta(meta: dict[str, Any], config: FaderVAEConfig, path: Path) -> None:
    for key in REQUIRED_KEYS:
        if key not in meta:
            raise CheckpointError(f"{shown(path)}: metadata field '{key}' is missing")
    kind = model_kind(config)
    if meta["model_kind"] != kind:
        raise CheckpointError(
            f"{shown(path)}: model_kind {meta['model_kind']!r} does not match its config ({kind!r})")
    attrs = meta["attributes"]
    if not isinstance(attrs, dict):
        raise CheckpointError(f"{shown(path)}: metadata field 'attributes' must be an object")
    for key in ATTRIBUTE_KEYS:
        if key not in attrs:
            raise CheckpointError(f"{shown(path)}: metadata field 'attributes.{key}' is missing")
    names = attrs["names"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"{shown(path)}: attributes.names must be a list of names")
    unknown = [n for n in names if n not in KNOB_NAMES]
    if unknown:
        raise CheckpointError(f"{shown(path)}: attribute(s) {', '.join(map(repr, unknown))} unknown to this "
                              f"groovefader (it knows {', '.join(KNOB_NAMES)})")
    if len(set(names)) != len(names):
        raise CheckpointError(f"{shown(path)}: attributes.names repeats a name ({names})")
    n = len(names)
    if config.num_attributes and n != config.num_attributes:
        raise CheckpointError(f"{shown(path)}: {n} attribute names for a model with "
                              f"{config.num_attributes} inputs")
    for key in ATTRIBUTE_KEYS[1:]:
        if len(attrs[key]) != n:
            raise CheckpointError(f"{shown(path)}: attributes.{key} has {len(attrs[key])} values, "
                                  f"expected {n}")
    latent = meta["latent"]
    z = config.z_dim
    try:
        plane = latent["plane"]
        sizes = [("latent.mean", len(latent["mean"])), ("latent.std", len(latent["std"])),
                 ("latent.plane.origin", len(plane["origin"]))]
        sizes += [(f"latent.plane.axes[{i}]", len(ax)) for i, ax in enumerate(plane["axes"])]
        float(plane["scale"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{shown(path)}: metadata field 'latent' is incomplete ({err!r})") from err
    anchors = latent.get("anchors")  # optional: older checkpoints have none (Randomize uses the prior)
    if anchors is not None:
        try:
            shape = np.asarray(anchors, np.float64).shape
            noise = float(latent["anchor_noise"])
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"{shown(path)}: latent.anchors is malformed ({err!r})") from err
        if len(shape) != 2 or shape[0] < 1 or shape[1] != z:
            raise CheckpointError(f"{shown(path)}: latent.anchors has shape {shape}, expected (N, {z})")
        if not np.isfinite(noise) or noise < 0:
            raise CheckpointError(f"{shown(path)}: latent.anchor_noise must be >= 0, got {noise}")
    if len(plane["axes"]) != 2:
        raise CheckpointError(f"{shown(path)}: latent.plane.axes must hold 2 vectors, "
                              f"got {len(plane['axes'])}")
    for name, size in sizes:
        if size != z:
            raise CheckpointError(f"{shown(path)}: {name} has {size} values, expected z_dim={z}")
    training = meta.get("training")  # optional: older checkpoints have none
    if training is not None and not (
            isinstance(training, dict) and isinstance(training.get("config"), dict)
            and isinstance(training.get("code_revision"), str)
            and (training.get("dirty") is None or isinstance(training.get("dirty"), bool))):
        raise CheckpointError(f"{shown(path)}: metadata field 'training' must hold 'config' (an object), "
                              "'code_revision' (a string) and 'dirty' (true, false or null)")
    if kind == "vae":
        vectors = meta.get("attribute_vectors")
        if not isinstance(vectors, dict):
            raise CheckpointError(f"{shown(path)}: metadata field 'attribute_vectors' is missing (plain VAE)")
        for name, vec in vectors.items():
            if len(vec) != z:
                raise CheckpointError(f"{shown(path)}: attribute_vectors[{name!r}] has {len(vec)} values, "
                                      f"expected z_dim={z}")
