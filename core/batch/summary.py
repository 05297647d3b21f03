"""A batch result folder as the records the Compare and Metrics pages show.

:func:`compare_record` gives the shape of ``weights/<modality>.compare.json`` (each
method's scores image by image, the agreement of the methods averaged over images when the
run kept its maps, the predictions) and :func:`evaluation_record` the shape of
``weights/<modality>.eval.json`` (metrics with patient-bootstrap intervals, curves, the
per-patient table and, for histopathology, the per-slide table of the slides that are
complete in the cohort), so that the pages draw a cohort of any size the way they draw
the shipped files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from core.batch.store import MANIFEST, NO_METHOD, part_files, read_maps, read_results
from core.data.histo import Patch, complete_patients, parse_patch_name
from core.errors import BreastXAIError, DataError
from core.evaluate.scores import curves, summarise
from core.evaluate.slides import slide_summary
from core.explain.methods import METHOD_LABELS, METHODS
from core.explain.metrics.agreement import agreement_of_maps
from core.modality import DECISION_THRESHOLD, get_modality

# Per-method lists kept for the Compare page, with the names its JSON uses.
_COMPARE_COLUMNS = {
    "deletion_auc": "deletion_auc",
    "insertion_auc": "insertion_auc",
    "random_deletion_auc": "random_deletion_auc",
    "random_insertion_auc": "random_insertion_auc",
    "seconds": "seconds",
}
_LOCALISATION_COLUMNS = {
    "relevance_mass": "relevance_mass",
    "pointing_hit": "pointing_hit",
    "box_share": "random_relevance_mass",  # a uniform map's expected mass in the box …
}


def read_manifest(folder: str | os.PathLike) -> dict:
    """The ``run.json`` of a batch folder (what its numbers depend on)."""
    path = Path(folder) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise BreastXAIError(f"'{folder}' is not a batch result folder (it has no {MANIFEST}).") from None
    except (OSError, ValueError) as exc:
        raise BreastXAIError(f"'{path}' cannot be read: {exc}.") from None


def is_batch_folder(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds a batch run's manifest and at least one part."""
    return (Path(folder) / MANIFEST).is_file() and bool(part_files(folder))


