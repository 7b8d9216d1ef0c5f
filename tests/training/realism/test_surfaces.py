"""Every surface decoded from a tiny real checkpoint, measured, and put in the table."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from engine.music import attributes as attr_lib  # noqa: E402
from tests.support.tiny_checkpoint import synthetic_patterns, tiny_checkpoint  # noqa: E402
from training.realism import scorecard as sc  # noqa: E402
from training.realism import surfaces as su  # noqa: E402

SAMPLES = 40


@pytest.fixture(scope="module")
def gen():
    from engine.generation.generator import Generator

    return Generator.from_checkpoint(tiny_checkpoint("fader_vae"))


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    x = synthetic_patterns(240, seed=21)
    return x, np.array([f"perf{i // 12}" for i in range(len(x))])  # 20 performances


@pytest.fixture(scope="module")
def report(gen, data):
    return sc.evaluate_surfaces(gen, *data, samples=SAMPLES, seed=3)


class NewPadMap:
    """The generator with another pad map: the pad surface must follow it unchanged."""

    def __init__(self, gen) -> None:
        self._gen = gen

    def __getattr__(self, name):
        return getattr(self._gen, name)

    def pad_to_z(self, x, y):
        return self._gen.pad_to_z(np.asarray(x) * 0.1, np.asarray(y) * 0.1) + 0.5


def test_every_surface_is_built_with_its_reference(gen, data) -> None:
    x, groups = data
    surfaces = {s.name: s for s in su.build_surfaces(gen, x, groups, SAMPLES, seed=1)}
    fixed = {"reconstruction", "randomize", "pad", "prior", "variation", "corner_blends", "transition_middle",
             "temperature_90"}
    knobs = {f"knob_{n}_{e}_{src}" for n in gen.attribute_names for e in (10, 90)
             for src in ("randomize", "pad")}
    assert set(surfaces) == fixed | knobs
    for s in surfaces.values():
        assert s.patterns.shape[1:] == (gen.steps, 27) and len(s.groups) == len(s.patterns)
        assert len(s.reference_groups) == len(s.reference)
    rec = surfaces["reconstruction"]
    np.testing.assert_array_equal(rec.groups, groups[rec.reference])  # a window and its decode
    assert len(surfaces["pad"].patterns) == 36  # the nearest square grid to 40 points
    # blends and transitions come from one block of performances each, the reference by block
    for name in ("corner_blends", "transition_middle"):
        s = surfaces[name]
        assert all(g.startswith("block") for g in s.groups)
        assert set(s.reference_groups) <= {f"block{b}" for b in range(5)}
    # the temperature knob near its end: Randomize's latents, their hits sampled (the same
    # draws as the app's decode at that temperature and seed), against the floor's reference
    hot, rand = surfaces["temperature_90"], surfaces["randomize"]
    z = np.asarray(gen.sample_like_data(SAMPLES, seed=2), np.float64)
    from engine.generation.knobs import KnobState

    free = su._app_inputs(gen, KnobState.for_model(gen.attribute_ranges, gen.attribute_defaults))
    want = np.stack([p.to_array() for p in gen.decode(z, free, temperature=1.35, seed=1 + 4)])
    np.testing.assert_array_equal(hot.patterns, want)
    assert not np.array_equal(hot.patterns[..., :9], rand.patterns[..., :9])  # sampled, not greedy
    np.testing.assert_array_equal(hot.reference, rec.reference)
    # a knob end's reference: exactly the windows within ±5 % of the range of its setting
    k = surfaces["knob_density_90_randomize"]
    lo, hi = gen.attribute_ranges["density"]
    dens = attr_lib.compute(x, ["density"])[:, 0]
    expected = np.flatnonzero(np.abs(dens - (lo + 0.9 * (hi - lo))) <= 0.05 * (hi - lo) + 1e-12)
    assert k.info["reference_windows_available"] == len(expected)
    assert set(k.reference) <= set(expected)


def test_the_pad_surface_follows_the_generators_pad_map(gen, data) -> None:
    x, groups = data
    mapped = NewPadMap(gen)
    pad = next(s for s in su.build_surfaces(mapped, x, groups, 9, seed=0) if s.name == "pad")
    xy, z = su.pad_grid(mapped, 9)
    np.testing.assert_allclose(z, gen.pad_to_z(xy[:, 0] * 0.1, xy[:, 1] * 0.1) + 0.5)
    np.testing.assert_array_equal(pad.patterns, gen.decode_batch(z).to_array())


def test_knob_ends_are_held_where_the_knob_is_set(gen, data) -> None:
    x, groups = data
    z = gen.sample_like_data(SAMPLES, seed=5)
    dec = gen.decode_batch(z).to_array()
    out = {s.name: s for s in su.knob_surfaces(gen, x, groups, {"randomize": (z, dec)}, ("randomize",),
                                               SAMPLES, 0, lambda _m: None)}
    lo, hi = gen.attribute_ranges["density"]
    low = attr_lib.compute(out["knob_density_10_randomize"].patterns, ["density"])[:, 0]
    high = attr_lib.compute(out["knob_density_90_randomize"].patterns, ["density"])[:, 0]
    assert high.mean() > low.mean()
    free = attr_lib.compute(dec, ["density"])[:, 0]
    target = lo + 0.9 * (hi - lo)
    assert np.abs(high - target).mean() < np.abs(free - target).mean()


def test_report_measures_every_surface_and_marks_targets(report) -> None:
    surfaces = report["surfaces"]
    rec = surfaces["reconstruction"]
    for key in ("c2st_features", "c2st_raw"):
        assert 0.0 <= rec[key]["accuracy"] <= 1.0 and rec[key]["n_per_set"] == SAMPLES
    assert 0.0 <= rec["mgeval"]["min_oa"] <= rec["mgeval"]["mean_oa"] <= 1.0
    assert set(rec["voice_hits_per_2_bars"]) == set(rec["reference_voice_hits_per_2_bars"])
    assert rec["targets"]["c2st_features"]  # the floor is within 0.05 of itself
    measured = [r for r in surfaces.values() if "skipped" not in r]
    assert report["summary"]["surfaces_measured"] == len(measured)
    for r in surfaces.values():
        if "skipped" in r:
            assert r["targets"] is None and r["n_reference"] < sc.MIN_REFERENCE
    table = sc.to_markdown(report)
    for r in surfaces.values():
        assert f"| {r['label']} |" in table
    assert "floor (reconstructions)" in table


def test_targets_are_applied_against_the_floor() -> None:
    def res(acc: float, raw: float, mean_oa: float, min_oa: float, ts: float, sw: float) -> dict:
        return {"c2st_features": {"accuracy": acc}, "c2st_raw": {"accuracy": raw},
                "mgeval": {"mean_oa": mean_oa, "min_oa": min_oa}, "timing_std": ts,
                "reference_timing_std": 0.2, "swing": sw, "reference_swing": 0.5}

    results = {"reconstruction": res(0.6, 0.55, 0.95, 0.9, 0.19, 0.5),
               "good": res(0.64, 0.59, 0.81, 0.61, 0.171, 0.43),
               "bad": res(0.66, 0.61, 0.79, 0.59, 0.169, 0.42),
               "few": {"skipped": "too few"}}
    summary = sc.apply_targets(results)
    assert results["good"]["targets"]["all"]
    assert not any(v for k, v in results["bad"]["targets"].items())
    assert results["few"]["targets"] is None
    assert summary == {"floor_c2st_features": 0.6, "floor_c2st_raw": 0.55, "surfaces_meeting_all": 2,
                       "surfaces_measured": 3}


def test_surfaces_play_a_checkpoint_with_a_map_of_the_data(data) -> None:
    """On a data map the pad plays bank grooves and the knobs walk the data: the surfaces
    are decoded that way too, through the generator's own API."""
    from engine.generation.generator import Generator
    from tests.support.tiny_checkpoint import mapped_checkpoint

    path, _ = mapped_checkpoint(200, 4)
    mapped = Generator.from_checkpoint(path)
    assert mapped.has_data_map
    x, groups = data
    out = {s.name: s for s in su.build_surfaces(mapped, x, groups, 16, seed=2)}
    xy, z = su.pad_grid(mapped, 16)
    expected = np.stack([p.to_array() for p in mapped.decode(z, {})])
    np.testing.assert_array_equal(out["pad"].patterns, expected)  # the map's grooves, own knobs
    high = attr_lib.compute(out["knob_density_90_randomize"].patterns, ["density"])[:, 0]
    low = attr_lib.compute(out["knob_density_10_randomize"].patterns, ["density"])[:, 0]
    assert high.mean() > low.mean()


