"""The NumPy runtime against Keras on the shipped weights, and its pieces against their definitions."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from core.explain.methods.base import log_odds, logits_of
from core.explain.methods.gradcam import default_layer
from core.model.classifier import Classifier
from core.model.familiarity import FEATURE_LAYER, features
from core.model.numpy_runtime import NumpyNetwork, UnsupportedNetwork, conv2d, max_pool, max_pool_backward


def _inputs(channels: int, n: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 50, 50, channels), dtype=np.float32)


@pytest.fixture(scope="module", params=["histo", "mammo"])
def pair(request):
    """(NumPy network, Keras model, channels) for one shipped model."""
    path = request.getfixturevalue(f"{request.param}_weights")
    model = keras.models.load_model(path, compile=False)
    return NumpyNetwork.load(path), model, model.inputs[0].shape[-1]


def test_probabilities_and_features_match_keras(pair):
    net, model, channels = pair
    x = _inputs(channels)
    assert net.input_shape == tuple(model.inputs[0].shape[1:]) and net.n_classes == 2
    np.testing.assert_allclose(net.predict(x), model(x, training=False).numpy(), atol=1e-5)
    np.testing.assert_allclose(features(net, x), features(model, x), rtol=1e-4, atol=1e-4)
    assert features(net, x[:0]).shape == features(model, x[:0]).shape == (0, 128)
    assert net.predict(x[:0]).shape == (0, 2)


def test_feature_maps_and_their_log_odds_gradient_match_tensorflow(pair):
    net, model, channels = pair
    x, targets = _inputs(channels, seed=1), np.array([0, 1] * 8, np.int32)
    layer = net.default_cam_layer()
    assert layer == default_layer(logits_of(model)) == "relu4"  # the Keras path's rule
    acts, grads = net.activations_and_gradient(x, targets, layer)
    logits = logits_of(model)
    sub = keras.Model(logits.inputs, [logits.outputs[0], logits.get_layer(layer).output])
    with tf.GradientTape() as tape:
        tx = tf.constant(x)
        tape.watch(tx)
        z, a = sub(tx, training=False)
        score = log_odds(z, tf.constant(targets))
    np.testing.assert_allclose(acts, a.numpy(), atol=1e-4)
    np.testing.assert_allclose(grads, tape.gradient(score, a).numpy(), atol=1e-6)


def test_classifier_in_either_runtime_gives_the_same_answer(histo_weights):
    x = _inputs(3, n=4, seed=2)
    fast = Classifier.load("histo", histo_weights, runtime="numpy")
    slow = Classifier.load("histo", histo_weights)
    assert isinstance(fast.model, NumpyNetwork)
    np.testing.assert_allclose(fast.predict(x), slow.predict(x), atol=1e-5)
    a, b = fast.predict_image(x[0]), slow.predict_image(x[0])
    assert a.label == b.label and a.p_positive == pytest.approx(b.p_positive, abs=1e-5)
    assert fast.unfamiliarity(x[0]) == pytest.approx(slow.unfamiliarity(x[0]), rel=1e-4)
    with pytest.raises(ValueError, match="runtime"):
        Classifier.load("histo", histo_weights, runtime="onnx")


def test_conv2d_is_keras_cross_correlation_with_same_padding():
    rng = np.random.default_rng(3)
    x, kernel = rng.random((2, 7, 6, 3), dtype=np.float32), rng.random((3, 3, 3, 4), dtype=np.float32)
    # the definition: out[n, i, j, f] = Σ_{a, b, c} pad(x)[n, i + a, j + b, c] · kernel[a, b, c, f]
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    expected = np.zeros((2, 7, 6, 4), np.float32)
    for i in range(7):
        for j in range(6):
            expected[:, i, j] = np.einsum("nabc,abcf->nf", padded[:, i : i + 3, j : j + 3], kernel)
    np.testing.assert_allclose(conv2d(x, kernel, "same"), expected, rtol=1e-5)
    assert conv2d(x, kernel, "valid").shape == (2, 5, 4, 4)


def test_max_pool_gradient_goes_to_each_windows_first_maximum():
    x = np.zeros((1, 4, 4, 1), np.float32)
    x[0, 1, 0, 0] = 5.0  # top-left window: its maximum is at (1, 0)
    x[0, 0, 3, 0] = 2.0  # top-right window: (0, 3)
    # bottom windows: all zeros (a tie), the gradient goes to the first cell (2, 0) and (2, 2)
    grad = np.array([[[[1.0], [2.0]], [[3.0], [4.0]]]], np.float32)
    back = max_pool_backward(x, grad, (2, 2))
    expected = np.zeros_like(x)
    expected[0, 1, 0, 0], expected[0, 0, 3, 0], expected[0, 2, 0, 0], expected[0, 2, 2, 0] = 1, 2, 3, 4
    np.testing.assert_array_equal(back, expected)
    np.testing.assert_array_equal(max_pool(x, (2, 2))[0, :, :, 0], [[5, 2], [0, 0]])


def test_other_architectures_are_refused(tmp_path):
    inputs = keras.Input((50, 50, 3), name="image")
    x = keras.layers.Conv2D(4, 3, name="conv1")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(2, name="logits")(x)
    path = tmp_path / "gap.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(UnsupportedNetwork, match="GlobalAveragePooling2D"):
        NumpyNetwork.load(path)
    inputs = keras.Input((50, 50, 1), name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    x = keras.layers.Dense(2, name="logits")(x)
    outputs = keras.layers.Activation("relu", name="not_softmax")(x)  # predict() would not be the softmax
    keras.Model(inputs, outputs).save(tmp_path / "relu_out.keras")
    with pytest.raises(UnsupportedNetwork, match="followed by a softmax"):
        NumpyNetwork.load(tmp_path / "relu_out.keras")
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    with pytest.raises(UnsupportedNetwork, match="not a readable"):
        NumpyNetwork.load(tmp_path / "junk.keras")


def test_unknown_layer_names_are_refused(histo_weights):
    net = NumpyNetwork.load(histo_weights)
    with pytest.raises(ValueError, match="no layer"):
        net.outputs(_inputs(3, n=1), ("nope",))
    with pytest.raises(ValueError, match="not in the model"):
        net.activations_and_gradient(_inputs(3, n=1), np.zeros(1, int), "nope")
    assert FEATURE_LAYER in net.outputs(_inputs(3, n=1), (FEATURE_LAYER,))


def test_a_network_that_is_not_one_chain_is_refused(tmp_path):
    inputs = keras.Input((50, 50, 1), name="image")
    a = keras.layers.Conv2D(4, 3, padding="same", name="conv1")(inputs)
    b = keras.layers.Conv2D(4, 3, padding="same", name="conv2")(inputs)  # a branch from the input, not conv1
    x = keras.layers.Flatten(name="flatten")(keras.layers.Activation("relu", name="relu")(b))
    outputs = keras.layers.Dense(2, name="logits")(x)
    path = tmp_path / "branch.keras"
    keras.Model(inputs, [outputs, a]).save(path)
    with pytest.raises(UnsupportedNetwork, match="not a chain"):
        NumpyNetwork.load(path)
