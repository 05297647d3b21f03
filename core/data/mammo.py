"""Readers for mammography data in the layouts that users download.

Three sources, one record type (:class:`Lesion`):

* **mini-MIAS lesion crops** — ``<root>/roi/roi.csv`` (file, label, patient_id, refnum,
  abnormality, film, x0, y0, width, height, cx, cy, radius, ...): one crop per lesion.
* **mini-MIAS whole films** — ``<root>/labels.csv`` (file, label, patient_id, abnormality,
  view, laterality, original_split, source_repo) with ``<root>/annotations.csv`` (lesion
  centre and radius in the image frame). Each annotated lesion becomes a square region of
  side ``max(4 × radius, 64 px)`` around its centre — the same framing as the crops, whose
  side is ``max(4 × radius, 128 px)`` at twice the resolution. Films whose lesion has no
  coordinates (calcifications spread over the film) are used whole.
* **CBIS-DDSM** — TCIA's case-description CSVs (``mass_case_description_train_set.csv``
  etc.) with ``image file path``, ``cropped image file path``, ``ROI mask file path`` and
  ``pathology`` ∈ {MALIGNANT, BENIGN, BENIGN_WITHOUT_CALLBACK}; the DICOM files are read
  with pydicom from the TCIA download folder.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import DataError
from core.imaging.decode import read_image
from core.imaging.lesion import FILM_MIN_SIDE, crop_square
from core.imaging.preprocess import to_gray

LABELS = {"benign": 0, "malignant": 1}
CBIS_LABELS = {"MALIGNANT": 1, "BENIGN": 0, "BENIGN_WITHOUT_CALLBACK": 0}
CBIS_CSV_NAMES = (
    "mass_case_description_train_set.csv",
    "mass_case_description_test_set.csv",
    "calc_case_description_train_set.csv",
    "calc_case_description_test_set.csv",
)


@dataclass(frozen=True)
class Lesion:
    """One labelled lesion: where its image is and which square region shows it.

    ``cx, cy, side`` are in the pixel frame of the file at ``path``; ``side`` 0 means the
    whole image.
    """

    id: str
    path: str
    patient: str
    label: int
    abnormality: str
    cx: float = 0.0
    cy: float = 0.0
    side: float = 0.0
    source: str = ""
    radius: float = 0.0  # the annotated circle's radius, where the data set gives one


def _read_csv(path: Path) -> list[dict]:
    try:
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise DataError(f"Cannot read '{path}': {exc.strerror or exc}.") from None


def _label(value: str, where: str) -> int:
    try:
        return LABELS[value.strip().lower()]
    except KeyError:
        raise DataError(f"{where}: label {value!r} is neither 'benign' nor 'malignant'.") from None


def find_roi_lesions(root: str | os.PathLike) -> list[Lesion]:
    """Lesion crops listed in ``<root>/roi/roi.csv`` (or ``<root>/roi.csv``)."""
    root = Path(root)
    table = root / "roi" / "roi.csv" if (root / "roi" / "roi.csv").exists() else root / "roi.csv"
    base = table.parent.parent if table.parent.name == "roi" else table.parent
    rows = _read_csv(table)
    lesions = []
    for row in rows:
        path = base / row["file"]
        lesions.append(
            Lesion(
                id=Path(row["file"]).stem,
                path=str(path),
                patient=row["patient_id"],
                label=_label(row["label"], str(table)),
                abnormality=row.get("abnormality", ""),
                source="mini-MIAS crop",
            )
        )
    return lesions


def find_film_lesions(root: str | os.PathLike) -> list[Lesion]:
    """Lesion regions on whole films: ``labels.csv`` + ``annotations.csv``."""
    root = Path(root)
    labels = _read_csv(root / "labels.csv")
    notes: dict[str, list[dict]] = {}
    if (root / "annotations.csv").exists():
        for row in _read_csv(root / "annotations.csv"):
            notes.setdefault(row["file"], []).append(row)
    lesions = []
    for row in labels:
        label = _label(row["label"], str(root / "labels.csv"))
        stem = Path(row["file"]).stem
        marks = [n for n in notes.get(row["file"], []) if n.get("x_img") not in (None, "")]
        if not marks:
            lesions.append(
                Lesion(
                    stem,
                    str(root / row["file"]),
                    row["patient_id"],
                    label,
                    row.get("abnormality", ""),
                    source="mini-MIAS film",
                )
            )
            continue
        for i, n in enumerate(marks):
            # On a film with mixed severity each lesion keeps its own severity.
            own = n.get("severity", "").strip().lower()
            lesions.append(
                Lesion(
                    id=f"{stem}_{i}",
                    path=str(root / row["file"]),
                    patient=row["patient_id"],
                    label=LABELS.get(own, label),
                    abnormality=row.get("abnormality", ""),
                    cx=float(n["x_img"]),
                    cy=float(n["y_img"]),
                    side=max(4.0 * float(n["radius_img"] or 0), FILM_MIN_SIDE),
                    source="mini-MIAS film",
                    radius=float(n["radius_img"] or 0),
                )
            )
    return lesions


def find_cbis_csvs(folder: str | os.PathLike) -> list[Path]:
    folder = Path(folder)
    found = [folder / n for n in CBIS_CSV_NAMES if (folder / n).exists()]
    if not found:
        raise DataError(f"No CBIS-DDSM case-description CSVs in '{folder}' (expected e.g. {CBIS_CSV_NAMES[0]}).")
    return found


def read_cbis_rows(folder: str | os.PathLike) -> list[dict]:
    """All abnormality rows of the CBIS-DDSM CSVs in ``folder``, with ``label`` added."""
    rows = []
    for path in find_cbis_csvs(folder):
        for row in _read_csv(path):
            row = {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
            pathology = row.get("pathology", "")
            if pathology not in CBIS_LABELS:
                raise DataError(f"{path.name}: unknown pathology {pathology!r}.")
            row["label"] = CBIS_LABELS[pathology]
            row["csv"] = path.name
            rows.append(row)
    return rows


def find_cbis_lesions(csv_folder: str | os.PathLike, image_root: str | os.PathLike | None = None) -> list[Lesion]:
    """CBIS-DDSM lesions (cropped ROI images) from the CSVs and the TCIA image folder.

    Rows whose DICOM cannot be found under ``image_root`` are left out; a
    :class:`DataError` is raised if none is found at all. A patient id that appears in both
    the official train and test CSVs is one patient here, so a patient split keeps all its
    lesions together.
    """
    rows = read_cbis_rows(csv_folder)
    root = Path(image_root) if image_root else Path(csv_folder)
    lesions = []
    for row in rows:
        path = resolve_cbis_path(root, row["cropped image file path"], want="crop")
        if path is None:
            continue
        kind = "mass" if row.get("abnormality type", "").startswith("mass") else "calcification"
        case = row["cropped image file path"].split("/")[0]
        lesions.append(Lesion(case, str(path), row["patient_id"], row["label"], kind, source="CBIS-DDSM"))
    if not lesions:
        raise DataError(
            f"The CBIS-DDSM CSVs list {len(rows)} lesions, but none of their DICOM files is "
            f"under '{root}'. Download the images from TCIA into that folder."
        )
    return lesions


def resolve_cbis_path(root: Path, csv_path: str, want: str = "crop") -> Path | None:
    """Find a CSV's DICOM path in a TCIA download.

    The CSV paths name ``<case>/<study uid>/<series uid>/000000.dcm``, but the TCIA
    downloader names folders by date and series description and files ``1-1.dcm``, so
    the exact path is tried first and then any DICOM under the case folder. A crop and its
    mask share a case folder; the crop is the smaller image.
    """
    csv_path = csv_path.strip().strip('"')
    exact = root / csv_path
    if exact.exists():
        return exact
    case = root / csv_path.split("/")[0]
    if not case.is_dir():
        return None
    candidates = sorted(case.rglob("*.dcm"))
    if not candidates:
        return None
    if len(candidates) == 1 or want != "crop":
        return candidates[0]
    return min(candidates, key=lambda p: p.stat().st_size)


def find_mammo_lesions(root: str | os.PathLike, source: str = "auto") -> list[Lesion]:
    """Lesions under ``root`` in any supported layout (``source``: auto, roi, films, cbis)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"The mammography folder '{root}' does not exist.")
    if source == "auto":
        # Whole films first: the lesion is then framed from the film by the model's own rule.
        if (root / "labels.csv").exists() and (root / "annotations.csv").exists():
            source = "films"
        elif (root / "roi" / "roi.csv").exists() or (root / "roi.csv").exists():
            source = "roi"
        elif (root / "labels.csv").exists():
            source = "films"
        elif any((root / n).exists() for n in CBIS_CSV_NAMES):
            source = "cbis"
        else:
            raise DataError(f"'{root}' holds neither roi/roi.csv, labels.csv nor CBIS-DDSM case-description CSVs.")
    readers = {"roi": find_roi_lesions, "films": find_film_lesions, "cbis": find_cbis_lesions}
    if source not in readers:
        raise DataError(f"Unknown mammography source {source!r}; choose roi, films or cbis.")
    return readers[source](root)


def lesion_region(lesion: Lesion, margin: float = 1.0) -> np.ndarray:
    """The lesion's grey region (H, W, 1); ``margin`` > 1 keeps context for crop jitter."""
    pixels = to_gray(read_image(lesion.path).pixels)
    if lesion.side <= 0:
        if margin == 1.0:
            return pixels
        h, w = pixels.shape[:2]
        return crop_square(pixels, w / 2, h / 2, max(h, w) * margin)
    return crop_square(pixels, lesion.cx, lesion.cy, lesion.side * margin)


__all__ = [
    "Lesion",
    "crop_square",
    "find_cbis_lesions",
    "find_film_lesions",
    "find_mammo_lesions",
    "find_roi_lesions",
    "lesion_region",
    "read_cbis_rows",
    "resolve_cbis_path",
]
