"""Encoding by optimisation: the searched transition ends' codes refined by gradient (torch).

:meth:`~engine.generation.melody.MelodyGenerator.search_codes` picks, among codes drawn from
the posterior (in rounds), the one whose free-running decode comes closest to a melody's bar.
:class:`RefinedSearch` then moves each code whose bar is not reproduced exactly by Adam on the
melody's teacher-forced cross-entropy under the decoder (the bar's steps, plus the whole
window at weight ``whole``), starting from the searched code. Every ``check`` steps the code
is decoded free-running (greedy, or by beam search as the search decoded) and scored as the
search scores; the best-scoring code is kept (never worse than the searched one) and a row
stops once its bar is exact. The melody's notes reach only the objective and the score,
never the decode: it is an encoder that optimises its codes (semi-amortised inference).

Needs the torch model (the checkpoint's :class:`models.melody_vae.MelodyVAE`); the decodes
run on the generator's backend, as the search's do.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.generation.melody import MelodyGenerator, agreement, bar_steps
from engine.music.melody import Melody, events_to_classes

# chosen on 100 validation pairs (seed 2), docs/studies/melody_transitions/report.md
REFINE_STEPS = 200  # Adam steps at most per code
REFINE_LR = 0.1
REFINE_CHECK = 10  # Adam steps between free-running decodes
REFINE_WHOLE = 0.0  # weight of the whole window's cross-entropy beside the bar's


class RefinedSearch(MelodyGenerator):
    """A generator whose :meth:`search_codes` refines the searched codes by gradient.

    ``steps`` 0 is the plain search. ``stats`` counts, over the calls so far, the ends refined,
    the ones made exact and the seconds spent refining.
    """

    model: Any = None
    steps = REFINE_STEPS
    lr = REFINE_LR
    check = REFINE_CHECK
    whole = REFINE_WHOLE

    @classmethod
    def load(cls, path: str | Path, steps: int = REFINE_STEPS, lr: float = REFINE_LR,
             check: int = REFINE_CHECK, whole: float = REFINE_WHOLE) -> RefinedSearch:
        """The generator of ``path`` (its usual backend) with the checkpoint's torch model."""
        from models.melody_checkpoint import load_melody_checkpoint

        gen = cls.from_checkpoint(path)
        gen.model = load_melody_checkpoint(path).model.eval()
        for p in gen.model.parameters():
            p.requires_grad_(False)
        gen.steps, gen.lr, gen.check, gen.whole = int(steps), float(lr), max(1, int(check)), float(whole)
        gen.stats = {"refined": 0, "made_exact": 0, "seconds": 0.0}
        return gen

    def search_codes(self, melodies: Sequence[Melody], bars: Sequence[int] | None = None,
                     candidates: int = 32, beam: int = 1, seed: int = 0, rounds: int = 1,
                     elite: int = 8) -> tuple[np.ndarray, np.ndarray]:
        z, dec = super().search_codes(melodies, bars, candidates, beam, seed, rounds, elite)
        if self.steps <= 0 or self.model is None:
            return z, dec
        return self.refine(melodies, bars, z, beam)

    def refine(self, melodies: Sequence[Melody], bars: Sequence[int] | None, z0: np.ndarray,
               beam: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Codes ``(B, Z)`` from ``z0`` refined for ``melodies``' bars ``bars`` (see the module
        docstring) and their ``(B, T)`` free-running decodes."""
        import torch
        import torch.nn.functional as F

        t0 = time.perf_counter()
        x = np.stack([events_to_classes(self.fit(m).events) for m in melodies]).astype(np.int64)
        n, t = x.shape
        cols = None if bars is None else bar_steps(bars, self.steps_per_bar, t)
        best_z = np.asarray(z0, np.float32).copy()
        best_dec = self._decode_codes(best_z[None], beam)[0]
        s, exact = agreement(best_dec[None], x, cols)
        best_s, done = s[0], exact[0].copy()
        todo = np.flatnonzero(~done)
        if todo.size == 0:
            return best_z.astype(np.float64), best_dec
        weight = np.full((n, t), self.whole, np.float32)
        if cols is None:
            weight[:] = 1.0
        else:
            np.put_along_axis(weight, cols, 1.0 + self.whole, axis=1)
        xt, wt = torch.from_numpy(x), torch.from_numpy(weight)
        z = torch.tensor(best_z, requires_grad=True)
        opt = torch.optim.Adam([z], lr=self.lr)
        for step in range(1, self.steps + 1):
            rows = torch.from_numpy(todo)
            logits = self.model.decode_teacher(z[rows], xt[rows])
            ce = F.cross_entropy(logits.transpose(1, 2), xt[rows], reduction="none")
            opt.zero_grad()
            (ce * wt[rows]).sum().backward()
            opt.step()
            if step % self.check and step != self.steps:
                continue
            cand = z.detach().numpy()[todo].copy()
            cdec = self._decode_codes(cand[None], beam)[0]
            cs, cexact = agreement(cdec[None], x[todo], None if cols is None else cols[todo])
            better = cs[0] > best_s[todo]
            upd = todo[better]
            best_z[upd], best_dec[upd], best_s[upd] = cand[better], cdec[better], cs[0][better]
            done[todo] |= cexact[0]
            todo = np.flatnonzero(~done)
            if todo.size == 0:
                break
        stats = getattr(self, "stats", None)
        if stats is not None:
            stats["refined"] += int(n - np.count_nonzero(exact[0]))
            stats["made_exact"] += int(np.count_nonzero(done & ~exact[0]))
            stats["seconds"] += time.perf_counter() - t0
        return best_z.astype(np.float64), best_dec
