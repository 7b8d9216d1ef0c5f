"""Warm start of a hierarchical (conductor) melody VAE from a trained 2-bar flat one.

The conductor's note decoder only ever decodes one bar, from a bar embedding ``c_b``,
exactly as a flat 2-bar decoder decodes its first bar from ``z``. When the shapes agree
(``conductor_dim`` = the source's ``z_dim``, the same decoder size and layers) the source's
decoder (``dec_init``, ``decoder``, ``out``) becomes the note decoder as it is, and the
source's encoder LSTM the new encoder's starting point when its size matches (``to_mu`` and
``to_sigma`` are not copied: the new latent has its own size). A model with a hierarchical
encoder (``encoder='hier'``) takes the source's whole encoder of the mean, its LSTM and
``to_mu``, as the reader of each 2-bar segment (``segment_mu``); frozen, it gives each
segment exactly the source's code (and, with ``code_skip``, ``to_sigma`` as ``segment_sigma``:
the source's posterior of each segment).

What is left to learn first is to *say* each bar to that decoder: distillation fits the
conductor's ``c_b`` to the source encoder's posterior mean of bars ``(b, b + 1)`` of the
window, whose decode begins with bar ``b``. The last bar has no successor in the window, so
its target is the code of that bar played twice: a real bar followed by a real bar, the kind
of window the source was trained on (a silent second bar never occurs in its data).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from engine.errors import GrooveFaderError
from models.errors import CheckpointError
from models.melody_checkpoint import load_melody_checkpoint
from models.melody_vae import MelodyVAE
from models.pathnames import portable

NOTE_DECODER = ("dec_init.", "decoder.", "out.")  # the note decoder's parameters, by name prefix
ENCODER = ("encoder.",)  # the recurrent encoder (its projections to the latent depend on z_dim)
SEGMENT_ENCODER = ("encoder.", "segment_mu.", "segment_sigma.")  # a hierarchical encoder's 2-bar reader


def file_sha256(path: str | Path) -> str:
    """The source checkpoint's fingerprint, stored so a run can be rebuilt from the same file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_source(path: str | Path) -> MelodyVAE:
    """The 2-bar source model in eval mode.

    Raises:
        GrooveFaderError: an unreadable file or not a flat melody model.
    """
    try:
        source = load_melody_checkpoint(path).model
    except CheckpointError as err:
        raise GrooveFaderError(f"warm start: {err}") from err
    if source.config.decoder != "flat":
        raise GrooveFaderError(f"warm start: {path} has a {source.config.decoder!r} decoder; "
                               "the source must be a flat melody model")
    return source.eval()


def check_compatible(model: MelodyVAE, source: MelodyVAE, path: str | Path) -> None:
    """Refuse, in one message naming every mismatch, a source whose decoder cannot be copied."""
    c, s = model.config, source.config
    problems = []
    if c.decoder != "hier":
        problems.append(f"the model's decoder is {c.decoder!r}, not 'hier'")
    pairs = [("conductor_dim", c.conductor_dim, "z_dim", s.z_dim),
             ("dec_hidden", c.dec_hidden, "dec_hidden", s.dec_hidden),
             ("dec_layers", c.dec_layers, "dec_layers", s.dec_layers),
             ("num_classes", c.num_classes, "num_classes", s.num_classes),
             ("steps_per_bar", c.steps_per_bar, "steps_per_bar", s.steps_per_bar)]
    if s.bars != 2:
        problems.append(f"the source has {s.bars} bars, not 2")
    if c.encoder == "hier":
        pairs += [("segment_bars", c.segment_bars, "bars", s.bars),
                  ("segment_z", c.segment_z, "z_dim", s.z_dim),
                  ("enc_hidden", c.enc_hidden, "enc_hidden", s.enc_hidden)]
        if s.encoder != "flat":
            problems.append(f"the source's encoder is {s.encoder!r}, not 'flat'")
    problems += [f"{mine}={a} but the source's {theirs}={b}" for mine, a, theirs, b in pairs if a != b]
    if problems:
        raise GrooveFaderError(f"warm start: {path} does not fit this model: {'; '.join(problems)}")