def test_only_some_surfaces_gives_them_the_same_draws(gen, data) -> None:
    """A candidate study decodes only the surfaces it compares: they must be the very ones
    the full evaluation decodes."""
    x, groups = data
    full = {s.name: s for s in su.build_surfaces(gen, x, groups, 12, seed=4)}
    some = {s.name: s for s in su.build_surfaces(gen, x, groups, 12, seed=4,
                                                 only=("corner_blends", "transition_middle"))}
    assert set(some) == {"reconstruction", "corner_blends", "transition_middle"}
    for name, s in some.items():
        np.testing.assert_array_equal(s.patterns, full[name].patterns)
        np.testing.assert_array_equal(s.reference, full[name].reference)


def test_training_windows_are_measured_as_the_splits_own_difference(gen, data) -> None:
    x, groups = data
    train = synthetic_patterns(60, seed=33)
    res = sc.evaluate_surfaces(gen, x, groups, samples=SAMPLES, seed=3, only=(),
                               training=(train, np.array([f"t{i // 6}" for i in range(60)])))
    assert list(res["surfaces"]) == ["reconstruction", "training_windows"]
    measured = res["surfaces"]["training_windows"]
    assert measured["n_generated"] == 40 and 0.0 <= measured["c2st_features"]["accuracy"] <= 1.0


