"""Where the networks run: the model calls of the drum and melody generators behind one
small interface, so everything else a generator does (the map of the data, knobs, voice
lock, transitions) is numpy whichever runs them.

Two implementations:

- **torch** (:class:`TorchDrumNet`, :class:`TorchMelodyNet`): the checkpoint's own modules.
  Training, evaluation and ``groovefader export`` use it; any model kind runs on it.
- **ONNX Runtime** (:mod:`engine.generation.onnx_nets`): the graphs ``groovefader export``
  wrote and verified against torch. The instrument plays on it without importing torch.

Both return float32 numpy. Hit sampling is done by the drum generator from the logits with
:func:`step_uniforms`, a copy of torch's CPU generator, so a seed draws the same hits on
either path.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from engine.errors import CheckpointError
from models.pathnames import shown

UNIFORM_BITS = 24  # mantissa bits of a float32 uniform draw (torch's uniform_real_distribution)


@runtime_checkable
class DrumNet(Protocol):
    """The model calls of :class:`engine.generation.generator.Generator`.

    Shapes: patterns ``(B, T, 27)`` in the codec layout, ``z`` ``(B, Z)``, attributes
    ``(B, A)`` normalised (``(raw - mean) / std``), all float32.
    """

    backend: str  # "torch" or "onnx"

    def run_encoder(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(B, T, 27)`` → ``(mu, logvar)``, each ``(B, Z)``."""
        ...

    def run_decoder(self, z: np.ndarray, attributes: np.ndarray | None, teacher: np.ndarray | None, *,
                    temperature: float = 0.0, seed: int | None = None, hits_only: bool = False
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(hit_logits, velocities in [0, 1], offsets in [-0.5, 0.5])``, each ``(B, T, 9)``.

        ``teacher``: ``(B, T, 27)`` fed as the previous steps at every step, or None.
        ``temperature``/``seed``: the feedback sampling of an autoregressive decoder (a
        non-autoregressive one ignores them). ``hits_only``: velocities and offsets may be
        placeholders.
        """
        ...

    def threads(self, n: int) -> contextlib.AbstractContextManager[None]:
        """Run the calls inside with up to ``n`` intra-op threads (one big batch)."""
        ...


@runtime_checkable
class MelodyNet(Protocol):
    """The model calls of :class:`engine.generation.melody.MelodyGenerator`; ``config`` has
    ``bars``, ``steps_per_bar``, ``z_dim``, ``num_classes``."""

    backend: str
    config: Any

    def run_encoder(self, classes: np.ndarray) -> np.ndarray:
        """``(B, T)`` int64 classes → ``(B, Z)`` posterior means."""
        ...

    def run_decoder(self, z: np.ndarray, bars: int | None, temperature: float, seed: int | None,
                    forced: np.ndarray | None) -> np.ndarray:
        """Autoregressive decode of ``(B, Z)`` → ``(B, T)`` int64 classes (see
        :meth:`models.melody_vae.MelodyVAE.decode`)."""
        ...

    def run_posterior(self, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(B, T)`` int64 classes → ``(mu, sigma)`` of q(z|x), each ``(B, Z)``."""
        ...

    def run_beam(self, z: np.ndarray, bars: int | None, width: int) -> np.ndarray:
        """Beam search of ``width`` hypotheses: ``(B, Z)`` → ``(B, T)`` int64 classes, the
        most likely kept sequence per row (:meth:`engine.generation.melody_loop.MelodyLoop.beam`)."""
        ...


def torch_loader(path: str | Path, module: str, name: str, kind: str) -> Callable[..., Any]:
    """``module.name`` (a checkpoint loader, which needs torch), or one line saying why the
    checkpoint cannot be played (``kind``'s export unusable, torch missing) and what to do.

    Raises:
        CheckpointError: torch is not installed.
    """
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as err:
        if err.name != "torch":
            raise
        from engine.generation.onnx_nets import find_export

        why = find_export(path, kind)[1] or "the ONNX backend was not chosen"
        raise CheckpointError(
            f"{shown(Path(path))}: cannot play it: {why}, and torch is not installed (run "
            "`groovefader export --checkpoint` where torch is, or install groovefader[train])") from err


def step_uniforms(seed: int, batch: int, steps: int, voices: int) -> np.ndarray:
    """``(batch, steps, voices)`` float32 uniforms in [0, 1): exactly what
    ``torch.rand((batch, 1, voices), generator=torch.Generator().manual_seed(seed))`` gives
    drawn once per step and concatenated (an autoregressive decoder's feedback draws).

    torch's CPU generator is MT19937 seeded with the seed's low 32 bits, each float32 the
    low 24 bits of one 32-bit output times 2**-24; numpy's legacy generator is the same
    MT19937 with the same seeding.
    """
    words = np.random.RandomState(int(seed) & 0xFFFFFFFF).randint(
        0, 2 ** 32, size=steps * batch * voices, dtype=np.uint64)
    u = (words & ((1 << UNIFORM_BITS) - 1)).astype(np.float32) * np.float32(2.0 ** -UNIFORM_BITS)
    return u.reshape(steps, batch, voices).transpose(1, 0, 2)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function in the input's precision, without overflow for large ``|x|``."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


class TorchDrumNet:
    """A drum checkpoint's ``FaderVAE`` behind :class:`DrumNet`: eval mode, inference mode,
    one intra-op thread, the model on ``device``."""

    backend = "torch"

    def __init__(self, model: Any, device: str = "cpu") -> None:
        import torch

        torch.set_num_threads(1)
        self._torch = torch
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()

    def run_encoder(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch = self._torch
        with torch.inference_mode():
            mu, logvar = self.model.encode(torch.as_tensor(x, device=self.device))
        return mu.float().cpu().numpy(), logvar.float().cpu().numpy()

    def run_decoder(self, z: np.ndarray, attributes: np.ndarray | None, teacher: np.ndarray | None, *,
                    temperature: float = 0.0, seed: int | None = None, hits_only: bool = False
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        torch = self._torch
        dev = self.device
        a = None if attributes is None else torch.as_tensor(attributes, device=dev)
        t = None if teacher is None else torch.as_tensor(teacher, device=dev)
        with torch.inference_mode():
            # an autoregressive decoder samples the hits it feeds back with this generator
            gen = (torch.Generator(device=dev).manual_seed(int(seed))
                   if temperature > 0 and seed is not None else None)
            out = self.model.decode(torch.as_tensor(z, device=dev), a, teacher=t,
                                    temperature=float(temperature), generator=gen, hits_only=hits_only)
            return tuple(v.float().cpu().numpy() for v in (out.hit_logits, out.velocities, out.offsets))

    @contextlib.contextmanager
    def threads(self, n: int) -> Iterator[None]:
        torch = self._torch
        before = torch.get_num_threads()
        torch.set_num_threads(max(1, int(n)))
        try:
            yield
        finally:
            torch.set_num_threads(before)


class TorchMelodyNet:
    """A :class:`models.melody_vae.MelodyVAE` behind :class:`MelodyNet` (eval, no grad, one thread)."""

    backend = "torch"

    def __init__(self, model: Any) -> None:
        import torch

        torch.set_num_threads(1)
        self._torch = torch
        self.model = model.eval()
        self.config = model.config
        self._loop: Any = None  # the numpy loop for beam search, built on first use

    def run_encoder(self, classes: np.ndarray) -> np.ndarray:
        return self.run_posterior(classes)[0]

    def run_posterior(self, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch = self._torch
        with torch.no_grad():
            mu, sigma = self.model.encode(torch.from_numpy(np.asarray(classes, np.int64)))
        return mu.numpy(), sigma.numpy()

    def run_decoder(self, z: np.ndarray, bars: int | None, temperature: float, seed: int | None,
                    forced: np.ndarray | None) -> np.ndarray:
        torch = self._torch
        gen = torch.Generator().manual_seed(int(seed)) if seed is not None and temperature > 0 else None
        f = None if forced is None else torch.as_tensor(np.asarray(forced, np.int64))
        with torch.no_grad():
            out = self.model.decode(torch.as_tensor(np.asarray(z, np.float32)), bars=bars,
                                    temperature=float(temperature), forced=f, generator=gen)
        return out.numpy()

    def run_beam(self, z: np.ndarray, bars: int | None, width: int) -> np.ndarray:
        # the numpy loop on the model's own weights: the same search on either backend
        from engine.generation.melody_loop import MelodyLoop

        if self._loop is None:
            c = self.config
            self._loop = MelodyLoop(self.model.decoder_arrays(), c.steps_per_bar, c.decoder == "hier")
        bars = self.config.bars if bars is None else int(bars)
        return self._loop.beam(np.atleast_2d(np.asarray(z, np.float32)), bars, width)[0]
