"""The clock process's side of the built-in kit: which output plays it, and what feeds it.

Two outputs, one rule: the kit plays exactly the note-ons the MIDI output gets.

* On JACK (the MIDI output is a JACK port: the sample-accurate output), the kit is a JACK
  client in a process of its own (:mod:`engine.audio.kit_process`, handled through
  :class:`~engine.audio.kit_host.KitProcess`) whose MIDI input is connected from the MIDI
  port: JACK hands it each note-on at its frame, so every hit sounds on its note's frame, and
  no Python of the kit runs in the clock process.
* Otherwise the system's audio device gets each note-on as the clock loop sends it, stamped
  with its deadline on the wall clock: its PortAudio stream and callback
  (:class:`~engine.audio.device.DeviceAudio`) run in a process of their own too
  (:mod:`engine.audio.device_process`, handled through
  :class:`~engine.audio.device_host.DeviceProcess`), so the clock's Python and the audio
  callback's never wait for each other; only where a process cannot be handed its socket
  (Windows) does the stream open in the clock process.

Either plays the built-in kit or, where :attr:`AudioSettings.soundfont` names one, the
kit of an SF2 soundfont (:mod:`engine.audio.soundfont`); a soundfont that cannot be used is
one line in the report (``soundfont``) and the built-in kit plays.

Where no output can open, :attr:`LiveAudio.error` holds one line (shown by the app and by
``play --audio``) and MIDI plays on untouched. Nothing here waits on the clock thread: the
device is opened on a thread of its own (PortAudio's start-up takes a few hundred ms,
measured here: 0.29 s), the kit process starts in the background and says when it plays.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any

from engine.audio.device import DeviceAudio
from engine.audio.device_host import DeviceProcess
from engine.audio.errors import AudioError
from engine.audio.kit import Kit, KitMix
from engine.audio.kit_host import KitProcess
from engine.audio.kit_messages import FollowMidi, SetKitMix, SetKitNotes, StartKit, voices_by_pitch
from engine.audio.settings import AudioSettings
from engine.audio.soundfont import kit_with_soundfont
from engine.music.drums import GM_DRUM_CHANNEL, GM_NOTE_MAP

KIT_CLOSE_WAIT_S = 2.0  # at exit: how long the kit's process may take to let go of its client


def _jack_port(out: Any) -> str | None:
    """The MIDI output's JACK port (``client:port``) where the kit can follow it, else None."""
    return getattr(out, "jack_port_name", None) if out is not None else None


