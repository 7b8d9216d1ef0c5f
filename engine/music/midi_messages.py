"""The MIDI bytes groovefader sends: channel voice messages and the realtime clock messages.

Plain tuples of ints, so the clock loop, every port backend and the tests share one
spelling of each message.
"""

from __future__ import annotations

from engine.music.drums import GM_DRUM_CHANNEL

# MIDI status bytes
NOTE_ON, NOTE_OFF, CONTROL_CHANGE = 0x90, 0x80, 0xB0
CLOCK, START, CONTINUE, STOP, SONG_POSITION = 0xF8, 0xFA, 0xFB, 0xFC, 0xF2
ALL_NOTES_OFF_CC = 123
MAX_SONG_POSITION = 0x3FFF  # 14-bit MIDI beats (16ths)


def note_on(channel: int, note: int, velocity: int) -> tuple[int, int, int]:
    return (NOTE_ON | channel, note, velocity)


def note_off(channel: int, note: int) -> tuple[int, int, int]:
    return (NOTE_OFF | channel, note, 0)


def all_notes_off(channel: int = GM_DRUM_CHANNEL) -> tuple[int, int, int]:
    """CC 123 (All Notes Off) on ``channel``."""
    return (CONTROL_CHANGE | channel, ALL_NOTES_OFF_CC, 0)


def song_position(position_steps: int) -> tuple[int, int, int]:
    """Song Position Pointer: position in MIDI beats (16ths = 6 clocks), 14 bits."""
    pos = max(0, min(MAX_SONG_POSITION, int(position_steps)))
    return (SONG_POSITION, pos & 0x7F, (pos >> 7) & 0x7F)


def parse_song_position(lsb: int, msb: int) -> int:
    """Steps (16ths) from the two data bytes of a Song Position Pointer."""
    return (msb << 7) | lsb
