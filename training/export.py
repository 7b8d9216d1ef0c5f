"""``groovefader export``: a checkpoint's networks as ONNX graphs the instrument plays on
without torch (:mod:`engine.generation.onnx_nets` describes the folder).

Every graph is checked before anything is written: the graphs run on ONNX Runtime through
the same code the instrument uses (:class:`~engine.generation.onnx_nets.OnnxDrumNet`,
:class:`~engine.generation.onnx_nets.OnnxMelodyNet`) and are compared with the torch model
(:mod:`engine.generation.backends`) on random inputs; the largest absolute difference per
output is reported and stored in the manifest, and past ``tolerance`` nothing is written.
A melody's decoder is written as arrays for its numpy loop
(:mod:`engine.generation.melody_loop`), checked the same way: its greedy and forced decodes
must equal torch's at every step.

Graphs are exported with torch's TorchScript-based exporter (``dynamo=False``, opset 17),
which needs the ``onnx`` package (in the ``train`` extra) but not ``onnxscript``; the dynamic
axis is the batch (and the melody's lengths).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from engine.errors import CheckpointError, GrooveFaderError
from engine.generation.backends import TorchDrumNet, TorchMelodyNet
from engine.generation.onnx_nets import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    TOLERANCE,
    Export,
    OnnxDrumNet,
    OnnxMelodyNet,
    export_dir_for,
    file_digest,
)
from models.checkpoint import load_checkpoint, read_payload
from models.pathnames import shown

OPSET = 17
VERIFY_BATCH = 16  # random inputs per check (plus a batch of 1)


class ExportError(GrooveFaderError):
    """The graphs could not be made, or differ from torch by more than the tolerance."""


@dataclass
class ExportReport:
    """What was written and how close the graphs came to torch."""

    folder: Path
    kind: str
    max_abs_diff: dict[str, float] = field(default_factory=dict)
    mismatched_classes: float = 0.0  # melody: share of greedy decode steps that differ
    bytes: int = 0

    def summary(self) -> str:
        worst = max(self.max_abs_diff.values()) if self.max_abs_diff else 0.0
        parts = ", ".join(f"{k} {v:.1e}" for k, v in self.max_abs_diff.items())
        return (f"{shown(self.folder)}: {self.kind} graphs, {self.bytes / 1e6:.2f} MB; largest difference "
                f"from torch {worst:.1e} ({parts})")


# -- graph wrappers ------------------------------------------------------------------------
class _DrumEncoder(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, patterns: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.encode(patterns)


class _DrumDecoder(nn.Module):
    """``z, [attributes]`` (and with ``teacher``: ``teacher, teacher_mask``) → logits,
    velocities, offsets. Two graphs: the teacher's projection and shifts cost a quarter of a
    batch-1 decode, and only the voice lock and transitions feed a teacher."""

    def __init__(self, model: nn.Module, attributes: bool, teacher: bool) -> None:
        super().__init__()
        self.model, self.attributes, self.teacher = model, attributes, teacher

    def forward(self, z: torch.Tensor, *rest: torch.Tensor) -> tuple[torch.Tensor, ...]:
        rest_list = list(rest)
        attrs = rest_list.pop(0) if self.attributes else None
        teacher, mask = rest_list if self.teacher else (None, None)
        out = self.model.decode(z, attrs, teacher=teacher, teacher_mask=None if mask is None else mask > 0.5)
        return out.hit_logits, out.velocities, out.offsets


class _MelodyEncoder(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.encode(classes)


def _onnx(module: nn.Module, args: tuple[torch.Tensor, ...], path: Path, inputs: list[str],
          outputs: list[str], dynamic: dict[str, dict[int, str]]) -> None:
    module.eval()
    # with grad enabled a conv decoder takes its reference path (module calls, static
    # shapes), which the exporter traces; its no-grad path is the same arithmetic
    with warnings.catch_warnings(), torch.enable_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        try:
            torch.onnx.export(module, args, str(path), dynamo=False, opset_version=OPSET,
                              input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                              do_constant_folding=True)
        except Exception as err:  # noqa: BLE001 - the exporter raises many types
            raise ExportError(f"cannot export {path.stem}: {type(err).__name__}: "
                              f"{str(err).splitlines()[0][:200]}") from err


# -- drums ---------------------------------------------------------------------------------
def _random_patterns(rng: np.random.Generator, b: int, steps: int) -> np.ndarray:
    hits = (rng.random((b, steps, 9)) < 0.25).astype(np.float32)
    vel = rng.uniform(0.1, 1.0, (b, steps, 9)).astype(np.float32) * hits
    off = rng.uniform(-0.5, 0.5, (b, steps, 9)).astype(np.float32) * hits
    return np.concatenate([hits, vel, off], axis=2)


def _drums(checkpoint: Path, tmp: Path, rng: np.random.Generator
           ) -> tuple[dict[str, str], dict[str, float], dict[str, Any], dict[str, np.ndarray]]:
    ck = load_checkpoint(checkpoint)
    cfg = ck.config
    if cfg.decoder_cell != "conv":
        raise ExportError(f"{shown(checkpoint)}: its decoder is autoregressive ({cfg.decoder_cell}), "
                          "which is not exported; it plays on torch")
    model = ck.model.eval()
    steps, a = cfg.steps, cfg.num_attributes
    b = 2
    x = torch.from_numpy(_random_patterns(rng, b, steps))
    _onnx(_DrumEncoder(model), (x,), tmp / "encoder.onnx", ["patterns"], ["mu", "logvar"],
          {"patterns": {0: "batch"}, "mu": {0: "batch"}, "logvar": {0: "batch"}})
    z = torch.randn(b, cfg.z_dim)
    args = (z,) + ((torch.randn(b, a),) if a else ())
    names = ["z"] + (["attributes"] if a else [])
    outs = ["hit_logits", "velocities", "offsets"]
    _onnx(_DrumDecoder(model, bool(a), False), args, tmp / "decoder.onnx", names, outs,
          {n: {0: "batch"} for n in names + outs})
    t_names = [*names, "teacher", "teacher_mask"]
    _onnx(_DrumDecoder(model, bool(a), True), (*args, x, torch.ones(b, steps)), tmp / "decoder_teacher.onnx",
          t_names, outs, {n: {0: "batch"} for n in t_names + outs})
    graphs = {"encoder": "encoder.onnx", "decoder": "decoder.onnx", "decoder_teacher": "decoder_teacher.onnx"}
    onnx_net = OnnxDrumNet(Export(tmp, {"graphs": graphs}, ck.meta, {}))
    torch_net = TorchDrumNet(model)
    diffs: dict[str, float] = {}

    def note(name: str, got: np.ndarray, want: np.ndarray) -> None:
        diffs[name] = max(diffs.get(name, 0.0), float(np.max(np.abs(got - want))))

    for n in (1, VERIFY_BATCH):
        xs = _random_patterns(rng, n, steps)
        for name, got, want in zip(("mu", "logvar"), onnx_net.run_encoder(xs), torch_net.run_encoder(xs),
                                   strict=True):
            note(name, got, want)
        zs = (rng.standard_normal((n, cfg.z_dim)) * rng.uniform(0.5, 2.0)).astype(np.float32)
        attrs = rng.standard_normal((n, a)).astype(np.float32) * 1.5 if a else None
        for teacher in (None, _random_patterns(rng, n, steps)):
            got = onnx_net.run_decoder(zs, attrs, teacher)
            want = torch_net.run_decoder(zs, attrs, teacher)
            for name, g, w in zip(("hit_logits", "velocities", "offsets"), got, want, strict=True):
                note(name, g, w)
    return graphs, diffs, ck.meta, dict(ck.arrays)


# -- melody --------------------------------------------------------------------------------
def _melody(checkpoint: Path, tmp: Path, rng: np.random.Generator
            ) -> tuple[dict[str, str], dict[str, float], dict[str, Any], dict[str, np.ndarray], float]:
    from models.melody_checkpoint import load_melody_checkpoint

    ck = load_melody_checkpoint(checkpoint)
    model, c = ck.model.eval(), ck.model.config
    b, t = 2, c.steps
    classes = torch.from_numpy(rng.integers(0, c.num_classes, (b, t)))
    _onnx(_MelodyEncoder(model), (classes,), tmp / "encoder.onnx", ["classes"], ["mu", "sigma"],
          {"classes": {0: "batch", 1: "steps"}, "mu": {0: "batch"}, "sigma": {0: "batch"}})
    graphs = {"encoder": "encoder.onnx"}
    arrays = model.decoder_arrays()  # the decoder's numpy loop (engine.generation.melody_loop)
    onnx_net = OnnxMelodyNet(Export(tmp, {"graphs": graphs}, ck.meta, arrays))
    torch_net = TorchMelodyNet(model)
    diffs: dict[str, float] = {}
    x = rng.integers(0, c.num_classes, (VERIFY_BATCH, t))
    posteriors = onnx_net.run_posterior(x), torch_net.run_posterior(x)
    for name, got, want in zip(("mu", "sigma"), *posteriors, strict=True):
        diffs[name] = float(np.max(np.abs(got - want)))
    differing, steps = 0, 0
    for n in (1, VERIFY_BATCH):
        z = (rng.standard_normal((n, c.z_dim)) * rng.uniform(0.5, 2.0)).astype(np.float32)
        length = 2 * c.bars  # past the window too: a flat state runs on, a conductor goes on
        forced = np.where(rng.random((n, length * c.steps_per_bar)) < 0.5,
                          rng.integers(0, c.num_classes, (n, length * c.steps_per_bar)), -1)
        for bars, f in ((None, None), (length, None), (length, forced)):
            got = onnx_net.run_decoder(z, bars, 0.0, None, f)
            want = torch_net.run_decoder(z, bars, 0.0, None, f)
            differing += int((got != want).sum())
            steps += got.size
    return graphs, diffs, ck.meta, arrays, differing / steps


# -- writing -------------------------------------------------------------------------------
def export_checkpoint(checkpoint: str | Path, out: str | Path | None = None, *,
                      tolerance: float = TOLERANCE, seed: int = 0) -> ExportReport:
    """Export ``checkpoint`` (drum or melody) to ``out`` (default: beside it, see
    :func:`~engine.generation.onnx_nets.export_dir_for`), replacing an older export whole.

    Raises:
        CheckpointError: the checkpoint cannot be loaded.
        ExportError: a graph cannot be made, or differs from torch by more than ``tolerance``
            (then nothing is written).
    """
    checkpoint = Path(checkpoint)
    if checkpoint.is_dir():
        raise CheckpointError(f"{shown(checkpoint)}: a folder; give the checkpoint file (.pt)")
    meta, _ = read_payload(checkpoint)
    kind = "melody" if meta.get("model_kind") == "melody_vae" else "drums"
    folder = Path(os.path.abspath(out)) if out is not None else export_dir_for(checkpoint)
    if folder.exists() and not _is_export(folder):  # replaced whole: only an earlier export
        raise ExportError(f"{shown(folder)}: exists and is not a groovefader export (it would be "
                          "replaced whole); choose a new folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        mismatched = 0.0
        if kind == "drums":
            graphs, diffs, meta, arrays = _drums(checkpoint, tmp, rng)
        else:
            graphs, diffs, meta, arrays, mismatched = _melody(checkpoint, tmp, rng)
        report = ExportReport(folder, kind, diffs, mismatched)
        worst = max(diffs.values())
        if not worst <= tolerance or mismatched > 0:
            extra = f", {mismatched:.1%} of greedy melody steps differ" if mismatched else ""
            raise ExportError(f"{shown(checkpoint)}: ONNX graphs differ from torch by {worst:.2e} "
                              f"(tolerance {tolerance:.1e}{extra}); nothing written")
        import onnxruntime

        manifest = {
            "format": EXPORT_FORMAT, "version": EXPORT_VERSION, "kind": kind, "graphs": graphs,
            "checkpoint": {"name": checkpoint.name, "bytes": checkpoint.stat().st_size,
                           "sha256": file_digest(checkpoint)},
            "verified": {"max_abs_diff": diffs, "tolerance": tolerance, "seed": seed,
                         "batches": [1, VERIFY_BATCH], "greedy_melody_steps_differing": mismatched},
            "opset": OPSET, "torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
        }
        # uncompressed: the map's codes (float16) barely compress, and inflating them cost
        # the app 30 ms of every start
        np.savez(tmp / "arrays.npz", **{k: np.ascontiguousarray(v) for k, v in arrays.items()})
        (tmp / "meta.json").write_text(json.dumps(meta, sort_keys=True) + "\n", encoding="utf-8")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n",
                                           encoding="utf-8")
        report.bytes = sum(p.stat().st_size for p in tmp.iterdir())
        tmp.chmod(0o755)  # mkdtemp's folder is private; an export is read by anyone
        _swap_in(tmp, folder)
        return report
    except OSError as err:
        raise ExportError(f"{shown(folder)}: cannot write the export: {err.strerror or err}") from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _is_export(folder: Path) -> bool:
    """Whether ``folder`` holds an export (its manifest says so) and nothing else."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        names = {p.name for p in folder.iterdir()}
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        return False
    graphs = manifest.get("graphs")
    files = {str(v) for v in graphs.values()} if isinstance(graphs, dict) else set()
    return names <= {"manifest.json", "meta.json", "arrays.npz", *files}


def _swap_in(tmp: Path, folder: Path) -> None:
    """Put the finished ``tmp`` folder at ``folder``; an older export is removed only after."""
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
    tmp.rename(folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export_after_training(checkpoint: Path, quiet: bool = False) -> ExportReport | None:
    """The end of a training run: export its checkpoint so the instrument plays it without
    torch. A model that cannot be exported (an autoregressive drum decoder) or is refused
    costs the run nothing: one line says why and the checkpoint plays on torch."""
    try:
        report = export_checkpoint(checkpoint)
    except (ExportError, CheckpointError) as err:
        print(f"not exported for ONNX Runtime: {err}", flush=True)
        return None
    if not quiet:
        print(f"exported: {report.summary()}", flush=True)
    return report
