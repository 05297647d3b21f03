"""Contract tests: every explanation method on small models, with tiny settings.

Known answers: the compiled Grad-CAM, Grad-CAM++, saliency and SmoothGrad give the same maps
as tf-keras-vis itself; Integrated Gradients is complete within 2 % on the shipped models;
seeded random methods repeat exactly; the caller's model is never modified.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from core.explain.methods import METHOD_LABELS, METHODS, Explanation, make_explainer, normalise_heatmap
from core.explain.methods.base import log_odds, logits_of
from core.modality import HISTO, MAMMO
from core.model.network import build_model

TINY = {
    "ig": {"steps": 8},
    "smoothgrad": {"samples": 4},
    "lime": {"samples": 60},
    "shap_gradient": {"samples": 8},
    "shap_partition": {"max_evals": 60},
    "occlusion": {"patch": 10, "stride": 10},
}


def tiny_settings(name: str, modality) -> dict:
    settings = dict(TINY.get(name, {}))
    if name == "shap_gradient":
        settings["background"] = np.random.default_rng(0).random((4, *modality.input_shape), dtype=np.float32)
    return settings


@pytest.fixture(scope="module")
def models():
    return {m.name: build_model(m, seed=3) for m in (HISTO, MAMMO)}


def images_for(modality, n=2, seed=0):
    return np.random.default_rng(seed).random((n, *modality.input_shape), dtype=np.float32)


def test_registry_names_and_labels():
    assert list(METHODS) == [
        "gradcam",
        "gradcampp",
        "ig",
        "saliency",
        "smoothgrad",
        "lime",
        "shap_gradient",
        "shap_partition",
        "occlusion",
    ]
    assert set(METHOD_LABELS) == set(METHODS) and all(METHOD_LABELS.values())


@pytest.mark.parametrize("modality", [HISTO, MAMMO], ids=lambda m: m.name)
@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_honours_the_contract(models, modality, name):
    model = models[modality.name]
    explainer = make_explainer(name, model, **tiny_settings(name, modality))
    x = images_for(modality)
    out = explainer.explain(x, np.array([0, 1]))
    assert len(out) == 2
    for e, target in zip(out, (0, 1)):
        assert isinstance(e, Explanation) and e.method == name and e.target == target
        assert e.attribution.shape == (50, 50) and e.heatmap.shape == (50, 50)
        assert np.isfinite(e.attribution).all() and np.isfinite(e.heatmap).all()
        assert e.heatmap.dtype == np.float32 and e.heatmap.min() >= 0 and e.heatmap.max() <= 1
        assert e.seconds > 0 and e.signed == type(explainer).signed
        assert e.seed == (0 if explainer.random else None)
        assert isinstance(e.params, dict)
    # One image without a batch axis and an int target work too.
    assert explainer.explain(x[0], 1)[0].attribution.shape == (50, 50)


def test_bad_inputs_are_rejected_with_the_value_named(models):
    explainer = make_explainer("gradcam", models["histo"])
    with pytest.raises(ValueError, match=r"\(2, 50, 50, 1\)"):
        explainer.explain(np.zeros((2, 50, 50, 1), np.float32), [0, 0])
    with pytest.raises(ValueError, match="targets"):
        explainer.explain(np.zeros((2, 50, 50, 3), np.float32), [0, 5])
    with pytest.raises(ValueError, match="unknown explanation method 'cam'"):
        make_explainer("cam", models["histo"])
    with pytest.raises(ValueError, match="nolayer"):
        make_explainer("gradcam", models["histo"], layer="nolayer")
    with pytest.raises(ValueError, match="baseline"):
        make_explainer("ig", models["histo"], baseline="grey")
    with pytest.raises(ValueError, match="background"):
        make_explainer("shap_gradient", models["histo"])


def test_heatmap_rule_is_shared_and_keeps_sign_out_of_display():
    a = np.linspace(-2, 1, 2500, dtype=np.float32).reshape(50, 50)
    h = normalise_heatmap(a)
    assert h.min() >= 0 and h.max() == 1
    assert h[0, 0] == 1  # the strongest negative value is as visible as a positive one
    assert np.isclose(h[0, 0], normalise_heatmap(-a)[0, 0])
    assert not normalise_heatmap(np.zeros((50, 50))).any()


@pytest.mark.parametrize("name", ["lime", "shap_gradient", "shap_partition", "smoothgrad"])
def test_seeded_methods_repeat_exactly(models, name):
    model = models["histo"]
    explainer = make_explainer(name, model, **tiny_settings(name, HISTO))
    x = images_for(HISTO, n=1, seed=5)
    first = explainer.explain(x, [1])[0].attribution
    again = make_explainer(name, model, **tiny_settings(name, HISTO)).explain(x, [1])[0].attribution
    np.testing.assert_array_equal(first, again)
    if explainer.random:
        other = explainer.explain(x, [1], seed=7)[0].attribution
        assert not np.array_equal(first, other), "the seed has no effect"


def test_the_callers_model_is_never_modified(models):
    model = build_model(HISTO, seed=11)
    x = images_for(HISTO, n=3, seed=2)
    before_weights = [w.copy() for w in model.get_weights()]
    before_out = np.asarray(model(x, training=False))
    activation = model.get_layer("probabilities").activation
    for name in METHODS:
        make_explainer(name, model, **tiny_settings(name, HISTO)).explain(x[:1], [0])
    assert model.get_layer("probabilities").activation is activation
    for a, b in zip(before_weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.asarray(model(x, training=False)), before_out, rtol=0, atol=0)


# --- same maps as tf-keras-vis ---------------------------------------------------------


def _tfkv_score(targets):
    import tensorflow as tf

    return lambda output: log_odds(output, tf.constant(targets, tf.int32))


def test_gradcam_matches_tf_keras_vis(models):
    from tf_keras_vis.gradcam import Gradcam

    model, x, t = models["histo"], images_for(HISTO, n=3, seed=1), np.array([0, 1, 1], np.int32)
    ours = np.stack([e.attribution for e in make_explainer("gradcam", model).explain(x, t)])
    ref = Gradcam(logits_of(model), clone=False)(
        _tfkv_score(t), x, penultimate_layer="relu4", seek_penultimate_conv_layer=False, normalize_cam=False
    )
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-4 * float(np.abs(ref).max()))


def test_gradcam_plus_plus_matches_tf_keras_vis_up_to_scale(models):
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus

    model, x, t = models["mammo"], images_for(MAMMO, n=2, seed=4), np.array([1, 0], np.int32)
    ours = np.stack([e.attribution for e in make_explainer("gradcampp", model).explain(x, t)])
    ref = np.asarray(
        GradcamPlusPlus(logits_of(model), clone=False)(
            _tfkv_score(t), x, penultimate_layer="relu4", seek_penultimate_conv_layer=False, normalize_cam=False
        )
    )
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a / a.max(), b / b.max(), atol=1e-3)


def test_layer_is_selectable(models):
    e = make_explainer("gradcam", models["histo"], layer="relu3").explain(images_for(HISTO, n=1), [1])[0]
    assert e.params["layer"] == "relu3" and e.attribution.shape == (50, 50)
    # By default the last convolution's feature maps after its batch norm and ReLU.
    assert make_explainer("gradcam", models["histo"]).layer == "relu4"
    assert (
        make_explainer("gradcampp", models["mammo"], layer="conv4")
        .explain(images_for(MAMMO, n=1), [0])[0]
        .params["layer"]
        == "conv4"
    )


def test_saliency_and_smoothgrad_match_tf_keras_vis(models):
    from tf_keras_vis.saliency import Saliency

    model, x, t = models["histo"], images_for(HISTO, n=2, seed=6), np.array([1, 0], np.int32)
    reference = Saliency(logits_of(model), clone=False)
    ours = np.stack([e.attribution for e in make_explainer("saliency", model).explain(x, t)])
    np.testing.assert_allclose(ours, reference(_tfkv_score(t), x, normalize_map=False), rtol=1e-4, atol=1e-7)

    ours = np.stack([e.attribution for e in make_explainer("smoothgrad", model, samples=5, seed=9).explain(x, t)])
    np.random.seed(9)  # tf-keras-vis draws its noise from the global generator
    ref = reference(_tfkv_score(t), x, smooth_samples=5, smooth_noise=0.2, normalize_map=False)
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-6)


# --- Integrated Gradients on the shipped models -------------------------------------------


def _completeness_misses(weights_file, modality, inputs):
    """(|Σ attribution − Δz|, allowed) per input for IG with its defaults (blurred baseline, 64 steps)."""
    from core.model.classifier import Classifier

    classifier = Classifier.load(modality, weights_file)
    targets = classifier.predict(inputs).argmax(axis=1)
    explainer = make_explainer("ig", classifier.model)
    assert explainer.steps == 64 and explainer.baseline == "blurred"
    explanations = explainer.explain(inputs, targets)
    out = []
    for e in explanations:
        # The reported error is what the map really adds up to.
        assert np.isclose(e.extras["attribution_sum"], float(e.attribution.sum()), rtol=1e-4, atol=1e-5)
        delta = e.extras["score_difference"]
        miss = abs(e.extras["attribution_sum"] - delta)
        assert np.isclose(e.extras["completeness_error"], miss / max(abs(delta), 1e-6), rtol=1e-4)
        out.append((miss, explainer.tolerance * max(abs(delta), explainer.min_difference)))
    return out


def test_ig_complete_within_the_tolerance_on_shipped_histo_model(histo_weights, histo_dir):
    from core.data.histo import find_patches, load_patch

    patient = sorted(d for d in histo_dir.iterdir() if d.is_dir())[0]
    patches = find_patches(patient)
    rng = np.random.default_rng(0)
    chosen = [patches[i] for i in rng.choice(len(patches), 4, replace=False)]
    inputs = np.stack([load_patch(p.path) for p in chosen]).astype(np.float32)
    misses = _completeness_misses(histo_weights, "histo", inputs)
    assert all(miss <= allowed for miss, allowed in misses), misses


def test_ig_complete_within_the_tolerance_on_shipped_mammo_model(mammo_weights, mammo_dir):
    from core.imaging.preprocess import load_model_input

    files = sorted((mammo_dir / "roi").glob("*/*.png"))[:6]
    inputs = np.stack([load_model_input(str(f), "mammo") for f in files])
    misses = _completeness_misses(mammo_weights, "mammo", inputs)
    assert all(miss <= allowed for miss, allowed in misses), misses


def test_ig_refinement_is_the_trapezoid_rule_on_twice_and_four_times_the_cells(models):
    """Nested refinement reuses the midpoint gradients: it must equal the plain rules."""
    model = models["histo"]
    x = images_for(HISTO, n=1, seed=4)
    target = np.array([1])
    ig = make_explainer("ig", model, steps=8, tolerance=0.0, max_steps=32, baseline="black")
    out = ig.explain(x, target)[0]
    assert out.extras["steps"] == 8 + 9 + 16  # midpoints, cell edges, then the new midpoints
    baseline = np.zeros_like(x)
    direct = ig._path_sum(x, baseline, target, *ig._edges(32))  # trapezoid on 32 cells
    expected = (x * direct).sum(axis=-1)[0]
    np.testing.assert_allclose(out.attribution, expected, rtol=1e-4, atol=1e-6)

    once = make_explainer("ig", model, steps=8, tolerance=0.0, max_steps=16, baseline="black").explain(x, target)[0]
    assert once.extras["steps"] == 17
    direct16 = (x * ig._path_sum(x, baseline, target, *ig._edges(16))).sum(axis=-1)[0]
    np.testing.assert_allclose(once.attribution, direct16, rtol=1e-4, atol=1e-6)


def test_ig_refines_only_when_completeness_misses_the_tolerance(models):
    model = models["histo"]
    x = images_for(HISTO, n=2, seed=5)
    loose = make_explainer("ig", model, steps=8, tolerance=10.0).explain(x, np.array([0, 1]))
    assert all(e.extras["steps"] == 8 for e in loose)


def _patches_and_score_differences(histo_weights, histo_dir):
    """400 real patches spread over the data set, IG with the shipped weights, the predicted
    classes and each patch's log-odds difference from its blurred baseline."""
    from core.data.histo import find_patches, load_patches
    from core.explain.methods.integrated_gradients import make_baseline
    from core.model.classifier import Classifier

    classifier = Classifier.load("histo", histo_weights)
    xs = load_patches(find_patches(histo_dir)[::50][:400])
    ig = make_explainer("ig", classifier.model)
    targets = classifier.predict(xs).argmax(axis=1).astype(np.int32)
    delta = ig.scores(xs, targets) - ig.scores(make_baseline(xs, ig.baseline), targets)
    return classifier, ig, xs, targets, delta