class LiveAudio:
    """Owns the kit's output in the clock process. Not thread-safe: the clock thread calls it.

    Args:
        open_device: builds the device output from a mix (tests pass a fake; default
            :class:`~engine.audio.device.DeviceAudio`).
        open_kit: starts the kit's JACK process (tests pass a fake; default
            :class:`~engine.audio.kit_host.KitProcess`).
    """

    def __init__(self, open_device: Callable[[KitMix], Any] | None = None,
                 open_kit: Callable[[StartKit], Any] | None = None) -> None:
        self._open_device = open_device or self._device_process
        self._open_kit = open_kit or KitProcess
        self._kits: dict[tuple[int, str | None], tuple[Kit, str | None]] = {}
        self._ticket = 0  # the device open that counts; older ones are closed when they finish
        self._opened: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
        self.opening = False
        self.settings = AudioSettings()
        self.jack: Any = None  # the kit's JACK process (a KitProcess), starting or playing
        self.device: Any = None
        self.error: str | None = None
        self._out: Any = None
        self._notes = (voices_by_pitch(GM_NOTE_MAP), GM_DRUM_CHANNEL)

    # -- what the clock loop tells it -------------------------------------------------------
    def configure(self, settings: AudioSettings, out: Any) -> None:
        """New settings (on/off, mix, output, soundfont); ``out`` is the MIDI output open now (or None)."""
        before, self.settings = self.settings, settings
        self._out = out
        if not settings.enabled:
            self._close_outputs()
            self.error = None
            return
        same_place = before.output == settings.output and before.soundfont == settings.soundfont
        if before.enabled and same_place and (self.jack or self.device):
            if self.jack is not None:
                self.jack.send(SetKitMix(settings.mix))
            if self.device is not None:
                self.device.set_mix(settings.mix)
            return
        self._close_outputs()
        self._open()

    def follow_controls(self, controls: Any) -> None:
        """The MIDI's note map and drum channel (:class:`~engine.realtime.steps.Controls`): the
        kit's JACK process plays the pitches the MIDI sends."""
        notes = (voices_by_pitch(controls.note_map), int(controls.channel))
        if notes != self._notes:
            self._notes = notes
            if self.jack is not None:
                self.jack.send(SetKitNotes(*notes))

    def port_opened(self, out: Any) -> None:
        """The MIDI output changed: the kit follows its JACK port, or stays on the device."""
        self._out = out
        if not self.settings.enabled:
            return
        want_jack = self.settings.output == "jack" or (self.settings.output == "auto" and _jack_port(out))
        if want_jack and self.jack is not None and _jack_port(out):
            self.jack.send(FollowMidi(_jack_port(out)))  # the same kit, the new port
            return
        if want_jack or self.device is None:
            self._close_outputs()
            self._open()

    def port_closing(self, out: Any) -> None:
        """The MIDI output is about to close (or died). The kit's process stays: its MIDI
        connection goes with the port, and :meth:`port_opened` points it at the next one."""
        if self._out is out:
            self._out = None

    def note(self, wall_ns: int, voice: int, velocity: int) -> None:
        """A note-on the loop sent itself at ``wall_ns`` on the wall clock (the device's feed)."""
        device = self.device
        if device is not None:
            device.note(wall_ns, voice, velocity)

    def poll(self) -> None:
        """Take over a device output that finished opening (or its error), and hear from the
        kit's process; called with every report, so within 100 ms."""
        kit = self.jack
        if kit is not None:
            kit.poll()
            if kit.ready:
                self.opening = False
            elif kit.error is not None:
                self.jack = None
                self.opening = False
                kit.close()
                self.error = f"{kit.error}; MIDI plays on"
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
        if self.jack is not None and self.jack.ready:
            return "jack"
        return "device" if self.device is not None else None

    def report(self) -> dict[str, Any]:
        """For the status report: on/off, where, the one-line error, the soundfont's note, counts."""
        where = self.output
        out: dict[str, Any] = {"enabled": self.settings.enabled, "output": where, "error": self.error,
                               "volume": self.settings.mix.volume}
        if self.opening:
            out["opening"] = True
        note = self._soundfont_note()
        if note:
            out["soundfont"] = note
        if where == "jack":
            stats = self.jack.stats()
            blocks = max(1, stats["blocks"])
            out["ports"] = list(self.jack.ports)
            out["callback"] = getattr(self.jack, "callback", "")
            out["hits"] = stats["hits"]
            out["mix_us"] = {"blocks": stats["blocks"], "mean": round(stats["busy_ns"] / blocks / 1e3, 1),
                             "max": round(stats["busy_max_ns"] / 1e3, 1), **self.jack.callback_us()}
        device = self.device
        if isinstance(device, DeviceProcess):
            counts = device.counters()
            out.update({"process": device.pid, "hits": counts["hits"], "late": counts["late"],
                        "underruns": counts["underruns"], "dropped": counts["dropped"]})
            out["mix_us"] = {"blocks": counts["blocks"],
                             "mean": round(counts["busy_ns"] / max(1, counts["blocks"]) / 1e3, 1),
                             "max": round(counts["busy_max_ns"] / 1e3, 1)}
        elif device is not None:
            out["hits"] = device.mixer.triggered
            out["late"] = getattr(getattr(device, "notes", None), "late", 0)
            out["underruns"] = getattr(device, "underruns", 0)
        return out

    def close(self) -> None:
        kit, self.jack = self.jack, None
        if kit is not None:
            kit.close(wait_s=KIT_CLOSE_WAIT_S)  # at exit: its client gone before the port's
        self._close_outputs()

    def kit_for(self, rate: int) -> Kit:
        """The kit at ``rate`` (the soundfont's, if one is set), built once (tens of ms of numpy
        in the clock process, on the device's opening thread: paid the first time the kit is
        turned on at that rate, not again)."""
        key = (rate, self.settings.soundfont)
        found = self._kits.get(key)
        if found is None:
            found = self._kits[key] = kit_with_soundfont(rate, self.settings.soundfont)
        return found[0]

    # -- internals -----------------------------------------------------------------------------
    def _soundfont_note(self) -> str | None:
        if not self.settings.soundfont:
            return None
        if self.jack is not None and self.jack.ready:
            return self.jack.note
        if isinstance(self.device, DeviceProcess):
            return self.device.note_text
        if self.device is not None:
            found = self._kits.get((self.device.rate, self.settings.soundfont))
            return found[1] if found else None
        return None

    def _open(self) -> None:
        want = self.settings.output
        port = _jack_port(self._out)
        self.error = None
        try:
            if want == "jack" or (want == "auto" and port):
                if not port:
                    raise AudioError("JACK audio plays on the sample-accurate JACK output "
                                     "(--midi-api jack --sample-accurate); MIDI plays on")
                client = port.split(":", 1)[0]
                voices, channel = self._notes
                soundfont = os.path.abspath(self.settings.soundfont) if self.settings.soundfont else None
                self.jack = self._open_kit(StartKit(f"{client}-kit", port, self.settings.mix, voices, channel,
                                                    soundfont))
                self.opening = True
            else:
                self._open_device_in_background()
        except AudioError as err:
            self.error = f"{err}; MIDI plays on" if "MIDI plays on" not in str(err) else str(err)
        except Exception as err:  # a backend library's own error: never take the clock down
            self.error = f"audio output failed: {err}; MIDI plays on"

    def _device_process(self, mix: KitMix) -> Any:
        """The device output in a process of its own (called on the opening thread); where no
        process can be started with the socket handed over (Windows), in this one."""
        soundfont = os.path.abspath(self.settings.soundfont) if self.settings.soundfont else None
        try:
            return DeviceProcess.open(mix, soundfont=soundfont)
        except AudioError as err:
            if not str(err).startswith("cannot start the audio device's process"):
                raise
        return DeviceAudio(mix, kit_for=self.kit_for)

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

    def _close_outputs(self) -> None:
        self._ticket += 1  # a device still opening is closed when it is done
        self.opening = False
        kit, self.jack = self.jack, None
        if kit is not None:
            kit.close()  # its process stops on its own time, off the clock thread
        device, self.device = self.device, None
        if device is not None:
            device.close()


def describe(report: Mapping[str, Any] | None) -> str:
    """One line for a status bar from a report's ``stats["audio"]``: where the kit plays, why
    it cannot, or "" while it is off."""
    if not report or not report.get("enabled"):
        return ""
    note = f" ({report['soundfont']})" if report.get("soundfont") else ""
    if report.get("output") == "jack":
        return "Kit: JACK ports " + ", ".join(report.get("ports", [])) + note
    if report.get("output") == "device":
        return "Kit: audio device" + note
    return f"Kit: {report.get('error') or 'starting…'}"
