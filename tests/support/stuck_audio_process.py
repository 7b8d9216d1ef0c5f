"""An audio process that never opens its device: stands in for a PortAudio start-up that
does not return (its JACK host API waiting on a stuck server). Run as
``python -m tests.support.stuck_audio_process FD STATS_FD``; it sleeps until killed."""

from __future__ import annotations

import time

if __name__ == "__main__":
    time.sleep(120)
