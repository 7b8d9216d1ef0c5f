"""``groovefader export``: a checkpoint's networks as ONNX graphs the instrument plays on
without torch (:mod:`engine.generation.onnx_nets` describes the folder).

Every graph is checked before anything is written: the graphs run on ONNX Runtime through
the same code the instrument uses (:class:`~engine.generation.onnx_nets.OnnxDrumNet`,
:class:`~engine.generation.onnx_nets.OnnxMelodyNet`) and are compared with the torch model
(:mod:`engine.generation.backends`) on random inputs; the largest absolute difference per
output is reported and stored in the manifest, and past ``tolerance`` nothing is written.

Graphs are exported with torch's TorchScript-based exporter (``dynamo=False``, opset 17),
which needs the ``onnx`` package (in the ``train`` extra) but not ``onnxscript``; the dynamic
axis is the batch (and the melody's lengths).
"""

from __future__ import annotations

import json
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


class _MelodyInit(nn.Module):
    """``cond (N, D)`` → the decoder's initial ``h, c (layers, N, H)`` and the bar's input
    term ``bias + cond @ w_cond.T (N, 4H)`` (:meth:`MelodyVAE.decode`)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m, c = self.model, self.model.config
        h0, c0 = m._init_state(cond)  # noqa: SLF001 - the model's own initial state
        dec = m.decoder
        w_cond = dec.weight_ih_l0[:, c.num_classes:]
        term = torch.addmm(dec.bias_ih_l0 + dec.bias_hh_l0, cond, w_cond.t())
        return h0, c0, term


class _MelodyStep(nn.Module):
    """One step of the hand-written LSTM of :meth:`MelodyVAE.decode`: ``prev (B,)`` class
    (``num_classes`` = none), ``cond_term (B, 4H)``, ``h, c (layers, B, H)`` → logits, h, c."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        c = model.config
        w_prev = model.decoder.weight_ih_l0[:, :c.num_classes].t()
        self.register_buffer("w_prev", torch.cat([w_prev, w_prev.new_zeros(1, w_prev.shape[1])]).detach())

    def forward(self, prev: torch.Tensor, cond_term: torch.Tensor, h: torch.Tensor, c: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        dec, layers = self.model.decoder, self.model.config.dec_layers
        x_term = cond_term + self.w_prev[prev]
        hs, cs = [], []
        below = None
        for k in range(layers):
            w_ih, w_hh = getattr(dec, f"weight_ih_l{k}"), getattr(dec, f"weight_hh_l{k}")
            bias = getattr(dec, f"bias_ih_l{k}") + getattr(dec, f"bias_hh_l{k}")
            if k > 0:
                x_term = torch.addmm(bias, below, w_ih.t())
            gates = torch.addmm(x_term, h[k], w_hh.t())
            ig, fg, gg, og = gates.chunk(4, dim=1)
            ck = torch.sigmoid(fg) * c[k] + torch.sigmoid(ig) * torch.tanh(gg)
            hk = torch.sigmoid(og) * torch.tanh(ck)
            hs.append(hk)
            cs.append(ck)
            below = hk
        return self.model.out(below), torch.stack(hs), torch.stack(cs)


class _MelodyConductor(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor, bar_clock: torch.Tensor) -> torch.Tensor:
        c = self.model.config
        s = torch.tanh(self.model.conductor_init(z)).view(z.shape[0], 2, c.conductor_hidden)
        h0, c0 = s[:, 0].unsqueeze(0).contiguous(), s[:, 1].unsqueeze(0).contiguous()
        out, _ = self.model.conductor(bar_clock, (h0, c0))
        return self.model.conductor_out(out)


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
            ) -> tuple[dict[str, str], dict[str, float], dict[str, Any], float]:
    from models.melody_checkpoint import load_melody_checkpoint

    ck = load_melody_checkpoint(checkpoint)
    model, c = ck.model.eval(), ck.model.config
    b, t = 2, c.steps
    classes = torch.from_numpy(rng.integers(0, c.num_classes, (b, t)))
    _onnx(_MelodyEncoder(model), (classes,), tmp / "encoder.onnx", ["classes"], ["mu", "sigma"],
          {"classes": {0: "batch", 1: "steps"}, "mu": {0: "batch"}, "sigma": {0: "batch"}})
    cond_dim = c.conductor_dim if c.decoder == "hier" else c.z_dim
    _onnx(_MelodyInit(model), (torch.randn(b, cond_dim),), tmp / "init.onnx", ["cond"],
          ["h", "c", "cond_term"], {"cond": {0: "batch"}, "h": {1: "batch"}, "c": {1: "batch"},
                                    "cond_term": {0: "batch"}})
    state = torch.randn(c.dec_layers, b, c.dec_hidden)
    _onnx(_MelodyStep(model), (torch.tensor([0, c.num_classes]), torch.randn(b, 4 * c.dec_hidden), state,
                               state.clone()),
          tmp / "step.onnx", ["prev", "cond_term", "h", "c"], ["logits", "h_out", "c_out"],
          {"prev": {0: "batch"}, "cond_term": {0: "batch"}, "h": {1: "batch"}, "c": {1: "batch"},
           "logits": {0: "batch"}, "h_out": {1: "batch"}, "c_out": {1: "batch"}})
    graphs = {"encoder": "encoder.onnx", "init": "init.onnx", "step": "step.onnx"}
    if c.decoder == "hier":
        _onnx(_MelodyConductor(model), (torch.randn(b, c.z_dim), torch.zeros(b, c.bars, 1)),
              tmp / "conductor.onnx", ["z", "bar_clock"], ["embeddings"],
              {"z": {0: "batch"}, "bar_clock": {0: "batch", 1: "bars"},
               "embeddings": {0: "batch", 1: "bars"}})
        graphs["conductor"] = "conductor.onnx"
    onnx_net = OnnxMelodyNet(Export(tmp, {"graphs": graphs}, ck.meta, {}))
    torch_net = TorchMelodyNet(model)
    diffs: dict[str, float] = {}
    x = rng.integers(0, c.num_classes, (VERIFY_BATCH, t))
    diffs["mu"] = float(np.max(np.abs(onnx_net.run_encoder(x) - torch_net.run_encoder(x))))
    # one step from random states, against the model's own LSTM cell
    with torch.no_grad():
        step = _MelodyStep(model)
        prev = rng.integers(0, c.num_classes + 1, VERIFY_BATCH)
        term = rng.standard_normal((VERIFY_BATCH, 4 * c.dec_hidden)).astype(np.float32)
        hc = rng.standard_normal((2, c.dec_layers, VERIFY_BATCH, c.dec_hidden)).astype(np.float32)
        want = [v.numpy() for v in step(torch.from_numpy(prev), torch.from_numpy(term),
                                        torch.from_numpy(hc[0]), torch.from_numpy(hc[1]))]
    sess = onnx_net._step  # noqa: SLF001 - the graph itself
    got = sess.run(None, {"prev": prev.astype(np.int64), "cond_term": term, "h": hc[0], "c": hc[1]})
    for name, g, w in zip(("logits", "h", "c"), got, want, strict=True):
        diffs[name] = float(np.max(np.abs(g - w)))
    z = rng.standard_normal((VERIFY_BATCH, c.z_dim)).astype(np.float32)
    same = onnx_net.run_decoder(z, None, 0.0, None, None) == torch_net.run_decoder(z, None, 0.0, None, None)
    return graphs, diffs, ck.meta, 1.0 - float(same.mean())


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
    folder = Path(out) if out is not None else export_dir_for(checkpoint)
    folder.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        mismatched = 0.0
        if kind == "drums":
            graphs, diffs, meta, arrays = _drums(checkpoint, tmp, rng)
        else:
            graphs, diffs, meta, mismatched = _melody(checkpoint, tmp, rng)
            arrays = {}
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
