"""Known-answer tests for explanation quality.

A hand-built model reads only the top-left quadrant (its class-1 log-odds grows with the
local contrast there), so every method must put most of its mass in that quadrant and beat
a random map on deletion. The randomisation sanity check must flag a fake "explanation"
(an edge detector of the input that ignores the model) and pass real methods.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

from core.explain.case import analyse, build_explainers, resolve_methods
from core.explain.methods import METHODS, Explainer, make_explainer
from core.explain.metrics.agreement import spearman, top_overlap
from core.explain.metrics.faithfulness import deletion, deletion_insertion, insertion, pixel_order, random_map
from core.explain.metrics.sanity import randomisation_check
from core.modality import HISTO
from core.model.classifier import Classifier
from core.model.network import build_model

Q = 25  # the quadrant's side


@keras.saving.register_keras_serializable(package="tests")
class QuadrantMask(keras.layers.Layer):
    """Keeps 3×3-filter responses whose whole support lies inside the top-left Q×Q pixels."""

    def call(self, x):
        mask = np.zeros((1, 50, 50, 1), np.float32)
        mask[:, 1 : Q - 1, 1 : Q - 1] = 1
        return x * mask


def quadrant_model() -> keras.Model:
    """Class 1 log-odds = 100 · Σ|Laplacian| over the top-left quadrant / 2500 − 3."""
    inputs = keras.Input((50, 50, 3), name="image")
    conv1 = keras.layers.Conv2D(2, 3, padding="same", use_bias=False, name="conv1")
    x = conv1(inputs)
    x = keras.layers.Activation("relu", name="relu1")(x)
    x = QuadrantMask(name="mask")(x)
    conv2 = keras.layers.Conv2D(1, 1, use_bias=False, name="conv2")
    x = conv2(x)  # relu(L) + relu(−L) = |L|, summed over channels
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    logits_layer = keras.layers.Dense(2, name="logits")
    logits = logits_layer(x)
    outputs = keras.layers.Activation("softmax", name="probabilities")(logits)
    model = keras.Model(inputs, outputs, name="quadrant")
    lap = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], np.float32)
    k1 = np.zeros((3, 3, 3, 2), np.float32)
    for c in range(3):
        k1[:, :, c, 0], k1[:, :, c, 1] = lap / 3, -lap / 3
    conv1.set_weights([k1])
    conv2.set_weights([np.ones((1, 1, 2, 1), np.float32)])
    scale = 100.0
    logits_layer.set_weights([np.array([[-scale / 2, scale / 2]], np.float32), np.array([1.5, -1.5], np.float32)])
    return model


def textured(n: int, seed: int = 0) -> np.ndarray:
    """Smooth pastel images with fine random texture everywhere."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.3, 0.7, (n, 1, 1, 3))
    return np.clip(base + rng.normal(0, 0.12, (n, 50, 50, 3)), 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def classifier():
    return Classifier(quadrant_model(), HISTO)


@pytest.fixture(scope="module")
def background():
    return textured(4, seed=99)


SETTINGS = {
    "ig": {"steps": 32},
    "smoothgrad": {"samples": 8},
    "lime": {"samples": 200},
    "shap_gradient": {"samples": 16},
    "shap_partition": {"max_evals": 200},
}


def test_the_hand_built_model_reads_only_the_quadrant(classifier):
    x = textured(4)
    p = classifier.predict(x)[:, 1]
    assert (p > 0.8).all() and (p < 0.99).all(), p
    outside = x.copy()
    outside[:, Q:, :] = 0.5
    outside[:, :, Q:] = 0.5
    np.testing.assert_allclose(classifier.predict(outside)[:, 1], p, atol=0.02)
    inside = x.copy()
    inside[:, :Q, :Q] = 0.5
    assert (classifier.predict(inside)[:, 1] < 0.3).all()


# SHAP Partition's first call costs seconds of library set-up: it runs with the slow tests.
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n == "shap_partition" else n for n in METHODS]
)
def test_every_method_finds_the_quadrant_and_beats_a_random_map(classifier, background, name):
    settings = dict(SETTINGS.get(name, {}))
    if name == "shap_gradient":
        settings["background"] = background
    explainer = make_explainer(name, classifier.model, **settings)
    images = textured(2, seed=1)
    for image, e in zip(images, explainer.explain(images, [1, 1])):
        mass = e.heatmap[:Q, :Q].sum() / e.heatmap.sum()
        assert mass > 0.5, f"{name}: only {mass:.0%} of the map in the quadrant"
        ours = deletion(classifier.predict, image, e.attribution, 1)
        rand = deletion(classifier.predict, image, random_map((50, 50), seed=3), 1)
        assert ours.auc < rand.auc, f"{name}: deletion AUC {ours.auc:.3f} not below random {rand.auc:.3f}"


