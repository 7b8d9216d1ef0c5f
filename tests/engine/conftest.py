"""Engine test fixtures: a real JACK server (dummy backend) per session, recorders on it."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.support.jack_server import JACKD, JackServer, Recorder, start_test_server


@pytest.fixture(scope="session")
def jack_server():
    """``jackd -R -S -d dummy -r 48000 -p 32`` (``--no-realtime`` where ``-R`` cannot start) under
    a unique name for this session.

    ``JACK_DEFAULT_SERVER`` is set for the session so every process the tests spawn (clock
    processes, recorders, ``groovefader play``) talks to it. Skipped when jackd is absent.
    """
    if JACKD is None:
        pytest.skip("jackd is not installed (Debian: apt-get install jackd2)")
    try:
        server = start_test_server()
    except RuntimeError as err:
        pytest.skip(f"cannot start jackd: {err}")
    saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    os.environ["JACK_NO_START_SERVER"] = "1"
    yield server
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def port_name():
    """A port name unique to the test, so tests on one server never see each other."""
    return f"gf-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def recorder_factory(tmp_path):
    """``make(server, source_port) -> Recorder`` (stopped at teardown)."""
    made: list[Recorder] = []

    def make(server: JackServer, source: str) -> Recorder:
        rec = Recorder(server, source, tmp_path / f"rec{len(made)}.jsonl")
        made.append(rec)
        return rec

    yield make
    for rec in made:
        rec.stop()
