"""The training grooves a checkpoint carries, and how knobs move along them.

A fader decoder answers an attribute input it never saw with other drums: holding density
at 10 % of its range by pushing the decoder's density input below the data dropped the
backbeat and kept the hats, which no drummer does. The bank keeps the model on the data
instead. It stores, for every training window, its latent code (posterior mean), its own
attributes (the decoder's input in training), the attributes measured on its decode, and
the hits of that decode. A knob then moves *along the data*: the groove that meets the
knob's setting is the decoded training groove that meets it and is closest to the groove
playing now, hit for hit (:meth:`GrooveBank.walk`), decoded with its own attributes as the
model was trained to. Every groove a knob reaches is one a drummer played, at the setting
the knob asks for, and a small turn changes as few hits as the data allows.

Pure numpy: the arrays arrive from the checkpoint (:mod:`models.checkpoint`), the search
never touches torch.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Weights of the walk's cost and its corrections; chosen on the validation split (see the model card).
HIT_WEIGHT = 1.0  # per 10 cells whose hit differs from the playing groove's
OTHER_WEIGHT = 100.0  # per (share of range)^2 an attribute with a target misses it by
NEIGHBOURS = 4  # codes averaged for the attributes of a latent between codes
SEARCH_DIMS = 24  # principal directions of the coarse nearest-code search
CANDIDATES = 64  # coarse candidates checked exactly, beyond the k asked for
CORRECT_ROUNDS = 2  # decoder-input corrections of a walked groove's other knobs (see WalkSettings)
FOLLOW = 1.0  # share of the data's trend the unset knobs follow while one turns (see WalkSettings)
QUALIFY = "decode"  # what must meet a turned knob for a groove to qualify (see WalkSettings)
QUALIFY_MODES = ("decode", "both", "own")
TYPICAL = 0.0  # weight of a candidate's untypical voice mix at the knob's setting (see WalkSettings)
ANCHORS = 5  # a turned knob's detents: the settings its walk meets (see WalkSettings)
CHAIN = True  # detents reached one from the next (see WalkSettings)
CHAIN_MEMO = 4096  # chained steps remembered (GrooveBank.walk_chain's memo) before it starts over
TREND_AT_DETENTS = True  # the unset knobs follow a turned one detent by detent (see WalkSettings)
KEEP: tuple[str, ...] = ()  # knobs that edit the playing groove's feel instead of walking (see WalkSettings)
KEEP_VOICES = False  # the corrections play only the walked groove's voices (see WalkSettings)
HITS_BY_VOICE = False  # a kept density knob shares its hits among voices as the data does (see WalkSettings)
HITS_HOLD_OTHERS = False  # a kept hit knob holds the knobs nobody set as the walk does (see WalkSettings)
TYPICAL_FLOOR = 0.5  # hits added to each voice's spread, so a voice nearly constant there is no wall
TIME_VOICES = (2, 3, 8)  # closed hi-hat, open hi-hat, ride: the voices a drummer keeps time on



@dataclass(frozen=True)
class WalkSettings:
    """How :meth:`GrooveBank.walk` trades its terms (see the module docstring)."""

    hit_weight: float = HIT_WEIGHT
    other_weight: float = OTHER_WEIGHT
    # decoder-input corrections after the walk, pulling the held knobs the walked groove
    # misses back toward their targets with the inputs kept inside the data's 5-95 % range
    # (:meth:`engine.generation.generator.Generator.decode_walking`); 0 = play it as it is.
    # Chosen on validation by a rule written first (docs/studies/walk_correction)
    correct: int = CORRECT_ROUNDS
    # how far the knobs nobody set follow a turned knob as the data does
    # (:class:`engine.generation.data_trend.DataTrend`); 0 = held where the groove had them.
    # Chosen on validation by a rule written first (docs/studies/walk_trend)
    follow: float = FOLLOW
    # which grooves meet the turned knob: 'decode' (the attribute measured on its decode),
    # 'both' (its decode and the training window it decodes), 'own' (that window only).
    # Chosen on validation by a rule written first (docs/studies/walk_qualify)
    qualify: str = QUALIFY
    # weight of how untypical a candidate's voice mix is among the grooves that meet the
    # turned knob: the mean over voices of ((hits - their mean) / (their spread + 0.5))²,
    # so a knob end plays what drummers at that setting play, not the one groove nearest
    # the playing one whatever it rides. 0 = hits and other knobs alone decide.
    typical: float = TYPICAL
    # count the time-keeping voices (closed and open hi-hat, ride) as one in the hit term,
    # so a groove that keeps the rhythm on another cymbal is as near as one on the same
    same_time: bool = False
    # weight of log(in-degree / k) in the cost: a groove many grooves have among their k
    # nearest (a hub, plainer than most) costs more, one few have less; 0 = off
    hub_weight: float = 0.0
    # cost within which candidates count as equally good: one of them is played, chosen by
    # the playing groove and the targets (the same groove and knob give the same groove),
    # so many playing grooves do not all walk to the same few; 0 = the cheapest always
    slack: float = 0.0
    # the one knob the slack applies to (by name; the generator drops it for the others),
    # or None for every knob
    slack_knob: str | None = None
    # weight of each candidate's price (:mod:`engine.generation.walk_balance`), added to
    # its cost: 1 spreads the walks of many playing grooves over the grooves at the
    # setting as evenly as the transport allows; 0 = off
    balance: float = 0.0
    # > 1: a turned knob walks to the grooves at its nearest detent (the playing groove's
    # own value plus whole steps of its range / (anchors - 1), or an end of the range:
    # Generator.anchored_targets), and the decoder's corrections carry the groove from
    # there to the knob's own value, so a small turn refines the playing groove instead of
    # playing another one; 0 = every setting walks to its own groove.
    # Detents chosen on validation by a rule written first (docs/studies/walk_anchors),
    # five of them with the two settings below by another (docs/studies/walk_detents)
    anchors: int = ANCHORS
    # with detents: walk to the knob's detent one detent at a time, each walk from the
    # groove the one before reached (the playing groove first), so neighbouring detents
    # play neighbouring grooves; False = every detent walks from the playing groove
    # (docs/studies/walk_chain, walk_detents)
    chain: bool = CHAIN
    # with detents: the knobs nobody set follow the data's trend (``follow``) from detent
    # to detent, not with every move of the knob, so the walk's targets, and the groove it
    # picks, stay put between detents; False = they follow the knob's own value
    # (docs/studies/walk_detents)
    trend_at_detents: bool = TREND_AT_DETENTS
    # knobs (by name) that keep the playing groove instead of walking: the feel knobs,
    # intensity and laid back, whose turn the decoder carries as far as it will with the
    # other knobs held where the groove has them, the rest closed by editing the groove's
    # velocities or offsets (engine.generation.expression_edit); the hit knobs, density and
    # hat busyness, by adding or removing the groove's hits in the decoder's order
    # (engine.generation.hit_edit); () = every knob walks (docs/studies/walk_keep,
    # walk_keep_hits)
    keep: tuple[str, ...] = KEEP
    # a kept hit knob (density, hat busyness) turned up adds hits to the voices the groove
    # plays before any other (engine.generation.hit_edit); False = whichever cells the
    # decoder's order gives
    hits_own_voices: bool = True
    # a kept density knob shares the hits it adds or removes among the voices as the data's
    # drummers do between the groove's density and the knob's (engine.generation.hit_edit.
    # VoiceCurve), each voice's cells in the decoder's order; False = the decoder's order alone
    # (chosen on validation by a rule written first: docs/studies/hit_keep_voices)
    hits_by_voice: bool = HITS_BY_VOICE
    # a kept hit knob holds the knobs nobody set where the walk holds them (the groove's
    # values, following the data): the other hit knob by the time-keeping steps
    # (engine.generation.hit_edit), the feel knobs by scaling velocities and shifting
    # offsets (engine.generation.expression_edit); False = they drift with the hits edited
    # (chosen on validation by a rule written first: docs/studies/hit_keep_hold)
    hits_hold_others: bool = HITS_HOLD_OTHERS
    # the corrections play only the voices the walked groove's own decode plays (a kept feel
    # knob: the playing groove's), adding or dropping hits of those alone, so correcting the
    # other knobs never brings in a crash; False = whatever the corrected decode plays
    # (docs/studies/walk_voices)
    keep_voices: bool = KEEP_VOICES


def nearest_detent(value: np.ndarray | float, own: np.ndarray | float, low: float, high: float,
                   anchors: int) -> np.ndarray:
    """The knob's detent nearest ``value``: the playing groove's own value ``own`` plus a
    whole number of steps (the range ``high - low`` over ``anchors - 1``), or either end of
    the range, whichever is nearer (elementwise)."""
    step = max(high - low, 1e-12) / (anchors - 1)
    v, own = np.asarray(value, np.float64), np.asarray(own, np.float64)
    near = np.clip(own + np.round((v - own) / step) * step, np.minimum(low, own), np.maximum(high, own))
    for end in (low, high):
        near = np.where(np.abs(v - end) < np.abs(v - near), end, near)
    return near


def detent_values(own: float, low: float, high: float, anchors: int) -> np.ndarray:
    """Every detent of a knob over ``[low, high]`` (:func:`nearest_detent`), ascending: the
    playing groove's own value ``own`` (where it lies in the range), it plus or minus whole
    steps inside the range, and both ends; empty for ``anchors`` ≤ 1 or an unmeasured
    ``own`` (no detents)."""
    if anchors <= 1 or not np.isfinite(own) or not high > low:
        return np.empty(0)
    step = (high - low) / (anchors - 1)
    k = np.arange(np.ceil((low - own) / step - 1e-9), np.floor((high - own) / step + 1e-9) + 1)
    return np.unique(np.r_[low, np.clip(own + k * step, low, high), high])


class GrooveBank:
    """Training grooves: codes ``(N, Z)``, own attributes ``(N, A)``, measured attributes
    ``(N, A)``, decoded hits ``(N, T, V)`` (packed), style index ``(N,)``.

    Raises:
        ValueError: arrays whose shapes disagree.
    """

    def __init__(self, codes: np.ndarray, attributes: np.ndarray, measured: np.ndarray,
                 hits: np.ndarray, styles: np.ndarray, style_names: Sequence[str],
                 steps: int, voices: int) -> None:
        self.codes = np.ascontiguousarray(codes, np.float32)
        self.attributes = np.asarray(attributes, np.float64)
        self.measured = np.asarray(measured, np.float64)
        self.styles = np.asarray(styles, np.int64)
        self.style_names = tuple(str(s) for s in style_names)
        self.steps, self.voices = int(steps), int(voices)
        packed = np.asarray(hits, np.uint8)
        n = len(self.codes)
        cells = self.steps * self.voices
        if packed.ndim == 3:  # unpacked (N, T, V) bools
            packed = np.packbits(packed.reshape(len(packed), -1).astype(bool), axis=1)
        if packed.shape != (n, (cells + 7) // 8):
            raise ValueError(f"hits must pack {cells} cells for {n} grooves, got {packed.shape}")
        for name, arr in (("attributes", self.attributes), ("measured", self.measured)):
            if arr.ndim != 2 or len(arr) != n:
                raise ValueError(f"{name} must be (N={n}, A), got {arr.shape}")
        if self.styles.shape != (n,):
            raise ValueError(f"styles must be ({n},), got {self.styles.shape}")
        if n and (self.styles.min() < 0 or self.styles.max() >= len(self.style_names)):
            raise ValueError("style index out of range")
        self._words = _as_words(packed)
        # derived from the hits on first use, for walk options that are off as shipped
        self._time_words: np.ndarray | None = None  # the hits with the time voices as one
        self._voice_hits: np.ndarray | None = None  # hits per voice of each decode (typicality)
        # A coarse search space: the codes on their first principal directions. Candidates
        # found there are checked exactly, so a code's own place is always found.
        # The directions are the sample's Gram matrix's leading eigenvectors (its right
        # singular vectors, 7x cheaper than an SVD at app start; signs do not matter).
        centred = self.codes - self.codes.mean(0)
        k = min(SEARCH_DIMS, self.codes.shape[1], max(n - 1, 1))
        if n > 1:
            sample = centred[:: max(1, n // 4096)].astype(np.float64)
            _, vecs = np.linalg.eigh(sample.T @ sample)  # ascending eigenvalues
            vt = vecs[:, ::-1].T
        else:
            vt = np.eye(self.codes.shape[1], dtype=np.float32)
        self._basis = np.ascontiguousarray(vt[:k].T, np.float32)  # (Z, k)
        self._mean = self.codes.mean(0)
        self._coarse = np.ascontiguousarray((self.codes - self._mean) @ self._basis, np.float32)
        self._coarse_sq = (self._coarse ** 2).sum(1)

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def z_dim(self) -> int:
        return self.codes.shape[1]

    def pack(self, hits: np.ndarray) -> np.ndarray:
        """``(B, T, V)`` bool hits → ``(B, bytes)`` as the bank stores them."""
        h = np.asarray(hits, bool).reshape(len(hits), -1)
        return np.packbits(h, axis=1)

    def hit_distance(self, hits: np.ndarray, voices: Collection[int] | None = None,
                     same_time: bool = False, rows: np.ndarray | None = None) -> np.ndarray:
        """``(N,)`` number of cells where each bank groove's hits differ from ``hits (T, V)``;
        with ``voices``, only those voices' cells (how far each plays a locked part); with
        ``same_time``, the time-keeping voices (:data:`TIME_VOICES`) merged into one; with
        ``rows`` (a mask or indices), only those grooves'."""
        if same_time:
            if self._time_words is None:
                self._time_words = _as_words(self.pack(_merge_time(self.decoded_hits())))
            mine = _as_words(self.pack(_merge_time(np.asarray(hits, bool)[None])))
            words = self._time_words if rows is None else self._time_words[rows]
            return np.bitwise_count(np.bitwise_xor(words, mine)).sum(1, dtype=np.int64)
        mine = _as_words(self.pack(np.asarray(hits)[None]))
        diff = np.bitwise_xor(self._words if rows is None else self._words[rows], mine)
        if voices is not None:
            mask = np.zeros((1, self.steps, self.voices), bool)
            mask[0, :, sorted(int(v) for v in voices)] = True
            diff &= _as_words(self.pack(mask))
        return np.bitwise_count(diff).sum(1, dtype=np.int64)

    def between(self, distances: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The grooves between several: for each row of ``weights (B, K)``, the bank groove
        whose weighted sum of differing cells to the K grooves is least, given their
        ``distances (K, N)`` (:meth:`hit_distance` of each). Returns ``(B,)`` indices."""
        cost = np.asarray(weights, np.float64) @ np.asarray(distances, np.float64)
        return np.argmin(cost, axis=1)

    def nearest(self, z: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """``(B, k)`` indices of the codes nearest each ``z (B, Z)`` and their squared distances."""
        zz = np.atleast_2d(np.asarray(z, np.float64))
        k = min(int(k), len(self))
        # candidates by distance on the principal directions, exact distances for them
        q = (zz.astype(np.float32) - self._mean) @ self._basis
        rough = self._coarse_sq[None] - 2 * (q @ self._coarse.T)
        wide = min(len(self), k + CANDIDATES)
        idx = np.argpartition(rough, wide - 1, axis=1)[:, :wide]
        exact = ((self.codes[idx].astype(np.float64) - zz[:, None]) ** 2).sum(-1)
        order = np.argsort(exact, axis=1)[:, :k]
        return np.take_along_axis(idx, order, 1), np.take_along_axis(exact, order, 1)

    def own_attributes(self, z: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
        """``(B, A)`` the attributes a latent carries: a bank code's own exactly, a latent
        between codes the inverse-distance mean of its ``k`` nearest codes' own."""
        idx, d2 = self.nearest(z, k)
        w = 1.0 / np.maximum(d2, 1e-12)
        exact = d2[:, 0] < 1e-6
        w[exact] = 0.0
        w[exact, 0] = 1.0
        w /= w.sum(1, keepdims=True)
        return np.einsum("bk,bka->ba", w, self.attributes[idx])

    def walk(self, hits: np.ndarray, measured: np.ndarray, targets: np.ndarray,
             ranges: np.ndarray, tolerance: np.ndarray, turning: int | None,
             settings: WalkSettings = WalkSettings(), distances: np.ndarray | None = None,
             in_degree: np.ndarray | None = None, prices: np.ndarray | None = None) -> int:
        """The bank groove to play for ``targets`` from the groove playing now, or -1 to keep it.

        Args:
            hits: ``(T, V)`` the playing groove's hits (the latent's own decode).
            measured: ``(A,)`` its measured attributes (a candidate too: index -1).
            targets: ``(A,)`` raw units, NaN = no target.
            ranges: ``(A,)`` each attribute's 5–95 % span (costs are shares of it).
            tolerance: ``(A,)`` how close counts as meeting a target.
            turning: the attribute the user is turning: only grooves meeting it qualify
                (:attr:`WalkSettings.qualify`; if none does, the closest to it); None =
                every target weighs alike.
            distances: ``(N,)`` :meth:`hit_distance` of ``hits`` when the caller has it
                (with ``same_time`` as ``settings`` has it).
            in_degree: ``(N,)`` each groove's in-degree among its graph's k nearest
                (``hub_weight`` needs it; the playing groove counts as average).
            prices: ``(N,)`` each groove's price at this setting (``balance`` needs it; the
                playing groove's is 0, the prices' mean).

        Cost of a candidate: ``hit_weight`` × cells differing from the playing groove / 10
        + ``other_weight`` × Σ (miss / range)² over the targets (the turned one excepted)
        + ``typical`` × how untypical its voice mix is among the bank grooves that meet the
        turned knob (:meth:`untypical`) + ``hub_weight`` × log(its in-degree / the mean)
        + ``balance`` × its price.
        """
        t = np.asarray(targets, np.float64)
        have = ~np.isnan(t)
        if not have.any():
            return -1
        cand = np.vstack([np.asarray(measured, np.float64)[None], self.measured])
        ok = None
        if turning is not None and have[turning]:
            err = np.abs(cand[:, turning] - t[turning])
            ok = self._qualified(err <= tolerance[turning], measured[turning], t[turning],
                                 tolerance[turning], turning, settings.qualify)
            if not ok.any():
                return int(np.argmin(err)) - 1  # none meets it: the closest to it
        miss = np.where(have, cand - np.where(have, t, 0.0), 0.0) / np.asarray(ranges, np.float64)
        others = have.copy()
        if turning is not None and have[turning]:
            others[turning] = False
        cost = settings.other_weight * (miss[:, others] ** 2).sum(1)
        if settings.hub_weight and in_degree is not None:
            deg = np.maximum(np.asarray(in_degree, np.float64), 1.0)
            cost = cost + settings.hub_weight * np.r_[0.0, np.log(deg / deg.mean())]
        if settings.balance and prices is not None:
            cost = cost + settings.balance * np.r_[0.0, np.asarray(prices, np.float64)]
        if settings.hit_weight:
            if distances is None:  # only the grooves that qualify need theirs
                rows = None if ok is None else ok[1:]
                distances = np.zeros(len(self), np.int64)
                distances[slice(None) if rows is None else rows] = self.hit_distance(
                    hits, same_time=settings.same_time, rows=rows)
            cost = cost + settings.hit_weight * np.r_[0, distances] / 10.0
        if ok is not None:
            if settings.typical and ok[1:].sum() > 1:
                cost = cost + settings.typical * self.untypical(hits, ok[1:])
            cost = np.where(ok, cost, np.inf)
        if settings.slack > 0:
            near = cost <= cost.min() + settings.slack
            if near.sum() > 1:
                # each candidate's rank is fixed by the playing groove and the knob turned, so
                # as the knob moves the pick stays while it stays near the cheapest
                key = zlib.crc32(np.packbits(np.asarray(hits, bool)).tobytes() + bytes([turning or 0]))
                rank = np.random.default_rng(key).random(len(cost))
                return int(np.argmin(np.where(near, rank, np.inf))) - 1
        return int(np.argmin(cost)) - 1

    def walk_chain(self, hits: np.ndarray, measured: np.ndarray, targets: Sequence[np.ndarray],
                   ranges: np.ndarray, tolerance: np.ndarray, turning: int,
                   settings: WalkSettings = WalkSettings(), distances: np.ndarray | None = None,
                   memo: dict[tuple[Any, ...], int] | None = None) -> int:
        """:meth:`walk` through each of ``targets`` in turn (the turned knob's detents on the
        way to the last), each walk from the groove the one before reached: the bank groove
        played at the last, or -1 to keep the playing groove (``hits``, ``measured``)
        throughout. A pick depends only on the playing groove and the targets before it, so a
        knob turned one detent further plays a neighbour of the groove it played.

        ``memo`` (the caller's, kept across calls): each step's pick by the playing groove,
        the groove reached before it and its targets, so a knob dragged between detents walks
        none of the detents it has passed again.
        """
        pick = -1
        start = (np.packbits(np.asarray(hits, bool)).tobytes(), np.asarray(measured, np.float64).tobytes(),
                 settings, turning, np.asarray(ranges, np.float64).tobytes(),
                 np.asarray(tolerance, np.float64).tobytes()) if memo is not None else None
        for t in targets:
            key = None if start is None else (start, pick, np.asarray(t, np.float64).tobytes())
            step = None if memo is None else memo.get(key)
            if step is None:
                step = self.walk(hits, measured, t, ranges, tolerance, turning, settings, distances=distances)
                if memo is not None:
                    if len(memo) >= CHAIN_MEMO:
                        memo.clear()
                    memo[key] = step
            if step < 0:
                continue  # the groove reached so far meets this detent too
            pick = step
            hits, measured = self.hits_of(pick), self.measured[pick]
            distances = None  # the next walk measures only the grooves at its detent
        return pick

    def hits_of(self, index: int) -> np.ndarray:
        """``(T, V)`` the decoded hits of bank groove ``index``."""
        return self._unpack(self._words[index:index + 1])[0]

    def untypical(self, hits: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """``(1 + N,)`` how far the voice mix of the playing groove (``hits (T, V)``, first)
        and of each bank groove lies from the bank grooves in ``reference (N,)`` (a mask):
        the mean over voices of the squared distance from their mean hits per voice, in
        their standard deviations plus :data:`TYPICAL_FLOOR` hits."""
        ref = self.voice_hits()[reference]
        mu, sd = ref.mean(0), ref.std(0) + TYPICAL_FLOOR
        mine = np.asarray(hits, bool).sum(0, dtype=np.float64)[None]
        feats = np.vstack([mine, self.voice_hits()])
        return (((feats - mu) / sd) ** 2).mean(1)

    def voice_hits(self) -> np.ndarray:
        """``(N, V)`` each bank groove's hits per voice (its decode's)."""
        if self._voice_hits is None:
            self._voice_hits = self.decoded_hits().sum(1, dtype=np.float64)
        return self._voice_hits

    def decoded_hits(self) -> np.ndarray:
        """``(N, T, V)`` the bank's decoded hits, unpacked from their words."""
        return self._unpack(self._words)

    def _unpack(self, words: np.ndarray) -> np.ndarray:
        """``(n, T, V)`` bool hits of ``words`` (rows of the bank's packed words)."""
        flat = np.unpackbits(words.view(np.uint8), axis=1, count=self.steps * self.voices)
        return flat.reshape(len(words), self.steps, self.voices).astype(bool)

    def _qualified(self, decode_ok: np.ndarray, playing: float, target: float, tolerance: float,
                   turning: int, mode: str) -> np.ndarray:
        """``(1 + N,)`` which candidates (the playing groove first) meet the turned knob under
        ``mode`` (:attr:`WalkSettings.qualify`). The playing groove is judged by its decode
        (it has no training window); where no groove meets it in both, the decode decides."""
        if mode == "decode":
            return decode_ok
        if mode not in QUALIFY_MODES:
            raise ValueError(f"unknown walk qualify mode {mode!r}; expected one of {QUALIFY_MODES}")
        own_ok = np.r_[abs(float(playing) - float(target)) <= tolerance,
                       np.abs(self.attributes[:, turning] - target) <= tolerance]
        ok = own_ok if mode == "own" else own_ok & decode_ok
        return ok if ok.any() else decode_ok


def _merge_time(hits: np.ndarray) -> np.ndarray:
    """``(B, T, V)`` hits with the time-keeping voices' hits on the first of them, the
    others cleared."""
    out = np.array(hits, bool, copy=True)
    voices = [v for v in TIME_VOICES if v < out.shape[-1]]  # a smaller kit's that it has
    if len(voices) > 1:
        out[:, :, voices[0]] = out[:, :, voices].any(-1)
        out[:, :, voices[1:]] = False
    return out


def _as_words(packed: np.ndarray) -> np.ndarray:
    """Packed hit bytes ``(B, n)`` as ``(B, ceil(n / 8))`` uint64 words (zero padded)."""
    b, n = packed.shape
    out = np.zeros((b, -(-n // 8) * 8), np.uint8)
    out[:, :n] = packed
    return out.view(np.uint64)