def test_ig_refines_a_patch_that_misses_the_tolerance_until_complete(histo_weights, histo_dir):
    """Real patches whose score moves by at least ``min_difference``, where the tolerance is
    relative: on the one whose 64-point error is largest, refinement must reach completeness."""
    classifier, ig, xs, targets, delta = _patches_and_score_differences(histo_weights, histo_dir)
    # the smaller the score's move, the likelier 64 points fall short
    order = [int(i) for i in np.argsort(np.abs(delta)) if abs(delta[i]) >= ig.min_difference][:40]
    plain = make_explainer("ig", classifier.model, max_steps=64).explain(xs[order], targets[order])
    worst = max(range(len(order)), key=lambda k: plain[k].extras["completeness_error"])
    assert plain[worst].extras["completeness_error"] > ig.tolerance, "64 points sufficed: no patch tests refinement"
    i = order[worst]
    out = ig.explain(xs[i : i + 1], targets[i : i + 1])[0]
    assert out.extras["steps"] > 64
    assert out.extras["completeness_error"] < ig.tolerance, out.extras


def test_ig_stops_refining_when_the_score_barely_moves(histo_weights, histo_dir):
    """Patches that score almost as their baseline does: complete within tolerance ·
    min_difference log-odds, with fewer points than a purely relative tolerance takes."""
    classifier, ig, xs, targets, delta = _patches_and_score_differences(histo_weights, histo_dir)
    order = [int(i) for i in np.argsort(np.abs(delta))[:8]]
    assert max(abs(delta[order])) < ig.min_difference
    floor = ig.explain(xs[order], targets[order])
    relative = make_explainer("ig", classifier.model, min_difference=0.0).explain(xs[order], targets[order])
    for e in floor:
        assert abs(e.extras["attribution_sum"] - e.extras["score_difference"]) <= ig.tolerance * ig.min_difference
    assert sum(e.extras["steps"] for e in floor) < sum(e.extras["steps"] for e in relative)


