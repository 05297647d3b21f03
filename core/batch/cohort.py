"""The cohort: every labelled image under a data-set folder, as plain rows.

The images are found by the same readers as ``python -m core.evaluate`` (IDC patches for
histo; for mammo lesion crops, lesion squares, or lesions on whole films — mini-MIAS with
its annotations, CBIS-DDSM mass films with COCO boxes — framed as
``core.data.labelled`` frames them), but nothing is decoded here: a row holds the
image's id, patient, label and where its pixels are, so the rows are cheap to list, to
ship to workers and to compare with what a previous run has written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from core.data.cbis_films import is_film_layout, read_film_lesions
from core.data.histo import find_patches
from core.data.mammo import find_mammo_lesions

# The columns of a cohort row, in order; every value is a str, int or float. ``framing``
# says how the worker makes the model input (core.batch.worker.read_input), as
# core.data.labelled does for the same image:
#   "patch"  — an IDC patch, padded to 50 × 50;
#   "region" — a lesion crop or a lesion square: the square of side ``side`` around
#              (``cx``, ``cy``), or the whole image when ``side`` is 0;
#   "film"   — a lesion on a whole film, framed by the model's box rule
#              (core.imaging.lesion.side_for_box) from its box centre (``cx``, ``cy``) and the
#              box's longer side ``side``; the box itself is ``box_w`` × ``box_h`` around that
#              centre, so that each map can be scored against it (localisation).
ROW_KEYS: tuple[str, ...] = (
    "image_id",
    "patient_id",
    "label",
    "path",
    "framing",
    "cx",
    "cy",
    "side",
    "abnormality",
    "box_w",
    "box_h",
)


def _row(image_id, patient, label, path, framing, cx=0.0, cy=0.0, side=0.0, abnormality="", box_w=0.0, box_h=0.0):
    return {
        "image_id": str(image_id),
        "patient_id": str(patient),
        "label": int(label),
        "path": str(path),
        "framing": framing,
        "cx": float(cx),
        "cy": float(cy),
        "side": float(side),
        "abnormality": str(abnormality),
        "box_w": float(box_w),
        "box_h": float(box_h),
    }


def _mammo_rows(root: str | os.PathLike, source: str) -> list[dict]:
    """The lesions that ``core.data.labelled.load_mammo`` would load, in the same three layouts."""
    if source in ("auto", "cbis_films") and is_film_layout(root):
        rows = []
        for f in sorted(read_film_lesions(root).lesions, key=lambda f: f.id):
            x, y, w, h = f.box  # the centre and longer side give core.imaging.lesion.square_for_box's square
            rows.append(_row(f.id, f.patient, f.label, f.path, "film", x + w / 2.0, y + h / 2.0, max(w, h), "", w, h))
        return rows
    lesions = find_mammo_lesions(root, source)
    if lesions and all(lesion.source == "mini-MIAS film" for lesion in lesions):
        # Whole films: lesions with a location, framed from the film by the box rule.
        return [
            _row(
                x.id,
                x.patient,
                x.label,
                x.path,
                "film",
                x.cx,
                x.cy,
                2.0 * x.radius,
                x.abnormality,
                2.0 * x.radius,
                2.0 * x.radius,
            )
            for x in lesions
            if x.radius > 0
        ]
    return [_row(x.id, x.patient, x.label, x.path, "region", x.cx, x.cy, x.side, x.abnormality) for x in lesions]


def list_cohort(
    modality: str,
    root: str | os.PathLike,
    *,
    limit: int | None = None,
    seed: int = 0,
    keep: Callable[[str], bool] | None = None,
    mammo_source: str = "auto",
) -> list[dict]:
    """Every labelled image under ``root`` as a row, in a seeded random order.

    The images are those :func:`core.data.labelled.load_labelled` loads for the folder
    (what ``python -m core.evaluate`` scores). The order is a permutation (seeded by
    ``seed``) of the readers' listing, so ``limit`` takes the same first images for the
    same seed and folder: a run with ``limit=3`` is a part of one with ``limit=6``, which a
    resumed run relies on.

    Args:
        modality: ``"histo"`` or ``"mammo"``.
        root: the data-set folder in its published layout (or one patient's folder).
        limit: keep only the first ``limit`` rows of the seeded order.
        seed: seeds the order.
        keep: a patient filter; images of other patients are left out.
        mammo_source: the mammography layout (auto, roi, films, cbis, cbis_films).

    Raises:
        DataError: the folder does not exist or holds no labelled images.
        ValueError: an unknown modality.
    """
    root = os.path.abspath(root)  # absolute paths in the rows: a worker's working directory is not ours
    if modality == "histo":
        rows = [_row(p.id, p.patient, p.label, p.path, "patch") for p in find_patches(root)]
    elif modality == "mammo":
        rows = _mammo_rows(root, mammo_source)
    else:
        raise ValueError(f"unknown modality {modality!r}; choose histo or mammo")
    if keep is not None:
        rows = [r for r in rows if keep(r["patient_id"])]
    order = np.random.default_rng(seed).permutation(len(rows))
    rows = [rows[i] for i in order]
    return rows[:limit] if limit is not None else rows


def pending(rows: Sequence[dict], done: dict[str, set[str]], methods: Sequence[str]) -> list[dict]:
    """The rows still to do, each with ``methods`` set to the comma list it still needs.

    ``done`` maps an image id to the methods already written for it (see
    :meth:`core.batch.store.ResultStore.done`); an image written with an error counts as
    done whatever it lacks (its file cannot be read, so a rerun would only repeat the
    error). With no methods (``--methods none``) an image is done once it has any row.
    """
    out = []
    for row in rows:
        have = done.get(row["image_id"])
        if have is None:
            missing = list(methods)
        elif not methods or "error" in have:
            continue
        else:
            missing = [m for m in methods if m not in have]
            if not missing:
                continue
        out.append({**row, "methods": ",".join(missing)})
    return out


__all__ = ["ROW_KEYS", "list_cohort", "pending"]
