"""The kit's mixer and JACK process callback in C (:file:`kit_dsp.c`), built on first use.

Why: the kit's JACK process runs its callback every period; in Python that callback took
20-50 µs of a 1,333 µs period at 64 frames (JACK-Client's reading of the MIDI and port
buffers, numpy's calls, all with caches gone cold since the last period) and held the
interpreter lock while it ran. In C it takes a few µs and never enters Python
(docs/benchmarks.md, bench/kit_callback.py).

The C file ships beside this module and is compiled with the system's C compiler (``$CC``,
else ``cc``, ``gcc`` or ``clang``) into the user's cache folder the first time a kit starts
(a fraction of a second; after that the built library is loaded). Where there is no compiler
:func:`load_library` says why in one line and the kit plays through the Python callback.

:class:`NativeMixer` has :class:`~engine.audio.mixer.VoiceMixer`'s interface and sound (the
same buffers, gains, velocity curve and choke; 64 slots instead of 32), so it can be checked
against it without JACK.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from engine.audio.kit import Kit, KitMix, velocity_gain
from engine.music.drums import NUM_VOICES

SOURCE = Path(__file__).with_name("kit_dsp.c")
SLOTS = 64  # KIT_SLOTS in kit_dsp.c
COMPILE_TIMEOUT_S = 60.0

_P = ctypes.c_void_p
_SIGNATURES: dict[str, tuple[type | None, list[type]]] = {
    "kit_size": (ctypes.c_size_t, []),
    "kit_init": (None, [_P]),
    "kit_trigger": (None, [_P, ctypes.c_int64, ctypes.c_int32, ctypes.c_int32]),
    "kit_mix": (None, [_P, _P, _P, ctypes.c_uint32]),
    "kit_active": (ctypes.c_int, [_P]),
    "kit_set_jack": (None, [_P, _P, _P, _P, _P, _P, _P]),
    "kit_set_voice": (None, [_P, ctypes.c_int32, _P, ctypes.c_int64]),
    "kit_set_velocity_gain": (None, [_P, ctypes.c_int32, ctypes.c_float]),
    "kit_set_gain": (None, [_P, ctypes.c_int32, ctypes.c_float, ctypes.c_float]),
    "kit_set_note": (None, [_P, ctypes.c_int32, ctypes.c_int32]),
    "kit_set_status": (None, [_P, ctypes.c_int32]),
    "kit_set_stats": (None, [_P, _P, ctypes.c_int64, ctypes.c_int64]),
    "kit_triggered": (ctypes.c_int64, [_P]),
}


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "groovefader"


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def library_path(cache_dir: Path | None = None) -> Path:
    """Where the library built from this :data:`SOURCE` on this platform lives."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    suffix = ".dll" if sys.platform == "win32" else ".so"
    return (cache_dir or _cache_dir()) / f"kit_dsp-{digest}-{sys.platform}-{platform.machine()}{suffix}"


def build_library(cache_dir: Path | None = None) -> Path:
    """The built library, compiled now if it is not there yet.

    Raises:
        OSError: no C compiler, or it failed (the message says which, in one line).
    """
    target = library_path(cache_dir)
    if target.exists():
        return target
    cc = _compiler()
    if cc is None:
        raise OSError("no C compiler (cc, gcc or clang)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=target.suffix, dir=target.parent)
    os.close(fd)
    try:
        done = subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", tmp, str(SOURCE)],
                              capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["no output"])[0]
            raise OSError(f"{cc} failed on {SOURCE.name}: {first}")
        os.replace(tmp, target)  # whole or not at all: another kit may be loading it
    except subprocess.TimeoutExpired as err:
        raise OSError(f"{cc} took over {COMPILE_TIMEOUT_S:.0f} s on {SOURCE.name}") from err
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target


def load_library(cache_dir: Path | None = None) -> ctypes.CDLL:
    """The C kit, built if needed, with its functions' signatures set.

    Raises:
        OSError: it cannot be built or loaded (one line).
    """
    lib = ctypes.CDLL(str(build_library(cache_dir)))
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


