"""The transport's Link toggle and tap tempo, bound to a transport state (no sequencer)."""

from __future__ import annotations

import time

import pytest

from app.sequencer_link import LinkStatus
from app.sync_binding import ECHO_S, SyncBinding
from app.transport_state import TransportState
from app.widgets.transport import Transport


@pytest.fixture
def bound(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    state = TransportState()
    binding = SyncBinding(transport.sync, state)
    return transport, state, binding


def test_the_toggle_is_the_link_clock_source(bound):
    transport, state, _ = bound
    transport.sync.link.click()
    assert state["clock_source"] == "link"
    transport.sync.link.click()
    assert state["clock_source"] == "internal"
    state.set(clock_source="link")  # chosen in the clock box (or restored settings)
    assert transport.sync.link.isChecked()
    state.set(clock_source="external")
    assert not transport.sync.link.isChecked()


def test_the_toggle_shows_the_other_apps_and_the_session_tempo(bound):
    transport, state, binding = bound
    transport.sync.link.click()
    binding._set_here_at = time.monotonic() - ECHO_S - 1  # no tempo set here lately
    state.status.emit(LinkStatus("ok", bpm=133.0, link_peers=2))
    assert transport.sync.link.text() == "Link · 2"
    assert "2 other Link app(s)" in transport.sync.link.toolTip()
    assert state["tempo_bpm"] == 133.0  # a peer's tempo is the tempo
    state.status.emit(LinkStatus("ok", bpm=132.99995, link_peers=0))
    assert transport.sync.link.text() == "Link · 0" and state["tempo_bpm"] == 133.0
    transport.sync.link.click()
    assert transport.sync.link.text() == "Link"


def test_a_tempo_set_here_is_not_undone_by_an_older_report(bound):
    transport, state, _ = bound
    transport.sync.link.click()
    state.set(tempo_bpm=100.0)  # typed in the tempo box
    state.status.emit(LinkStatus("ok", bpm=120.0, link_peers=1))  # made before the clock had it
    assert state["tempo_bpm"] == 100.0


def test_the_session_tempo_is_not_followed_with_link_off(bound):
    _, state, binding = bound
    binding._set_here_at = time.monotonic() - ECHO_S - 1
    state.status.emit(LinkStatus("ok", bpm=90.0))
    assert state["tempo_bpm"] == 120.0


def test_tapping_sets_the_tempo(bound, qtbot):
    transport, state, binding = bound
    assert binding.tap(0) is None
    assert binding.tap(400_000_000) == pytest.approx(150.0)
    assert state["tempo_bpm"] == 150.0
    transport.sync.tap.click()  # the button reaches the same counter (a new count: long pause)
    assert binding.taps.taps == 1
