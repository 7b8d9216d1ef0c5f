"""The instrument's networks on ONNX Runtime: the export folder ``groovefader export``
writes beside a checkpoint, and :class:`~engine.generation.backends.DrumNet` /
:class:`~engine.generation.backends.MelodyNet` on its graphs. Importing this module imports
neither torch nor onnxruntime; onnxruntime is imported when a folder is opened.

An export folder (``checkpoints/default.pt`` → ``checkpoints/default-onnx/``) holds:

- ``manifest.json``: format and version, the model kind (``drums`` | ``melody``), the
  graphs, the checkpoint it was made from (file name, size, SHA-256) and the verification
  against torch (largest absolute difference per output, the tolerance, the inputs).
- ``meta.json``: the checkpoint's metadata, as the checkpoint holds it.
- ``arrays.npz``: the checkpoint's arrays (a drum model's map of the data), read with
  ``allow_pickle=False``.
- the graphs: drums ``encoder.onnx`` (``patterns (B, T, 27)`` → ``mu, logvar``),
  ``decoder.onnx`` (``z, [attributes]`` → ``hit_logits, velocities, offsets``) and
  ``decoder_teacher.onnx`` (the same with ``teacher (B, T, 27), teacher_mask (B, T)``: the
  voice lock and transitions); melody ``encoder.onnx`` (``classes (B, T)`` →
  ``mu``). A melody's decoder is not a graph: its autoregressive loop runs in numpy
  (:mod:`engine.generation.melody_loop`; one ONNX Runtime call per 16th step cost more than
  the step's arithmetic) on the ``dec.*``/``cond.*`` arrays in ``arrays.npz``.

A folder whose checkpoint has changed since (another size or hash) is stale and is not
used: the generators fall back to torch and say why.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import CheckpointError, GrooveFaderError
from engine.generation.melody_loop import MelodyLoop, has_loop_arrays
from models.pathnames import shown

log = logging.getLogger(__name__)

EXPORT_FORMAT = "groovefader-onnx"
EXPORT_VERSION = 1
EXPORT_SUFFIX = "-onnx"  # checkpoints/default.pt -> checkpoints/default-onnx/
BACKEND_ENV = "GROOVEFADER_BACKEND"  # auto (default) | onnx | torch
BACKENDS = ("auto", "onnx", "torch")
HASH_CHUNK_BYTES = 1 << 20
TOLERANCE = 1e-4  # largest absolute difference from torch an export may have on any output
DECODE_CHUNK = 128  # rows per decoder run of a big batch: the memory arena stays a chunk's size


def export_dir_for(checkpoint: str | os.PathLike[str]) -> Path:
    """Where the export of ``checkpoint`` lives (a folder given is its own export)."""
    p = Path(checkpoint)
    if p.is_dir():
        return p
    return p.with_name(p.stem + EXPORT_SUFFIX)


def file_digest(path: Path) -> str:
    """SHA-256 of a file, hex."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK_BYTES):
            h.update(chunk)
    return h.hexdigest()


def chosen_backend(requested: str | None = None) -> str:
    """``requested``, else ``$GROOVEFADER_BACKEND``, else ``auto``.

    Raises:
        ValueError: an unknown name asked for.
        GrooveFaderError: an unknown name in the environment variable.
    """
    name = (requested or os.environ.get(BACKEND_ENV) or "auto").strip().lower()
    if name not in BACKENDS and not requested:  # the user's environment: one line, not a bug
        raise GrooveFaderError(f"${BACKEND_ENV} must be one of {', '.join(BACKENDS)}, got {name!r}")
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    return name


@dataclass(frozen=True)
class Export:
    """An opened export folder: its manifest, the checkpoint metadata and arrays."""

    folder: Path
    manifest: dict[str, Any]
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]

    def graph(self, name: str) -> Path:
        return self.folder / self.manifest["graphs"][name]


