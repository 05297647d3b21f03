"""Grad-CAM and Grad-CAM++ on a chosen layer (by default the last convolution's feature
maps after its batch norm and ReLU, see :func:`default_layer`).

The feature-map model comes from tf-keras-vis (``ExtractIntermediateLayerForGradcam``,
built once on the shared-weight logits model) and the maps follow tf-keras-vis's
``Gradcam`` / ``GradcamPlusPlus`` arithmetic, including its linear up-sampling with
``scipy.ndimage.zoom``; the test suite checks that both give the same maps as
tf-keras-vis itself. The difference is speed: the forward pass and the gradient run in one
``tf.function`` over the whole batch, instead of tf-keras-vis's eager call, which rebuilds
the sub-model on every call.

Both methods need only a late layer's feature maps and the gradient of the log-odds with
respect to them, not the gradient at the input, so they also run on a
:class:`~core.model.numpy_runtime.NumpyNetwork` (a command line that never imports
TensorFlow); the weighting below is the same NumPy code for both.

References:
    * Selvaraju et al., Grad-CAM: Visual Explanations from Deep Networks via
      Gradient-based Localization, ICCV 2017 (https://arxiv.org/abs/1610.02391).
    * Chattopadhay et al., Grad-CAM++: Improved Visual Explanations for Deep
      Convolutional Networks, WACV 2018 (https://arxiv.org/abs/1710.11063).
"""

from __future__ import annotations

import numpy as np

from core.explain.methods.base import Explainer, log_odds, logits_of
from core.model.numpy_runtime import NumpyNetwork


class GradCAM(Explainer):
    """Grad-CAM: ReLU(Σ_k mean(∂z/∂A_k) · A_k) on layer ``layer``, up-sampled to the input."""

    name = "gradcam"
    label = "Grad-CAM"
    runs_without_tensorflow = True

    def __init__(self, model, layer: str | None = None, *, seed: int = 0):
        """
        Args:
            model: a Keras functional model (never modified), or a
                :class:`~core.model.numpy_runtime.NumpyNetwork`.
            layer: name of the layer whose feature maps are weighted; any layer with an
                (N, h, w, k) output works (on a NumPy network, one followed only by
                pooling and the dense head). Defaults to the rectified output of the last
                convolution block (see :func:`default_layer`).
            seed: unused (the method is deterministic); kept for a uniform signature.

        Raises:
            ValueError: ``layer`` is not in the model or has no spatial output.
        """
        super().__init__(model, seed=seed)
        if isinstance(model, NumpyNetwork):
            self.layer = layer if layer is not None else model.default_cam_layer()
            self._parts = lambda x, t: model.activations_and_gradient(x, t, self.layer)
            probe, _ = self._parts(np.zeros((1, *self.input_shape), np.float32), np.zeros(1, np.int32))
            if probe.ndim != 4:
                raise ValueError(f"layer {self.layer!r} has no spatial output")
            return
        import tensorflow as tf
        from tf_keras_vis.utils.model_modifiers import ExtractIntermediateLayerForGradcam

        self.logits_model = logits_of(model)
        names = [lyr.name for lyr in self.logits_model.layers]
        if layer is not None and layer not in names:
            raise ValueError(f"layer {layer!r} is not in the model; choose one of {names}")
        self.layer = layer if layer is not None else default_layer(self.logits_model)
        # tf-keras-vis builds the [logits, feature maps] model once; weights are shared.
        self.feature_model = ExtractIntermediateLayerForGradcam(self.layer, seek_conv_layer=False)(self.logits_model)
        spec_x = tf.TensorSpec((None, *self.input_shape), tf.float32)
        spec_t = tf.TensorSpec((None,), tf.int32)
        graph = tf.function(self._parts_graph, input_signature=[spec_x, spec_t])
        self._parts = lambda x, t: tuple(a.numpy() for a in graph(x, t))

    @property
    def params(self) -> dict:
        return {"layer": self.layer, "score": "log-odds of the target class"}

    def _weights(self, grads: np.ndarray, acts: np.ndarray) -> np.ndarray:
        # Grad-CAM: each feature map weighted by its spatially averaged gradient.
        return grads.mean(axis=(1, 2), keepdims=True)

    def _parts_graph(self, x, targets):
        """The layer's feature maps and ∂ log-odds / ∂ feature maps (a TensorFlow graph)."""
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            logits, acts = self.feature_model(x, training=False)
            score = log_odds(logits, targets)
        return acts, tape.gradient(score, acts)

    def _attribute(self, images, targets, seed):
        from scipy.ndimage import zoom

        acts, grads = self._parts(images, targets)
        cams = np.maximum((self._weights(grads, acts) * acts).sum(axis=-1), 0.0)  # (N, h, w)
        h, w = self.input_shape[:2]
        factor = (h / cams.shape[1], w / cams.shape[2])
        maps = np.stack([zoom(cam, factor, order=1) for cam in cams])  # as tf-keras-vis does
        maps = np.maximum(maps, 0.0)
        # An empty map means no feature map of this layer speaks for the class.
        return maps, [{"empty": bool(m.max() <= 0)} for m in maps]


class GradCAMPlusPlus(GradCAM):
    """Grad-CAM++: feature maps weighted by positive gradients with pixel-wise alphas.

    The weighting is tf-keras-vis's ``GradcamPlusPlus`` with one change: its ``exp(score)``
    factor only rescales the whole map (the display normalises it away) and overflows for
    confident predictions, so it is left out.
    """

    name = "gradcampp"
    label = "Grad-CAM++"

    def _weights(self, grads: np.ndarray, acts: np.ndarray) -> np.ndarray:
        second = grads**2
        third = grads**3
        global_sum = acts.sum(axis=(1, 2), keepdims=True)
        alpha_denom = second * 2.0 + third * global_sum
        alpha_denom = alpha_denom + (second == 0.0)
        alphas = second / alpha_denom
        alpha_norm = alphas.sum(axis=(1, 2), keepdims=True)
        alphas = alphas / (alpha_norm + (alpha_norm == 0.0))
        return (np.maximum(grads, 0.0) * alphas).sum(axis=(1, 2), keepdims=True)


ELEMENTWISE = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU")


def default_layer(model) -> str:
    """The last convolution layer's feature maps, taken after its batch norm and ReLU.

    Selvaraju et al. weight the rectified feature maps of the last convolution. In a
    conv → batch norm → ReLU block the raw convolution output is not that: batch norm can
    flip a channel's sign, and on the shipped histopathology model about a third of the
    Grad-CAM maps on ``conv4`` come out empty (all channels vote against the class), while
    on ``relu4`` none do and deletion scores improve. So the search starts at the last
    ``Conv`` layer, as tf-keras-vis does, and follows the element-wise layers after it.

    Raises:
        ValueError: the model has no convolution layer.
    """
    from tf_keras_vis.utils import find_layer
    from tf_keras_vis.utils.model_modifiers import Conv

    conv = find_layer(model, lambda layer: isinstance(layer, Conv))
    if conv is None:
        raise ValueError("Grad-CAM needs a convolution layer; the model has none")
    layers = model.layers
    chosen = conv
    for layer in layers[layers.index(conv) + 1 :]:
        if type(layer).__name__ not in ELEMENTWISE or layer.input is not chosen.output:
            break
        chosen = layer
    return chosen.name
