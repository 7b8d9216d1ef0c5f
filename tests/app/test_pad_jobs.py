"""The pad's model work (corners, the heat-map) against a real checkpoint on the model's
worker, and what it says without a model."""

from __future__ import annotations

import numpy as np
import pytest

from app.model_worker import ModelWorker
from app.pad_jobs import PadJobs
from app.pad_state import PadState
from tests.support.patterns import pattern_from_cells


@pytest.fixture
def worker(qtbot):
    model = ModelWorker()
    yield model
    model.close()


def _jobs(worker: ModelWorker) -> PadJobs:
    return PadJobs(PadState(), worker, lambda: {})


def test_without_a_model_a_corner_is_one_warning_and_the_blend_mode_says_how_to_fill_it(worker, qtbot):
    jobs = _jobs(worker)
    with qtbot.waitSignal(jobs.message) as said:
        jobs.put_corner(0, pattern_from_cells({(0, 0): (0.9, 0.0)}))
    assert said.args[0] == "warning" and "need a model" in said.args[1]
    assert jobs.pad.corners == [None] * 4
    with qtbot.waitSignal(jobs.message) as said:
        jobs.set_mode("corners")
    assert said.args[0] == "info" and jobs.pad.blending
    with pytest.raises(ValueError, match="pad mode"):
        jobs.set_mode("spiral")
    with qtbot.waitSignal(jobs.heatmapReady) as hidden:
        jobs.show_heatmap("")
    assert hidden.args == ["", None]


def test_a_corner_holds_its_grooves_latent_and_the_heatmap_answers_the_latest_attribute(
        worker, checkpoint, qtbot):
    with qtbot.waitSignal(worker.loaded, timeout=60_000):
        worker.load(checkpoint)
    g = worker.generator
    jobs = _jobs(worker)
    groove = g.decode(g.sample_like_data(1, seed=4)[0])
    with qtbot.waitSignal(jobs.pad.cornersChanged, timeout=30_000) as labels:
        jobs.put_corner(3, groove, "mine")
    assert labels.args[0] == ["", "", "", "mine"]
    np.testing.assert_allclose(jobs.pad.corners[3], g.encode(groove))
    corners = jobs.corner_latents()  # D is the groove's; the empty ones the plane's corners
    np.testing.assert_allclose(corners[0], g.pad_to_z(-1.0, -1.0))
    np.testing.assert_allclose(corners[3], jobs.pad.corners[3])
    names = g.attribute_names
    shown: list[tuple[str, object]] = []
    jobs.heatmapReady.connect(lambda name, values: shown.append((name, values)))
    jobs.show_heatmap(names[0])
    jobs.show_heatmap(names[1])  # chosen before the first came back: only this one shows
    qtbot.waitUntil(lambda: bool(shown), timeout=30_000)
    qtbot.wait(300)  # the first job, had it run, has come back meanwhile
    assert [name for name, _ in shown] == [names[1]]
    assert shown[0][1].shape == (32, 32)


def test_in_corners_mode_a_filled_corner_has_its_graph_searched_before_the_first_pad_point(
        worker, checkpoint, qtbot):
    with qtbot.waitSignal(worker.loaded, timeout=60_000):
        worker.load(checkpoint)
    g = worker.generator
    if g.groove_bank is None:
        pytest.skip("the checkpoint has no map of the data: corner blends mix latents")
    jobs = _jobs(worker)
    jobs.set_mode("corners")
    groove = g.decode(g.sample_like_data(1, seed=6)[0])
    with qtbot.waitSignal(jobs.pad.cornersChanged, timeout=30_000):
        jobs.put_corner(1, groove, "B")
    assert worker.wait_idle(60)
    corners = np.stack(jobs.corner_latents())
    kept = g._field  # the generator's kept search: (corners' bytes, graph, field)
    assert kept is not None and kept[0] == corners.astype(np.float64).tobytes()