def copy_weights(model: MelodyVAE, source: MelodyVAE, path: str | Path) -> list[str]:
    """Copy the note decoder and the encoder LSTM (when its size matches; a hierarchical
    encoder's segment reader always, with ``to_mu`` as ``segment_mu``, and ``to_sigma`` as
    ``segment_sigma`` with ``code_skip``); return the names copied.

    Raises:
        GrooveFaderError: an incompatible source (see :func:`check_compatible`).
    """
    check_compatible(model, source, path)
    mine, theirs = model.state_dict(), source.state_dict()
    names = [k for k in mine if k.startswith(NOTE_DECODER)]
    encoder = [k for k in mine if k.startswith(ENCODER)]
    if all(k in theirs and theirs[k].shape == mine[k].shape for k in encoder):
        names += encoder
    with torch.no_grad():
        for k in names:
            mine[k].copy_(theirs[k])
        if model.config.encoder == "hier":
            for part in ("weight", "bias"):
                mine[f"segment_mu.{part}"].copy_(theirs[f"to_mu.{part}"])
            names += ["segment_mu.weight", "segment_mu.bias"]
            if model.config.code_skip:
                for part in ("weight", "bias"):
                    mine[f"segment_sigma.{part}"].copy_(theirs[f"to_sigma.{part}"])
                names += ["segment_sigma.weight", "segment_sigma.bias"]
    return names


def segment_encoder_parameters(model: MelodyVAE) -> list[str]:
    """Names of a hierarchical encoder's 2-bar reader (frozen by ``--freeze-segment-encoder``)."""
    if model.config.encoder != "hier":
        return []
    return [k for k, _ in model.named_parameters() if k.startswith(SEGMENT_ENCODER)]


def note_decoder_parameters(model: MelodyVAE) -> list[str]:
    """Names of the note decoder's parameters (their own learning-rate group after distillation)."""
    return [k for k, _ in model.named_parameters() if k.startswith(NOTE_DECODER)]


@torch.no_grad()
def bar_targets(source: MelodyVAE, x: torch.Tensor, batch: int = 1024) -> torch.Tensor:
    """Distillation targets ``(N, bars, z)``: the source's posterior mean of bars ``(b, b + 1)``
    of each window ``x`` ``(N, T)``, the last bar paired with itself."""
    spb = source.config.steps_per_bar
    n, t = x.shape
    bars = x.view(n, t // spb, spb)
    pairs = torch.cat([bars, torch.cat([bars[:, 1:], bars[:, -1:]], dim=1)], dim=2).reshape(-1, 2 * spb)
    mus = [source.encode(pairs[i:i + batch])[0] for i in range(0, len(pairs), batch)]
    return torch.cat(mus).view(n, t // spb, -1)


@torch.no_grad()
def perfect_conductor_decode(source: MelodyVAE, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Greedy decode of each window ``x`` ``(N, T)`` by a conductor model whose note decoder is
    ``source``'s decoder and whose bar embeddings are exactly the distillation targets
    (:func:`bar_targets`): the ceiling of a warm-started conductor, what its note decoder can
    reproduce when the encoder and conductor are perfect."""
    s = source.config
    note = MelodyVAE(replace(s, decoder="hier", conductor_dim=s.z_dim)).eval()
    copy_weights(note, source, "source")
    bars = x.shape[1] // s.steps_per_bar
    out = []
    for i in range(0, len(x), batch):
        codes = bar_targets(source, x[i:i + batch])
        out.append(note.decode(codes.new_zeros(len(codes), s.z_dim), bars=bars, bar_conditioning=codes))
    return torch.cat(out)


def info(path: str | Path, source: MelodyVAE, copied: list[str]) -> dict[str, Any]:
    """What the run started from, for the checkpoints' metadata (its path relative to the
    repository when inside it: metadata is committed beside shipped models)."""
    return {"path": portable(str(path)), "sha256": file_sha256(path), "config": source.config.to_dict(),
            "copied": sorted({k.split(".")[0] for k in copied})}
