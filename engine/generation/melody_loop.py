"""The melody decoder's autoregressive loop in numpy: greedy, sampled, forced and beam search.

A melody is decoded one 16th step at a time at batch 1 when the app asks for one, so what
each step costs is mostly the framework's per-call overhead, not arithmetic (a 256-unit
LSTM step is 0.26 M multiply-adds). This loop does one matrix-vector product per layer and
step: the top layer's state times ``[W_hh | W_out]`` gives this step's logits *and* the next
step's recurrent term (a lower layer's gives its next recurrent term and the layer above's
input term), the previous class's input term is a row lookup (the input is one-hot), the
bar's conditioning term is computed once per bar, and the gates are stored as
``[input, forget, output | cell]`` so one ``tanh`` serves the three sigmoids
(``sigmoid(x) = (1 + tanh(x / 2)) / 2``).

The arrays come from :meth:`models.melody_vae.MelodyVAE.decoder_arrays` (written into a
melody export's ``arrays.npz`` by ``groovefader export``, which checks this loop's greedy
decodes against torch's before writing). Names (``H`` decoder units, ``L`` layers, ``C``
classes, ``D`` the per-bar conditioning size: ``z`` for a flat decoder, the conductor's
embedding for a hierarchical one; every ``4H`` axis in the gate order above):

- ``dec.init_w (D, 2·L·H)``, ``dec.init_b``: the bar's initial ``h, c`` = ``tanh(cond @ w + b)``;
- ``dec.cond_w (D, 4H)``, ``dec.bias0 (4H,)``: layer 0's conditioning term and its biases;
- ``dec.prev_w (C + 1, 4H)``: layer 0's previous-class term, row C (no previous class) zero;
- ``dec.fused{k} (H, 4H + 4H | C)``: layer k's ``[W_hh | W_ih of layer k+1]`` or, on top, ``[W_hh | W_out]``;
- ``dec.bias{k}`` (k ≥ 1), ``dec.out_b (C,)``;
- hierarchical: ``cond.init_w (Z, 2·Hc)``, ``cond.init_b``, ``cond.hh (Hc, 4Hc)``,
  ``cond.bias (4Hc,)`` (its input is zeros), ``cond.out_w (Hc, D)``, ``cond.out_b``.

Beam search (:meth:`MelodyLoop.beam`) keeps the ``width`` most likely class sequences under
the decoder given ``z`` (sum of log-probabilities; every sequence has the same length) and
returns the best: still free-running (each hypothesis is fed its own previous classes),
never fed the melody it should reproduce.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

PREFIXES = ("dec.", "cond.")
FIRST_NOTE = 2  # the first note-on class (engine.music.melody.NUM_SPECIAL)


def fed_class(forced: np.ndarray, own: np.ndarray) -> np.ndarray:
    """The class fed to the next step: ``forced`` where >= 0, the decoder's ``own`` where -1,
    and for ``forced = -2 - c`` class ``c`` unless ``own`` is a note-on (then ``own``): the
    decoder hears the notes it strikes and the forced melody everywhere else."""
    keep_own = (forced == -1) | ((forced <= -2) & (own >= FIRST_NOTE))
    return np.where(forced >= 0, forced, np.where(keep_own, own, -2 - forced))


def has_loop_arrays(arrays: Mapping[str, np.ndarray]) -> bool:
    """Whether ``arrays`` hold a melody decoder's loop weights."""
    return "dec.prev_w" in arrays and "dec.fused0" in arrays


def _sigmoid_tanh(g: np.ndarray, hidden: int) -> None:
    """In place: sigmoid on ``g[:, :3H]`` (input, forget, output gates), tanh on the cell."""
    s = g[:, :3 * hidden]
    s *= 0.5
    np.tanh(s, out=s)
    s *= 0.5
    s += 0.5
    np.tanh(g[:, 3 * hidden:], out=g[:, 3 * hidden:])


