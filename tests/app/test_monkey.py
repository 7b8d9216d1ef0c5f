"""A monkey test: a few hundred seeded random gestures on the real window, playing into a
real JACK server. Nothing may raise, the window must still answer at the end, and after
stop and close the JACK client that recorded the output holds no stuck note.

The actions (tests/support/app_monkey.py) go through the widgets and QActions a user
touches. ``GROOVEFADER_MONKEY_SEED`` and ``GROOVEFADER_MONKEY_ACTIONS`` choose another run;
``GROOVEFADER_GROOVE_DIR`` adds real drum MIDI files (e.g. the Groove MIDI Dataset) to the
clips the monkey loads. A failure prints the seed and the whole action log.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest

from tests.support.app_monkey import (
    AppMonkey,
    ErrorTrap,
    Listeners,
    note_problems,
    point_at_jack,
    received_messages,
    responds,
    wait_until,
)
from tests.support.jack_server import JACKD, start_test_server

DEFAULT_SEED = 1205
DEFAULT_ACTIONS = 120
# A longer run with clock-source, port and API switches: its last clock switch stops the
# engine just before the final play, which the end of the test has to wait for.
LONG_RUN = pytest.param(1205, 300, id="seed1205-300")


@pytest.fixture
def jack(monkeypatch):
    server = start_test_server()
    for key, value in server.env.items():
        if key.startswith("JACK_"):
            monkeypatch.setenv(key, value)
    yield server
    server.stop()


def _clip_files() -> list[Path]:
    folder = os.environ.get("GROOVEFADER_GROOVE_DIR")
    return sorted(Path(folder).rglob("*.mid")) if folder else []


@pytest.mark.jack
@pytest.mark.slow
@pytest.mark.skipif(JACKD is None, reason="jackd not installed")
@pytest.mark.parametrize(("run_seed", "run_actions"), [(None, None), LONG_RUN], ids=["default", None])
def test_random_gestures_raise_nothing_and_leave_no_stuck_note(jack, make_window, checkpoint, qtbot,
                                                                tmp_path, run_seed, run_actions) -> None:
    seed = run_seed or int(os.environ.get("GROOVEFADER_MONKEY_SEED", DEFAULT_SEED))
    n_actions = run_actions or int(os.environ.get("GROOVEFADER_MONKEY_ACTIONS", DEFAULT_ACTIONS))
    print(f"monkey seed {seed}, {n_actions} actions")
    monkey: AppMonkey | None = None
    findings: list[str] = []
    with ErrorTrap() as trap:
        w = make_window(checkpoint, link=True, midi_api="jack")
        ready = wait_until(lambda: bool(w.knobs.knobs) and w.grid.pattern.num_hits > 0, 60.0) \
            and wait_until(lambda: w.transport.status.text().startswith("MIDI out"), 30.0)
        assert ready, (f"the window never got ready: banner {w.banner.text()!r}, MIDI "
                       f"{w.transport.status.text()!r}, errors {trap.errors}")
        ears = Listeners(jack, tmp_path / "recorded")
        try:
            assert ears.virtual.wait_connected(), "the recorder never connected to the app's JACK port"
            monkey = AppMonkey(w, seed, tmp_path / "monkey", _clip_files(), trap=trap,
                               avoid_outputs=[ears.virtual.port])
            with monkey.running():
                monkey.run(n_actions)
            trap.where = "after the actions"
            findings += monkey.modal_errors + monkey.check_exports()
            # back on JACK's virtual port with the internal clock: the window still answers
            if not point_at_jack(w):
                findings.append(f"the JACK port did not come back: {w.transport.status.text()!r}")
            if not responds(w):
                findings.append("Randomize gave no new pattern within 30 s at the end")
            # A clock-source switch stops the engine: wait for its report to reach the window
            # (the button shows the engine's state), then stop, play and stop again, so the
            # last note-offs are part of the check.
            if not wait_until(lambda: engine_settled(w), 10.0):
                findings.append(f"the window never showed the engine's state: {w.transport.status.text()!r}"
                                f"{_clock_stacks(w)}")
            if w.transport.play_button.isChecked():
                w.transport.play_button.click()
                stopped = lambda: engine_settled(w) and not w.transport.play_button.isChecked()  # noqa: E731
                if not wait_until(stopped, 10.0):
                    findings.append("Stop before the final play did not stop within 10 s"
                                    f"{_link_stack(w)}{_clock_stacks(w)}")
            mark = time.perf_counter_ns()
            w.transport.play_button.click()
            if not wait_until(lambda: ears.note_ons_since(mark) >= 4, 20.0):
                findings.append("no notes arrived at the JACK client after play at the end"
                                f"{_link_stack(w)}{_clock_stacks(w)}")
            w.transport.play_button.click()
            if not wait_until(lambda: not w.transport.play_button.isChecked(), 10.0):
                c = w.controller
                seq = getattr(c.transport.link, "_seq", None)
                pid = getattr(seq, "pid", None)
                alive = pid is not None and os.path.exists(f"/proc/{pid}")
                now = time.monotonic()
                findings.append(f"Stop did not stop within 10 s: playing {c.transport.playing}, "
                                f"status {w.transport.status.text()!r}, clock "
                                f"{c.transport.values['clock_source']}, engine playing "
                                f"{getattr(c.transport._last_status, 'playing', None)}, last engine "
                                f"report {time.monotonic() - c.transport._reported_at:.1f} s ago, "
                                f"clock process {pid} alive {alive}; engine status "
                                f"{seq.status() if seq is not None else None}; ping answered "
                                f"{_pinged(seq)}; link thread alive "
                                f"{c.transport.link._thread.is_alive()}, queued "
                                f"{c.transport.link._commands.qsize()}; link history "
                                f"{[(round(t - now, 2), what) for t, what in c.transport.link.history]}")
            qtbot.wait(200)
            w.close()
            qtbot.wait(300)
        finally:
            ears.stop()
    heard = ears.check(monkey.t0 if monkey else 0.0)
    stuck = heard["problems"]
    summary = (f"seed {seed}: {monkey.report.actions if monkey else 0} actions "
               f"{dict(monkey.report.counts) if monkey else {}}; note-ons recorded {heard['note_ons']} "
               f"({heard['replayed_cycles']} cycles JACK delivered twice left out)")
    print(summary)
    if monkey is not None:
        log_text = monkey.format_log() + "\n\nwarnings:\n" + "\n".join(trap.warnings)
        (tmp_path / "monkey-log.txt").write_text(log_text)
    problems = ([f"exception/error: {e}" for e in trap.errors] + findings
                + [f"stuck note at the JACK client: {p}" for p in stuck[:20]])
    if problems:
        log = monkey.format_log() if monkey else "(no actions)"
        pytest.fail(f"{summary}\n" + "\n".join(problems) + f"\nreproduce: GROOVEFADER_MONKEY_SEED={seed}"
                    f" GROOVEFADER_MONKEY_ACTIONS={n_actions}\naction log:\n{log}\n"
                    f"warnings:\n" + "\n".join(list(trap.warnings)[-30:]), pytrace=False)
    assert heard["note_ons"]["virtual"] > 0  # the stuck-note check had notes to check


def _link_stack(window) -> str:
    """Where the app's link thread (the one that talks to the clock process) is now."""
    link = window.controller.transport.link
    thread = getattr(link, "_thread", None)
    frame = sys._current_frames().get(getattr(thread, "ident", None))
    if frame is None:
        return "\nlink thread: not running"
    return ("\nlink thread, queued " + str(link._commands.qsize()) + ":\n"
            + "".join(traceback.format_stack(frame)))


