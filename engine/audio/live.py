"""The clock process's side of the built-in kit: which output plays it, and what feeds it.

Two outputs, one rule: the kit plays exactly the note-ons the MIDI output gets.

* On the sample-accurate JACK output, the kit is two audio ports on the same client
  (:class:`~engine.audio.jack_audio.JackAudio`), triggered in its process callback at the
  frames the notes are written to.
* Otherwise the system's audio device (:class:`~engine.audio.device.DeviceAudio`) gets each
  note-on as the clock loop sends it, stamped with its deadline on the wall clock.

Where no output can open, :attr:`LiveAudio.error` holds one line (shown by the app and by
``play --audio``) and MIDI plays on untouched. The device is opened on a thread of its own:
PortAudio's start-up takes a few hundred ms (measured here: 0.29 s), which the clock thread,
sending MIDI itself off JACK, must not wait for.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any

from engine.audio.device import DeviceAudio
from engine.audio.errors import AudioError
from engine.audio.jack_audio import JackAudio
from engine.audio.kit import Kit, KitMix, build_kit
from engine.audio.settings import AudioSettings


def _jack_capable(out: Any) -> bool:
    return out is not None and hasattr(out, "jack_client") and hasattr(out, "audio")


class LiveAudio:
    """Owns the kit's output in the clock process. Not thread-safe: the clock thread calls it.

    Args:
        open_device: builds the device output from a mix (tests pass a fake; default
            :class:`~engine.audio.device.DeviceAudio`).
    """

    def __init__(self, open_device: Callable[[KitMix], Any] | None = None) -> None:
        self._open_device = open_device or (lambda mix: DeviceAudio(mix, kit_for=self.kit_for))
        self._kits: dict[int, Kit] = {}
        self._ticket = 0  # the device open that counts; older ones are closed when they finish
        self._opened: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
        self.opening = False
        self.settings = AudioSettings()
        self.jack: JackAudio | None = None
        self.device: Any = None
        self.error: str | None = None
        self._out: Any = None

    # -- what the clock loop tells it -------------------------------------------------------
    def configure(self, settings: AudioSettings, out: Any) -> None:
        """New settings (on/off, mix, output); ``out`` is the MIDI output open now (or None)."""
        before, self.settings = self.settings, settings
        self._out = out
        if not settings.enabled:
            self._close_outputs()
            self.error = None
            return
        if before.enabled and before.output == settings.output and (self.jack or self.device):
            for sink in (self.jack, self.device):
                if sink is not None:
                    sink.set_mix(settings.mix)
            return
        self._close_outputs()
        self._open()

    def port_opened(self, out: Any) -> None:
        """The MIDI output changed: the kit moves to its JACK client, or stays on the device."""
        self._out = out
        if not self.settings.enabled:
            return
        want_jack = self.settings.output == "jack" or (self.settings.output == "auto" and _jack_capable(out))
        if want_jack or self.device is None:
            self._close_outputs()
            self._open()

    def port_closing(self, out: Any) -> None:
        """The MIDI output is about to close (or died): the kit's JACK ports go with its client.

        Nothing is unregistered or waited for here: closing the client removes its ports, and
        a client of a dead server must not be touched.
        """
        if self.jack is not None and out is not None and getattr(out, "audio", None) is self.jack:
            out.audio = None
            self.jack = None
        if self._out is out:
            self._out = None

    def note(self, wall_ns: int, voice: int, velocity: int) -> None:
        """A note-on the loop sent itself (not pulled by JACK) at ``wall_ns`` on the wall clock."""
        device = self.device
        if device is not None:
            device.note(wall_ns, voice, velocity)

    def poll(self) -> None:
        """Take over a device output that finished opening (or its error); called with every
        report, so within 100 ms."""
        while True:
            try:
                ticket, result = self._opened.get_nowait()
            except queue.Empty:
                return
            if ticket != self._ticket or not self.settings.enabled or self.jack is not None:
                if not isinstance(result, BaseException):
                    result.close()  # turned off, or moved to JACK, while it opened
                continue
            self.opening = False
            if isinstance(result, AudioError):
                self.error = str(result) if "MIDI plays on" in str(result) else f"{result}; MIDI plays on"
            elif isinstance(result, BaseException):
                self.error = f"audio output failed: {result}; MIDI plays on"
            else:
                self.device = result
                result.set_mix(self.settings.mix)  # the mix may have moved while it opened

    @property
    def output(self) -> str | None:
        """``jack`` | ``device`` | None: where the kit plays now."""
        self.poll()
        return "jack" if self.jack is not None else "device" if self.device is not None else None

    def report(self) -> dict[str, Any]:
        """For the status report: on/off, where, the one-line error, counts."""
        self.poll()
        out: dict[str, Any] = {"enabled": self.settings.enabled, "output": self.output, "error": self.error,
                               "volume": self.settings.mix.volume}
        sink = self.jack or self.device
        if sink is not None:
            out["hits"] = sink.mixer.triggered
        if self.opening:
            out["opening"] = True
        if self.jack is not None:
            out["ports"] = list(self.jack.port_names)
            blocks = max(1, self.jack.blocks)
            out["mix_us"] = {"blocks": self.jack.blocks, "mean": round(self.jack.busy_ns / blocks / 1e3, 1),
                             "max": round(self.jack.busy_max_ns / 1e3, 1)}
        if self.device is not None:
            out["late"] = getattr(getattr(self.device, "notes", None), "late", 0)
            out["underruns"] = getattr(self.device, "underruns", 0)
        return out

    def close(self) -> None:
        self._close_outputs()

    def kit_for(self, rate: int) -> Kit:
        """The kit at ``rate``, built once (tens of ms of numpy in the clock process: paid the
        first time the kit is turned on at that rate, not again)."""
        kit = self._kits.get(rate)
        if kit is None:
            kit = self._kits[rate] = build_kit(rate)
        return kit

    # -- internals -----------------------------------------------------------------------------
    def _open(self) -> None:
        want = self.settings.output
        out = self._out
        self.error = None
        try:
            if want == "jack" or (want == "auto" and _jack_capable(out)):
                if not _jack_capable(out):
                    raise AudioError("JACK audio plays on the sample-accurate JACK output "
                                     "(--midi-api jack --sample-accurate); MIDI plays on")
                self.jack = JackAudio(out.jack_client, self.settings.mix, kit_for=self.kit_for)
                out.audio = self.jack
            else:
                self._open_device_in_background()
        except AudioError as err:
            self.error = f"{err}; MIDI plays on" if "MIDI plays on" not in str(err) else str(err)
        except Exception as err:  # a backend library's own error: never take the clock down
            self.error = f"audio output failed: {err}; MIDI plays on"

    def _open_device_in_background(self) -> None:
        self._ticket += 1
        ticket, mix = self._ticket, self.settings.mix
        self.opening = True

        def work() -> None:
            try:
                result: Any = self._open_device(mix)
            except Exception as err:  # AudioError, or a library's own: reported by poll
                result = err
            self._opened.put((ticket, result))

        threading.Thread(target=work, name="groovefader-audio-open", daemon=True).start()

    def _detach_jack(self) -> None:
        from engine.ports.jack_backend import wait_jack_cycles

        jack_audio, self.jack = self.jack, None
        out = self._out
        if out is not None and getattr(out, "audio", None) is jack_audio:
            out.audio = None
            wait_jack_cycles(out.jack_client, cycles=2)  # the callback has let go of it
        if jack_audio is not None:
            jack_audio.close()

    def _close_outputs(self) -> None:
        self._ticket += 1  # a device still opening is closed when it is done
        self.opening = False
        if self.jack is not None:
            self._detach_jack()
        device, self.device = self.device, None
        if device is not None:
            device.close()


def describe(report: Mapping[str, Any] | None) -> str:
    """One line for a status bar from a report's ``stats["audio"]``: where the kit plays, why
    it cannot, or "" while it is off."""
    if not report or not report.get("enabled"):
        return ""
    if report.get("output") == "jack":
        return "Kit: JACK ports " + ", ".join(report.get("ports", []))
    if report.get("output") == "device":
        return "Kit: audio device"
    return f"Kit: {report.get('error') or 'starting…'}"