def test_ig_refuses_a_negative_min_difference(models):
    with pytest.raises(ValueError, match="min_difference"):
        make_explainer("ig", models["histo"], min_difference=-0.1)


def _overlap_of_two_calls(cls) -> int:
    """The most calls of one shared explainer that ran at once when two threads called it together."""
    import threading
    from types import SimpleNamespace

    running, peak, both_in = [0], [0], threading.Barrier(2, timeout=3.0)

    class Probe(cls):
        def _attribute(self, images, targets, seed):
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            try:
                both_in.wait()  # both calls inside at once, unless calls take turns
            except threading.BrokenBarrierError:
                pass
            running[0] -= 1
            return np.zeros((len(images), 4, 4), np.float32), [{} for _ in images]

    fake = SimpleNamespace(inputs=[SimpleNamespace(shape=(None, 4, 4, 1))], outputs=[SimpleNamespace(shape=(None, 2))])
    explainer = Probe(fake)
    x = np.zeros((4, 4, 1), np.float32)
    threads = [threading.Thread(target=explainer.explain, args=(x, 0)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return peak[0]


def test_calls_run_side_by_side_unless_the_method_is_serial():
    from core.explain.methods.base import Explainer

    class Free(Explainer):
        serial = False

    class Serial(Explainer):
        serial = True

    assert _overlap_of_two_calls(Free) == 2
    assert _overlap_of_two_calls(Serial) == 1
    # the shap explainers keep per-call state (or seed NumPy's global generator): they take turns
    assert METHODS["shap_partition"].serial and METHODS["shap_gradient"].serial
    assert not any(
        METHODS[m].serial for m in ("gradcam", "gradcampp", "ig", "saliency", "smoothgrad", "lime", "occlusion")
    )


@pytest.mark.parametrize("fill", ["blur", "mean"])
def test_occlusion_hides_each_square_with_its_fill(fill):
    from core.explain.methods.base import blur
    from core.explain.methods.occlusion import FILLS, Occlusion

    explainer = Occlusion(build_model(MAMMO), patch=10, stride=10, fill=fill)
    image = np.random.default_rng(0).random((50, 50, 1), dtype=np.float32)
    seen = []
    explainer.predict = lambda batch: seen.append(batch.copy()) or np.full((len(batch), 2), 0.5, np.float32)
    explainer.explain(image, 0)
    batch = seen[0]
    np.testing.assert_array_equal(batch[0], image)  # the untouched image first
    hidden = blur(image[None])[0] if fill == "blur" else np.full_like(image, image.mean())
    np.testing.assert_allclose(batch[1][:10, :10], hidden[:10, :10], rtol=1e-6)  # first square hidden
    np.testing.assert_array_equal(batch[1][10:], image[10:])  # the rest untouched
    assert explainer.params["fill"] == FILLS[fill] and len(batch) == 1 + 25


def test_occlusion_refuses_an_unknown_fill():
    from core.explain.methods.occlusion import Occlusion

    with pytest.raises(ValueError, match="fill"):
        Occlusion(build_model(MAMMO), fill="noise")


@pytest.mark.parametrize("name", ["gradcam", "gradcampp", "lime", "shap_partition", "occlusion"])
def test_methods_give_the_same_maps_on_the_numpy_runtime(histo_weights, name):
    import keras

    from core.model.numpy_runtime import NumpyNetwork

    x = images_for(HISTO, n=2, seed=5)
    settings = tiny_settings(name, HISTO)
    on_keras = make_explainer(name, keras.models.load_model(histo_weights, compile=False), **settings)
    on_numpy = make_explainer(name, NumpyNetwork.load(histo_weights), **settings)
    assert on_numpy.runs_without_tensorflow
    for a, b in zip(on_keras.explain(x, [1, 0]), on_numpy.explain(x, [1, 0]), strict=True):
        # float32 round-off of two implementations: the maps agree to 1e-4 of their range,
        # and the black-box maps (differences of probabilities) to 1e-4 in absolute terms
        scale = max(float(np.abs(a.attribution).max()), 1.0 if name in ("lime", "occlusion") else 1e-6)
        np.testing.assert_allclose(b.attribution / scale, a.attribution / scale, atol=1e-4)


@pytest.mark.parametrize("name", ["ig", "saliency", "smoothgrad", "shap_gradient"])
def test_input_gradient_methods_refuse_the_numpy_runtime(histo_weights, name):
    from core.model.numpy_runtime import NumpyNetwork

    assert not METHODS[name].runs_without_tensorflow
    with pytest.raises(ValueError, match="Keras model"):
        make_explainer(name, NumpyNetwork.load(histo_weights), **tiny_settings(name, HISTO))
