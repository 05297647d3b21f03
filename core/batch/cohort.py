"""The cohort: every labelled image under a data-set folder, as plain rows.

The images are found by the same readers as ``python -m core.evaluate`` (IDC patches for
histo, lesions in any supported mammography layout for mammo), but nothing is decoded
here: a row holds the image's id, patient, label and where its pixels are, so the rows are
cheap to list, to ship to workers and to compare with what a previous run has written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from core.data.histo import find_patches
from core.data.mammo import find_mammo_lesions

# The columns of a cohort row, in order; every value is a str, int or float.
ROW_KEYS: tuple[str, ...] = ("image_id", "patient_id", "label", "path", "cx", "cy", "side", "abnormality")


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

    The order is a permutation (seeded by ``seed``) of the readers' sorted listing, so
    ``limit`` takes the same first images for the same seed and folder: a run with
    ``limit=3`` is a part of one with ``limit=6``, which a resumed run relies on.

    Args:
        modality: ``"histo"`` or ``"mammo"``.
        root: the data-set folder in its published layout (or one patient's folder).
        limit: keep only the first ``limit`` rows of the seeded order.
        seed: seeds the order.
        keep: a patient filter; images of other patients are left out.
        mammo_source: the mammography layout (auto, roi, films, cbis).

    Raises:
        DataError: the folder does not exist or holds no labelled images.
        ValueError: an unknown modality.
    """
    if modality == "histo":
        rows = [
            {
                "image_id": p.id,
                "patient_id": p.patient,
                "label": int(p.label),
                "path": p.path,
                "cx": 0.0,
                "cy": 0.0,
                "side": 0.0,
                "abnormality": "",
            }
            for p in find_patches(root)
        ]
    elif modality == "mammo":
        rows = [
            {
                "image_id": lesion.id,
                "patient_id": lesion.patient,
                "label": int(lesion.label),
                "path": lesion.path,
                "cx": float(lesion.cx),
                "cy": float(lesion.cy),
                "side": float(lesion.side),
                "abnormality": lesion.abnormality,
            }
            for lesion in find_mammo_lesions(root, mammo_source)
        ]
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
