"""Evaluate a trained model on every labelled image of a data-set folder.

    python -m core.evaluate --modality histo --data DIR [--weights FILE] [--json] [--save]

Prints accuracy, F1, AUC, balanced accuracy, sensitivity, specificity and precision, each
with a 95% bootstrap interval that resamples patients, and the counts. Images of patients
that the model was trained or validated on (listed in its model card) are left out unless
``--include-training`` is given, so the figures are always about unseen patients.
``--save`` writes per-image predictions (id, patient, label, probability) and the ROC, PR
and calibration curve points to ``<weights>.eval.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from core.config import configure
from core.data.histo import complete_patients, find_patches
from core.data.labelled import LabelledSet, count_labelled, load_labelled
from core.errors import BreastXAIError, command
from core.evaluate.scores import METRIC_NAMES, curves, summarise
from core.evaluate.slides import PUBLISHED_WHOLE_SLIDE, slide_summary
from core.modality import DECISION_THRESHOLD
from core.model.card import eval_path, weights_path, write_json
from core.model.classifier import Classifier


def seen_patients(card: dict) -> set[str]:
    parts = card.get("split", {}).get("patients", {})
    return set(parts.get("train", [])) | set(parts.get("val", []))


def per_patient(data: LabelledSet, p: np.ndarray) -> list[dict]:
    rows = []
    for pid in sorted(set(data.groups.tolist())):
        sel = data.groups == pid
        y, pp = data.y[sel], p[sel]
        rows.append(
            {
                "patient": pid,
                "n": int(sel.sum()),
                "n_positive": int(y.sum()),
                "mean_probability": round(float(pp.mean()), 4),
                "accuracy": round(float(((pp >= DECISION_THRESHOLD) == (y == 1)).mean()), 4),
            }
        )
    return rows


def eval_record(data: LabelledSet, p: np.ndarray, card: dict, part: str) -> dict:
    """Everything the metrics pages need: predictions by id, metrics and curve points."""
    return {
        "modality": data.modality.name,
        "weights_sha256": card.get("weights", {}).get("sha256", ""),
        "part": part,
        "metrics": summarise(data.y, p, data.groups),
        "curves": curves(data.y, p).to_dict(),
        "per_patient": per_patient(data, p),
        "predictions": [
            {"id": i, "patient": g, "label": int(y), "probability": round(float(q), 5)}
            for i, g, y, q in zip(data.ids.tolist(), data.groups.tolist(), data.y.tolist(), p.tolist())
        ],
    }


def evaluate(
    modality: str,
    data_dir: str,
    weights_file: str | None = None,
    include_training: bool = False,
    mammo_source: str = "auto",
    tta: bool = False,
) -> tuple[dict, dict]:

    clf = Classifier.load(modality, weights_file)
    seen = set() if include_training else seen_patients(clf.card)
    data = load_labelled(modality, data_dir, mammo_source, keep=lambda patient: patient not in seen)
    excluded = count_labelled(modality, data_dir, mammo_source) - len(data) if seen else 0
    if len(data) == 0:
        raise BreastXAIError(
            f"All {excluded} images under '{data_dir}' belong to patients the model was trained on; "
            "pass --include-training to score them anyway (the figures will be optimistic)."
        )
    start = time.perf_counter()
    p = clf.predict_positive(data.x, tta=tta)
    seconds = time.perf_counter() - start
    record = eval_record(data, p, clf.card, part="all" if include_training else "unseen patients")
    record["excluded_training_images"] = excluded
    record["test_time_augmentation"] = tta
    if data.skipped:
        record["skipped"] = dict(data.skipped)
    record["inference_seconds"] = round(seconds, 3)
    if modality == "histo":
        slides = sorted(set(complete_patients(find_patches(data_dir))) & set(data.groups.tolist()), key=int)
        record["whole_slides"] = slide_summary(data.y, p, data.groups, slides)
    return record, clf.card


def format_report(record: dict) -> str:
    m = record["metrics"]
    lines = [
        f"{record['modality']}: {m['n']} images from {m['n_patients']} patients "
        f"({m['n_positive']} positive); {record['part']}"
        + (
            f", {record['excluded_training_images']} images of training patients left out"
            if record.get("excluded_training_images")
            else ""
        ),
    ]
    if record.get("skipped"):
        lines.append(
            "  left out by the reader: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in record["skipped"].items())
        )
    for k in METRIC_NAMES:
        lo, hi = m["ci"][k]
        lines.append(f"  {k:<18} {m[k]:.3f}  (95% CI {lo:.3f}–{hi:.3f})")
    c = m["confusion"]
    lines.append(f"  confusion          tn {c['tn']}  fp {c['fp']}  fn {c['fn']}  tp {c['tp']}")
    lines.append(f"  inference          {record['inference_seconds']:.2f}s")
    ws = record.get("whole_slides")
    if ws and ws["slides"]:
        lines.append(f"whole slides ({len(ws['slides'])} complete slides, every patch scored):")
        lines.append(f"  {'slide':<8}{'patches':>8}{'IDC':>6}{'AUC':>8}{'bal.acc':>9}{'F1':>7}{'sens':>7}{'spec':>7}")
        for r in ws["slides"]:
            lines.append(
                f"  {r['patient']:<8}{r['n']:>8}{r['n_positive']:>6}{_f(r['auc']):>8}{_f(r['balanced_accuracy']):>9}"
                f"{_f(r['f1']):>7}{_f(r['sensitivity']):>7}{_f(r['specificity']):>7}"
            )
        for name in ("mean", "pooled"):
            r = ws[name]
            lines.append(
                f"  {name:<8}{r.get('n', ''):>8}{'':>6}{_f(r['auc']):>8}{_f(r['balanced_accuracy']):>9}"
                f"{_f(r['f1']):>7}{_f(r['sensitivity']):>7}{_f(r['specificity']):>7}"
            )
        for ref in PUBLISHED_WHOLE_SLIDE:
            lines.append(
                f"  published: {ref['source']}: F1 {ref['f1']:.3f}, balanced accuracy {ref['balanced_accuracy']:.3f}"
            )
    return "\n".join(lines)


def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


@command
def main(argv: list[str] | None = None) -> int:
    configure()
    ap = argparse.ArgumentParser(
        prog="python -m core.evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--modality", required=True, choices=["histo", "mammo"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--weights", default=None, help="weights file (default: weights/<modality>.keras)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--save", action="store_true", help="write <weights>.eval.json for the metrics pages")
    ap.add_argument(
        "--save-to", default=None, help="write the evaluation file here instead (e.g. an external test set's)"
    )
    ap.add_argument("--label", default="", help="what this data set is, recorded in the file (e.g. 'external')")
    ap.add_argument("--include-training", action="store_true", help="also score patients the model trained on")
    ap.add_argument("--tta", action="store_true", help="average over the 8 flips/rotations of each input (8× slower)")
    ap.add_argument("--mammo-source", default="auto", choices=["auto", "roi", "films", "cbis", "cbis_films"])
    args = ap.parse_args(argv)
    record, _ = evaluate(args.modality, args.data, args.weights, args.include_training, args.mammo_source, args.tta)
    record["data_label"] = args.label
    record["data_folder"] = Path(args.data).name
    if args.save_to:
        write_json(Path(args.save_to), record)
    elif args.save:
        write_json(eval_path(args.weights or weights_path(args.modality)), record)
    if args.json:
        m = record["metrics"]
        out = {k: m[k] for k in ("n", "n_patients", "n_positive", *METRIC_NAMES, "brier")}
        out.update(
            {
                "ci": m["ci"],
                "confusion": m["confusion"],
                "excluded_training_images": record["excluded_training_images"],
                "skipped": record.get("skipped", {}),
                "inference_seconds": record["inference_seconds"],
            }
        )
        if "whole_slides" in record:
            out["whole_slides"] = record["whole_slides"]
        print(json.dumps(out))
    else:
        print(format_report(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
