"""Loading another model never waits for the old one on the GUI thread, and the old model's
late answers never reach the window."""

from __future__ import annotations

import threading

import pytest

from app.model_worker import ModelWorker


class Model:
    """Stands in for a generator: the worker's threading is the subject here, not the model."""

    def __init__(self, name: str) -> None:
        self.name = name


@pytest.fixture
def worker(qtbot):
    model = ModelWorker()
    yield model
    model.close()


def _load(worker: ModelWorker, qtbot, name: str):
    with qtbot.waitSignal(worker.loaded, timeout=10_000) as sig:
        worker.load(name, build=Model)
    return sig.args[1]


def test_a_new_model_is_adopted_while_the_old_one_still_computes_and_its_answer_is_dropped(worker, qtbot):
    old = _load(worker, qtbot, "old")
    gate, running = threading.Event(), threading.Event()
    answers: list[str] = []

    def slow(g: Model) -> str:  # a heat-map or a 16-bar transition of the old model
        running.set()
        gate.wait(20)
        return g.name

    assert worker.call("heatmap", slow, answers.append)
    assert running.wait(10)
    threading.Timer(1.0, gate.set).start()  # the old job would end after a second
    new = _load(worker, qtbot, "new")
    # adopted while the old job still ran: the GUI thread did not wait for it
    assert not gate.is_set() and old._thread.is_alive()
    assert worker.agen is new and worker.generator.name == "new"
    qtbot.waitUntil(lambda: not old._thread.is_alive(), timeout=10_000)
    qtbot.wait(50)
    assert answers == []  # the old model's answer came after the new model: dropped
    assert worker.call("decode", lambda g: g.name, answers.append)
    qtbot.waitUntil(lambda: answers == ["new"], timeout=10_000)
