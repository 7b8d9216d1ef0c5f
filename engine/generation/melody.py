"""The melody generator: a loaded melody VAE behind a numpy/:class:`Melody` API.

Beside the drum :class:`engine.generation.generator.Generator` and shaped like it: the
network runs behind :class:`~engine.generation.backends.MelodyNet`, on ONNX Runtime when
the checkpoint has a verified export beside it (torch never imported; sampled decodes then
draw with numpy's generator, see :class:`~engine.generation.onnx_nets.OnnxMelodyNet`), else
on torch (eval mode, no-grad, one thread), imported only when one is built, so importing
this module is cheap. What it shares with the drum generator —
latent paths (spherical by default) and drawing new material near the data (a stored
training code plus a little noise, the drums' ``sample_like_data``) — lives in
:mod:`engine.generation.latent_paths`.

Melodies are in C major / A minor inside the model (the training data's key); ``key=``
arguments transpose the output.

Transitions from melody A to melody B over N bars (``t_i = i / (N - 1)`` for output bar i;
output bar i is bar ``i mod W`` of a W-bar decode, W = the model's window, so every bar
keeps its phase in the phrase, as the drum transitions do):

1. **Latent mix**: bar i decodes ``z_i = slerp(z_A, z_B, t_i)`` (or linear), drawn
   ``along_data`` of the way (default :data:`ALONG_DATA`) toward the code at t_i of the
   cheapest chain of stored training codes from A to B (the drums'
   :class:`~engine.generation.data_path.GrooveGraph` over the checkpoint's stored window and
   phrase codes): the middle leans toward tunes people wrote while keeping the line's
   continuity (chosen on validation, docs/studies/melody_transitions; the chain itself
   leapt between bars, the plain line's middles were less tune-like). 0 plays the line.
2. **Teacher-forced mix**: every bar decodes ``z_A``, with the decoder's "previous note"
   inputs taken from a Bernoulli mix of A and B (looped to N bars): per 16th step
   (``mix_scale='note'``, p = step / (S - 1)) or per bar (``'bar'``, p = t_i); the first
   step/bar is always A's, the last always B's. The draws are ``'independent'`` (one per
   step or bar) or ``'switch'`` (the default): one uniform u shared by all, B's where
   p > u, so each step or bar is still B's with probability p but the inputs cross from A
   to B once instead of flickering between them (chosen on validation, where strategy 3's
   middles were told from real tunes less often; docs/melody.md). ``feed``: the mix is fed
   at every step but where the decoder strikes a note, which it hears (``'own-notes'``, the
   default), or at every step (``'all'``). Fed the mix's note where it struck its own, the
   decoder never heard which pitch it played and asked for it again: those repeats were what
   told strategy 3's middles from real tunes (docs/studies/melody_transitions).
3. **Both**: the latents of 1 with the forced inputs of 2.

The transition's first and last bars (``ends``) are ``'melodies'`` (the default: A's and
B's own bars, so a transition starts on A and lands on B whatever the model reproduces; the
bars between are the strategy's decodes), or as the strategy gives them: ``'decoded'``
(greedy from A's and B's posterior means, with the strategy's forced inputs) or
``'searched'``: free-running reconstructions found by :meth:`MelodyGenerator.search_codes`
(the candidate codes from A's and B's posteriors, refined over ``SEARCH_ROUNDS`` rounds,
whose decodes, greedy or by beam search, come closest to A's first bar and B's last bar;
those codes are also the path's ends) or ``'refined'``: the searched codes whose bars are not
reproduced exactly then refined by gradient (:meth:`MelodyGenerator.refine_codes`; needs
torch, imported then).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import CheckpointError
from engine.generation.backends import MelodyNet, TorchMelodyNet, torch_loader
from engine.generation.data_path import GrooveGraph
from engine.generation.latent_paths import interpolate, sample_near, sample_phrases
from engine.generation.melody_pad import MelodyPad, PhrasePad
from engine.music.melody import STEPS_PER_BAR, Melody, codec_meta, events_to_classes, transpose_to_key

STRATEGIES = (1, 2, 3)
MIX_SCALES = ("bar", "note")
MIX_DRAWS = ("independent", "switch")
FEEDS = ("own-notes", "all")  # what the teacher-forced strategies feed (module docstring)
FEED = "own-notes"  # their default (chosen on validation, docs/studies/melody_transitions)
ENDS = ("decoded", "searched", "refined", "melodies")
ALONG_DATA = 0.5  # share of the way from the latent line to the chain of stored codes
SEARCH_CANDIDATES = 32  # codes tried per melody by search_codes: the mean and 31 posterior draws
SEARCH_ELITE = 8  # best codes a refining round of search_codes draws around
SEARCH_ROUNDS = 8  # rounds of the searched transition ends' search (docs/studies/melody_transitions)
# the refined ends' gradient refinement (chosen on validation, docs/studies/melody_transitions)
REFINE_STEPS = 200  # Adam steps at most per code
REFINE_LR = 0.1
REFINE_CHECK = 10  # Adam steps between free-running decodes


def bar_steps(bars: Sequence[int] | np.ndarray, steps_per_bar: int, steps: int) -> np.ndarray:
    """``(B, S)`` step indices of bar ``bars[i]`` of each ``steps``-step window."""
    return (np.asarray(bars)[:, None] * steps_per_bar + np.arange(steps_per_bar)[None]) % steps


def agreement(dec: np.ndarray, x: np.ndarray, cols: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """How close decodes ``(K, R, T)`` come to classes ``x`` ``(R, T)``, as
    :meth:`MelodyGenerator.search_codes` ranks them: ``(K, R)`` scores (the steps agreeing
    on the window, plus ``T + 1`` per step agreeing on each row's bar ``cols`` ``(R, S)``; with
    ``cols`` None the window alone) and whether the bar (the window) is reproduced exactly."""
    agree = dec == x[None]
    if cols is None:
        return agree.sum(2).astype(np.float64), agree.all(2)
    c = np.broadcast_to(cols[None], (len(dec), *cols.shape))
    on_bar = np.take_along_axis(agree, c, axis=2)
    return agree.sum(2) + (x.shape[1] + 1.0) * on_bar.sum(2), on_bar.all(2)


def _keep_better(best: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], rows: np.ndarray,
                 found: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
    """Codes searched or refined for melodies ``rows``: where ``found``'s ``(code, decode,
    score, exact)`` scores above ``best``'s ``(codes, decodes, scores, done)`` it replaces
    them; a melody whose bar came out exact is done."""
    best_z, best_dec, best_s, done = best
    z, dec, score, exact = found
    better = score > best_s[rows]
    upd = rows[better]
    best_z[upd], best_dec[upd], best_s[upd] = z[better], dec[better], score[better]
    done[rows] |= exact


def events_of(classes: np.ndarray) -> np.ndarray:
    """A decode's ``(T,)`` classes as a melody's events."""
    return Melody.from_classes(classes).events


def loop_to(melody: Melody, bars: int) -> Melody:
    """``melody`` repeated and cut to ``bars`` whole bars (a short melody is padded to a bar)."""
    if melody.bars == 0:
        pad = np.full(melody.steps_per_bar - melody.steps, -2, np.int16)
        melody = Melody(np.concatenate([melody.events, pad]), melody.steps_per_bar)
    whole = melody.bar_slice(0, melody.bars)
    reps = -(-bars // whole.bars)
    return Melody.concatenate([whole] * reps).bar_slice(0, bars)


class MelodyGenerator:
    """Encode, decode, sample, interpolate and transition melodies with one loaded model.

    Args:
        model: a :class:`~engine.generation.backends.MelodyNet` (ONNX Runtime or torch), or a
            :class:`models.melody_vae.MelodyVAE`, which is run on torch.
        meta: the checkpoint metadata (``latent`` with ``anchors``/``anchor_noise`` optional).
    """

    def __init__(self, model: Any, meta: Mapping[str, Any]) -> None:
        self._net: MelodyNet = model if isinstance(model, MelodyNet) else TorchMelodyNet(model)
        self._meta = dict(meta)
        self._lock = threading.RLock()
        self.config = self._net.config
        if meta.get("codec") != codec_meta():
            raise CheckpointError(f"melody checkpoint made for codec {meta.get('codec')!r}; this "
                                  f"program's is {codec_meta()}")
        lat = meta.get("latent", {})
        anchors = lat.get("anchors")
        self._anchors = None if anchors is None else np.asarray(anchors, np.float64)
        self._anchor_noise = float(lat.get("anchor_noise", 0.0))
        phrases = lat.get("phrases")
        self._phrases = None if phrases is None else np.asarray(phrases, np.float64)
        self._phrase_noise = float(lat.get("phrase_noise", self._anchor_noise))
        self._pad: MelodyPad | None = None
        self._graph: GrooveGraph | None = None
        self._phrase_pad: PhrasePad | None = None
        self._source: Path | None = None  # the checkpoint file, for refine_codes' torch model
        self._grad_model: Any = None

    @classmethod
    def from_checkpoint(cls, path: str | Path, backend: str | None = None) -> MelodyGenerator:
        """On ONNX Runtime from the checkpoint's export folder when usable, else on torch
        (``backend``: 'auto' (default, or ``$GROOVEFADER_BACKEND``), 'onnx' or 'torch').

        Raises CheckpointError (one line) for a missing, damaged or drum checkpoint, or
        without a usable export where torch is not installed.
        """
        from engine.generation.onnx_nets import OnnxMelodyNet, open_export

        export = open_export(path, "melody", backend)
        if export is not None:
            gen = cls(OnnxMelodyNet(export), export.meta)
        else:
            ck = torch_loader(path, "models.melody_checkpoint", "load_melody_checkpoint", "melody")(path)
            gen = cls(ck.model, ck.meta)
        gen._source = Path(path)
        return gen

    @property
    def backend(self) -> str:
        """Where the network runs: 'onnx' (ONNX Runtime) or 'torch'."""
        return self._net.backend

    # -- facts -----------------------------------------------------------------------------
    @property
    def meta(self) -> dict[str, Any]:
        return dict(self._meta)

    @property
    def bars(self) -> int:
        return int(self.config.bars)

    @property
    def steps_per_bar(self) -> int:
        return int(self.config.steps_per_bar)

    @property
    def z_dim(self) -> int:
        return int(self.config.z_dim)

    @property
    def has_anchors(self) -> bool:
        return self._anchors is not None

    def transition_graph(self) -> GrooveGraph | None:
        """The graph of stored window and phrase codes transitions lean toward (None without
        stored codes), built on first use (about 0.3 s for 3,072 codes) and kept."""
        with self._lock:
            if self._graph is None and self._anchors is not None and len(self._anchors) > 1:
                codes = self._anchors
                if self._phrases is not None:
                    codes = np.vstack([codes, self._phrases.reshape(-1, self.z_dim)])
                self._graph = GrooveGraph(codes)
            return self._graph

    @property
    def anchors(self) -> np.ndarray | None:
        """``(N, Z)`` the stored training window codes Randomize draws near, or None."""
        return None if self._anchors is None else self._anchors.copy()

    @property
    def anchor_noise(self) -> float:
        """Std (prior units) of the noise added to a stored code when drawing near the data."""
        return self._anchor_noise

    @property
    def phrases(self) -> np.ndarray | None:
        """``(P, L, Z)`` stored phrases (a training tune's consecutive window codes), or None."""
        return None if self._phrases is None else self._phrases.copy()

    @property
    def pad(self) -> MelodyPad:
        """The melody pad: a map of this checkpoint's stored training codes
        (:mod:`engine.generation.melody_pad`), built on first use (~0.1 s) and kept."""
        with self._lock:
            if self._pad is None:
                self._pad = MelodyPad.build(self._anchors, self.z_dim)
            return self._pad

    @property
    def phrase_pad(self) -> PhrasePad | None:
        """The pad of longer tunes: a map of the stored phrases (None without them), built on
        first use and kept."""
        if self._phrases is None or len(self._phrases) < 2:
            return None
        with self._lock:
            if self._phrase_pad is None:
                self._phrase_pad = PhrasePad.build(self._phrases)
            return self._phrase_pad

    # -- encode / decode -------------------------------------------------------------------
    def fit(self, melody: Melody) -> Melody:
        """Looped or cut to the model's window and moved by octaves into its pitch range."""
        if melody.steps_per_bar != STEPS_PER_BAR:
            raise ValueError(f"melodies must have {STEPS_PER_BAR} steps per bar, got {melody.steps_per_bar}")
        return loop_to(melody.fit_range(), self.bars)

    def _classes(self, melodies: Sequence[Melody]) -> np.ndarray:
        """``(B, T)`` int64 classes of the melodies, each fitted with :meth:`fit`."""
        return np.stack([events_to_classes(self.fit(m).events) for m in melodies]).astype(np.int64)

    def encode_batch(self, melodies: Sequence[Melody]) -> np.ndarray:
        """``(B, Z)`` posterior means of the melodies (each fitted with :meth:`fit`)."""
        x = self._classes(melodies)
        with self._lock:
            mu = self._net.run_encoder(x)
        return np.asarray(mu, np.float64)

    def encode(self, melody: Melody) -> np.ndarray:
        """``(Z,)`` posterior mean."""
        return self.encode_batch([melody])[0]

    def decode_batch(self, z: np.ndarray, bars: int | None = None, temperature: float = 0.0,
                     seed: int | None = None, forced: np.ndarray | None = None) -> list[Melody]:
        """Decode ``(B, Z)`` latents to B melodies of ``bars`` bars (default: the model's).

        ``forced``: ``(B, T)`` classes fed as the decoder's previous inputs (-1 = its own;
        ``-2 - c``: class c unless the decoder struck a note there, then its own).
        """
        zz = np.atleast_2d(np.asarray(z, np.float32))
        f = None if forced is None else np.asarray(forced, np.int64)
        with self._lock:
            out = self._net.run_decoder(zz, bars, float(temperature), seed, f)
        return [Melody.from_classes(row, self.steps_per_bar) for row in out]

    def decode(self, z: np.ndarray, bars: int | None = None, temperature: float = 0.0,
               seed: int | None = None, key: str | None = None) -> Melody:
        """One melody from ``(Z,)``; ``key`` transposes it from C major (e.g. 'G', 'Eb')."""
        m = self.decode_batch(np.asarray(z)[None], bars, temperature, seed)[0]
        return m if key is None else transpose_to_key(m, key)

    def beam_search(self, z: np.ndarray, bars: int | None = None, width: int = 4) -> np.ndarray:
        """``(B, T)`` classes: the most likely decode of each latent that a beam of ``width``
        hypotheses finds (free-running; ``width`` 1 is greedy)."""
        zz = np.atleast_2d(np.asarray(z, np.float32))
        with self._lock:
            return np.asarray(self._net.run_beam(zz, bars, int(width)), np.int64)

    def reconstruct(self, melody: Melody, temperature: float = 0.0) -> Melody:
        return self.decode(self.encode(melody), temperature=temperature)

    def search_codes(self, melodies: Sequence[Melody], bars: Sequence[int] | None = None,
                     candidates: int = SEARCH_CANDIDATES, beam: int = 1, seed: int = 0,
                     rounds: int = 1, elite: int = SEARCH_ELITE) -> tuple[np.ndarray, np.ndarray]:
        """Codes whose free-running decodes come closest to ``melodies`` (each fitted with
        :meth:`fit`): the posterior mean and ``candidates - 1`` draws from q(z|x) are decoded
        (greedy, or beam search of width ``beam``) and the one agreeing with the melody on
        most steps of its bar ``bars[i]`` (then of the whole window; the mean on a tie) is kept.

        ``rounds`` > 1 refines the search (the cross-entropy method): while a melody's bar (its
        whole window without ``bars``) is not reproduced exactly, the next round draws
        ``candidates - 1`` codes around the last round's ``elite`` best (their mean and spread,
        never below a tenth of the posterior's) beside the best code yet.

        The melody picks among the model's own decodes; no decode is fed the melody's notes.
        Returns ``(B, Z)`` codes and their ``(B, T)`` decoded classes.
        """
        x = self._classes(melodies)
        n, t, spb = len(x), x.shape[1], self.steps_per_bar
        k = max(1, int(candidates))
        rng = np.random.default_rng(seed)
        cols = None if bars is None else bar_steps(bars, spb, t)

        def score(dec: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """``(K, R)`` scores of decodes ``(K, R, T)`` of melodies ``rows``; exact matches."""
            return agreement(dec, x[rows], None if cols is None else cols[rows])

        with self._lock:
            mu, sigma = (np.asarray(v, np.float32) for v in self._net.run_posterior(x))
            eps = rng.standard_normal((k - 1, *mu.shape)).astype(np.float32)
            zs = np.concatenate([mu[None], mu[None] + sigma[None] * eps])  # (K, B, Z)
            dec = self._decode_codes(zs, beam)
            s, exact = score(dec, np.arange(n))
            best = s.argmax(axis=0)  # the first maximum: the mean wins a tie
            rows = np.arange(n)
            best_z, best_dec, best_s = zs[best, rows], dec[best, rows], s[best, rows]
            done = exact[best, rows]
            round_z, round_s = zs, s  # the last round's codes, for the elite
            for _ in range(max(1, int(rounds)) - 1):
                todo = np.flatnonzero(~done)
                if todo.size == 0 or k < 2:
                    break
                top = np.argsort(-round_s[:, todo], axis=0, kind="stable")[:max(1, int(elite))]
                el = np.take_along_axis(round_z[:, todo], top[:, :, None], axis=0)  # (E, R, Z)
                centre, spread = el.mean(0), np.maximum(el.std(0), 0.1 * sigma[todo])
                draws = centre[None] + spread[None] * rng.standard_normal((k - 1, *centre.shape))
                cand = np.concatenate([best_z[todo][None], draws.astype(np.float32)])
                cdec = self._decode_codes(cand, beam)
                cs, cexact = score(cdec, todo)
                i, r = cs.argmax(axis=0), np.arange(todo.size)
                _keep_better((best_z, best_dec, best_s, done), todo,
                             (cand[i, r], cdec[i, r], cs[i, r], cexact[i, r]))
                round_z[:, todo], round_s[:, todo] = cand, cs
        return best_z.astype(np.float64), best_dec

    def refine_codes(self, melodies: Sequence[Melody], bars: Sequence[int] | None, codes: np.ndarray,
                     beam: int = 1, steps: int = REFINE_STEPS, lr: float = REFINE_LR,
                     check: int = REFINE_CHECK, whole: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """``codes`` (e.g. :meth:`search_codes`') refined by gradient where their decodes miss
        the melodies' bars ``bars`` (the whole windows without ``bars``): Adam (``lr``, at most
        ``steps`` steps) on each melody's teacher-forced cross-entropy under the decoder on the
        bar's steps (plus the rest of the window at weight ``whole``); every ``check`` steps the
        code is decoded free-running (greedy, or a beam of ``beam``) and scored as
        :meth:`search_codes` scores; the best-scoring code is kept (never worse than the given
        one) and a melody stops once its bar is exact. The melody reaches the objective and the
        score, never a decode (encoding by optimisation). Runs on torch, imported here.

        Returns ``(B, Z)`` codes and their ``(B, T)`` free-running decodes.

        Raises:
            CheckpointError: torch is not installed, or the generator was not loaded from a
                checkpoint file.
        """
        x = self._classes(melodies)
        n, t = x.shape
        cols = None if bars is None else bar_steps(bars, self.steps_per_bar, t)
        with self._lock:
            best_z = np.asarray(codes, np.float32).copy()
            best_dec = self._decode_codes(best_z[None], beam)[0]
            s, exact = agreement(best_dec[None], x, cols)
            best_s, done = s[0], exact[0].copy()
            todo = np.flatnonzero(~done)
            if todo.size == 0 or steps <= 0:
                return best_z.astype(np.float64), best_dec
            model = self._model_for_gradients()
            import torch
            import torch.nn.functional as F

            weight = np.full((n, t), 1.0 if cols is None else float(whole), np.float32)
            if cols is not None:
                np.put_along_axis(weight, cols, 1.0 + float(whole), axis=1)
            xt, wt = torch.from_numpy(x), torch.from_numpy(weight)
            z = torch.tensor(best_z, requires_grad=True)
            opt = torch.optim.Adam([z], lr=float(lr))
            check = max(1, int(check))
            for step in range(1, int(steps) + 1):
                rows = torch.from_numpy(todo)
                logits = model.decode_teacher(z[rows], xt[rows])
                ce = F.cross_entropy(logits.transpose(1, 2), xt[rows], reduction="none")
                (z.grad,) = torch.autograd.grad((ce * wt[rows]).sum(), z)  # the model's weights untouched
                opt.step()
                if step % check and step != steps:
                    continue
                cand = z.detach().numpy()[todo].copy()
                cdec = self._decode_codes(cand[None], beam)[0]
                cs, cexact = agreement(cdec[None], x[todo], None if cols is None else cols[todo])
                _keep_better((best_z, best_dec, best_s, done), todo, (cand, cdec, cs[0], cexact[0]))
                todo = np.flatnonzero(~done)
                if todo.size == 0:
                    break
        return best_z.astype(np.float64), best_dec

    def _model_for_gradients(self) -> Any:
        """The torch :class:`~models.melody_vae.MelodyVAE` (eval mode): the torch backend's own,
        else loaded once from the checkpoint file beside the export."""
        if self._grad_model is None:
            try:
                import torch
            except ModuleNotFoundError as err:
                if err.name != "torch":
                    raise
                raise CheckpointError("refining codes by gradient (the 'refined' ends) needs torch, which "
                                      "is not installed (install groovefader[train], or take the "
                                      "'searched' ends)") from err
            own = getattr(self._net, "model", None)
            if own is not None:
                self._grad_model = own.eval()
            elif self._source is None:
                raise CheckpointError("refining codes by gradient needs the generator loaded from a "
                                      "checkpoint file (MelodyGenerator.from_checkpoint)")
            else:
                from models.melody_checkpoint import load_melody_checkpoint

                torch.set_num_threads(1)
                self._grad_model = load_melody_checkpoint(self._source).model.eval()
        return self._grad_model

    def _decode_codes(self, zs: np.ndarray, beam: int) -> np.ndarray:
        """``(K, B, T)`` free-running decodes of ``(K, B, Z)`` codes (greedy, or a beam)."""
        k, n = zs.shape[:2]
        flat = zs.reshape(k * n, -1)
        dec = (self._net.run_beam(flat, None, beam) if beam > 1
               else self._net.run_decoder(flat, None, 0.0, None, None))
        return np.asarray(dec, np.int64).reshape(k, n, -1)

    # -- new material ----------------------------------------------------------------------
    def sample(self, n: int, temperature: float = 1.0, seed: int | None = None) -> np.ndarray:
        """``(n, Z)`` draws from the prior N(0, temperature² I)."""
        return np.random.default_rng(seed).standard_normal((int(n), self.z_dim)) * float(temperature)

    def sample_like_data(self, n: int, seed: int | None = None, distinct: bool = False) -> np.ndarray:
        """``(n, Z)``: stored training codes plus N(0, anchor_noise²) (``distinct``: no code
        twice while there are enough); the prior without codes."""
        if self._anchors is None:
            return self.sample(n, seed=seed)
        return sample_near(self._anchors, self._anchor_noise, n, seed, distinct=distinct)

    def sample_tunes(self, n: int, windows: int, seed: int | None = None, distinct: bool = False
                     ) -> np.ndarray:
        """``(n, windows, Z)`` codes of ``n`` new tunes of ``windows`` model windows, near the
        data: a longer tune is one stored phrase (a training tune's consecutive windows) plus
        one noise draw for the whole tune (σ ``latent.phrase_noise``, default the anchors'), so
        it keeps that tune's order, repeats and register;
        without stored phrases, or one window long, each window is its own draw. ``distinct``:
        no stored phrase (or code) twice while there are enough."""
        if self._phrases is not None and windows > 1:
            return sample_phrases(self._phrases, self._phrase_noise, windows, n, seed, shared=True,
                                  distinct=distinct)
        z = self.sample_like_data(n * windows, seed=seed, distinct=distinct)
        return z.reshape(n, windows, self.z_dim)

    def generate(self, count: int, bars: int | None = None, temperature: float = 0.0,
                 seed: int | None = None, key: str | None = None) -> list[Melody]:
        """``count`` new melodies of ``bars`` bars: model windows from :meth:`sample_tunes`
        (from as many different stored tunes or codes as there are), concatenated and cut to
        length."""
        bars = self.bars if bars is None else int(bars)
        if bars < 1 or count < 1:
            raise ValueError(f"count and bars must be >= 1, got {count}, {bars}")
        chunks = -(-bars // self.bars)
        z = self.sample_tunes(count, chunks, seed=seed, distinct=True).reshape(count * chunks, self.z_dim)
        decoded = self.decode_batch(z, temperature=temperature, seed=seed)
        out = []
        for i in range(count):
            m = Melody.concatenate(decoded[i * chunks:(i + 1) * chunks]).bar_slice(0, bars)
            out.append(m if key is None else transpose_to_key(m, key))
        return out

    def interpolate(self, za: np.ndarray, zb: np.ndarray, n: int, method: str = "slerp") -> np.ndarray:
        """``(n, Z)`` latents from ``za`` to ``zb``, ends included."""
        return interpolate(za, zb, n, method)

    # -- transitions -----------------------------------------------------------------------
    def bernoulli_mix(self, a: Melody, b: Melody, bars: int, mix_scale: str = "note",
                      seed: int | None = None, mix_draw: str = "switch") -> np.ndarray:
        """``(bars * 16,)`` classes: A looped to ``bars`` with steps (``'note'``) or bars
        (``'bar'``) replaced by B's with probability rising linearly 0 → 1, drawn
        independently or by one shared draw (``mix_draw='switch'``)."""
        if mix_scale not in MIX_SCALES:
            raise ValueError(f"mix_scale must be one of {MIX_SCALES}, got {mix_scale!r}")
        if mix_draw not in MIX_DRAWS:
            raise ValueError(f"mix_draw must be one of {MIX_DRAWS}, got {mix_draw!r}")
        ca = events_to_classes(loop_to(a.fit_range(), bars).events)
        cb = events_to_classes(loop_to(b.fit_range(), bars).events)
        rng = np.random.default_rng(seed)
        spb = self.steps_per_bar
        if mix_scale == "note":
            p = np.linspace(0.0, 1.0, len(ca))
        else:
            p = np.linspace(0.0, 1.0, bars) if bars > 1 else np.ones(1)
        u = rng.random() if mix_draw == "switch" else rng.random(len(p))
        from_b = u < p
        from_b[0], from_b[-1] = False, True
        if mix_scale == "bar":
            from_b = np.repeat(from_b, spb)
        return np.where(from_b, cb, ca)

    def transition(self, a: Melody, b: Melody, bars: int, strategy: int, *, mix_scale: str = "bar",
                   mix_draw: str = "switch", method: str = "slerp", seed: int | None = None,
                   temperature: float = 0.0, key: str | None = None, ends: str = "melodies",
                   candidates: int = SEARCH_CANDIDATES, beam: int = 1, along_data: float = ALONG_DATA,
                   path: np.ndarray | None = None, feed: str = FEED) -> Melody:
        """A ``bars``-bar melody from ``a`` to ``b`` (see the module docstring; ``candidates``
        and ``beam`` are the search of ``ends='searched'`` and ``'refined'``; ``path``: strategies 1 and 3's
        ``(bars, Z)`` latents bar by bar instead of their path from A's code to B's).

        Raises:
            ValueError: bad strategy, mix scale, draw or feed, ends, method, ``along_data`` or
                path, or fewer than 2 bars.
        """
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be 1, 2 or 3, got {strategy!r}")
        if mix_scale not in MIX_SCALES:
            raise ValueError(f"mix_scale must be one of {MIX_SCALES}, got {mix_scale!r}")
        if mix_draw not in MIX_DRAWS:
            raise ValueError(f"mix_draw must be one of {MIX_DRAWS}, got {mix_draw!r}")
        if feed not in FEEDS:
            raise ValueError(f"feed must be one of {FEEDS}, got {feed!r}")
        if not 0.0 <= along_data <= 1.0:
            raise ValueError(f"along_data must be in [0, 1], got {along_data!r}")
        if ends not in ENDS:
            raise ValueError(f"ends must be one of {ENDS}, got {ends!r}")
        if bars < 2:
            raise ValueError(f"a transition needs at least 2 bars, got {bars}")
        if path is not None and np.shape(path) != (bars, self.z_dim):
            raise ValueError(f"path must be ({bars}, {self.z_dim}), got {np.shape(path)}")
        w, spb = self.bars, self.steps_per_bar
        t = np.linspace(0.0, 1.0, bars)
        phase = np.arange(bars) % w
        first = last = None  # the end bars' events when they are not the strategy's decodes
        if ends == "refined":
            self._model_for_gradients()  # refused before the search when torch is missing
        if ends in ("searched", "refined"):
            (za, zb), found = self.search_codes([a, b], [0, phase[-1]], candidates, beam,
                                                0 if seed is None else seed, rounds=SEARCH_ROUNDS)
            if ends == "refined":
                (za, zb), found = self.refine_codes([a, b], [0, phase[-1]], np.stack([za, zb]), beam)
            first = events_of(found[0])[:spb]
            last = events_of(found[1])[phase[-1] * spb:(phase[-1] + 1) * spb]
        else:
            za, zb = self.encode_batch([a, b])
        if ends == "melodies":
            first = self.fit(a).events[:spb]
            last = self.fit(b).events[phase[-1] * spb:(phase[-1] + 1) * spb]
        if strategy == 2:
            z = np.repeat(za[None], bars, 0)
        else:
            z = interpolate(za, zb, t, method) if path is None else np.asarray(path, np.float64)
            # from a tune to itself the line stays on its code: nothing to lean toward
            lean = path is None and along_data > 0 and not np.allclose(za, zb)
            graph = self.transition_graph() if lean else None
            if graph is not None:
                z = graph.pulled(za, zb, t, z, along_data)
        forced = None
        if strategy in (2, 3):
            mix = self.bernoulli_mix(a, b, bars, mix_scale, seed, mix_draw)
            tail = events_to_classes(loop_to(b.fit_range(), bars + w).events)[bars * spb:]
            mix = np.concatenate([mix, tail])  # B goes on past the end: every window fits
            forced = np.stack([mix[(i - phase[i]) * spb:(i - phase[i] + w) * spb] for i in range(bars)])
            if feed == "own-notes":
                forced = -2 - forced  # the mix's class c, or the decoder's own note-on
        decoded = self.decode_batch(z, temperature=temperature, seed=seed, forced=forced)
        # raw bars, not bar_slice: a note held over a bar line stays held (no re-strike)
        parts = [decoded[i].events[phase[i] * spb:(phase[i] + 1) * spb] for i in range(bars)]
        if first is not None and last is not None:
            parts[0], parts[-1] = first, last
        m = Melody(np.concatenate(parts), spb)
        return m if key is None else transpose_to_key(m, key)