def test_deletion_and_insertion_curves(classifier):
    image = textured(1, seed=2)[0]
    truth = np.zeros((50, 50), np.float32)
    truth[:Q, :Q] = 1
    dele, ins = deletion_insertion(classifier.predict, image, truth, 1, steps=20)
    assert dele.curve.shape == ins.curve.shape == (21,)
    p = classifier.predict(image[None])[0, 1]
    assert np.isclose(dele.curve[0], p, atol=1e-5) and np.isclose(ins.curve[-1], p, atol=1e-5)
    assert np.isclose(dele.curve[-1], ins.curve[0], atol=1e-5)  # both ends meet at the blurred image
    # Removing the quadrant first is the best possible order; inserting it first likewise.
    rand_del, rand_ins = deletion_insertion(classifier.predict, image, random_map((50, 50), 1), 1, steps=20)
    assert dele.auc < rand_del.auc - 0.2 and ins.auc > rand_ins.auc + 0.2
    # The reversed map is the worst order.
    assert deletion(classifier.predict, image, -truth, 1, steps=20).auc > rand_del.auc
    assert insertion(classifier.predict, image, -truth, 1, steps=20).auc < rand_ins.auc


def test_pixel_order_breaks_ties_at_random_but_reproducibly():
    flat = np.zeros((50, 50))
    flat[10, 10] = 1
    order = pixel_order(flat, seed=0)
    assert order[0] == 10 * 50 + 10
    np.testing.assert_array_equal(order, pixel_order(flat, seed=0))
    assert not np.array_equal(order[1:20], np.arange(19) + 1)  # not raster order


def test_agreement_matrix():
    rng = np.random.default_rng(0)
    a = rng.random((50, 50))
    assert spearman(a, a) == pytest.approx(1) and spearman(a, -a) == pytest.approx(-1)
    assert top_overlap(a, a) == 1 and top_overlap(a, -a) == 0
    assert abs(spearman(a, rng.random((50, 50)))) < 0.1


def test_analyse_scores_every_method_and_compares_them(classifier, background):
    names = ["gradcam", "ig", "occlusion"]
    explainers = build_explainers(classifier, names, settings={"ig": {"steps": 16}})
    seen = []
    case = analyse(
        classifier,
        textured(1, 4)[0],
        names,
        seed=1,
        explainers=explainers,
        progress=lambda m, i, n: seen.append((m, i, n)),
    )
    assert case.prediction.class_index == 1 and case.seed == 1
    assert list(case.methods) == names and seen[0] == ("gradcam", 0, 3)
    for result in case.methods.values():
        assert 0 <= result.deletion_auc <= 1 and 0 <= result.insertion_auc <= 1
        assert result.deletion_auc < result.random_deletion_auc
        assert result.explanation.target == 1
    assert case.agreement.methods == tuple(names)
    assert case.agreement.spearman.shape == (3, 3) and np.allclose(np.diag(case.agreement.top10_overlap), 1)
    np.testing.assert_allclose(case.agreement.spearman, case.agreement.spearman.T)
    assert case.agreement.top10_overlap[0, 1] > 0.5  # both find the quadrant


def test_method_aliases():
    assert resolve_methods("shap,gradcam", aliases=True) == ("gradcam", "shap_gradient", "shap_partition")
    assert resolve_methods(["shap", "gradcam"]) == ("gradcam", "shap_gradient")
    with pytest.raises(ValueError, match="unknown"):
        resolve_methods(["gradcam", "nope"])


class EdgeDetector(Explainer):
    """A fake explanation: the Sobel edge strength of the input, blind to the model."""

    name = "edges"
    label = "Edges"

    def _attribute(self, images, targets, seed):
        from scipy import ndimage

        grey = images.mean(axis=-1)
        return np.hypot(ndimage.sobel(grey, axis=1), ndimage.sobel(grey, axis=2)), [{} for _ in images]


def test_sanity_check_flags_an_explanation_that_ignores_the_model(classifier):
    images = textured(2, seed=5)
    result = randomisation_check(EdgeDetector, classifier.model, images, [1, 1])
    assert result.layers == ("logits", "conv2", "conv1")
    assert not result.passed and result.final_similarity > 0.99


@pytest.mark.parametrize("name", ["gradcam", "saliency", "ig"])
def test_sanity_check_passes_methods_that_depend_on_the_weights(name):
    # The project's architecture, where every map is shaped by learned weights only (in
    # the quadrant model the fixed mask alone already confines any map to the quadrant).
    model = build_model(HISTO, seed=4)
    before = [w.copy() for w in model.get_weights()]
    settings = {"steps": 16} if name == "ig" else {}
    result = randomisation_check(lambda m: make_explainer(name, m, **settings), model, textured(2, seed=6), [1, 1])
    assert result.layers == ("logits", "dense", "conv4", "conv3", "conv2", "conv1")
    assert result.passed, result.spearman
    assert result.spearman.shape == result.ssim.shape == (6,)
    for a, b in zip(before, model.get_weights()):  # only the clone was randomised
        np.testing.assert_array_equal(a, b)