def _clock_stacks(window) -> str:
    """The clock process's threads (``py-spy dump``, where installed): what it waits on."""
    seq = getattr(window.controller.transport.link, "_seq", None)
    pid = getattr(seq, "pid", None)
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
    if pid is None or spy is None:
        return ""
    try:
        out = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"\nclock process {pid}: py-spy failed ({err})"
    return f"\nclock process {pid}, its threads:\n{out.stdout}{out.stderr}"


def engine_settled(window) -> bool:
    """The engine's last report agrees with the window: on the internal clock, and the play
    button showing whether it plays."""
    last = window.controller.transport._last_status
    return (last is not None and "external" not in window.transport.status.text()
            and last.playing == window.transport.play_button.isChecked())


def _pinged(seq) -> bool | None:
    """Whether the clock process still answers commands (a ping, then a fresh report)."""
    if seq is None:
        return None
    seq.sync(3.0)
    return seq.in_sync


class _Recorded:
    """What a Recorder reports, given directly: (frame, bytes, ns, callback) rows and the
    callbacks whose frame counter was irregular."""

    def __init__(self, rows, irregular) -> None:
        self.rows, self.irregular = rows, irregular

    def events_with_callbacks(self):
        return self.rows

    def cycles(self) -> dict:
        return {"irregular": self.irregular}


def test_a_cycle_jack_delivered_twice_is_not_a_stuck_note() -> None:
    on, off, tick = (0x99, 42, 29), (0x89, 42, 0), (0xF8,)
    twice = [(100, on, 1, 7), (100, tick, 1, 7), (100, on, 2, 8), (100, tick, 2, 8), (140, off, 3, 9)]
    messages, times, dropped = received_messages(_Recorded(twice, [[7, 64], [8, 0]]))
    assert dropped == 1 and messages == [on, tick, off] and times == [1, 1, 3]
    assert note_problems(messages) == []
    # the same note struck twice in two real cycles (frame counters in order) is a finding
    struck = [(100, on, 1, 7), (132, on, 2, 8), (140, off, 3, 9)]
    messages, _times, dropped = received_messages(_Recorded(struck, []))
    assert dropped == 0 and note_problems(messages) == ["#1: note-on 42 while sounding"]
    # a gap-0 callback that got other events than the one before is kept
    other = [(100, on, 1, 7), (100, off, 2, 8), (110, on, 3, 8), (150, off, 4, 9)]
    messages, _times, dropped = received_messages(_Recorded(other, [[8, 0]]))
    assert dropped == 0 and len(messages) == 4 and note_problems(messages) == []
    # a note-on never released is stuck, and is timed when times are given
    assert note_problems([on], [2_500_000_000], 1.0) == ["#0: note 42 stuck (at 1.50s)"]
