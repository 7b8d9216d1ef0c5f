"""The app's door to the model: load a checkpoint off the GUI thread, run calls on the
generator's worker, and bring results back to the GUI thread.

Loading imports torch (1–2 s of CPU here), so it runs on a thread of its own; once loaded,
every model call goes to ``engine.generation.generator.AsyncGenerator`` (one worker thread, latest
wins per request kind). Results come back on that worker's thread and are re-emitted
through ``_deliver``, a signal queued to the GUI thread, so handlers always run there.
app/ never imports torch: ``engine.generation.generator`` does, lazily.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal

from engine.errors import GrooveFaderError
from models.pathnames import one_line, shown

if TYPE_CHECKING:
    from engine.generation.generator import AsyncGenerator, Generator

log = logging.getLogger(__name__)
T = TypeVar("T")  # what a model job returns

MISSING_MODEL_HELP = (
    "Train one with `groovefader train` (see README) or start with "
    "`groovefader app --checkpoint PATH`. Meanwhile the grid, clip loading and export work; "
    "the pad and knobs need a model.")


def default_checkpoint() -> Path:
    """``checkpoints/default.pt`` next to the packages (the shipped model)."""
    return Path(__file__).resolve().parents[1] / "checkpoints" / "default.pt"


@dataclass(frozen=True)
class ModelInfo:
    """What the window needs to build its knobs and pad."""

    path: str
    kind: str
    attribute_names: tuple[str, ...]
    ranges: dict[str, tuple[float, float]]
    defaults: dict[str, float]
    z_dim: int
    steps: int
    steps_per_bar: int
    pad_labels: tuple[tuple[str, float, float], ...] = ()  # style, x, y on the pad
    detents: int = 0  # a held knob's detents over its range (0: none, the model's own knob)
    kept: tuple[str, ...] = ()  # knobs that edit the playing groove's feel: no detents

    @classmethod
    def of(cls, path: str, g: Generator) -> ModelInfo:
        labels = tuple((lab.style, lab.x, lab.y) for lab in g.pad_labels)
        detents = int(g.walk_settings.anchors) if g.has_data_map else 0
        kept = tuple(g.walk_settings.keep) if g.has_data_map else ()
        return cls(path, g.model_kind, tuple(g.attribute_names), g.attribute_ranges,
                   g.attribute_defaults, g.z_dim, g.steps, g.steps_per_bar, labels, detents, kept)


class ModelWorker(QObject):
    """Signals:
        loaded(str, object): checkpoint path and the ``AsyncGenerator`` serving it.
        failed(str): the checkpoint could not be loaded and there is no model (one line,
            without advice).
        refused(str): the checkpoint could not be loaded; the model loaded before keeps
            playing (one line saying so).
        error(str): a model call failed (``kind: reason``).
    """

    loaded = Signal(str, object)
    failed = Signal(str)
    refused = Signal(str)
    error = Signal(str)
    _deliver = Signal(object, object)  # (handler, result) from worker threads

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._closed = False
        self._deliver.connect(self._on_deliver)
        self.agen: AsyncGenerator | None = None  # once loaded
        self.path: str | None = None  # the checkpoint agen serves
        self._loader: threading.Thread | None = None

    @property
    def generator(self) -> Generator | None:
        """The loaded ``engine.generation.generator.Generator`` (numpy-only helpers are safe to call on
        the GUI thread: sample, variation, pad_to_z), or None."""
        return None if self.agen is None else self.agen.generator

    def load(self, path: Path, build: Callable[[Path], Any] | None = None) -> None:
        """Load ``path`` on a background thread; ``loaded`` or ``failed`` follows.

        ``build(path)`` makes the generator (default: the drum ``Generator``; the melody lane
        passes the melody generator's loader)."""
        def work() -> None:
            try:
                from engine.generation.generator import AsyncGenerator, Generator

                agen = AsyncGenerator((build or Generator.from_checkpoint)(path))
            except Exception as err:  # any failure becomes a message, never a crash
                if isinstance(err, GrooveFaderError):  # a user-level problem: the message says it
                    log.warning("%s", err)
                    text = str(err)
                else:
                    log.exception("loading %s failed", path)
                    text = f"{type(err).__name__}: {err}"
                self._post(self._fail, f"Cannot load model {shown(path)}: {one_line(text)}.")
                return
            if self._closed:  # the window closed while torch loaded
                agen.close()
                return
            self._post(self._adopt, (str(path), agen))

        self._loader = threading.Thread(target=work, name="groovefader-model-loader", daemon=True)
        self._loader.start()

    def _fail(self, text: str) -> None:
        if self.agen is None:
            self.failed.emit(text)
        else:
            self.refuse(text)

    def refuse(self, text: str) -> None:
        """``refused``: ``text`` (why a checkpoint was not loaded) and the model that plays
        on. A bad file never costs the user the model that plays."""
        self.refused.emit(f"{text} Keeping {shown(self.path or 'the model loaded before')}.")

    def _adopt(self, payload: tuple[str, AsyncGenerator]) -> None:
        path, agen = payload
        old, self.agen = self.agen, agen
        if old is not None:
            # never waited for on the GUI thread: the old worker finishes its running job on
            # its own thread, and what it answers is dropped (see ``call``)
            old.close(timeout=0)
        self.path = path
        self.loaded.emit(path, agen)

    def call(self, kind: str, job: Callable[[Generator], T], handler: Callable[[T], None]) -> bool:
        """Run ``job(generator)`` on the worker (latest wins per ``kind``); then
        ``handler(result)`` on the GUI thread. False (nothing queued) without a model."""
        if self.agen is None:
            return False

        agen = self.agen

        def current(act: Callable[[Any], None]) -> Callable[[Any], None]:
            """``act`` on the GUI thread only while this model is still the one loaded."""
            return lambda value: act(value) if self.agen is agen else None

        def failed(err: BaseException) -> None:
            self._post(current(self.error.emit), f"{kind}: {err}")

        agen.request(kind, agen.generator, fn=job,
                     callback=lambda result: self._post(current(handler), result), on_error=failed)
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the worker has nothing queued or running (tests, benchmarks)."""
        return True if self.agen is None else self.agen.wait_idle(timeout)

    def _post(self, handler: Callable[[Any], None], result: Any) -> None:
        """Worker thread → GUI thread. After close there is nobody to tell."""
        if self._closed:
            return
        with contextlib.suppress(RuntimeError):  # the QObject is gone (interpreter shutting down)
            self._deliver.emit(handler, result)

    def _on_deliver(self, handler: Callable[[Any], None], result: Any) -> None:
        if not self._closed:
            handler(result)

    def close(self) -> None:
        self._closed = True
        if self.agen is not None:
            self.agen.close()
            self.agen = None
