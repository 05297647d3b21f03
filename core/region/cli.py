"""Region analysis from the command line: an H&E image or a patient's rebuilt slide.

    python -m core.region --image FILE [--stride 50] [--out DIR] [--json]
    python -m core.region --mosaic PATIENT_DIR [--stride 50] [--out DIR] [--json]

Both take ``--threshold`` (default 0.5) and ``--weights`` (default weights/histo.keras).
``seconds`` is the analysis itself (tiling, background test, inference, map) once the
model is loaded and compiled. ``--out DIR`` writes probability.npy (the map), heatmap.png,
overlay.png, tiles.csv (every tile's position, status and probability), result.json and,
for a mosaic, comparison.png (slide, truth, prediction and overlay side by side).

How the image is tiled and which tiles count as background: :mod:`core.region.tiles`.

``--mosaic`` rebuilds a patient's slide from its patch folder (see :mod:`core.region.mosaic`),
analyses it at stride 50 on the patches' own grid, and scores the map against the patch
labels (patch-level AUC). It also says whether the patient is in the test part of the
model's patient split (unseen) and whether the folder holds the whole slide.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from core.config import configure
from core.errors import ImageError, command, fail
from core.imaging.decode import decode_image
from core.imaging.pictures import save_png, side_by_side
from core.model.classifier import Classifier
from core.region.mosaic import build_mosaic, evaluate_mosaic
from core.region.pictures import heatmap_rgb, mosaic_panels, overlay_rgb
from core.region.tiles import THRESHOLD, TILE, RegionResult, analyse_region, scorer_for, tiles_csv


def write_outputs(
    out: Path, image: np.ndarray, result: RegionResult, record: dict, extra: list[tuple[str, np.ndarray]] = ()
) -> None:
    """probability.npy, heatmap.png, overlay.png, tiles.csv, result.json (+ comparison.png for mosaics)."""
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "probability.npy", result.probability)
    save_png(out / "heatmap.png", heatmap_rgb(result))
    save_png(out / "overlay.png", overlay_rgb(image, result))
    (out / "tiles.csv").write_text(tiles_csv(result))
    if extra:
        save_png(out / "comparison.png", side_by_side(list(extra)))
    with open(out / "result.json", "w") as fh:
        json.dump(record, fh, indent=1)
        fh.write("\n")


def _format(record: dict) -> str:
    lines = []
    if "patient" in record:
        lines.append(
            f"patient {record['patient']}: slide {'complete' if record['complete'] else 'sampled (holes)'}, "
            f"{record['patches']} patches, model split part: {record['model_part'] or 'not in its data'}"
        )
    lines += [
        f"image            {record['width']}×{record['height']} px, stride {record['stride']}",
        f"tiles            {record['tiles']}",
        f"tissue tiles     {record['tissue_tiles']}  (background {record['background_tiles']}, no data {record['no_data_tiles']})",
        f"seconds          {record['seconds']:.2f}",
        f"flagged fraction {record['flagged_fraction']:.1%} of the tissue area (p ≥ {record['threshold']})",
    ]
    if "auc" in record:
        auc = "n/a (one class only)" if record["auc"] is None else f"{record['auc']:.4f}"
        lines.append(
            f"patch-level AUC  {auc}  on {record['scored_patches']} scored patches ({record['scored_positive']} IDC)"
        )
        if record.get("note"):
            lines.append(f"note             {record['note']}")
    top = ", ".join(f"({t['x']},{t['y']}) {t['p_idc']:.2f}" for t in record["top_tiles"][:5])
    lines.append(f"most suspicious  {top or '–'}  [tile x,y and IDC probability]")
    return "\n".join(lines)


def _load_classifier(weights: str | None):
    return Classifier.load("histo", weights)


def run_image(path: str, stride: int, weights: str | None, out: str | None, threshold: float = THRESHOLD) -> dict:
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError:
        raise ImageError(f"The image '{path}' cannot be read (missing or not a file).") from None
    t0 = time.perf_counter()
    decoded = decode_image(data, file.name)
    classifier = _load_classifier(weights)
    scorer = scorer_for(classifier)
    scorer.warm_up()
    t1 = time.perf_counter()
    result = analyse_region(decoded.pixels, classifier, stride, threshold=threshold, scorer=scorer)
    record = {"image": file.name, **result.summary(), "decode_seconds": round(t1 - t0, 3)}
    if out:
        write_outputs(Path(out), decoded.pixels, result, record)
    return record


def run_mosaic(folder: str, stride: int, weights: str | None, out: str | None, threshold: float = THRESHOLD) -> dict:
    mosaic = build_mosaic(folder)
    classifier = _load_classifier(weights)
    scorer = scorer_for(classifier)
    scorer.warm_up()
    result = analyse_region(mosaic.image, classifier, stride, valid=mosaic.valid, threshold=threshold, scorer=scorer)
    score = evaluate_mosaic(mosaic, result, classifier.card)
    record = {**score.to_dict(), **result.summary()}
    if out:
        write_outputs(Path(out), mosaic.image, result, record, mosaic_panels(mosaic, result))
    return record


@command
def main(argv: list[str] | None = None) -> int:
    configure()
    ap = argparse.ArgumentParser(
        prog="python -m core.region", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--image", help="an H&E region image (PNG, JPEG or TIFF), about 100 to 5,000 px a side")
    src.add_argument("--mosaic", help="one patient's folder in the data-set layout (<patient>/<0|1>/*.png)")
    ap.add_argument("--stride", type=int, default=TILE, help="pixels between tiles, 1–50 (default 50)")
    ap.add_argument(
        "--threshold",
        type=float,
        default=THRESHOLD,
        help="IDC probability at or above which tissue is flagged (default 0.5)",
    )
    ap.add_argument("--weights", default=None, help="weights file (default: weights/histo.keras)")
    ap.add_argument("--out", default=None, help="folder for the maps, pictures, tiles.csv and result.json")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if not 1 <= args.stride <= TILE:
        return fail(f"--stride must be between 1 and {TILE} pixels.")
    if not 0.0 < args.threshold < 1.0:
        return fail("--threshold must be between 0 and 1.")
    if args.image:
        record = run_image(args.image, args.stride, args.weights, args.out, args.threshold)
    else:
        record = run_mosaic(args.mosaic, args.stride, args.weights, args.out, args.threshold)
    print(json.dumps(record) if args.json else _format(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
