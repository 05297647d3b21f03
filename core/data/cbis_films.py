"""Mammography films with lesion boxes: CBIS-DDSM as COCO files, or any COCO export.

Two layouts, one record type (:class:`FilmLesion`):

* **CBIS-DDSM mass films** (the public carrier's layout)::

      <root>/train/<patient number>_<LEFT|RIGHT>_<CC|MLO>.jpg    films (any of train/, test/)
      <root>/train/_annotations.coco.json                        one COCO bbox per lesion
      <root>/mass_case_description_{train,test}_set.csv           TCIA case descriptions

  A film joins its CSV rows on (``"P_" + number``, ``left or right breast``, ``image
  view``); ``pathology`` MALIGNANT is malignant, BENIGN and BENIGN_WITHOUT_CALLBACK benign.
  Every box of a film gets the film's label. A film whose rows mix benign and malignant
  lesions is *ambiguous* (the COCO file does not say which box is which): it is skipped and
  counted in :attr:`FilmSet.skipped_films`, never guessed.

* **A plain COCO export whose categories are the labels** ("benign"/"malignant", any case),
  as annotation tools write them: ``<root>/<split>/_annotations.coco.json`` or
  ``<root>/_annotations.coco.json`` beside the images. The patient is the file name's stem
  up to its first underscore (``00001_LEFT_CC`` → ``00001``).

Boxes are COCO ``[x, y, width, height]`` in the film's pixels and are checked to lie in it.
"""

from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from core.errors import DataError

CBIS_PATHOLOGY = {"MALIGNANT": 1, "BENIGN": 0, "BENIGN_WITHOUT_CALLBACK": 0}
CBIS_MASS_CSVS = ("mass_case_description_train_set.csv", "mass_case_description_test_set.csv")
COCO_NAME = "_annotations.coco.json"
SPLITS = ("train", "valid", "test")
LABEL_WORDS = {"benign": 0, "malignant": 1}


@dataclass(frozen=True)
class FilmLesion:
    """One lesion box on one film."""

    id: str  # <film stem>#<box index>
    path: str  # the film's file
    patient: str
    label: int  # 0 benign, 1 malignant
    box: tuple[float, float, float, float]  # x, y, width, height in the film's pixels
    side: str = ""  # LEFT / RIGHT
    view: str = ""  # CC / MLO
    split: str = ""  # the data set's own split (train / test)
    source: str = ""


@dataclass(frozen=True)
class FilmSet:
    lesions: tuple[FilmLesion, ...]
    skipped_films: tuple[str, ...] = ()  # ambiguous films, left out
    skipped_lesions: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "lesions": len(self.lesions),
            "benign": sum(lesion.label == 0 for lesion in self.lesions),
            "malignant": sum(lesion.label == 1 for lesion in self.lesions),
            "films": len({lesion.path for lesion in self.lesions}),
            "patients": len({lesion.patient for lesion in self.lesions}),
            "skipped_ambiguous_films": len(self.skipped_films),
            "skipped_ambiguous_lesions": self.skipped_lesions,
        }


def coco_files(root: str | os.PathLike) -> list[tuple[str, Path]]:
    """(split, COCO file) for every split folder under ``root`` that has one (or the root itself)."""
    root = Path(root)
    found = [(s, root / s / COCO_NAME) for s in SPLITS if (root / s / COCO_NAME).exists()]
    if not found and (root / COCO_NAME).exists():
        found = [("", root / COCO_NAME)]
    return found


def is_film_layout(root: str | os.PathLike) -> bool:
    return bool(coco_files(root))


def _read_coco(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read the COCO file '{path}': {exc}.") from None


def _cbis_labels(root: Path) -> dict[tuple[str, str, str], set[int]]:
    """(patient_id, side, view) → the labels of that film's case-description rows."""
    out: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    for name in CBIS_MASS_CSVS:
        path = root / name
        if not path.exists():
            continue
        with open(path, newline="") as fh:
            for row in csv.DictReader(fh):
                row = {k.strip(): (v or "").strip() for k, v in row.items()}
                try:
                    label = CBIS_PATHOLOGY[row["pathology"].upper()]
                except KeyError:
                    raise DataError(f"{name}: unknown pathology {row.get('pathology')!r}.") from None
                key = (row["patient_id"], row["left or right breast"].upper(), row["image view"].upper())
                out[key].add(label)
    return dict(out)


def _film_parts(file_name: str) -> tuple[str, str, str]:
    """``00001_LEFT_CC.jpg`` → (``00001``, ``LEFT``, ``CC``); other names → (stem prefix, "", "")."""
    stem = Path(file_name).stem
    parts = stem.rsplit("_", 2)
    if len(parts) == 3 and parts[1].upper() in ("LEFT", "RIGHT") and parts[2].upper() in ("CC", "MLO"):
        return parts[0], parts[1].upper(), parts[2].upper()
    return stem.split("_", 1)[0], "", ""


def _check_box(box: list, width: float, height: float, where: str) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0 or x < -1 or y < -1 or x + w > width + 1 or y + h > height + 1:
        raise DataError(f"{where}: box {box} does not lie inside the {width:.0f}×{height:.0f} film.")
    return x, y, w, h


def read_film_lesions(root: str | os.PathLike) -> FilmSet:
    """Every labelled lesion box under ``root`` (see the module notes for both layouts)."""
    root = Path(root)
    files = coco_files(root)
    if not files:
        raise DataError(f"'{root}' holds no {COCO_NAME} (in train/, test/ or the folder itself).")
    cbis = _cbis_labels(root)
    lesions: list[FilmLesion] = []
    skipped: list[str] = []
    skipped_lesions = 0
    for split, path in files:
        coco = _read_coco(path)
        categories = {c["id"]: str(c["name"]).strip().lower() for c in coco.get("categories", [])}
        by_image: dict[int, list[dict]] = defaultdict(list)
        for ann in sorted(coco.get("annotations", []), key=lambda a: a["id"]):
            by_image[ann["image_id"]].append(ann)
        source = "CBIS-DDSM mass films" if cbis else f"COCO boxes ({path.parent.name})"
        for image in sorted(coco.get("images", []), key=lambda im: im["file_name"]):
            name = image["file_name"]
            anns = by_image.get(image["id"], [])
            number, side, view = _film_parts(name)
            if cbis:
                labels = cbis.get((f"P_{number}", side, view))
                if not labels:
                    raise DataError(f"{name}: no row for P_{number} {side} {view} in the case-description CSVs.")
                if len(labels) > 1:
                    skipped.append(name)
                    skipped_lesions += len(anns)
                    continue
                film_label = next(iter(labels))
            for k, ann in enumerate(anns):
                if cbis:
                    label = film_label
                else:
                    word = categories.get(ann["category_id"], "")
                    if word not in LABEL_WORDS:
                        raise DataError(
                            f"{path.name}: category {word!r} is neither benign nor malignant, and no CBIS-DDSM "
                            "case-description CSV is beside it to give the pathology."
                        )
                    label = LABEL_WORDS[word]
                box = _check_box(ann["bbox"], image.get("width", 1e9), image.get("height", 1e9), name)
                lesions.append(
                    FilmLesion(
                        id=f"{Path(name).stem}#{k}",
                        path=str(path.parent / name),
                        patient=number,
                        label=label,
                        box=box,
                        side=side,
                        view=view,
                        split=split,
                        source=source,
                    )
                )
    return FilmSet(tuple(lesions), tuple(skipped), skipped_lesions)


__all__ = ["FilmLesion", "FilmSet", "coco_files", "is_film_layout", "read_film_lesions"]
