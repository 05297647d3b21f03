"""The Compare page's JSON as a small batch run over the model's test patients.

    python -m core.batch.compare --modality histo --data DIR [--n 40] [--methods a,b,...] [--seed 0]
        [--sanity-images 4] [--engine local|ray] [--batch-out DIR] [--out FILE]

``--n`` images are drawn, balanced by class, from the patients the model never saw (the
test part of the split in its model card) and scored by the cohort scorer of
``python -m core.batch`` with every map kept: prediction, each method's map, its
deletion/insertion AUC beside the seeded random map's and, for lesions with a box, its
localisation. The batch folder is then summarised (:func:`core.batch.summary.compare_record`)
the way the Compare page summarises any batch folder, and the model-randomisation sanity
check is run on the first ``--sanity-images`` images. The result goes to
``weights/<modality>.compare.json`` beside the weights. ``--batch-out`` keeps the batch
folder (and resumes one); by default it is a temporary folder.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from core.batch.cli import parse_methods, score_rows
from core.batch.cohort import list_cohort, pending
from core.batch.store import ResultStore, read_results
from core.batch.summary import compare_record
from core.batch.worker import portable_weights, read_input
from core.config import configure
from core.errors import BreastXAIError, DataError, command
from core.explain.compare import compare_path, jsonable, run_sanity
from core.explain.methods import METHODS, load_background
from core.explain.metrics.faithfulness import STEPS
from core.model.card import background_path, weights_path, write_json
from core.model.classifier import Classifier

PART = "test patients (never seen in training)"


def pick_balanced(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Up to ``n`` indices, as balanced between the two classes as the data allow, sorted."""
    rng = np.random.default_rng(seed)
    by_class = [rng.permutation(np.flatnonzero(labels == c)) for c in (0, 1)]
    half = n // 2
    take = [min(len(by_class[0]), max(half, n - len(by_class[1]))), 0]
    take[1] = min(len(by_class[1]), n - take[0])
    return np.sort(np.concatenate([by_class[0][: take[0]], by_class[1][: take[1]]])).astype(int)


def test_rows(modality: str, data_dir: str | Path, card: dict, n: int, seed: int = 0) -> list[dict]:
    """``n`` cohort rows of the card's test patients, balanced by class (see :func:`pick_balanced`)."""
    test = set(card.get("split", {}).get("patients", {}).get("test", []))
    try:
        rows = list_cohort(modality, data_dir, seed=seed, keep=(lambda p: p in test) if test else None)
    except DataError:
        rows = []
    if not rows:
        raise DataError(f"None of the model's test patients has images under '{data_dir}'.")
    idx = pick_balanced(np.array([r["label"] for r in rows]), n, seed)
    return [rows[i] for i in idx]


def build(
    modality: str,
    data_dir: str | Path,
    n: int = 40,
    methods: list[str] | None = None,
    seed: int = 0,
    weights_file: str | Path | None = None,
    sanity_images: int = 4,
    engine: str = "local",
    batch_out: str | Path | None = None,
) -> dict:
    """Score ``n`` test images as a batch run and summarise it as the Compare page's record."""
    start = time.perf_counter()
    classifier = Classifier.load(modality, weights_file)
    names = parse_methods(",".join(methods) if methods else ",".join(METHODS))
    if not names:
        raise BreastXAIError("Choose at least one method to compare.")
    rows = test_rows(modality, data_dir, classifier.card, n, seed)
    print(f"{modality}: {len(rows)} test images ({sum(r['label'] for r in rows)} positive), {len(names)} methods")
    manifest = {"modality": modality, "weights_sha256": classifier.weights_sha256, "seed": seed, "steps": STEPS}
    scorer_kwargs = {
        "modality": modality,
        "methods": names,
        "weights": portable_weights(weights_file),
        "seed": seed,
        "steps": STEPS,
        "expect_sha256": classifier.weights_sha256,
        "maps": True,
    }
    settings = argparse.Namespace(
        engine=engine, address=None, workers=None, cpus_per_worker=None, batch_size=4, ship_code=None, verbose=False
    )
    with tempfile.TemporaryDirectory(prefix="breastxai-compare-") as tmp:
        folder = Path(batch_out) if batch_out else Path(tmp)
        store = ResultStore(folder, manifest)
        score_rows(pending(rows, store.done(), names), store, scorer_kwargs, settings)
        ids = {r["image_id"] for r in rows}
        df = read_results(folder)
        record = compare_record(folder, df[df["image_id"].isin(ids)].reset_index(drop=True))
        if not batch_out:
            record["batch"]["folder"] = None  # a temporary folder, gone once summarised
    record["part"] = PART
    bg_file = background_path(weights_file or weights_path(modality))
    background = load_background(weights_file or weights_path(modality)) if bg_file.exists() else None
    sanity_x = np.stack([read_input(modality, r) for r in rows[:sanity_images]]) if sanity_images > 0 else np.zeros(0)
    record["sanity"] = run_sanity(classifier, sanity_x, list(names), seed, background)
    record["seconds"] = round(time.perf_counter() - start, 1)
    return jsonable(record)


@command
def main(argv: list[str] | None = None) -> int:
    configure()
    ap = argparse.ArgumentParser(
        prog="python -m core.batch.compare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--modality", required=True, choices=["histo", "mammo"])
    ap.add_argument("--data", required=True, help="data-set folder in its published layout")
    ap.add_argument("--n", type=int, default=40, help="number of test images (balanced by class)")
    ap.add_argument("--methods", default="", help="comma-separated method names (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sanity-images", type=int, default=4)
    ap.add_argument("--engine", choices=["local", "ray"], default="local")
    ap.add_argument("--batch-out", default=None, help="keep the batch folder here (default: a temporary folder)")
    ap.add_argument("--weights", default=None, help="weights file (default: weights/<modality>.keras)")
    ap.add_argument("--out", default=None, help="output JSON (default: beside the weights)")
    args = ap.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m] or None
    result = build(
        args.modality,
        args.data,
        args.n,
        methods,
        args.seed,
        args.weights,
        args.sanity_images,
        engine=args.engine,
        batch_out=args.batch_out,
    )
    out = Path(args.out) if args.out else compare_path(args.modality, args.weights)
    write_json(out, result)
    print(f"wrote {out} in {result['seconds']:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