def test_draws_from_the_map_are_grouped_by_the_training_performance_they_play(data) -> None:
    """A pattern drawn from the map of the training grooves takes the performance of the
    groove it plays (a knob end: the groove it walked to), so the two-sample test's folds
    never split one training performance; the one-group-per-pattern test is kept beside it."""
    from engine.generation.generator import Generator
    from tests.support.tiny_checkpoint import mapped_checkpoint

    path, _ = mapped_checkpoint(200, 4)
    mapped = Generator.from_checkpoint(path)
    bank = mapped.groove_bank
    performances = np.array([f"drummer{i // 20}" for i in range(len(bank))])  # 10 performances
    x, groups = data
    out = {s.name: s for s in su.build_surfaces(mapped, x, groups, 16, seed=2, performances=performances)}
    plain = {s.name: s for s in su.build_surfaces(mapped, x, groups, 16, seed=2)}
    for name in ("randomize", "pad", "variation", "knob_density_90_randomize", "knob_density_10_pad"):
        s = out[name]
        assert set(s.groups) <= {f"train:{p}" for p in performances}, name
        assert s.draw_groups is not None and len(set(s.draw_groups)) == len(s.patterns), name
        np.testing.assert_array_equal(s.patterns, plain[name].patterns)  # the same draws
        assert plain[name].draw_groups is None and len(set(plain[name].groups)) == len(s.patterns)
    assert out["prior"].draw_groups is None  # not drawn from the map
    np.testing.assert_array_equal(out["reconstruction"].groups, plain["reconstruction"].groups)
    # a knob end's group is the performance of the very groove the walk plays
    z = np.asarray(mapped.sample_like_data(16, seed=3), np.float64)
    targets = np.full((len(z), len(mapped.attribute_names)), np.nan)
    lo, hi = mapped.attribute_ranges["density"]
    targets[:, mapped.attribute_names.index("density")] = lo + 0.9 * (hi - lo)
    _, picks = mapped.decode_walking(z, targets, turning="density")
    played, _ = su._played_latents(mapped, z, targets, "density")
    own, _ = su._source_groups(mapped, played, "k", performances)
    moved = picks >= 0
    assert moved.any()
    np.testing.assert_array_equal(own[moved], np.char.add("train:", performances[picks[moved]]))
    # performances of other grooves than the map's: one group per pattern, as before
    other = {s.name: s for s in su.build_surfaces(mapped, x, groups, 16, seed=2, only=("randomize",),
                                                  performances=performances[:50])}
    assert other["randomize"].draw_groups is None


def test_the_report_gives_both_groupings_of_a_surface_drawn_from_the_map(data) -> None:
    from engine.generation.generator import Generator
    from tests.support.tiny_checkpoint import mapped_checkpoint

    path, _ = mapped_checkpoint(200, 4)
    mapped = Generator.from_checkpoint(path)
    x, groups = data
    bank_windows = synthetic_patterns(len(mapped.groove_bank), seed=5)
    performances = np.array([f"t{i // 20}" for i in range(len(bank_windows))])
    res = sc.evaluate_surfaces(mapped, x, groups, samples=SAMPLES, seed=3, only=("randomize",),
                               training=(bank_windows, performances))
    rand = res["surfaces"]["randomize"]
    assert rand["generated_groups"] == "the training performance of the nearest groove of the map"
    both = rand["c2st_one_group_per_pattern"]
    assert 0.0 <= both["features"] <= 1.0 and 0.0 <= both["raw"] <= 1.0
    assert "c2st_one_group_per_pattern" not in res["surfaces"]["reconstruction"]


