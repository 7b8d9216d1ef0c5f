"""Realism of what the instrument plays: every surface (reconstruction, Randomize, the XY pad,
knob ends, Variation, corner blends, transitions) against real held-out grooves, by a
classifier two-sample test and MGEval. :func:`training.realism.scorecard.evaluate_surfaces`
is the entry point; ``groovefader eval --realism-only`` its command."""
