"""The refined transition ends measured: the search's codes refined by gradient, with counts.

:class:`RefinedSearch` is a :class:`~engine.generation.melody.MelodyGenerator` whose
:meth:`search_codes` goes on with :meth:`~engine.generation.melody.MelodyGenerator.refine_codes`
(encoding by optimisation, torch) where the search's decodes miss the bar, counting the ends it
refines, the ones it makes exact and the seconds it spends (``training.melody.search_study
--refine-steps``). The settings (``REFINE_STEPS``, ``REFINE_LR``, ``REFINE_CHECK`` and the
window's weight 0) were chosen on 100 validation pairs of seed 2 (docs/studies/melody_transitions).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.generation.melody import (
    REFINE_CHECK,
    REFINE_LR,
    REFINE_STEPS,
    MelodyGenerator,
    agreement,
    bar_steps,
)
from engine.music.melody import Melody

REFINE_WHOLE = 0.0  # weight of the rest of the window's cross-entropy beside the bar's


class RefinedSearch(MelodyGenerator):
    """A generator whose :meth:`search_codes` refines the searched codes by gradient.

    ``steps`` 0 is the plain search. ``stats`` counts, over the calls so far, the ends refined,
    the ones made exact and the seconds spent refining; ``searched`` holds the last search's
    decodes before refining.
    """

    steps = REFINE_STEPS
    lr = REFINE_LR
    check = REFINE_CHECK
    whole = REFINE_WHOLE
    searched: np.ndarray | None = None

    @classmethod
    def load(cls, path: str | Path, steps: int = REFINE_STEPS, lr: float = REFINE_LR,
             check: int = REFINE_CHECK, whole: float = REFINE_WHOLE) -> RefinedSearch:
        """The generator of ``path`` on its usual backend (the gradients run on torch)."""
        gen = cls.from_checkpoint(path)
        gen.steps, gen.lr, gen.check, gen.whole = int(steps), float(lr), int(check), float(whole)
        gen.stats = {"refined": 0, "made_exact": 0, "seconds": 0.0}
        return gen

    def search_codes(self, melodies: Sequence[Melody], bars: Sequence[int] | None = None,
                     candidates: int = 32, beam: int = 1, seed: int = 0, rounds: int = 1,
                     elite: int = 8) -> tuple[np.ndarray, np.ndarray]:
        z, dec = super().search_codes(melodies, bars, candidates, beam, seed, rounds, elite)
        self.searched = dec
        if self.steps <= 0:
            return z, dec
        return self.refine(melodies, bars, z, beam, dec)

    def refine(self, melodies: Sequence[Melody], bars: Sequence[int] | None, z0: np.ndarray,
               beam: int = 1, decoded: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`refine_codes` with this generator's settings, counted in ``stats``
        (``decoded``: ``z0``'s decodes, when the search made them already)."""
        t0 = time.perf_counter()
        x = self._classes(melodies)
        cols = None if bars is None else bar_steps(bars, self.steps_per_bar, x.shape[1])

        def exact(dec: np.ndarray) -> np.ndarray:
            return agreement(dec[None], x, cols)[1][0]

        if decoded is None:
            decoded = self._decode_codes(np.asarray(z0, np.float32)[None], beam)[0]
        before = exact(decoded)
        z, dec = self.refine_codes(melodies, bars, z0, beam, self.steps, self.lr, self.check, self.whole)
        stats = getattr(self, "stats", None)
        if stats is not None and not before.all():
            stats["refined"] += int(np.count_nonzero(~before))
            stats["made_exact"] += int(np.count_nonzero(exact(dec) & ~before))
            stats["seconds"] += time.perf_counter() - t0
        return z, dec