def batch_folders(root: str | os.PathLike, modality: str | None = None) -> list[Path]:
    """``root`` itself or its direct subfolders that are batch folders (of ``modality``, if given)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [root] if is_batch_folder(root) else sorted(p for p in root.iterdir() if p.is_dir() and is_batch_folder(p))
    if modality is None:
        return found
    return [p for p in found if _manifest_or_empty(p).get("modality") == modality]


def _manifest_or_empty(folder: Path) -> dict:
    try:
        return read_manifest(folder)
    except BreastXAIError:
        return {}


def _clean(values: pd.Series) -> list[float | None]:
    return [round(float(v), 5) if np.isfinite(v) else None for v in values.to_numpy(np.float64)]


def image_predictions(df: pd.DataFrame) -> pd.DataFrame:
    """One row per image that was scored (id, patient, label, probability), in written order."""
    images = df.sort_values("error", na_position="first", kind="stable").drop_duplicates("image_id")
    images = images[images["probability"].notna()]
    return images[["image_id", "patient_id", "label", "probability", "path"]].sort_index().reset_index(drop=True)


def compare_record(folder: str | os.PathLike, df: pd.DataFrame | None = None) -> dict:
    """The Compare page's record of a batch folder (see the module docstring).

    Images whose method failed are left out of that method's lists; ``errors`` counts them.
    """
    manifest = read_manifest(folder)
    df = read_results(folder) if df is None else df
    modality = get_modality(manifest["modality"])
    ok = df[df["error"].isna() & (df["method"] != NO_METHOD)]
    present = set(ok["method"])
    methods = [m for m in METHODS if m in present] + sorted(present - set(METHODS))
    per_method: dict[str, dict[str, list]] = {}
    for m in methods:
        g = ok[ok["method"] == m]
        rec = {name: _clean(g[col]) for col, name in _COMPARE_COLUMNS.items()}
        if g["relevance_mass"].notna().any():
            g = g[g["relevance_mass"].notna()]
            rec.update({name: _clean(g[col]) for col, name in _LOCALISATION_COLUMNS.items()})
            rec["random_pointing_hit"] = _clean(g["box_share"])  # … and a random pixel's chance to hit it
        per_method[m] = rec
    preds = image_predictions(df)
    names = modality.class_names
    return {
        "modality": modality.name,
        "weights_sha256": manifest.get("weights_sha256", ""),
        "created": manifest.get("created", ""),
        "seed": manifest.get("seed", 0),
        "n_images": int(len(preds)),
        "images": preds["image_id"].tolist(),
        "part": manifest.get("part", "a batch run"),
        "methods": methods,
        "labels": {m: METHOD_LABELS.get(m, m) for m in methods},
        "per_method": per_method,
        "agreement": cohort_agreement(folder, methods, seed=int(manifest.get("seed", 0))),
        "predictions": [
            {
                "id": r.image_id,
                "label": names[int(r.probability >= DECISION_THRESHOLD)],
                "p_positive": round(float(r.probability), 5),
                "truth": int(r.label),
            }
            for r in preds.itertuples()
        ],
        "errors": int((df["error"].notna()).sum()),
        "batch": {"folder": Path(folder).name, "rows": int(len(df)), "parts": len(part_files(folder))},
    }


def cohort_agreement(folder: str | os.PathLike, methods: list[str], seed: int = 0) -> dict:
    """The methods' agreement (Spearman, top-10 % overlap) averaged over the images with kept maps.

    An image counts for a pair of methods when both of its maps were kept; a run without
    ``--maps`` gives None for both matrices.
    """
    maps = read_maps(folder)
    by_image: dict[str, dict[str, np.ndarray]] = {}
    for (image_id, method), (attribution, signed) in maps.items():
        if method in methods:
            by_image.setdefault(image_id, {})[method] = np.abs(attribution) if signed else attribution
    m = len(methods)
    sums = {"spearman": np.zeros((m, m)), "top10": np.zeros((m, m))}
    counts = np.zeros((m, m))
    index = {name: i for i, name in enumerate(methods)}
    for importances in by_image.values():
        if len(importances) < 2:
            continue
        a = agreement_of_maps(importances, seed=seed)
        idx = np.array([index[n] for n in a.methods])
        sums["spearman"][np.ix_(idx, idx)] += a.spearman
        sums["top10"][np.ix_(idx, idx)] += a.top10_overlap
        counts[np.ix_(idx, idx)] += 1
    if not counts.any():
        return {"methods": methods, "spearman_mean": None, "top10_mean": None, "images": 0}
    with np.errstate(invalid="ignore"):
        mean = {k: np.where(counts > 0, v / np.maximum(counts, 1), np.nan) for k, v in sums.items()}
    np.fill_diagonal(mean["spearman"], 1.0)
    np.fill_diagonal(mean["top10"], 1.0)
    clean = lambda a: [[None if not np.isfinite(v) else round(float(v), 5) for v in row] for row in a]  # noqa: E731
    return {
        "methods": methods,
        "spearman_mean": clean(mean["spearman"]),
        "top10_mean": clean(mean["top10"]),
        "images": int(sum(len(v) >= 2 for v in by_image.values())),
    }


def complete_in_cohort(preds: pd.DataFrame) -> list[str]:
    """Histopathology patients whose patches in the cohort form a complete slide (a dense grid)."""
    patches = []
    for r in preds.itertuples():
        try:
            patient, x, y, label = parse_patch_name(str(r.path))
        except DataError:
            continue
        patches.append(Patch(str(r.path), patient, x, y, label))
    return sorted(complete_patients(patches), key=lambda p: (len(p), p))


def evaluation_record(folder: str | os.PathLike, df: pd.DataFrame | None = None) -> dict:
    """The Metrics page's record of a batch folder: the shape of ``<weights>.eval.json``."""
    manifest = read_manifest(folder)
    df = read_results(folder) if df is None else df
    preds = image_predictions(df)
    if preds.empty:
        raise BreastXAIError(f"No image in '{folder}' was scored.")
    y = preds["label"].to_numpy(np.int64)
    p = preds["probability"].to_numpy(np.float64)
    groups = preds["patient_id"].astype(str).to_numpy()
    per_patient = []
    for pid, g in preds.groupby("patient_id", sort=True):
        pp, yy = g["probability"].to_numpy(), g["label"].to_numpy()
        per_patient.append(
            {
                "patient": str(pid),
                "n": int(len(g)),
                "n_positive": int(yy.sum()),
                "mean_probability": round(float(pp.mean()), 4),
                "accuracy": round(float(((pp >= DECISION_THRESHOLD) == (yy == 1)).mean()), 4),
            }
        )
    record = {
        "modality": manifest["modality"],
        "weights_sha256": manifest.get("weights_sha256", ""),
        "part": f"batch run '{Path(folder).name}'",
        "metrics": summarise(y, p, groups),
        "curves": curves(y, p).to_dict(),
        "per_patient": per_patient,
        "predictions": [
            {
                "id": r.image_id,
                "patient": str(r.patient_id),
                "label": int(r.label),
                "probability": round(float(r.probability), 5),
            }
            for r in preds.itertuples()
        ],
        "errors": int(df.loc[df["method"] == NO_METHOD, "error"].notna().sum()),
    }
    if manifest["modality"] == "histo":
        record["whole_slides"] = slide_summary(y, p, groups, complete_in_cohort(preds))
    return record


__all__ = [
    "batch_folders",
    "cohort_agreement",
    "compare_record",
    "complete_in_cohort",
    "evaluation_record",
    "image_predictions",
    "is_batch_folder",
    "read_manifest",
]
