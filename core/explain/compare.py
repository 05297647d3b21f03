"""What the Compare page says of each method over many images, and the sanity check.

The images are scored by the cohort scorer (``python -m core.batch.compare`` writes the
shipped ``weights/<modality>.compare.json`` as a small batch run); this module holds what
the page and that command share: the per-method summary (:func:`summarise_methods`), the
cascading model-randomisation check over a few images (:func:`run_sanity`) and where the
JSON lives (:func:`compare_path`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path

import numpy as np

from core.explain.case import build_explainers
from core.explain.metrics.sanity import randomisation_check
from core.model.card import weights_path
from core.model.classifier import Classifier


@dataclass(frozen=True)
class MethodSummary:
    """One method's scores over the compared images, beside the random map's."""

    method: str
    images: int
    median_deletion_auc: float | None
    median_insertion_auc: float | None
    mean_deletion_auc: float | None
    mean_random_deletion_auc: float | None
    mean_insertion_auc: float | None
    mean_random_insertion_auc: float | None
    median_seconds: float | None
    mean_relevance_mass: float | None = None  # localisation, when the images have lesion boxes
    mean_random_relevance_mass: float | None = None
    pointing_rate: float | None = None
    random_pointing_rate: float | None = None

    @property
    def beats_random_deletion(self) -> bool | None:
        """Lower mean deletion AUC than the random map's, over the same images."""
        if self.mean_deletion_auc is None or self.mean_random_deletion_auc is None:
            return None
        return self.mean_deletion_auc < self.mean_random_deletion_auc

    @property
    def beats_random_insertion(self) -> bool | None:
        if self.mean_insertion_auc is None or self.mean_random_insertion_auc is None:
            return None
        return self.mean_insertion_auc > self.mean_random_insertion_auc


def summarise_methods(per_method: dict[str, dict[str, list]]) -> list[MethodSummary]:
    """Medians and means of each method's scores (``per_method`` as written by :func:`compare`)."""

    def stat(values: list, fn) -> float | None:
        vals = [v for v in values if v is not None]
        return float(fn(vals)) if vals else None

    out = []
    for method, rec in per_method.items():
        out.append(
            MethodSummary(
                method=method,
                images=len(rec.get("deletion_auc", [])),
                median_deletion_auc=stat(rec.get("deletion_auc", []), np.median),
                median_insertion_auc=stat(rec.get("insertion_auc", []), np.median),
                mean_deletion_auc=stat(rec.get("deletion_auc", []), np.mean),
                mean_random_deletion_auc=stat(rec.get("random_deletion_auc", []), np.mean),
                mean_insertion_auc=stat(rec.get("insertion_auc", []), np.mean),
                mean_random_insertion_auc=stat(rec.get("random_insertion_auc", []), np.mean),
                median_seconds=stat(rec.get("seconds", []), np.median),
                mean_relevance_mass=stat(rec.get("relevance_mass", []), np.mean),
                mean_random_relevance_mass=stat(rec.get("random_relevance_mass", []), np.mean),
                pointing_rate=stat(rec.get("pointing_hit", []), np.mean),
                random_pointing_rate=stat(rec.get("random_pointing_hit", []), np.mean),
            )
        )
    return out


def compare_path(modality: str, weights_file: str | Path | None = None) -> Path:
    return Path(weights_file or weights_path(modality)).with_suffix(".compare.json")


def jsonable(value):
    """``value`` with dataclasses, arrays and NumPy scalars made JSON-ready (floats to 5 places, NaN → None)."""
    if is_dataclass(value):
        value = asdict(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return round(v, 5) if np.isfinite(v) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def run_sanity(
    classifier, x: np.ndarray, methods: list[str], seed: int = 0, background: np.ndarray | None = None
) -> dict:
    """The cascading model-randomisation check (:mod:`core.explain.metrics.sanity`) for each method.

    Runs on a clone of the model; the explained class is the original prediction.
    """

    if len(x) == 0:
        return {}
    targets = classifier.predict(x).argmax(axis=1)
    out = {}
    for name in methods:

        def factory(model, name=name):
            return build_explainers(Classifier(model, classifier.modality), [name], background=background)[name]

        r = randomisation_check(factory, classifier.model, x, targets, seed=seed)
        out[name] = {
            "passed": r.passed,
            "final_similarity": r.final_similarity,
            "threshold": r.threshold,
            "images": int(len(x)),
            "layers": list(r.layers),
            "spearman": r.spearman,
            "ssim": r.ssim,
        }
    return out


__all__ = ["MethodSummary", "compare_path", "jsonable", "run_sanity", "summarise_methods"]
