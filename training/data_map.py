"""Build a checkpoint's map of the data: the groove bank the knobs walk and the pad's map.

``groovefader map --checkpoint C --data DIR`` (and the end of ``groovefader train``)
encodes every training window, decodes each code with its own attributes, measures the
decode, and stores codes, attributes, measured attributes and decoded hits in the
checkpoint (:class:`engine.generation.groove_bank.GrooveBank`). A self-organising map
(Kohonen; batch form) of the codes lays a grid of nodes over the pad; each node then holds
one real training groove from those it gathered (:class:`engine.generation.pad_map.PadMap`),
picked at random with a fixed seed rather than the one nearest the node's prototype: a
prototype is a mean of codes, and the codes nearest a mean are the plainest grooves (a pad
of them lost the data's toms, ghost notes and loud hits). Style labels come from the
Groove data's ``info.csv`` ``style`` column: each style is written where its grooves are
densest on the map. Each groove's nearest codes are stored too: transitions walk chains of
them (:mod:`engine.generation.data_path`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import GrooveFaderError
from engine.generation.data_path import NEIGHBOURS, knn
from engine.generation.pad_map import StyleLabel
from engine.generation.som import fit_som, pick_nodes
from engine.music import attributes as attr_lib

MAP_VERSION = 1
UNKNOWN_STYLE = "other"


@dataclass(frozen=True)
class MapConfig:
    """How the data map is built (stored in the checkpoint's metadata)."""

    rows: int = 32
    cols: int = 32
    epochs: int = 25
    sharpness: float = 4.0  # pad blend: 1 = bilinear, larger = most of a cell plays its node
    randomize_noise: float = 0.3  # std added to a training code drawn by Randomize (0: as it is)
    seed: int = 0
    min_style_share: float = 0.03  # styles with fewer of the bank's grooves get no label
    batch_size: int = 1024

    def __post_init__(self) -> None:
        whole = {"rows": 2, "cols": 2, "epochs": 1, "batch_size": 1, "seed": 0}
        for name, low in whole.items():
            value = getattr(self, name)
            if type(value) is not int or value < low:
                raise GrooveFaderError(f"map {name} must be a whole number >= {low}, got {value!r}")
        for name, low, high in (("sharpness", 1e-3, 1e6), ("randomize_noise", 0.0, 10.0),
                                ("min_style_share", 0.0, 1.0)):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or not low <= value <= high:
                raise GrooveFaderError(f"map {name} must be a number in [{low:g}, {high:g}], got {value!r}")


def style_labels(node_styles: np.ndarray, names: Sequence[str], min_share: float,
                 bank_styles: np.ndarray) -> list[StyleLabel]:
    """Where each common style is densest on the node grid (a blurred indicator's peak)."""
    rows, cols = node_styles.shape
    gy, gx = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    labels = []
    for s, name in enumerate(names):
        if name == UNKNOWN_STYLE or (bank_styles == s).mean() < min_share:
            continue
        ind = (node_styles == s).astype(np.float64)
        if not ind.any():
            continue
        sigma = max(rows, cols) / 10
        density = np.zeros_like(ind)
        for i, j in zip(*np.nonzero(ind), strict=True):
            density += np.exp(-((gy - i) ** 2 + (gx - j) ** 2) / (2 * sigma ** 2))
        i, j = np.unravel_index(int(np.argmax(density)), density.shape)
        labels.append(StyleLabel(name, float(2 * j / (cols - 1) - 1), float(2 * i / (rows - 1) - 1)))
    return labels


def read_styles(data_dir: str | Path, sources: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Each source file's style (``info.csv``'s ``style`` up to '/'), as indices and names."""
    table: dict[str, str] = {}
    info = Path(data_dir) / "info.csv"
    if info.is_file():
        with info.open(newline="", encoding="utf-8", errors="replace") as f:
            for row in csv.DictReader(f):
                name, style = row.get("midi_filename"), row.get("style")
                if name and style:
                    table[name.strip()] = style.split("/")[0].strip() or UNKNOWN_STYLE
    styles = [table.get(str(s), UNKNOWN_STYLE) for s in sources]
    names = sorted(set(styles))
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[s] for s in styles], np.int64), names


def graph_arrays(codes: np.ndarray) -> dict[str, np.ndarray]:
    """The bank's neighbour lists ``(N, k)`` (each code's k nearest, nearest first) for the
    transitions' paths through the data (:mod:`engine.generation.data_path`), searched on the
    codes as the checkpoint stores them."""
    return {"bank.neighbours": knn(np.asarray(codes, np.float32), NEIGHBOURS).astype(np.int32)}


def build_data_map(gen: Any, patterns: np.ndarray, attributes: np.ndarray, styles: np.ndarray,
                   style_names: Sequence[str], cfg: MapConfig = MapConfig()
                   ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The bank and pad map of ``gen``'s model over training ``patterns (N, T, 27)`` with
    their raw ``attributes (N, A)``: ``(arrays, metadata)`` as the checkpoint stores them."""
    names = list(gen.attribute_names)
    codes, hits, measured = [], [], []
    for i in range(0, len(patterns), cfg.batch_size):
        mu, _ = gen.encode_batch(patterns[i:i + cfg.batch_size])
        out = gen.decode_batch(mu, attributes[i:i + cfg.batch_size])
        codes.append(mu)
        hits.append(out.hits)
        measured.append(attr_lib.compute(out.to_array(), names))
    code = np.concatenate(codes)
    hit = np.concatenate(hits)
    prototypes, bmu = fit_som(code, cfg.rows, cfg.cols, cfg.epochs)
    nodes = pick_nodes(code, prototypes, bmu, cfg.seed).reshape(cfg.rows, cfg.cols)
    labels = style_labels(styles[nodes], style_names, cfg.min_style_share, styles)
    arrays = {
        "bank.codes": code.astype(np.float16),
        "bank.attributes": np.asarray(attributes, np.float32),
        "bank.measured": np.concatenate(measured).astype(np.float32),
        "bank.hits": np.packbits(hit.reshape(len(hit), -1), axis=1),
        "bank.styles": np.asarray(styles, np.int16),
        "pad.nodes": nodes.astype(np.int32),
    }
    arrays.update(graph_arrays(arrays["bank.codes"]))
    meta = {"version": MAP_VERSION, "config": asdict(cfg), "size": len(code),
            "style_names": list(style_names), "labels": [asdict(label) for label in labels]}
    return arrays, meta
