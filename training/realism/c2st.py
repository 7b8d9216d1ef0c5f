"""Classifier two-sample test (C2ST): can a small fixed classifier tell generated patterns
from real ones? (Lopez-Paz & Oquab, "Revisiting classifier two-sample tests", ICLR 2017.)

Balanced accuracy on held-out patterns: 0.5 = the two sets are indistinguishable to this
classifier, 1.0 = always told apart.

* The classifier is an L2-regularised logistic regression on standardised inputs (the
  training folds' mean and std), fitted by Nesterov-accelerated gradient descent for a fixed
  number of steps with class-balanced weights: deterministic, pure numpy, and fast on a
  feature vector (~80 values) as on the raw ``32 × 27`` grid.
* **Grouped cross-validation.** Each pattern carries a group: a real window its
  performance (one Groove MIDI file); a generated pattern the group of the real window it
  was made from (a reconstruction, a blend of corners drawn from one group block) or, for
  draws that come from no window (the prior, Randomize, the pad), a group assigned by seed.
  Whole groups go to one of ``folds`` folds, so a performance and the patterns derived from
  it never straddle the classifier's training and test sides; the accuracy pools every
  fold's held-out predictions.
* The two sets are balanced (the larger subsampled to the smaller's size) and the accuracy is
  balanced (mean of the two per-class accuracies), so folds of uneven class shares do not
  move the 0.5 baseline. The 95 % interval is the normal approximation of that mean of two
  binomial proportions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FOLDS = 5
STEPS = 300          # gradient steps per fit
L2_FEATURES = 1e-2   # ridge on standardised features (per-sample mean loss)
L2_RAW = 1.0         # ridge on the standardised raw grid (sample weights sum to 1; more inputs than rows)


def group_folds(groups: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold index ``(N,)`` of each pattern: its group's rank in a seeded permutation, mod
    ``folds`` (every pattern of a group in the same fold)."""
    uniq, inverse = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    rank = np.random.default_rng(seed).permutation(len(uniq))
    return (rank % folds)[inverse]


def _top_eigenvalue(x: np.ndarray, iters: int = 30) -> float:
    v = np.random.default_rng(0).standard_normal(x.shape[1])
    lam = 0.0
    for _ in range(iters):
        w = x.T @ (x @ v)
        lam = float(np.linalg.norm(w))
        if lam == 0.0:
            return 0.0
        v = w / lam
    return lam


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, steps: int = STEPS
                 ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Class-balanced L2 logistic regression; returns ``(w, b, mean, std)`` of the
    standardisation and the fit. ``y`` in {0, 1}; both classes must be present."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(std > 1e-9, std, 1.0)
    xs = ((x - mean) / std).astype(np.float32)  # float32 matvecs: several times faster here
    n1 = max(float(y.sum()), 1.0)
    n0 = max(float(len(y) - y.sum()), 1.0)
    sw = np.where(y > 0.5, 0.5 / n1, 0.5 / n0).astype(np.float32)  # sums to 1
    lipschitz = 0.25 * _top_eigenvalue(xs * np.sqrt(sw)[:, None]) + 0.25 + l2
    lr = 1.0 / lipschitz
    y = y.astype(np.float32)
    w = np.zeros(x.shape[1], np.float32)
    b = 0.0
    w_prev, b_prev = w.copy(), b
    for k in range(1, steps + 1):
        mom = (k - 1) / (k + 2)
        vw, vb = w + mom * (w - w_prev), b + mom * (b - b_prev)
        p = 1.0 / (1.0 + np.exp(-np.clip(xs @ vw + vb, -30, 30)))
        r = sw * (p - y)
        w_prev, b_prev = w, b
        w = (vw - lr * (xs.T @ r + l2 * vw)).astype(np.float32)
        b = vb - lr * float(r.sum())
    return w, b, mean, std


