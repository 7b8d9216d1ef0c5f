"""The classifier two-sample test: chance on one distribution, near 1 on two that differ."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.tiny_checkpoint import synthetic_patterns
from training.realism import c2st as C
from training.realism import features as F


def _shuffled_steps(x: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    perm = np.stack([rng.permutation(x.shape[1]) for _ in range(len(x))])
    return x[np.arange(len(x))[:, None], perm]


@pytest.fixture(scope="module")
def grooves() -> tuple[np.ndarray, np.ndarray]:
    x = synthetic_patterns(600, seed=11)
    return x, np.array([f"perf{i // 10}" for i in range(len(x))])  # 60 performances of 10 windows


def test_group_folds_keep_a_group_together() -> None:
    groups = np.array(["a", "b", "a", "c", "b", "d", "e", "a"])
    fold = C.group_folds(groups, 3, seed=0)
    for g in np.unique(groups):
        assert len(set(fold[groups == g])) == 1
    assert set(fold) <= {0, 1, 2}
    np.testing.assert_array_equal(fold, C.group_folds(groups, 3, seed=0))


@pytest.mark.parametrize(("represent", "classifier"), [(F.classifier_features, "logistic"),
                                                       (F.raw_tensor, "ridge")])
def test_two_halves_of_one_set_are_indistinguishable(grooves, represent, classifier) -> None:
    x, groups = grooves
    idx = np.random.default_rng(0).permutation(len(x))
    a, b = idx[:300], idx[300:]
    out = C.two_sample_test(represent(x[a]), represent(x[b]), groups[a], groups[b], classifier=classifier)
    assert abs(out["accuracy"] - 0.5) < 0.08
    assert out["ci95"][0] < 0.5 < out["ci95"][1] + 0.03
    assert out["n_per_set"] == 300 and out["folds"] == C.FOLDS


@pytest.mark.parametrize(("represent", "classifier"), [(F.classifier_features, "logistic"),
                                                       (F.raw_tensor, "ridge")])
def test_shuffled_steps_are_told_apart(grooves, represent, classifier) -> None:
    x, groups = grooves
    idx = np.random.default_rng(1).permutation(len(x))
    a, b = idx[:300], idx[300:]
    out = C.two_sample_test(represent(x[a]), represent(_shuffled_steps(x[b], 2)), groups[a], groups[b],
                            classifier=classifier)
    assert out["accuracy"] > 0.95


def test_sets_are_balanced_and_bad_input_is_refused(grooves) -> None:
    x, groups = grooves
    feats = F.classifier_features(x)
    out = C.two_sample_test(feats[:400], feats[400:450], groups[:400], groups[400:450])
    assert out["n_per_set"] == 50
    with pytest.raises(ValueError):
        C.two_sample_test(feats[:10], feats[10:20, :5], groups[:10], groups[10:20])
    with pytest.raises(ValueError):
        C.two_sample_test(feats[:3], feats[3:6], groups[:3], groups[3:6])  # fewer than 5 folds' worth
    with pytest.raises(ValueError):
        C.two_sample_test(feats[:10], feats[10:20], groups[:9], groups[10:20])
    with pytest.raises(ValueError):
        C.two_sample_test(feats[:10], feats[10:20], groups[:10], groups[10:20], classifier="svm")


def test_repeats_average_several_balanced_subsamples(grooves) -> None:
    x, groups = grooves
    feats = F.classifier_features(x)
    one = C.two_sample_test(feats[:40], feats[40:], groups[:40], groups[40:], seed=4)
    many = C.two_sample_test(feats[:40], feats[40:], groups[:40], groups[40:], seed=4, repeats=5)
    assert one["repeats"] == 1 and many["repeats"] == 5 and many["n_per_set"] == 40
    assert many["accuracy_by_repeat"][0] == one["accuracy"]  # the first repeat is the single run
    assert many["accuracy"] == pytest.approx(np.mean(many["accuracy_by_repeat"]))
    assert len(set(many["accuracy_by_repeat"])) > 1  # other subsamples, other folds
