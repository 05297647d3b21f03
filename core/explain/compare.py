"""Compare explanation methods over a set of test images; write the Compare page's JSON.

    python -m core.explain.compare --modality histo --data DIR [--n 40] [--methods a,b,...] [--seed 0]

Images are drawn, balanced by class, from the patients the model never saw (the test part
of the split recorded in its model card). For every image and method the explanation's run
time and deletion/insertion AUCs (with their random-map baselines) are kept, the agreement
matrices are averaged over images, and the model-randomisation sanity check is run on a
few of the images. The result goes to ``weights/<modality>.compare.json`` beside the
weights, so the dashboard's Compare page opens at once.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from core.config import configure
from core.data.labelled import load_labelled
from core.errors import BreastXAIError, DataError, command
from core.explain.case import analyse, build_explainers, resolve_methods
from core.explain.methods import METHOD_LABELS, METHODS
from core.explain.metrics.sanity import randomisation_check
from core.model.card import background_path, weights_path, write_json
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


def _pick(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Up to ``n`` indices, as balanced between the two classes as the data allow."""
    rng = np.random.default_rng(seed)
    by_class = [rng.permutation(np.flatnonzero(labels == c)) for c in (0, 1)]
    half = n // 2
    take = [min(len(by_class[0]), max(half, n - len(by_class[1]))), 0]
    take[1] = min(len(by_class[1]), n - take[0])
    return np.sort(np.concatenate([by_class[0][: take[0]], by_class[1][: take[1]]])).astype(int)


def test_images(
    modality: str, data_dir: str | Path, card: dict, n: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray | None]:
    """(inputs (n,50,50,C), labels (n,), ids, lesion boxes or None) from the card's test patients."""

    test_patients = set(card.get("split", {}).get("patients", {}).get("test", []))
    data = load_labelled(modality, data_dir, keep=(lambda p: p in test_patients) if test_patients else None)
    if len(data) == 0:
        raise DataError(f"None of the model's test patients has images under '{data_dir}'.")
    idx = _pick(data.y, n, seed)
    return data.x[idx], data.y[idx], data.ids[idx].tolist(), None if data.boxes is None else data.boxes[idx]


def _jsonable(value):
    if is_dataclass(value):
        value = asdict(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return round(v, 5) if np.isfinite(v) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def compare(
    classifier,
    x: np.ndarray,
    ids: list[str],
    methods: list[str],
    seed: int = 0,
    sanity_images: int = 4,
    progress=None,
    background: np.ndarray | None = None,
    boxes: np.ndarray | None = None,
) -> dict:
    """Explain every image with every method; collect scores, times, agreement and sanity.

    With ``boxes`` (known lesions in input pixels) each map is also scored on localisation.
    """

    methods = list(resolve_methods(methods))
    explainers = build_explainers(classifier, methods, background=background)
    keys = ["deletion_auc", "insertion_auc", "random_deletion_auc", "random_insertion_auc", "seconds"]
    if boxes is not None:
        keys += ["relevance_mass", "pointing_hit", "random_relevance_mass", "random_pointing_hit"]
    per_method = {m: {k: [] for k in keys} for m in methods}
    spearman, top10 = [], []
    predictions = []
    for i, image in enumerate(x):
        box = None if boxes is None else tuple(float(v) for v in boxes[i])
        case = analyse(classifier, image, methods, seed=seed, explainers=explainers, box=box)
        predictions.append(
            {"id": ids[i], "label": case.prediction.label, "p_positive": round(case.prediction.p_positive, 5)}
        )
        for m, r in case.methods.items():
            rec = per_method[m]
            rec["deletion_auc"].append(r.deletion_auc)
            rec["insertion_auc"].append(r.insertion_auc)
            rec["random_deletion_auc"].append(r.random_deletion_auc)
            rec["random_insertion_auc"].append(r.random_insertion_auc)
            rec["seconds"].append(r.explanation.seconds)
            if r.localisation is not None:
                rec["relevance_mass"].append(r.localisation.relevance_mass)
                rec["pointing_hit"].append(float(r.localisation.pointing_hit))
                rec["random_relevance_mass"].append(r.localisation.box_share)  # a uniform map's expected mass
                rec["random_pointing_hit"].append(r.localisation.box_share)  # a random pixel's chance to hit
        if case.agreement is not None:
            spearman.append(np.asarray(case.agreement.spearman, float))
            top10.append(np.asarray(case.agreement.top10_overlap, float))
        if progress:
            progress(i + 1, len(x))
    agreement = {
        "methods": list(methods),
        "spearman_mean": np.nanmean(spearman, axis=0) if spearman else None,
        "top10_mean": np.nanmean(top10, axis=0) if top10 else None,
    }
    return {
        "per_method": per_method,
        "agreement": agreement,
        "sanity": run_sanity(classifier, x[:sanity_images], methods, seed, background),
        "predictions": predictions,
    }


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


def build(
    modality: str,
    data_dir: str | Path,
    n: int = 40,
    methods: list[str] | None = None,
    seed: int = 0,
    weights_file: str | Path | None = None,
    sanity_images: int = 4,
) -> dict:

    start = time.perf_counter()
    classifier = Classifier.load(modality, weights_file)

    try:
        methods = list(resolve_methods(methods or list(METHODS)))
    except ValueError as exc:
        raise BreastXAIError(f"Unknown method: {exc}.") from None
    x, y, ids, boxes = test_images(modality, data_dir, classifier.card, n, seed)
    print(f"{modality}: {len(x)} test images ({int(y.sum())} positive), {len(methods)} methods", flush=True)
    bg_file = background_path(weights_file or weights_path(modality))
    background = np.load(bg_file) if bg_file.exists() else None
    body = compare(
        classifier,
        x,
        ids,
        methods,
        seed,
        sanity_images,
        progress=lambda i, k: print(f"  image {i}/{k}", flush=True),
        background=background,
        boxes=boxes,
    )
    for p, label in zip(body["predictions"], y.tolist()):
        p["truth"] = int(label)
    return _jsonable(
        {
            "modality": modality,
            "weights_sha256": classifier.weights_sha256,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seed": seed,
            "n_images": len(x),
            "images": ids,
            "part": "test patients (never seen in training)",
            "methods": methods,
            "labels": {m: METHOD_LABELS.get(m, m) for m in methods},
            **body,
            "seconds": round(time.perf_counter() - start, 1),
        }
    )


@command
def main(argv: list[str] | None = None) -> int:
    configure()
    ap = argparse.ArgumentParser(
        prog="python -m core.explain.compare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--modality", required=True, choices=["histo", "mammo"])
    ap.add_argument("--data", required=True, help="data-set folder in its published layout")
    ap.add_argument("--n", type=int, default=40, help="number of test images (balanced by class)")
    ap.add_argument("--methods", default="", help="comma-separated method names (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sanity-images", type=int, default=4)
    ap.add_argument("--weights", default=None, help="weights file (default: weights/<modality>.keras)")
    ap.add_argument("--out", default=None, help="output JSON (default: beside the weights)")
    args = ap.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m] or None
    result = build(args.modality, args.data, args.n, methods, args.seed, args.weights, args.sanity_images)
    out = Path(args.out) if args.out else compare_path(args.modality, args.weights)
    write_json(out, result)
    print(f"wrote {out} in {result['seconds']:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