def fit_ridge(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Class-balanced ridge classifier (least squares on ±1 targets: a shrunk Fisher
    discriminant), solved in closed form; returns ``(w, b, mean, std)`` like
    :func:`fit_logistic`. One Gram matrix and one linear solve (over inputs or over rows,
    whichever are fewer): fast on the raw grid's ~900 inputs, where gradient steps are
    memory-bound."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(std > 1e-9, std, 1.0)
    xs = ((x - mean) / std).astype(np.float32)  # float32 Gram and solve: half the time
    n1 = max(float(y.sum()), 1.0)
    n0 = max(float(len(y) - y.sum()), 1.0)
    sw = np.where(y > 0.5, 0.5 / n1, 0.5 / n0).astype(np.float32)
    t = np.where(y > 0.5, 1.0, -1.0).astype(np.float32)
    xm, tm = sw @ xs, float(sw @ t)
    xc = xs - xm
    n, d = xc.shape
    if n < d:  # the same solution through the n x n system: (X'SX + λI)^-1 X'S = X'(SXX' + λI)^-1 S
        alpha = np.linalg.solve(sw[:, None] * (xc @ xc.T) + np.float32(l2) * np.eye(n, dtype=np.float32),
                                sw * (t - tm))
        w = xc.T @ alpha
    else:
        gram = (xc * sw[:, None]).T @ xc + np.float32(l2) * np.eye(d, dtype=np.float32)
        w = np.linalg.solve(gram, (xc * sw[:, None]).T @ (t - tm))
    return w, tm - float(xm @ w), mean, std


def predict_logistic(model: tuple[np.ndarray, float, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Predicted class (1 = generated) of each row, for either fit's ``(w, b, mean, std)``."""
    w, b, mean, std = model
    return (((x - mean) / std).astype(w.dtype) @ w + b) > 0.0


def balance(n_real: int, n_gen: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices keeping ``min(n_real, n_gen)`` of each set (seeded subsample of the larger)."""
    n = min(n_real, n_gen)
    rng = np.random.default_rng(seed)
    keep_r = np.sort(rng.choice(n_real, n, replace=False)) if n_real > n else np.arange(n_real)
    keep_g = np.sort(rng.choice(n_gen, n, replace=False)) if n_gen > n else np.arange(n_gen)
    return keep_r, keep_g


def two_sample_test(real: np.ndarray, generated: np.ndarray, real_groups: np.ndarray,
                    generated_groups: np.ndarray, *, classifier: str = "logistic",
                    l2: float | None = None, folds: int = FOLDS, seed: int = 0,
                    steps: int = STEPS, repeats: int = 1) -> dict[str, Any]:
    """Grouped, balanced C2ST of two ``(N, F)`` / ``(M, F)`` input matrices (module docstring).

    ``classifier``: ``"logistic"`` (:func:`fit_logistic`, for feature vectors) or ``"ridge"``
    (:func:`fit_ridge`, for the raw grid); ``l2`` None = that classifier's fixed default.
    ``repeats`` > 1 averages the accuracies of that many balanced subsamples and fold
    assignments (seeds ``seed``, ``seed + 1``...): when one set is much larger than the other,
    one subsample of it leaves much of its evidence out and the accuracy swings with the
    seed. The interval stays that of one repeat (conservative).

    Returns:
        ``accuracy`` (balanced, pooled over folds, mean over repeats), ``ci95`` ``[low, high]``,
        ``accuracy_real``/``accuracy_generated`` (per-class), ``n_per_set``, ``folds``,
        ``repeats``, ``accuracy_by_repeat``.

    Raises:
        ValueError: mismatched shapes or groups, or fewer than ``folds`` patterns per set.
    """
    r, g = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    rg, gg = np.asarray(real_groups).astype(str), np.asarray(generated_groups).astype(str)
    if classifier not in ("logistic", "ridge"):
        raise ValueError(f"classifier must be 'logistic' or 'ridge', got {classifier!r}")
    if r.ndim != 2 or g.ndim != 2 or r.shape[1] != g.shape[1]:
        raise ValueError(f"input matrices {r.shape} and {g.shape} do not match")
    if len(rg) != len(r) or len(gg) != len(g):
        raise ValueError("one group per pattern is needed")
    if min(len(r), len(g)) < folds:
        raise ValueError(f"a two-sample test needs at least {folds} patterns per set, "
                         f"got {min(len(r), len(g))}")
    runs = [_one_test(r, g, rg, gg, classifier, l2, folds, seed + k, steps) for k in range(max(1, repeats))]
    a0 = float(np.mean([run[0] for run in runs]))
    a1 = float(np.mean([run[1] for run in runs]))
    n, used = runs[0][2], runs[0][3]
    acc = 0.5 * (a0 + a1)
    se = 0.5 * np.sqrt(a0 * (1 - a0) / n + a1 * (1 - a1) / n)
    return {"accuracy": acc, "ci95": [max(0.0, acc - 1.96 * se), min(1.0, acc + 1.96 * se)],
            "accuracy_real": a0, "accuracy_generated": a1, "n_per_set": int(n), "folds": used,
            "repeats": len(runs), "accuracy_by_repeat": [0.5 * (run[0] + run[1]) for run in runs]}


def _one_test(r: np.ndarray, g: np.ndarray, rg: np.ndarray, gg: np.ndarray, classifier: str,
              l2: float | None, folds: int, seed: int, steps: int) -> tuple[float, float, int, int]:
    """Per-class held-out accuracies, set size and folds used of one balanced, grouped run."""
    keep_r, keep_g = balance(len(r), len(g), seed)
    x = np.concatenate([r[keep_r], g[keep_g]])
    y = np.concatenate([np.zeros(len(keep_r)), np.ones(len(keep_g))])
    fold = group_folds(np.concatenate([rg[keep_r], gg[keep_g]]), folds, seed)
    pred = np.full(len(y), -1)
    used = 0
    for f in range(folds):
        test = fold == f
        train = ~test
        if not test.any() or len(np.unique(y[train])) < 2:
            continue
        if classifier == "ridge":
            model = fit_ridge(x[train], y[train], L2_RAW if l2 is None else l2)
        else:
            model = fit_logistic(x[train], y[train], L2_FEATURES if l2 is None else l2, steps)
        pred[test] = predict_logistic(model, x[test])
        used += 1
    done = pred >= 0
    real_ok = pred[done & (y == 0)] == 0
    gen_ok = pred[done & (y == 1)] == 1
    a0 = float(real_ok.mean()) if real_ok.size else float("nan")
    a1 = float(gen_ok.mean()) if gen_ok.size else float("nan")
    return a0, a1, len(keep_r), used