def find_export(checkpoint: str | os.PathLike[str], kind: str) -> tuple[Export | None, str]:
    """The usable export of ``checkpoint`` (``kind`` 'drums' or 'melody'), or None and why not.

    Not usable: no folder, onnxruntime not installed, a manifest of another format, version
    or kind, or a checkpoint that changed since the export (stale).
    """
    folder = export_dir_for(checkpoint)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        return None, f"no ONNX export ({shown(folder)})"
    try:
        import onnxruntime  # noqa: F401 - only whether it is there
    except ImportError:
        return None, "onnxruntime is not installed"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return None, f"{shown(manifest_path)}: unreadable ({err})"
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        return None, f"{shown(manifest_path)}: not a groovefader ONNX export"
    if manifest.get("version") != EXPORT_VERSION:
        return None, (f"{shown(manifest_path)}: export version {manifest.get('version')!r}, this "
                      f"groovefader reads {EXPORT_VERSION}; run groovefader export again")
    if manifest.get("kind") != kind:
        return None, f"{shown(folder)}: a {manifest.get('kind')!r} export, not {kind!r}"
    source = Path(checkpoint)
    made_from = manifest.get("checkpoint") or {}
    if source.is_file() and (source.stat().st_size != made_from.get("bytes")
                             or file_digest(source) != made_from.get("sha256")):
        return None, (f"{shown(folder)} is stale: {shown(source)} changed since it was exported "
                      "(run groovefader export again)")
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        missing = [g for g in manifest["graphs"].values() if not (folder / g).is_file()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        return None, f"{shown(folder)}: damaged export ({type(err).__name__}: {err})"
    if missing:
        return None, f"{shown(folder)}: damaged export: {', '.join(missing)} missing"
    return Export(folder, manifest, meta, arrays), ""


def open_export(checkpoint: str | os.PathLike[str], kind: str, backend: str | None) -> Export | None:
    """The export to play ``checkpoint`` on, or None to load the checkpoint with torch.

    ``backend``: 'auto' (the export when usable, the reason logged otherwise), 'onnx'
    (the export or an error), 'torch' (None).

    Raises:
        CheckpointError: 'onnx' asked for and the export is not usable.
    """
    name = chosen_backend(backend)
    if name == "torch":
        return None
    found, why = find_export(checkpoint, kind)
    if found is None:
        if name == "onnx" or Path(checkpoint).is_dir():
            raise CheckpointError(f"{shown(Path(checkpoint))}: cannot run on ONNX Runtime: {why}")
        log.info("%s: running on torch: %s", shown(Path(checkpoint)), why)
    return found


def _session(path: Path, threads: int = 1) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # idle pool threads sleep instead of spinning: the clock process shares the cores
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as err:  # noqa: BLE001 - onnxruntime raises its own types for bad graphs
        raise CheckpointError(f"{shown(path)}: damaged ONNX graph ({type(err).__name__}: "
                              f"{str(err).splitlines()[0][:160]})") from err


class OnnxDrumNet:
    """A drum export behind :class:`~engine.generation.backends.DrumNet`.

    Decodes run on one intra-op thread; :meth:`threads` switches to a second session of the
    same decoder with more threads (built on first use) for one big batch (the heat-map).
    """

    backend = "onnx"

    def __init__(self, export: Export) -> None:
        self.export = export
        self._encoder: Any = None  # built on first use (a clip loaded, the grid edited): start-up is shorter
        self._decoder = self._single = _session(export.graph("decoder"))
        self._teacher: Any = None  # built on first use (voice lock, transitions): ~2 MB less otherwise
        self._wide: dict[int, Any] = {}
        inputs = {i.name: i for i in self._decoder.get_inputs()}
        # (B, A): the fixed size of the graphs' attribute input
        self._num_attributes = int(inputs["attributes"].shape[1]) if "attributes" in inputs else 0

    def run_encoder(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._encoder is None:
            self._encoder = _session(self.export.graph("encoder"))
        mu, logvar = self._encoder.run(None, {"patterns": np.ascontiguousarray(x, np.float32)})
        return mu, logvar

    def run_decoder(self, z: np.ndarray, attributes: np.ndarray | None, teacher: np.ndarray | None, *,
                    temperature: float = 0.0, seed: int | None = None, hits_only: bool = False
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        b = len(z)
        feeds: dict[str, np.ndarray] = {"z": np.ascontiguousarray(z, np.float32)}
        if self._num_attributes:
            if attributes is None:  # the data mean, as the torch model takes None
                attributes = np.zeros((b, self._num_attributes), np.float32)
            feeds["attributes"] = np.ascontiguousarray(attributes, np.float32)
        if teacher is None:
            if b <= DECODE_CHUNK:
                logits, vel, off = self._decoder.run(None, feeds)
                return logits, vel, off
            # rows are independent: a big batch (the heat-map) in chunks keeps the session's
            # memory arena at a chunk's size instead of the whole batch's
            parts = [self._decoder.run(None, {k: v[i:i + DECODE_CHUNK] for k, v in feeds.items()})
                     for i in range(0, b, DECODE_CHUNK)]
            logits, vel, off = (np.concatenate(p) for p in zip(*parts, strict=True))
            return logits, vel, off
        teacher = np.ascontiguousarray(teacher, np.float32)
        feeds["teacher"] = teacher
        feeds["teacher_mask"] = np.ones(teacher.shape[:2], np.float32)
        if self._teacher is None:
            self._teacher = _session(self.export.graph("decoder_teacher"))
        logits, vel, off = self._teacher.run(None, feeds)
        return logits, vel, off

    @contextlib.contextmanager
    def threads(self, n: int) -> Iterator[None]:
        n = max(1, int(n))
        if n == 1:
            yield
            return
        if n not in self._wide:
            self._wide[n] = _session(self.export.graph("decoder"), threads=n)
        self._decoder = self._wide[n]
        try:
            yield
        finally:
            self._decoder = self._single


@dataclass(frozen=True)
class MelodyShape:
    """What the melody generator reads of a melody model's config (no torch needed)."""

    bars: int
    steps_per_bar: int
    z_dim: int
    num_classes: int
    decoder: str
    dec_layers: int
    dec_hidden: int

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> MelodyShape:
        c = meta["config"]
        return cls(int(c["bars"]), int(c["steps_per_bar"]), int(c["z_dim"]), int(c["num_classes"]),
                   str(c["decoder"]), int(c["dec_layers"]), int(c["dec_hidden"]))


class OnnxMelodyNet:
    """A melody export behind :class:`~engine.generation.backends.MelodyNet`: the encoder on
    ONNX Runtime, the decoder's loop in numpy (:class:`~engine.generation.melody_loop.MelodyLoop`).

    Greedy decodes equal torch's (``groovefader export`` checks it); sampled ones
    (``temperature > 0``) draw from the same softmax with numpy's generator seeded by
    ``seed``, so a seed gives another melody than on torch (torch's multinomial draws are
    not reproduced).
    """

    backend = "onnx"

    def __init__(self, export: Export) -> None:
        self.export = export
        try:
            self.config = MelodyShape.from_meta(export.meta)
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"{shown(export.folder)}: melody config incomplete ({err!r})") from err
        if not has_loop_arrays(export.arrays):
            raise CheckpointError(f"{shown(export.folder)}: a melody export without its decoder's arrays "
                                  "(made by an older groovefader); run groovefader export again")
        self._encoder: Any = None  # built on first use (a melody clip loaded): ~4 MB less otherwise
        self.loop = MelodyLoop(export.arrays, self.config.steps_per_bar, self.config.decoder == "hier")

    def run_encoder(self, classes: np.ndarray) -> np.ndarray:
        return self.run_posterior(classes)[0]

    def run_posterior(self, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._encoder is None:
            self._encoder = _session(self.export.graph("encoder"))
        mu, sigma = self._encoder.run(["mu", "sigma"], {"classes": np.ascontiguousarray(classes, np.int64)})
        return mu, sigma

    def run_decoder(self, z: np.ndarray, bars: int | None, temperature: float, seed: int | None,
                    forced: np.ndarray | None) -> np.ndarray:
        bars = self.config.bars if bars is None else int(bars)
        rng = np.random.default_rng(seed) if temperature > 0 else None
        return self.loop.decode(np.atleast_2d(z), bars, float(temperature), rng, forced)

    def run_beam(self, z: np.ndarray, bars: int | None, width: int) -> np.ndarray:
        bars = self.config.bars if bars is None else int(bars)
        return self.loop.beam(np.atleast_2d(z), bars, width)[0]
