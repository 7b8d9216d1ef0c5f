"""Tempo from outside the app: Ableton Link's shared timeline and tap tempo."""
