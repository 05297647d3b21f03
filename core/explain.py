"""Explain one image from the command line.

    python -m core.explain --modality histo --image patch.png
    python -m core.explain --modality mammo --image crop.png --methods gradcam,ig,lime --json
    python -m core.explain --modality histo --image patch.png --out overlays/

Prints the prediction and, per method, the seconds taken and the deletion/insertion AUC
(with a random map's scores as the reference line). Seconds are measured warm, as in the
dashboard, where explainers are built once: each method first runs once untimed
(``--cold`` times the first call instead). ``--out`` writes one overlay PNG per
method; ``--json`` prints one JSON object instead of the table. A file that cannot be read
gives a one-line error and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from .errors import BreastXAIError
from .modality import MODALITIES

OVERLAY_SCALE = 4  # a 50×50 input is written as 200×200 pixels
OVERLAY_ALPHA = 0.5


def overlay(model_input: np.ndarray, heatmap: np.ndarray, scale: int = OVERLAY_SCALE) -> np.ndarray:
    """(H, W, C) input in [0, 1] and (H, W) heatmap in [0, 1] → (sH, sW, 3) uint8 RGB overlay."""
    import cv2

    rgb = np.repeat(model_input, 3, axis=-1) if model_input.shape[-1] == 1 else model_input
    base = (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    colour = cv2.applyColorMap((np.clip(heatmap, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    mixed = ((1 - OVERLAY_ALPHA) * base + OVERLAY_ALPHA * colour).astype(np.uint8)
    size = (mixed.shape[1] * scale, mixed.shape[0] * scale)
    return cv2.resize(mixed, size, interpolation=cv2.INTER_NEAREST)


def write_png(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(rgb).save(path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.explain", description="Explain one image's prediction with several methods.")
    parser.add_argument("--modality", required=True, choices=sorted(MODALITIES))
    parser.add_argument("--image", required=True, help="PNG, JPEG, TIFF or DICOM file")
    parser.add_argument("--methods", default="gradcam,gradcampp,ig,saliency,smoothgrad,lime,shap,occlusion",
                        help="comma-separated; 'shap' means both SHAP explainers (gradient and partition)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--out", type=Path, help="folder for one overlay PNG per method")
    parser.add_argument("--weights", help="weights file (default: weights/<modality>.keras)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cold", action="store_true",
                        help="time the first call (includes tracing); by default each method runs once untimed first")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    from .analysis import analyse, build_explainers, resolve_methods, warm_up
    from .decode import load_model_input
    from .explainers import load_background
    from .model_card import weights_path
    from .predict import Classifier

    methods = resolve_methods(args.methods, aliases=True)
    x = load_model_input(args.image, args.modality)
    classifier = Classifier.load(args.modality, args.weights)
    background = None
    if "shap" in methods:
        background = load_background(args.weights or weights_path(args.modality))
    explainers = build_explainers(classifier, methods, background=background)
    if not args.cold:
        warm_up(explainers, x, classifier.predict_image(x).class_index)
    case = analyse(classifier, x, methods, seed=args.seed, explainers=explainers)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, result in case.methods.items():
            write_png(args.out / f"{name}.png", overlay(x, result.explanation.heatmap))
    any_result = next(iter(case.methods.values()), None)
    return {
        "prediction": {"label": case.prediction.label, "probability": round(case.prediction.probability, 6)},
        "methods": {
            name: {
                "seconds": round(r.explanation.seconds, 4),
                "deletion_auc": round(r.deletion_auc, 4),
                "insertion_auc": round(r.insertion_auc, 4),
                **({"completeness_error": round(r.explanation.extras["completeness_error"], 5)} if "completeness_error" in r.explanation.extras else {}),
            }
            for name, r in case.methods.items()
        },
        "random_map": {
            "deletion_auc": round(any_result.random_deletion_auc, 4) if any_result else None,
            "insertion_auc": round(any_result.random_insertion_auc, 4) if any_result else None,
        },
    }


def format_table(report: dict) -> str:
    from .explainers import METHODS

    labels = {name: cls.label for name, cls in METHODS.items()}
    p = report["prediction"]
    lines = [f"Prediction: {p['label']} (probability {p['probability']:.3f})", "",
             f"{'method':<22}{'seconds':>9}{'deletion AUC ↓':>16}{'insertion AUC ↑':>17}"]
    for name, m in report["methods"].items():
        note = f"   completeness error {m['completeness_error']:.2%}" if "completeness_error" in m else ""
        lines.append(f"{labels.get(name, name):<22}{m['seconds']:>9.3f}{m['deletion_auc']:>16.3f}{m['insertion_auc']:>17.3f}{note}")
    r = report["random_map"]
    if r["deletion_auc"] is not None:
        lines.append(f"{'random map (reference)':<22}{'':>9}{r['deletion_auc']:>16.3f}{r['insertion_auc']:>17.3f}")
    total = sum(m["seconds"] for m in report["methods"].values())
    lines.append(f"{'all methods':<22}{total:>9.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = parse_args(argv)
    try:
        report = run(args)
    except (BreastXAIError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.json else format_table(report))
    if args.out and not args.json:
        print(f"\nOverlays written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