class NativeMixer:
    """The kit in C: :class:`~engine.audio.mixer.VoiceMixer`'s interface, and the state
    :func:`kit_dsp.c`'s ``kit_process`` runs a JACK client from (:attr:`pointer`).

    Args:
        lib: :func:`load_library`'s library.
        kit: the voice buffers (kept alive here: the C side reads them).
        mix: levels, pans and master volume.
    """

    def __init__(self, lib: ctypes.CDLL, kit: Kit, mix: KitMix | None = None) -> None:
        if len(kit.samples) != NUM_VOICES:
            raise ValueError(f"a kit has {NUM_VOICES} voices, got {len(kit.samples)}")
        self._lib = lib
        self.kit = kit
        self._buffers = [np.ascontiguousarray(s, np.float32) for s in kit.samples]  # C reads these
        words = (lib.kit_size() + 7) // 8
        self._state = (ctypes.c_int64 * words)()
        self.pointer = ctypes.addressof(self._state)
        lib.kit_init(self.pointer)
        for voice, buf in enumerate(self._buffers):
            lib.kit_set_voice(self.pointer, voice, buf.ctypes.data, len(buf))
        for velocity in range(128):
            lib.kit_set_velocity_gain(self.pointer, velocity, velocity_gain(velocity))
        self.set_mix(mix or KitMix())
        self.stolen = 0  # not counted in C (kept for the VoiceMixer interface)

    def set_mix(self, mix: KitMix) -> None:
        """New levels, pans and volume from the next hit on."""
        for voice, (left, right) in enumerate(mix.gains()):
            self._lib.kit_set_gain(self.pointer, voice, float(left), float(right))

    def set_notes(self, voices: tuple[int, ...], status: int) -> None:
        """Which voice each MIDI pitch plays (``(128,)``, -1 none), and the note-on status byte."""
        for pitch, voice in enumerate(voices):
            self._lib.kit_set_note(self.pointer, pitch, voice)
        self._lib.kit_set_status(self.pointer, status)

    def set_jack(self, functions: tuple[int, int, int], ports: tuple[int, int, int]) -> None:
        """JACK's ``jack_port_get_buffer``, ``jack_midi_get_event_count`` and
        ``jack_midi_event_get``, and the MIDI input, left and right ports (addresses)."""
        self._lib.kit_set_jack(self.pointer, *functions, *ports)

    def set_stats(self, stats: np.ndarray, hist_at: int, hist_last: int) -> None:
        """Count each callback into ``stats`` (int64, shared; the kit process's layout)."""
        self._stats = stats  # kept alive with the state that points at it
        self._lib.kit_set_stats(self.pointer, stats.ctypes.data, hist_at, hist_last)

    @property
    def process_callback(self) -> int:
        """The address of ``kit_process``, a ``JackProcessCallback`` taking :attr:`pointer`."""
        return ctypes.cast(self._lib.kit_process, ctypes.c_void_p).value or 0

    @property
    def triggered(self) -> int:
        return int(self._lib.kit_triggered(self.pointer))

    @property
    def active(self) -> int:
        """Hits sounding now."""
        return int(self._lib.kit_active(self.pointer))

    def trigger(self, offset: int, voice: int, velocity: int) -> None:
        """Start ``voice`` ``offset`` frames into the next block at MIDI ``velocity``."""
        self._lib.kit_trigger(self.pointer, int(offset), int(voice), int(velocity))

    def mix_into(self, left: np.ndarray, right: np.ndarray, frames: int) -> None:
        """Overwrite ``left[:frames]`` and ``right[:frames]`` (contiguous float32) with this block."""
        for out in (left, right):
            if out.dtype != np.float32 or not out.flags.c_contiguous or len(out) < frames:
                raise ValueError("mix_into writes contiguous float32 arrays of at least `frames`")
        self._lib.kit_mix(self.pointer, left.ctypes.data, right.ctypes.data, frames)
