"""Explain one image from the command line.

    python -m core.explain --modality histo --image patch.png
    python -m core.explain --modality mammo --image crop.png --methods gradcam,ig,lime --json
    python -m core.explain --modality histo --image patch.png --out overlays/

Prints the prediction and, per method, the seconds taken and the deletion/insertion AUC
(with a random map's scores as the reference line). Each method runs once, so a fresh
process pays for its tracing once and the seconds printed are a first call's (tracing
included); ``--warm`` first runs each method once untimed and prints warm seconds, as the
dashboard sees them once its explainers are built, at the cost of a second run. ``--out``
writes one overlay PNG per method; ``--json`` prints one JSON object instead of the table.
A file that cannot be read gives a one-line error and exit status 2.

When every chosen method needs only the network's outputs or the gradient at its last
feature maps (Grad-CAM, Grad-CAM++, LIME, SHAP Partition, occlusion), the network runs on
:mod:`core.model.numpy_runtime` and TensorFlow is never imported (``--runtime`` chooses).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from core.config import configure
from core.errors import command
from core.imaging.pictures import overlay, save_png
from core.modality import MODALITIES
from core.model.numpy_runtime import NumpyNetwork, UnsupportedNetwork

OVERLAY_SCALE = 4  # a 50×50 input is written as 200×200 pixels
OVERLAY_ALPHA = 0.5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m core.explain", description="Explain one image's prediction with several methods."
    )
    parser.add_argument("--modality", required=True, choices=sorted(MODALITIES))
    parser.add_argument("--image", required=True, help="PNG, JPEG, TIFF or DICOM file")
    parser.add_argument(
        "--methods",
        default="gradcam,gradcampp,ig,saliency,smoothgrad,lime,shap,occlusion",
        help="comma-separated; 'shap' means both SHAP explainers (gradient and partition)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--out", type=Path, help="folder for one overlay PNG per method")
    parser.add_argument("--weights", help="weights file (default: weights/<modality>.keras)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--film-box",
        help="x,y,width,height of a lesion box on a whole mammogram (pixels): the model sees the lesion square "
        "framed from it, and each map is also scored on localisation (relevance mass, pointing game)",
    )
    parser.add_argument(
        "--runtime",
        default="auto",
        choices=["auto", "keras", "numpy"],
        help="'numpy' runs the network without importing TensorFlow (Grad-CAM, Grad-CAM++, LIME, SHAP Partition "
        "and occlusion only; the same maps, and a fresh process starts seconds sooner); 'auto' (default) uses it "
        "when every chosen method allows",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="run each method once untimed first and print warm seconds (by default the one call is timed, "
        "tracing included)",
    )
    return parser.parse_args(argv)


def _film_lesion_input(path: str, film_box: str, modality: str) -> tuple[np.ndarray, tuple[float, ...]]:
    """The model input framed from a lesion box on a whole film, and the box in its pixels."""
    from core.imaging.decode import read_image
    from core.imaging.lesion import box_in_input, crop_inside, square_for_box
    from core.imaging.preprocess import to_model_input

    try:
        x, y, w, h = (float(v) for v in film_box.split(","))
    except ValueError:
        raise ValueError(f"--film-box must be x,y,width,height in pixels; got {film_box!r}") from None
    film = read_image(path).pixels
    height, width = film.shape[:2]
    square = square_for_box(x, y, w, h, height, width)
    box = box_in_input((x, y, w, h), square, height, width)
    return to_model_input(crop_inside(film, square), modality), box


def _load_classifier(modality: str, weights: str | None, runtime: str, methods: tuple[str, ...]):
    """The model in the runtime asked for; with "auto", NumPy when every method runs on it.

    Raises:
        ValueError: ``runtime="numpy"`` with a method that needs TensorFlow.
        UnsupportedNetwork: ``runtime="numpy"`` and the weights hold layers it does not implement.
    """
    from core.explain.methods import METHODS
    from core.model.classifier import Classifier

    keras_only = [m for m in methods if not METHODS[m].runs_without_tensorflow]
    if runtime == "numpy" and keras_only:
        raise ValueError(f"--runtime numpy cannot run {', '.join(keras_only)} (input gradients need TensorFlow)")
    if runtime == "auto":
        if keras_only:
            runtime = "keras"
        else:
            try:
                return Classifier.load(modality, weights, runtime="numpy")
            except UnsupportedNetwork:
                runtime = "keras"
    return Classifier.load(modality, weights, runtime=runtime)


def run(args: argparse.Namespace) -> dict:
    # The image is read and the method names checked before TensorFlow loads, so a wrong
    # file or name fails in a fraction of a second.
    from core.imaging.preprocess import load_model_input

    box = None
    if args.film_box:
        x, box = _film_lesion_input(args.image, args.film_box, args.modality)
    else:
        x = load_model_input(args.image, args.modality)
    from core.explain.case import analyse, build_explainers, resolve_methods, warm_up
    from core.explain.methods import load_background
    from core.model.card import weights_path

    methods = resolve_methods(args.methods, aliases=True)
    classifier = _load_classifier(args.modality, args.weights, args.runtime, methods)
    background = None
    if "shap_gradient" in methods:
        background = load_background(args.weights or weights_path(args.modality))
    explainers = build_explainers(classifier, methods, background=background)
    if args.warm:
        warm_up(explainers, x, classifier.predict_image(x).class_index)
    case = analyse(classifier, x, methods, seed=args.seed, explainers=explainers, box=box)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, result in case.methods.items():
            save_png(args.out / f"{name}.png", overlay(x, result.explanation.heatmap, OVERLAY_ALPHA), OVERLAY_SCALE)
    any_result = next(iter(case.methods.values()), None)
    return {
        "runtime": "numpy" if isinstance(classifier.model, NumpyNetwork) else "keras",
        "prediction": {"label": case.prediction.label, "probability": round(case.prediction.probability, 6)},
        "methods": {
            name: {
                "seconds": round(r.explanation.seconds, 4),
                "deletion_auc": round(r.deletion_auc, 4),
                "insertion_auc": round(r.insertion_auc, 4),
                **(
                    {
                        "completeness_error": round(r.explanation.extras["completeness_error"], 5),
                        "score_difference": round(r.explanation.extras["score_difference"], 5),
                    }
                    if "completeness_error" in r.explanation.extras
                    else {}
                ),
                **(
                    {
                        "relevance_mass": round(r.localisation.relevance_mass, 4),
                        "pointing_hit": r.localisation.pointing_hit,
                    }
                    if r.localisation is not None
                    else {}
                ),
            }
            for name, r in case.methods.items()
        },
        "random_map": {
            "deletion_auc": round(any_result.random_deletion_auc, 4) if any_result else None,
            "insertion_auc": round(any_result.random_insertion_auc, 4) if any_result else None,
            **(
                {"relevance_mass": round(any_result.localisation.box_share, 4)}
                if any_result is not None and any_result.localisation is not None
                else {}
            ),
        },
    }


def format_table(report: dict) -> str:
    from core.explain.methods import METHODS
    from core.explain.methods.integrated_gradients import MIN_DIFFERENCE

    labels = {name: cls.label for name, cls in METHODS.items()}
    p = report["prediction"]
    lines = [
        f"Prediction: {p['label']} (probability {p['probability']:.3f}); network run by "
        + ("NumPy (no TensorFlow)" if report.get("runtime") == "numpy" else "Keras"),
        "",
        f"{'method':<22}{'seconds':>9}{'deletion AUC ↓':>16}{'insertion AUC ↑':>17}",
    ]
    for name, m in report["methods"].items():
        note = f"   completeness error {m['completeness_error']:.2%}" if "completeness_error" in m else ""
        if "score_difference" in m and abs(m["score_difference"]) < MIN_DIFFERENCE:
            # a relative error of a tiny difference says little: give the difference itself
            note += f" of a score difference of only {m['score_difference']:.3f} log-odds"
        lines.append(
            f"{labels.get(name, name):<22}{m['seconds']:>9.3f}{m['deletion_auc']:>16.3f}{m['insertion_auc']:>17.3f}{note}"
        )
    r = report["random_map"]
    if r["deletion_auc"] is not None:
        lines.append(f"{'random map (reference)':<22}{'':>9}{r['deletion_auc']:>16.3f}{r['insertion_auc']:>17.3f}")
    total = sum(m["seconds"] for m in report["methods"].values())
    lines.append(f"{'all methods':<22}{total:>9.3f}")
    return "\n".join(lines)


@command
def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    configure()
    args = parse_args(argv)
    report = run(args)
    print(json.dumps(report) if args.json else format_table(report))
    if args.out and not args.json:
        print(f"\nOverlays written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