def test_each_knob_end_is_also_measured_on_the_training_windows_there(gen, data) -> None:
    """The data's own level at a knob end: the training windows in the end's band, against
    the end's own held-out reference, shown apart and never counted as a played surface."""
    x, groups = data
    train = synthetic_patterns(120, seed=34)
    perf = np.array([f"t{i // 6}" for i in range(len(train))])
    res = sc.evaluate_surfaces(gen, x, groups, samples=SAMPLES, seed=3, only=("knobs",),
                               training=(train, perf))
    surf = res["surfaces"]
    names = tuple(gen.attribute_names)
    values = attr_lib.compute(train, names)
    for name in names:
        for pct in (10, 90):
            level = surf[f"knob_{name}_{pct}_training"]
            played = surf[f"knob_{name}_{pct}_randomize"]
            assert level["data_level"] and level["source"] == "training"
            assert level["n_reference"] == played["n_reference"]  # the same held-out windows
            lo, hi = level["reference_band"]
            col = values[:, names.index(name)]
            in_band = int(((col >= lo - 1e-9) & (col <= hi + 1e-9)).sum())
            assert level["training_windows_available"] == in_band
            assert level["n_generated"] == min(in_band, SAMPLES)
    counted = sum(1 for r in surf.values() if "skipped" not in r and not r.get("data_level"))
    assert res["summary"]["surfaces_measured"] == counted
    table = sc.to_markdown(res)
    assert "The data's own level at each knob end" in table
    data_rows = table.split("The data's own level")[1].split("Voice mix")[0]
    assert f"| {names[0]} at 90 %: training windows there |" in data_rows
    main_rows = table.split("The data's own level")[0]
    assert "training windows there" not in main_rows


def test_on_a_map_each_knob_end_is_also_measured_on_the_training_windows_the_walk_picked(data) -> None:
    """The real windows behind a knob end's grooves, apart from the played surfaces: a miss
    they share is the walk's choice, one they meet is the decoder's."""
    from engine.generation.generator import Generator
    from tests.support.tiny_checkpoint import mapped_checkpoint

    path, _ = mapped_checkpoint(200, 4)
    mapped = Generator.from_checkpoint(path)
    x, groups = data
    bank_windows = synthetic_patterns(len(mapped.groove_bank), seed=5)
    performances = np.array([f"t{i // 20}" for i in range(len(bank_windows))])
    built = su.build_surfaces(mapped, x, groups, SAMPLES, seed=3, only=("knobs",), performances=performances)
    knob = next(s for s in built if s.info.get("knob") and s.picks is not None
                and len(np.unique(performances[s.picks[s.picks >= 0]])) >= sc.c2st.FOLDS)
    picked = sc.picked_at_knob_ends([knob], (bank_windows, performances))[0]
    moved = knob.picks[knob.picks >= 0]
    assert np.array_equal(picked.patterns, bank_windows[moved])  # the recorded windows, not decodes
    assert np.array_equal(picked.groups, performances[moved])
    assert np.array_equal(picked.reference, knob.reference) and picked.info["data_level"]
    res = sc.evaluate_surfaces(mapped, x, groups, samples=SAMPLES, seed=3, only=("knobs",),
                               training=(bank_windows, performances))
    surf = res["surfaces"]
    assert surf[f"{knob.name}_picked"]["data_level"]
    counted = sum(1 for r in surf.values() if "skipped" not in r and not r.get("data_level"))
    assert res["summary"]["surfaces_measured"] == counted
    # without the map's own windows (another training set) the picks cannot be read
    more = np.concatenate([bank_windows, bank_windows[:20]])
    other = sc.evaluate_surfaces(mapped, x, groups, samples=SAMPLES, seed=3, only=("knobs",),
                                 training=(more, np.array([f"t{i // 20}" for i in range(len(more))])))
    assert not any(k.endswith("_picked") for k in other["surfaces"])
