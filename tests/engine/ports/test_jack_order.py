"""The sample-accurate JACK output keeps send order across the hand-over from pushed sends to
the loop's pulls, at a real JACK client."""

from __future__ import annotations

import time
from typing import NamedTuple

import pytest

from engine.ports import JackOutput, PortSpec

pytestmark = pytest.mark.jack


class Item(NamedTuple):
    """What the clock loop's pull returns (the fields the output reads)."""

    deadline_ns: int
    data: tuple[int, ...]
    voice: int = 0
    immediate: bool = False


def test_a_send_made_before_the_pull_began_goes_out_before_what_is_pulled(
        jack_server, recorder_factory, port_name):
    """A port opens with CC 123, then the loop starts to pull. When the callback runs behind
    the frame clock, the CC 123's frame lies past the period while the loop's overdue notes
    are due at once: the notes must still come after it, or the CC 123 ends them."""
    out = JackOutput(PortSpec(port_name, "jack", sample_accurate=True))
    try:
        assert jack_server.wait_port(f"{port_name}:{port_name}", 5)
        rec = recorder_factory(jack_server, f"{port_name}:{port_name}")
        assert rec.wait_connected()
        out.send((0xB9, 123, 0), out.now_ns() + 100_000_000)  # its frame: well past this period
        owed = [Item(out.now_ns() - 10_000_000, (0x99, 36, 100))]  # overdue
        out.set_pull(lambda limit_ns: [owed.pop()] if owed else [])
        time.sleep(0.3)
        out.set_pull(None)
    finally:
        out.close()
    assert [m for _f, m, _ns in rec.stop()] == [(0xB9, 123, 0), (0x99, 36, 100)]
