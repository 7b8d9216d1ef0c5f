"""Every surface the app plays, decoded as the app decodes it, each beside its real reference.

A *surface* is a set of generated 2-bar patterns the musician can reach by one gesture, with
the held-out windows it should be indistinguishable from and a group per pattern for the
two-sample test's grouped folds (:mod:`training.realism.c2st`). Everything goes through the
generator's public API, so a new pad map, Randomize or knob loop is measured as it ships:

==================  ==========================================================================
surface             patterns
==================  ==========================================================================
reconstruction      decode(encode(window)) with the window's own knobs: the floor
randomize           ``Generator.sample_like_data`` latents, no knob set
pad                 ``Generator.pad_to_z`` on an even grid over [-1, 1]², no knob set
prior               N(0, I) latents (not played by the app; the figure it replaced)
variation           ``Generator.variation`` of Randomize's latents (the app's amount, 0.35)
temperature_90      Randomize's latents with the temperature knob at 90 % of its range: hits
                    sampled from the decoder's probabilities (``Generator.decode``)
corner_blends       ``Generator.blend_corners`` of 4 held-out windows at a uniform (x, y)
transition_middle   the middle 2 bars of an 8-bar ``transitions.transition`` (strategy 3, the
                    app's default) between two held-out windows
knob k @ 10 %/90 %  knob k turned to 10 % / 90 % of its range from Randomize's (or the pad's)
                    grooves and held as the app holds it: the targets of
                    ``engine.generation.knobs.KnobState.turn`` (k at its setting, the other
                    attributes where the groove had them) met by ``Generator.decode`` (its
                    feedback loop, or on a map of the data its walk)
==================  ==========================================================================

Every generated surface but the reconstructions and transitions is decoded by
``Generator.decode`` with the knob inputs and targets the app gives it
(``engine.generation.knobs.KnobState``; on a checkpoint with a map of the data only the knobs
set are inputs), so the figures follow the instrument's decode as it changes.

Reference sets: the held-out windows (a random ``samples`` of them; the reconstructions are
of those very windows). For a knob end, the windows whose attribute lies within ±5 % of the
knob's range of the setting (``KNOB_REFERENCE_BAND``), as many as there are.

Groups: a real window's performance (its MIDI file). A reconstruction takes its window's; a
corner blend or a transition is made from windows of one *block* of performances (the
blocks are the test's folds), and the surface's reference windows are labelled by block too.
A pattern the app draws from its map of the training grooves (Randomize, the pad, Variation,
a knob end) takes the training performance of the map's groove nearest the latent it plays
(for a knob end, the groove the knob walked to), when the training windows' performances
are given: grooves from one performance share its drummer's habits, and with one group per
pattern a classifier learns a training performance from some of its grooves and recognises
the others, as it would recognise a held-out performance split across folds. Such a surface
is also measured with one group per pattern (``Surface.draw_groups``), reported beside it.
Prior draws, and every surface when the performances are not given, get one group each.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.generation.knobs import TEMPERATURE_RANGE
from engine.music import attributes as attr_lib
from engine.music.pattern import Pattern
from training.realism.c2st import FOLDS, group_folds

KNOB_ENDS = (0.1, 0.9)          # knob settings measured, as shares of the knob's range
TEMPERATURE_END = 0.9          # the temperature knob's setting measured, as a share of its range
HOT = TEMPERATURE_RANGE[0] + TEMPERATURE_END * (TEMPERATURE_RANGE[1] - TEMPERATURE_RANGE[0])
KNOB_REFERENCE_BAND = 0.05      # real windows within ± this share of the range of the setting
VARIATION_AMOUNT = 0.35         # the app's Variation amount (app/controller.py)
TRANSITION_BARS = 8             # the app's default transition length
TRANSITION_STRATEGY = 3         # the app's default strategy (latent + teacher-forced mix)


@dataclass(frozen=True)
class Surface:
    """One surface's generated patterns and its real reference.

    Attributes:
        name: key in the report (``"pad"``, ``"knob_density_10_randomize"``...).
        label: what a musician would call it.
        patterns: ``(N, T, 27)`` generated patterns.
        groups: ``(N,)`` group of each generated pattern.
        reference: ``(M,)`` indices of the reference windows in the evaluation data.
        reference_groups: ``(M,)`` their groups for this surface's test (performance or block).
        info: what else the report should say (a knob's setting, the reference band...).
        draw_groups: ``(N,)`` one group per pattern, where ``groups`` are the training
            performances the patterns come from (also measured, for comparison), else None.
        picks: ``(N,)`` for a knob end on a map of the data: the map's groove (index in the
            map's order) each pattern plays, -1 where the walk kept the row's own latent.
    """

    name: str
    label: str
    patterns: np.ndarray
    groups: np.ndarray
    reference: np.ndarray
    reference_groups: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    draw_groups: np.ndarray | None = None
    picks: np.ndarray | None = None


def _draw_groups(prefix: str, n: int) -> np.ndarray:
    return np.array([f"{prefix}{i}" for i in range(n)])


def _source_groups(gen: Any, z: np.ndarray, prefix: str,
                   performances: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """``(groups, draw_groups)`` of patterns decoded from latents ``z``: the training
    performance of the map's groove nearest each latent (``performances``: that of each of
    the map's grooves, in its order), and one group per pattern; without a map or
    ``performances`` (or a map of other grooves) one group per pattern only."""
    drawn = _draw_groups(prefix, len(z))
    bank = getattr(gen, "groove_bank", None)
    if performances is None or bank is None or len(bank) != len(performances) or not len(z):
        return drawn, None
    nearest = bank.nearest(np.asarray(z, np.float64), 1)[0][:, 0]
    return np.char.add("train:", np.asarray(performances).astype(str)[nearest]), drawn


def _played_latents(gen: Any, z: np.ndarray, targets: np.ndarray, turning: str
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """``(latents, picks)``: the latent each row of a turned knob plays (on a map of the data
    the groove the walk picked, or the row's own; else the row's own latent) and the map's
    groove it picked (-1: none), None without a map."""
    if not getattr(gen, "has_data_map", False):
        return z, None
    picks = gen.walk_picks(z, targets, turning=turning)
    out = np.array(z, np.float64, copy=True)
    moved = picks >= 0
    out[moved] = gen.groove_bank.codes[picks[moved]]
    return out, np.asarray(picks, np.int64)


def pad_grid(gen: Any, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """An even ``k × k`` grid over the pad (k = round(√samples)) and its latents
    ``(k², Z)`` from the generator's own pad map."""
    k = max(2, int(round(np.sqrt(samples))))
    g = np.linspace(-1.0, 1.0, k)
    x, y = np.meshgrid(g, g)
    xy = np.stack([x.ravel(), y.ravel()], axis=1)
    return xy, np.asarray(gen.pad_to_z(xy[:, 0], xy[:, 1]), np.float64)


def _app_inputs(gen: Any, state: Any) -> dict[str, float]:
    """The decoder's attribute input as the app gives it for a knob state (``app/model_jobs``):
    on a checkpoint with a map of the data only the knobs set (the others are each latent's
    own), else every knob's value."""
    if getattr(gen, "has_data_map", False):
        return {n: float(state.values[n]) for n in state.names if n in state.held}
    return dict(state.inputs)


def app_turn(gen: Any, fresh: Any, knob: str, value: float, anchor: np.ndarray, trend: Any
             ) -> tuple[dict[str, float], np.ndarray]:
    """The decoder input and the ``(B, A)`` targets the app gives a turn of ``knob`` to
    ``value`` from grooves whose own attributes are ``anchor (B, A)``, from the knob state
    ``fresh`` (engine.generation.knobs' rules: the knob held at its setting, the others where
    each groove had them, or following ``trend``)."""
    names = tuple(gen.attribute_names)
    states = [fresh.turn(knob, value, dict(zip(names, row, strict=True))) for row in anchor]
    return _app_inputs(gen, states[0]), np.stack([st.targets(trend) for st in states])


def _play(gen: Any, z: np.ndarray, inputs: dict[str, float], targets: np.ndarray | None = None,
          turning: str | None = None, batch: int = 512, own: np.ndarray | None = None,
          temperature: float = 0.0, seed: int = 0) -> np.ndarray:
    """``(B, T, 27)``: the app's decode (``Generator.decode``) of latents ``z`` with the knob
    ``inputs`` and, for a turned knob, the ``targets`` (``(B, A)``, NaN = the model's) it holds:
    the model's one decode when nothing is held, else the generator meets the targets its own
    way (correcting the attribute input, or walking the data on a data map). ``own``
    ``(B, A)``: the latents' own attributes where known (a corner blend's). ``temperature``
    above 0: hits sampled as the temperature knob samples them (each batch its own ``seed``)."""
    out = []
    for i in range(0, len(z), batch):
        tb = None if targets is None else targets[i:i + batch]
        kw = {} if own is None else {"own": own[i:i + batch]}
        if temperature > 0:
            kw.update(temperature=temperature, seed=seed + i)
        pats = gen.decode(z[i:i + batch], inputs, targets=tb, turning=turning, **kw)
        out.append(np.stack([p.to_array() for p in pats]))
    return np.concatenate(out)


def _reconstruct(gen: Any, windows: np.ndarray, batch: int = 512) -> np.ndarray:
    """Reconstructions of ``windows`` as the instrument plays a decoded groove (with the
    generator's ``expression``): the floor every surface is held against."""
    from training.expression_fit import reconstructions

    rec = reconstructions(gen, windows, batch)
    expression = getattr(gen, "expression", None)
    return rec if expression is None else expression.apply(rec)


def knob_reference(values: np.ndarray, setting: float, span: float,
                   band: float = KNOB_REFERENCE_BAND) -> np.ndarray:
    """Indices of the windows whose attribute ``values`` lie within ``band × span`` of
    ``setting``."""
    return np.flatnonzero(np.abs(np.asarray(values, np.float64) - setting) <= band * span + 1e-12)


def build_surfaces(gen: Any, windows: np.ndarray, groups: np.ndarray, samples: int, seed: int = 0,
                   folds: int = FOLDS, knob_sources: tuple[str, ...] = ("randomize", "pad"),
                   progress: Callable[[str], None] | None = None,
                   only: Collection[str] | None = None,
                   performances: np.ndarray | None = None,
                   transition_strategy: int = TRANSITION_STRATEGY) -> list[Surface]:
    """Decode every surface (module docstring) from ``gen`` against the evaluation
    ``windows (W, T, 27)`` with their performance ``groups (W,)``.

    Args:
        samples: generated patterns per surface (the pad: the nearest square).
        seed: seeds every draw (latents, windows, blend points, transition mixes).
        folds: the two-sample test's folds (blends and transitions draw from one block each).
        knob_sources: the grooves the knobs are turned from (``"randomize"``, ``"pad"``).
        only: the surfaces to decode besides the floor (None: all; ``"knobs"`` stands for
            the knob ends); every surface gets the same draws either way.
        performances: the training performance of each groove of the generator's map, in the
            map's order (the training split's windows): groups the patterns drawn from the
            map by where they come from (module docstring).
    """
    say = progress or (lambda _msg: None)
    rng = np.random.default_rng(seed)
    groups = np.asarray(groups).astype(str)
    n_win = len(windows)
    ref = np.sort(rng.choice(n_win, min(samples, n_win), replace=False))
    surfaces: list[Surface] = []

    def want(name: str) -> bool:
        return only is None or name in only

    say("reconstruction")
    surfaces.append(Surface("reconstruction", "Reconstruction (the floor)", _reconstruct(gen, windows[ref]),
                            groups[ref], ref, groups[ref]))

    from engine.generation.knobs import KnobState

    fresh = KnobState.for_model(gen.attribute_ranges, gen.attribute_defaults)  # no knob set
    free = _app_inputs(gen, fresh)

    if any(want(n) for n in ("randomize", "pad", "variation", "knobs", "temperature")):
        say("randomize")
        z_rand = np.asarray(gen.sample_like_data(samples, seed=seed + 1), np.float64)
        rand = _play(gen, z_rand, free)
        if want("randomize"):
            grouping = _source_groups(gen, z_rand, "rand", performances)
            surfaces.append(Surface("randomize", "Randomize", rand, *_grouped(grouping, ref, groups)))
    if want("pad") or want("knobs"):
        say("pad")
        xy, z_pad = pad_grid(gen, samples)
        pad = _play(gen, z_pad, free)
        if want("pad"):
            surfaces.append(Surface("pad", f"XY pad ({int(np.sqrt(len(xy)))}² grid)", pad,
                                    *_grouped(_source_groups(gen, z_pad, "pad", performances), ref, groups)))
    if want("temperature"):
        say("temperature")
        sampled = _play(gen, z_rand, free, temperature=HOT, seed=seed + 4)
        surfaces.append(Surface("temperature_90", f"temperature at {round(TEMPERATURE_END * 100)} % "
                                f"({HOT:g}; Randomize)", sampled,
                                *_grouped(_source_groups(gen, z_rand, "hot", performances), ref, groups)))
    if want("prior"):
        say("prior")
        z_prior = np.asarray(gen.sample(samples, seed=seed + 2), np.float64)
        surfaces.append(Surface("prior", "Prior draws (not played by the app)", _play(gen, z_prior, free),
                                _draw_groups("prior", samples), ref, groups[ref]))
    if want("variation"):
        say("variation")
        z_var = np.asarray(gen.variation(z_rand, VARIATION_AMOUNT, seed=seed + 3), np.float64)
        surfaces.append(Surface("variation", f"Variation of Randomize (amount {VARIATION_AMOUNT})",
                                _play(gen, z_var, free),
                                *_grouped(_source_groups(gen, z_var, "var", performances), ref, groups)))

    # blends and transitions: every window of one generated pattern from one block of
    # performances; the blocks are the folds, so none straddles the classifier's split
    block_of = group_folds(groups, folds, seed)
    block_labels = np.array([f"block{b}" for b in block_of])
    in_block = [np.flatnonzero(block_of == b) for b in range(folds)]
    pick_block = np.array([i % folds for i in range(samples)])
    rng.shuffle(pick_block)
    pick_block = np.array([b if len(in_block[b]) else next(j for j in range(folds) if len(in_block[j]))
                           for b in pick_block])

    corners = np.stack([rng.choice(in_block[b], 4) for b in pick_block])  # (N, 4) window indices
    pts = rng.uniform(-1.0, 1.0, (samples, 2))
    if want("corner_blends"):
        say("corner blends")
        mu, _ = gen.encode_batch(windows[corners.ravel()])
        mu = mu.reshape(samples, 4, -1)
        mixes = [gen.corner_blend(mu[i], *pts[i]) for i in range(samples)]
        z_blend, own_blend = np.stack([m[0] for m in mixes]), np.stack([m[1] for m in mixes])
        surfaces.append(Surface("corner_blends", "Corner blends (4 held-out grooves, random x, y)",
                                _play(gen, z_blend, free, own=own_blend),
                                np.array([f"block{b}" for b in pick_block]),
                                ref, block_labels[ref]))
    pairs = np.stack([rng.choice(in_block[b], 2, replace=False) if len(in_block[b]) > 1
                      else np.repeat(in_block[b], 2) for b in pick_block])
    if want("transition_middle"):
        say("transitions")
        from engine.generation.transitions import transition

        spb = gen.steps_per_bar
        start = (TRANSITION_BARS - gen.steps // spb) // 2
        mids = []
        for i, (a, b) in enumerate(pairs):
            pa, pb = Pattern.from_array(windows[a], spb), Pattern.from_array(windows[b], spb)
            out = transition(gen, pa, pb, TRANSITION_BARS, transition_strategy, seed=seed + 10 + i)
            mids.append(out.bar_slice(start, gen.steps // spb).to_array())
        surfaces.append(Surface("transition_middle",
                                f"Transition middle (bars {start + 1}–{start + gen.steps // spb} of "
                                f"{TRANSITION_BARS}, strategy {transition_strategy})",
                                np.stack(mids), np.array([f"block{b}" for b in pick_block]),
                                ref, block_labels[ref]))
    if want("knobs"):
        surfaces += knob_surfaces(gen, windows, groups, {"randomize": (z_rand, rand), "pad": (z_pad, pad)},
                                  knob_sources, samples, seed, say, performances)
    return surfaces


def _grouped(grouping: tuple[np.ndarray, np.ndarray | None], ref: np.ndarray, groups: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any], np.ndarray | None]:
    """A surface's ``groups, reference, reference_groups, info, draw_groups`` against the
    floor's reference windows."""
    own, drawn = grouping
    return own, ref, groups[ref], _group_info(drawn), drawn


def _group_info(drawn: np.ndarray | None) -> dict[str, Any]:
    return {"generated_groups": "one per pattern" if drawn is None
            else "the training performance of the nearest groove of the map"}


def knob_surfaces(gen: Any, windows: np.ndarray, groups: np.ndarray,
                  sources: dict[str, tuple[np.ndarray, np.ndarray]], which: tuple[str, ...],
                  samples: int, seed: int, say: Callable[[str], None],
                  performances: np.ndarray | None = None) -> list[Surface]:
    """Each knob at each of :data:`KNOB_ENDS`, turned from each source's grooves (latents and
    their open-loop decodes) and held as the app holds it (module docstring); ``performances``
    as :func:`build_surfaces`'s."""
    from engine.generation.knobs import KnobState

    names = tuple(gen.attribute_names)
    if not names:
        return []
    ranges = gen.attribute_ranges
    fresh = KnobState.for_model(ranges, gen.attribute_defaults)  # a new groove, no knob set
    trend = getattr(gen, "data_trend", None)  # the knobs nobody set follow the data (as in the app)
    data_attrs = attr_lib.compute(windows, names)
    rng = np.random.default_rng(seed + 7)
    out = []
    for source in which:
        z, decoded = sources[source]
        anchor = attr_lib.compute(decoded, names)  # the groove's own attributes, held
        for k, name in enumerate(names):
            lo, hi = ranges[name]
            for end in KNOB_ENDS:
                setting = lo + end * (hi - lo)
                say(f"knob {name} {round(end * 100)}% ({source})")
                # the app's knob rules (engine.generation.knobs): turned from the playing
                # groove, the knob is held at its setting, the others where the groove had them
                inputs, targets = app_turn(gen, fresh, name, setting, anchor, trend)  # same inputs per row
                pats = _play(gen, z, inputs, targets, name)
                prefix = f"{source}-{name}-{end}-"
                picks = None
                if performances is None:
                    own, drawn = _draw_groups(prefix, len(pats)), None
                else:
                    played, picks = _played_latents(gen, z, targets, name)
                    own, drawn = _source_groups(gen, played, prefix, performances)
                near = knob_reference(data_attrs[:, k], setting, hi - lo)
                available = len(near)
                if len(near) > samples:
                    near = np.sort(rng.choice(near, samples, replace=False))
                out.append(Surface(
                    f"knob_{name}_{round(end * 100)}_{source}",
                    f"{name} at {round(end * 100)} % ({'Randomize' if source == 'randomize' else 'pad'})",
                    pats, own, near, np.asarray(groups).astype(str)[near],
                    {"knob": name, "setting": float(setting), "share_of_range": end, "source": source,
                     "reference_band": [float(setting - KNOB_REFERENCE_BAND * (hi - lo)),
                                        float(setting + KNOB_REFERENCE_BAND * (hi - lo))],
                     "reference_windows_available": int(available), **_group_info(drawn)},
                    drawn, picks))
    return out
