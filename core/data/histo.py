"""Reader for the public IDC histopathology data set in its own layout.

``<root>/<patient>/<0|1>/<patient>_idx5_x<X>_y<Y>_class<C>.png``: the patient id, the
patch's offset on its slide (X, Y) and the label are all in the file name; the label in
the name wins over the folder (the folders agree in the published data).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import DataError
from core.imaging.decode import read_image
from core.imaging.preprocess import pad_to_square, to_rgb

PATCH_NAME = re.compile(r"^(?P<patient>[^_/]+)_idx5_x(?P<x>\d+)_y(?P<y>\d+)_class(?P<label>[01])\.png$")


@dataclass(frozen=True)
class Patch:
    path: str
    patient: str
    x: int
    y: int
    label: int

    @property
    def id(self) -> str:
        return Path(self.path).stem


def parse_patch_name(name: str) -> tuple[str, int, int, int]:
    """``'8863_idx5_x51_y1251_class0.png'`` → ``('8863', 51, 1251, 0)``."""
    m = PATCH_NAME.match(os.path.basename(name))
    if not m:
        raise DataError(f"'{name}' is not named like an IDC patch (<patient>_idx5_x<X>_y<Y>_class<C>.png).")
    return m["patient"], int(m["x"]), int(m["y"]), int(m["label"])


def find_patches(root: str | os.PathLike) -> list[Patch]:
    """Every patch under ``root`` (the data-set folder or one patient's folder), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"The histopathology folder '{root}' does not exist.")
    patches = []
    for folder, _, files in os.walk(root, followlinks=True):
        for name in files:
            if PATCH_NAME.match(name):
                patient, x, y, label = parse_patch_name(name)
                patches.append(Patch(os.path.join(folder, name), patient, x, y, label))
    patches.sort(key=lambda p: (p.patient, p.y, p.x, p.path))
    if not patches:
        raise DataError(
            f"No IDC patches found under '{root}'. Expected <patient>/<0|1>/"
            "<patient>_idx5_x<X>_y<Y>_class<C>.png, the layout of the public data set."
        )
    return patches


def load_patch(path: str) -> np.ndarray:
    """One patch as a (50, 50, 3) float32 model input.

    Patches at the slide edge are smaller than 50×50; they are padded with white at the
    bottom/right (their position on the slide is their top-left corner), never stretched.
    """
    return pad_to_square(to_rgb(read_image(path, min_side=1).pixels))


def load_patches(patches: list[Patch]) -> np.ndarray:
    """Load many patches into one (N, 50, 50, 3) float32 array.

    Serially: a 50×50 PNG takes about a third of a millisecond, most of it Python, so a
    thread pool only adds contention for the interpreter lock (it was slower here).
    """
    out = np.empty((len(patches), 50, 50, 3), np.float32)
    for i, p in enumerate(patches):
        out[i] = load_patch(p.path)
    return out


# ---------------------------------------------------------------------------------------
# complete slides, told from the patch grid


# A patch of a complete slide has, on average, about three of its four grid neighbours; a
# ~9% random sample of a slide leaves about 0.4. Between them there is a wide gap, so the
# rule below is not sensitive to the exact cut.
COMPLETE_MIN_NEIGHBOURS = 2.5
# Cells missing inside the tissue (all four neighbours present) that a complete slide may
# have, as a share of its patches: the data set drops a few patches at tissue holes.
COMPLETE_MAX_HOLES = 0.02
GRID = 50


@dataclass(frozen=True)
class SlideGrid:
    """How densely one patient's patches cover their slide's 50-px grid."""

    patient: str
    patches: int
    mean_neighbours: float  # present 4-neighbours per patch
    holes: int  # absent cells whose four neighbours are all present

    @property
    def complete(self) -> bool:
        return self.mean_neighbours >= COMPLETE_MIN_NEIGHBOURS and self.holes <= COMPLETE_MAX_HOLES * self.patches


def slide_grid(patient: str, positions: list[tuple[int, int]] | set[tuple[int, int]]) -> SlideGrid:
    """Grid density of one patient's patch positions (x, y) in slide pixels."""
    cells = set(positions)
    steps = ((GRID, 0), (-GRID, 0), (0, GRID), (0, -GRID))

    def neighbours(x: int, y: int) -> int:
        return sum((x + dx, y + dy) in cells for dx, dy in steps)

    total = sum(neighbours(x, y) for x, y in cells)
    empty = {(x + dx, y + dy) for x, y in cells for dx, dy in steps} - cells
    holes = sum(neighbours(x, y) == 4 for x, y in empty)
    return SlideGrid(patient, len(cells), total / max(len(cells), 1), holes)


def slide_grids(patches: list[Patch]) -> dict[str, SlideGrid]:
    """:class:`SlideGrid` of every patient among ``patches``, by patient id."""
    by_patient: dict[str, set[tuple[int, int]]] = {}
    for p in patches:
        by_patient.setdefault(p.patient, set()).add((p.x, p.y))
    return {pid: slide_grid(pid, cells) for pid, cells in sorted(by_patient.items())}


def complete_patients(patches: list[Patch]) -> list[str]:
    """The patients whose patches cover their whole slide, decided from the grid alone."""
    return [pid for pid, g in slide_grids(patches).items() if g.complete]


__all__ = [
    "Patch",
    "SlideGrid",
    "complete_patients",
    "find_patches",
    "load_patch",
    "load_patches",
    "parse_patch_name",
    "slide_grid",
    "slide_grids",
]
