"""Data sets as arrays: model inputs, labels, patient ids and image ids, for either modality."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.cbis_films import FilmLesion, is_film_layout, read_film_lesions
from core.data.histo import find_patches, load_patches
from core.data.mammo import Lesion, find_mammo_lesions, lesion_region
from core.imaging.decode import read_image
from core.imaging.lesion import LesionSquare, crop_inside, frame_box
from core.imaging.preprocess import resize_linear, to_gray, to_model_input
from core.modality import HISTO, MAMMO, Modality

JITTER_SIZE = 80
# Film lesions keep a context square this many times the model's square for crop jitter
# (scale up to 1.25 and a shift of up to a tenth of the side), at CONTEXT_SIZE px.
CONTEXT_MARGIN = 1.5
CONTEXT_SIZE = 150
PatientFilter = Callable[[str], bool] | None


@dataclass
class LabelledSet:
    """Everything training and evaluation need, aligned by index."""

    modality: Modality
    x: np.ndarray  # (N, 50, 50, C) model inputs
    y: np.ndarray  # (N,) 0/1
    groups: np.ndarray  # (N,) patient ids
    ids: np.ndarray  # (N,) image ids (file stems)
    source: str
    regions: list[np.ndarray] | None = None  # mammo: lesion regions at JITTER_SIZE px, for crop jitter
    region_margin: float = 1.0  # regions are this many times the model's square (film lesions: CONTEXT_MARGIN)
    skipped: dict | None = None  # what the reader left out and why, e.g. ambiguous films
    boxes: np.ndarray | None = None  # (N, 4) known lesion boxes (x0, y0, x1, y1) in input pixels

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> LabelledSet:
        return LabelledSet(
            self.modality,
            self.x[idx],
            self.y[idx],
            self.groups[idx],
            self.ids[idx],
            self.source,
            [self.regions[i] for i in idx] if self.regions is not None else None,
            self.region_margin,
            self.skipped,
            self.boxes[idx] if self.boxes is not None else None,
        )

    def counts(self) -> dict:
        by_patient: dict[str, list[int]] = {}
        for g, label in zip(self.groups.tolist(), self.y.tolist()):
            by_patient.setdefault(g, [0, 0])[label] += 1
        names = self.modality.class_names
        return {
            "n_images": int(len(self.y)),
            "n_patients": int(len(by_patient)),
            "by_class": {names[0]: int((self.y == 0).sum()), names[1]: int((self.y == 1).sum())},
            "by_patient": {p: {names[0]: c[0], names[1]: c[1]} for p, c in sorted(by_patient.items())},
        }


def load_histo(root: str | os.PathLike, keep: PatientFilter = None) -> LabelledSet:
    patches = [p for p in find_patches(root) if keep is None or keep(p.patient)]
    return LabelledSet(
        HISTO,
        load_patches(patches),
        np.array([p.label for p in patches], np.int64),
        np.array([p.patient for p in patches]),
        np.array([p.id for p in patches]),
        source=f"IDC histopathology patches ({Path(root).name})",
    )


def _film_box(lesion: FilmLesion | Lesion) -> tuple[float, float, float, float]:
    """The lesion's box (x, y, w, h) on its film: the annotation, or a circle's bounding square."""
    if isinstance(lesion, FilmLesion):
        return lesion.box
    r = lesion.radius
    return lesion.cx - r, lesion.cy - r, 2 * r, 2 * r


def _load_film_lesions(lesions: list, source: str, skipped: dict | None = None) -> LabelledSet:
    """Film lesions framed by the model's rule (core.imaging.lesion), each film decoded once."""
    x, regions, boxes = [], [], []
    films: dict[str, np.ndarray] = {}
    for lesion in lesions:
        if lesion.path not in films:
            films.clear()  # lesions of one film are adjacent: keep one film in memory
            films[lesion.path] = to_gray(read_image(lesion.path).pixels)
        film = films[lesion.path]
        square, box = frame_box(_film_box(lesion), *film.shape[:2], size=MAMMO.input_shape[0])
        x.append(to_model_input(crop_inside(film, square), MAMMO))
        boxes.append(box)
        context = LesionSquare(square.cx, square.cy, square.side * CONTEXT_MARGIN)
        regions.append(resize_linear(crop_inside(film, context), CONTEXT_SIZE))
    return LabelledSet(
        MAMMO,
        np.stack(x) if x else np.zeros((0, *MAMMO.input_shape), np.float32),
        np.array([lesion.label for lesion in lesions], np.int64),
        np.array([lesion.patient for lesion in lesions]),
        np.array([lesion.id for lesion in lesions]),
        source=source,
        regions=regions,
        region_margin=CONTEXT_MARGIN,
        skipped=skipped,
        boxes=np.array(boxes, np.float32).reshape(-1, 4),
    )


def load_mammo(root: str | os.PathLike, source: str = "auto", keep: PatientFilter = None) -> LabelledSet:
    if source in ("auto", "cbis_films") and is_film_layout(root):
        found = read_film_lesions(root)
        lesions = sorted((f for f in found.lesions if keep is None or keep(f.patient)), key=lambda f: f.id)
        counts = found.counts()
        skipped = {k: counts[k] for k in ("skipped_ambiguous_films", "skipped_ambiguous_lesions")}
        return _load_film_lesions(lesions, lesions[0].source if lesions else "", skipped)
    lesions = [lesion for lesion in find_mammo_lesions(root, source) if keep is None or keep(lesion.patient)]
    if lesions and all(lesion.source == "mini-MIAS film" for lesion in lesions):
        framed = [lesion for lesion in lesions if lesion.radius > 0]
        skipped = {"films_without_a_lesion_location": len(lesions) - len(framed)}
        return _load_film_lesions(framed, "mini-MIAS films (external)", skipped)
    regions = [lesion_region(lesion) for lesion in lesions]
    x = (
        np.stack([to_model_input(r, MAMMO) for r in regions])
        if regions
        else np.zeros((0, *MAMMO.input_shape), np.float32)
    )
    return LabelledSet(
        MAMMO,
        x,
        np.array([lesion.label for lesion in lesions], np.int64),
        np.array([lesion.patient for lesion in lesions]),
        np.array([lesion.id for lesion in lesions]),
        source=lesions[0].source if lesions else "",
        # Crop jitter works on a 80-px copy of each region: cropping 80–100% of it and
        # resizing to 50 px is as good as doing so at full resolution, and 50× cheaper.
        regions=[resize_linear(r, JITTER_SIZE) for r in regions],
    )


def count_labelled(modality: str, root: str | os.PathLike, mammo_source: str = "auto") -> int:
    """How many labelled images :func:`load_labelled` would return, without decoding any."""
    if modality == "histo":
        return len(find_patches(root))
    if mammo_source in ("auto", "cbis_films") and is_film_layout(root):
        return len(read_film_lesions(root).lesions)
    lesions = find_mammo_lesions(root, mammo_source)
    if lesions and all(lesion.source == "mini-MIAS film" for lesion in lesions):
        return sum(lesion.radius > 0 for lesion in lesions)
    return len(lesions)


def load_labelled(
    modality: str, root: str | os.PathLike, mammo_source: str = "auto", keep: PatientFilter = None
) -> LabelledSet:
    """Every labelled image under ``root`` whose patient ``keep`` accepts (others are never decoded)."""
    if modality == "histo":
        return load_histo(root, keep)
    if modality == "mammo":
        return load_mammo(root, mammo_source, keep)
    raise ValueError(f"unknown modality {modality!r}")
