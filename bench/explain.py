"""Latency of the explanation engine beside straightforward library-default usage.

    python bench/explain.py [--modality histo|mammo] [--repeats 7] [--baseline-repeats 3]

One 50×50 input (a real patch or mammogram crop when the data set is beside the repo,
else a synthetic one), warm (every method runs once untimed first). For each method it
prints the median seconds of this engine and of the plain library call, and the ratio:

* Grad-CAM / Grad-CAM++ / saliency / SmoothGrad: tf-keras-vis with ``ReplaceToLinear``
  (a modified clone of the model), eager, ``smooth_samples=20`` for SmoothGrad;
* Integrated Gradients: a Python loop of 64 eager gradient calls;
* LIME: ``LimeImageExplainer().explain_instance`` with ``model.predict`` and its defaults
  (1000 samples, batches of 10, quickshift);
* SHAP gradient: ``GradientExplainer`` with its defaults (200 samples);
* SHAP Partition: ``shap.Explainer(model.predict, maskers.Image("inpaint_telea"))``
  with its defaults (500 evaluations);
* occlusion has no library counterpart.

Figures are printed, never asserted: they depend on the machine and its load. Beside the
wall time the engine's CPU time (all threads) is printed: on a busy machine it is the
steadier figure, and on an idle one the wall time is at most about the CPU time.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONWARNINGS", "ignore")
os.environ.setdefault("TQDM_DISABLE", "1")  # LIME's default loop draws a progress bar
ROOT = Path(__file__).resolve().parent.parent

import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
from timing import median_seconds  # noqa: E402

DATA = Path(os.environ.get("BREASTXAI_DATA", ROOT.parent / "shared" / "data"))
TARGETS = {"all methods": 1.5, "Grad-CAM + IG + SmoothGrad": 0.2}


def sample_input(modality: str) -> tuple[np.ndarray, str]:
    from core.imaging.preprocess import load_model_input

    if modality == "histo":
        files = sorted((DATA / "histo" / "IDC_regular_ps50_idx5").glob("*/1/*.png"))
    else:
        files = sorted((DATA / "mammo" / "mini_mias" / "roi" / "malignant").glob("*.png"))
    if files:
        return load_model_input(str(files[0]), modality), files[0].name
    channels = 3 if modality == "histo" else 1
    return np.random.default_rng(0).random((50, 50, channels), dtype=np.float32), "synthetic input (data set not found)"


def load_classifier(modality: str):
    from core.modality import get_modality
    from core.model.card import weights_path
    from core.model.classifier import Classifier
    from core.model.network import build_model

    if weights_path(modality).exists():
        return Classifier.load(modality), f"shipped weights {weights_path(modality).name}"
    return Classifier(
        build_model(get_modality(modality)), modality
    ), "untrained model (shipped weights not found; same architecture, same cost)"


def library_baselines(model, x: np.ndarray, target: int, background: np.ndarray) -> dict:
    """name → zero-argument callable running the plain library usage once."""
    import shap
    import tensorflow as tf
    from lime import lime_image
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    from core.model.network import logits_model

    grey = x.shape[-1] == 1
    batch = x[None]
    score = CategoricalScore([target])
    gradcam = Gradcam(model, model_modifier=ReplaceToLinear(), clone=True)
    gradcampp = GradcamPlusPlus(model, model_modifier=ReplaceToLinear(), clone=True)
    saliency = Saliency(model, model_modifier=ReplaceToLinear(), clone=True)
    logits = logits_model(model)

    def ig_loop():
        baseline = np.zeros_like(batch)
        total = np.zeros_like(batch)
        for k in range(64):
            point = tf.constant(baseline + (k + 0.5) / 64 * (batch - baseline))
            with tf.GradientTape() as tape:
                tape.watch(point)
                out = logits(point)[:, target]
            total += tape.gradient(out, point).numpy()
        return (batch - baseline) * total / 64

    def lime_default():
        rgb = np.repeat(x, 3, -1) if grey else x
        fn = (lambda b: model.predict(b[..., :1], verbose=0)) if grey else (lambda b: model.predict(b, verbose=0))
        return lime_image.LimeImageExplainer().explain_instance(rgb.astype(np.float64), fn)

    gradient_explainer = shap.GradientExplainer(logits, background)
    partition = shap.Explainer(lambda b: model.predict(b, verbose=0), shap.maskers.Image("inpaint_telea", x.shape))
    return {
        "gradcam": lambda: gradcam(score, batch),
        "gradcampp": lambda: gradcampp(score, batch),
        "ig": ig_loop,
        "saliency": lambda: saliency(score, batch),
        "smoothgrad": lambda: saliency(score, batch, smooth_samples=20),
        "lime": lime_default,
        "shap_gradient": lambda: gradient_explainer.shap_values(batch),
        "shap_partition": lambda: partition(batch, silent=True),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modality", default="histo", choices=["histo", "mammo"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline-repeats", type=int, default=3)
    args = parser.parse_args(argv)

    import tensorflow as tf

    from core.explain.case import build_explainers
    from core.explain.methods import METHOD_LABELS, METHODS, load_background
    from core.model.card import weights_path

    x, source = sample_input(args.modality)
    classifier, weights = load_classifier(args.modality)
    try:
        background = load_background(weights_path(args.modality))
    except Exception:
        background = np.random.default_rng(0).random((16, *x.shape), dtype=np.float32)
    target = classifier.predict_image(x).class_index
    print(f"Explanation latency, {args.modality}: {source}; {weights}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, load average {load:.1f}, "
        f"TensorFlow {tf.__version__}; median of {args.repeats} warm runs (engine), {args.baseline_repeats} (library)\n"
    )

    explainers = build_explainers(classifier, list(METHODS), background=background)
    ours, ours_cpu = {}, {}
    for name, explainer in explainers.items():
        ours[name], ours_cpu[name] = median_seconds(lambda e=explainer: e.explain(x[None], [target]), args.repeats)
    baselines = library_baselines(classifier.model, x, target, background)
    theirs = {name: median_seconds(fn, args.baseline_repeats)[0] for name, fn in baselines.items()}

    print(f"{'method':<22}{'engine ms':>11}{'engine CPU ms':>15}{'library ms':>12}{'speed-up':>10}")
    for name in METHODS:
        lib = theirs.get(name)
        lib_text = f"{lib * 1000:>12.1f}{lib / ours[name]:>9.1f}×" if lib else f"{'—':>12}{'—':>10}"
        print(f"{METHOD_LABELS[name]:<22}{ours[name] * 1000:>11.1f}{ours_cpu[name] * 1000:>15.1f}{lib_text}")
    groups = {"all methods": list(METHODS), "Grad-CAM + IG + SmoothGrad": ["gradcam", "ig", "smoothgrad"]}
    print()
    for label, names in groups.items():
        total, cpu = sum(ours[n] for n in names), sum(ours_cpu[n] for n in names)
        lib_total = sum(theirs.get(n, ours[n]) for n in names)
        print(
            f"{label:<28}{total:>7.3f} s wall, {cpu:.3f} s CPU  (target ≤ {TARGETS[label]} s; library default {lib_total:.3f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
