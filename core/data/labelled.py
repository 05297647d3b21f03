"""Data sets as arrays: model inputs, labels, patient ids and image ids, for either modality."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.histo import find_patches, load_patches
from core.data.mammo import find_mammo_lesions, lesion_region
from core.imaging.preprocess import resize_linear, to_model_input
from core.modality import HISTO, MAMMO, Modality

JITTER_SIZE = 80
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


def load_mammo(root: str | os.PathLike, source: str = "auto", keep: PatientFilter = None) -> LabelledSet:
    lesions = [lesion for lesion in find_mammo_lesions(root, source) if keep is None or keep(lesion.patient)]
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


def load_labelled(
    modality: str, root: str | os.PathLike, mammo_source: str = "auto", keep: PatientFilter = None
) -> LabelledSet:
    """Every labelled image under ``root`` whose patient ``keep`` accepts (others are never decoded)."""
    if modality == "histo":
        return load_histo(root, keep)
    if modality == "mammo":
        return load_mammo(root, mammo_source, keep)
    raise ValueError(f"unknown modality {modality!r}")