def sample_softmax(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One class per row drawn from softmax(logits) (inverse CDF, float64)."""
    x = logits.astype(np.float64)
    p = np.exp(x - x.max(axis=-1, keepdims=True))
    cdf = np.cumsum(p, axis=-1)
    u = rng.random((len(x), 1)) * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(axis=-1), x.shape[-1] - 1).astype(np.int64)


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


class MelodyLoop:
    """The decoder of one melody model (see the module docstring for the arrays).

    Args:
        arrays: the ``dec.*`` (and for a hierarchical model ``cond.*``) arrays.
        steps_per_bar: 16th steps in a bar.
        hierarchical: a conductor gives each bar its conditioning and the decoder restarts
            every bar; otherwise ``z`` conditions every bar and the state runs on.
    """

    def __init__(self, arrays: Mapping[str, np.ndarray], steps_per_bar: int, hierarchical: bool) -> None:
        a = {k: np.ascontiguousarray(v, np.float32) for k, v in arrays.items() if k.startswith(PREFIXES)}
        self.spb = int(steps_per_bar)
        self.hier = bool(hierarchical)
        self.prev_w = a["dec.prev_w"]
        self.num_classes = self.prev_w.shape[0] - 1
        self.hidden = self.prev_w.shape[1] // 4
        self.layers = sum(1 for k in a if k.startswith("dec.fused"))
        self.fused = [a[f"dec.fused{k}"] for k in range(self.layers)]
        # the recurrent parts alone (a bar's first step), contiguous
        self.hh = [np.ascontiguousarray(f[:, :4 * self.hidden]) for f in self.fused]
        self.bias = [a["dec.bias0"]] + [a[f"dec.bias{k}"] for k in range(1, self.layers)]
        self.init_w, self.init_b = a["dec.init_w"], a["dec.init_b"]
        self.cond_w, self.out_b = a["dec.cond_w"], a["dec.out_b"]
        if self.hier:
            self.c_init_w, self.c_init_b = a["cond.init_w"], a["cond.init_b"]
            self.c_hh, self.c_bias = a["cond.hh"], a["cond.bias"]
            self.c_out_w, self.c_out_b = a["cond.out_w"], a["cond.out_b"]

    # -- per bar -------------------------------------------------------------------------
    def bar_conditions(self, z: np.ndarray, bars: int) -> np.ndarray:
        """``(B, bars, D)``: the conductor's bar embeddings, or ``z`` for every bar."""
        z = np.ascontiguousarray(z, np.float32)
        if not self.hier:
            return np.broadcast_to(z[:, None], (len(z), bars, z.shape[1]))
        hc = self.c_hh.shape[0]
        s = np.tanh(z @ self.c_init_w + self.c_init_b)
        h, c = s[:, :hc], s[:, hc:]
        out = np.empty((len(z), bars, hc), np.float32)
        for bar in range(bars):
            g = h @ self.c_hh + self.c_bias
            _sigmoid_tanh(g, hc)
            c = g[:, hc:2 * hc] * c + g[:, :hc] * g[:, 3 * hc:]
            h = g[:, 2 * hc:3 * hc] * np.tanh(c)
            out[:, bar] = h
        return out @ self.c_out_w + self.c_out_b

    def _start(self, cond: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """A bar's initial ``h, c`` per layer and layer 0's conditioning term ``(N, 4H)``."""
        n, hid, layers = len(cond), self.hidden, self.layers
        s = np.tanh(cond @ self.init_w + self.init_b).reshape(n, 2, layers, hid)
        h = [np.ascontiguousarray(s[:, 0, k]) for k in range(layers)]
        c = [np.ascontiguousarray(s[:, 1, k]) for k in range(layers)]
        return h, c, cond @ self.cond_w + self.bias[0]

    # -- decoding ------------------------------------------------------------------------
    def decode(self, z: np.ndarray, bars: int, temperature: float = 0.0,
               rng: np.random.Generator | None = None, forced: np.ndarray | None = None) -> np.ndarray:
        """``(B, Z)`` → ``(B, bars · steps_per_bar)`` int64 classes: greedy
        (``temperature`` 0) or drawn from softmax(logits / temperature) with ``rng``;
        ``forced`` ``(B, T)``: per step the class fed to the next step (-1: the model's own;
        ``-2 - c``: class ``c`` unless the model struck a note there, then its own)."""
        if temperature > 0 and rng is None:
            rng = np.random.default_rng()
        conds = self.bar_conditions(z, bars)
        b, hid = conds.shape[0], self.hidden
        out = np.empty((b, bars * self.spb), np.int64)
        prev = np.full(b, self.num_classes, np.int64)  # the zero row: no previous class
        h: list[np.ndarray] = []
        c: list[np.ndarray] = []
        rec: list[np.ndarray] = []
        cond_term = np.zeros((b, 4 * hid), np.float32)
        for bar in range(bars):
            if bar == 0 or self.hier:  # a flat decoder's state runs on over its bars
                h, c, cond_term = self._start(np.ascontiguousarray(conds[:, bar]))
                rec = [h[k] @ self.hh[k] for k in range(self.layers)]
            for step in range(self.spb):
                x_term = cond_term + self.prev_w[prev]
                r = self._step(x_term, h, c, rec)
                logits = r[:, 4 * hid:] + self.out_b
                if temperature > 0:
                    cls = sample_softmax(logits / np.float32(temperature), rng)
                else:
                    cls = logits.argmax(axis=-1)
                i = bar * self.spb + step
                out[:, i] = cls
                prev = cls if forced is None else fed_class(forced[:, i], cls)
        return out

    def _step(self, x_term: np.ndarray, h: list[np.ndarray], c: list[np.ndarray],
              rec: list[np.ndarray]) -> np.ndarray:
        """One step of the stacked LSTM (``h``, ``c``, ``rec`` updated in place); the top
        layer's fused product, whose tail is the output projection."""
        hid, top = self.hidden, self.layers - 1
        for k in range(self.layers):
            g = rec[k] + x_term
            _sigmoid_tanh(g, hid)
            c[k] = g[:, hid:2 * hid] * c[k] + g[:, :hid] * g[:, 3 * hid:]
            h[k] = g[:, 2 * hid:3 * hid] * np.tanh(c[k])
            r = h[k] @ self.fused[k]
            rec[k] = r[:, :4 * hid]
            if k < top:
                x_term = r[:, 4 * hid:] + self.bias[k + 1]
        return r

    def beam(self, z: np.ndarray, bars: int, width: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """Beam search: ``(B, T)`` classes of the most likely of ``width`` kept hypotheses
        per row, and their log-probabilities ``(B,)``. ``width`` 1 is greedy decoding."""
        width = max(1, int(width))
        conds = self.bar_conditions(z, bars)
        b, hid, ncls = conds.shape[0], self.hidden, self.num_classes
        t_total = bars * self.spb
        # hypotheses row-major: row r's beams at r * width .. r * width + width - 1
        rows = np.repeat(np.arange(b), width)
        score = np.tile(np.r_[0.0, np.full(width - 1, -np.inf)], b)  # one live start per row
        seqs = np.zeros((b * width, t_total), np.int64)
        prev = np.full(b * width, ncls, np.int64)
        h: list[np.ndarray] = []
        c: list[np.ndarray] = []
        rec: list[np.ndarray] = []
        cond_term = np.zeros((b * width, 4 * hid), np.float32)
        for bar in range(bars):
            if bar == 0 or self.hier:
                start_h, start_c, start_term = self._start(np.ascontiguousarray(conds[:, bar]))
                h = [x[rows] for x in start_h]
                c = [x[rows] for x in start_c]
                cond_term = start_term[rows]
                rec = [h[k] @ self.hh[k] for k in range(self.layers)]
            for step in range(self.spb):
                x_term = cond_term + self.prev_w[prev]
                r = self._step(x_term, h, c, rec)
                logp = log_softmax(r[:, 4 * hid:] + self.out_b)  # (B·W, C)
                cand = (score[:, None] + logp).reshape(b, width * ncls)
                best = np.argsort(-cand, axis=1, kind="stable")[:, :width]  # (B, W)
                src = (np.arange(b)[:, None] * width + best // ncls).ravel()
                cls = (best % ncls).ravel()
                score = np.take_along_axis(cand, best, axis=1).ravel()
                i = bar * self.spb + step
                seqs = seqs[src]
                seqs[:, i] = cls
                h = [x[src] for x in h]
                c = [x[src] for x in c]
                rec = [x[src] for x in rec]
                cond_term = cond_term[src]
                prev = cls
        pick = np.arange(b) * width + score.reshape(b, width).argmax(axis=1)
        return seqs[pick], score[pick]
