"""SHAP: expected gradients (``GradientExplainer``) and the model-agnostic Partition explainer.

``shap`` (GradientExplainer) explains the target's log-odds by expected gradients against a
small fixed background: the 16 k-means centroids of the training inputs shipped beside the
weights as ``weights/<modality>.background.npy`` (derived statistics, not data-set images),
so no data set is needed at run time. 64 path samples per image, all in one gradient batch
(shap's default is 200 in batches of 50, which also retraces the gradient graph for the
short last batch), seeded with ``rseed``.

``shap_partition`` (Partition with ``maskers.Image``) needs only ``predict``: it hides
pixel groups from a fixed hierarchical partition of the image with a 10×10 box blur and
explains the target's probability. ``max_evals=300`` in one batch of 300: at 50×50 that
resolves the partition to groups of about 4×4 pixels, finer than LIME's superpixels, at
one model call; shap's defaults (500 evaluations, small batches) cost ~9 s on two cores
for no visible gain at this resolution. Partition is deterministic.

References:
    * Lundberg & Lee, A Unified Approach to Interpreting Model Predictions, NeurIPS 2017
      (https://arxiv.org/abs/1705.07874).
    * Erion et al., Improving performance of deep learning models with axiomatic
      attribution priors and expected gradients, Nature Machine Intelligence 2021.
"""

from __future__ import annotations

import numpy as np

from core.errors import WeightsError
from core.explain.methods.base import BlackBoxExplainer, WhiteBoxExplainer, log_odds
from core.model.card import background_path


def load_background(weights_file) -> np.ndarray:
    """The SHAP background shipped beside ``weights_file`` ((K, 50, 50, C) float32).

    Raises:
        WeightsError: the file is missing or unreadable.
    """

    path = background_path(weights_file)
    try:
        return np.load(path).astype(np.float32)
    except (OSError, ValueError) as exc:
        raise WeightsError(
            f"The SHAP background '{path.name}' is missing or unreadable ({exc}); "
            "restore it from the repository or train the model again with `python -m core.train`."
        ) from None


def _log_odds_model(logits_model, target: int):
    """A single-output model (shared weights) returning the log-odds of class ``target``."""
    import keras
    import tensorflow as tf

    def score(logits):
        targets = tf.fill(tf.shape(logits)[:1], tf.constant(target, tf.int32))
        return log_odds(logits, targets)[:, None]

    output = keras.layers.Lambda(score, name=f"log_odds_{target}")(logits_model.outputs[0])
    return keras.Model(logits_model.inputs, output, name=f"log_odds_{target}")


class GradientSHAP(WhiteBoxExplainer):
    """shap.GradientExplainer (expected gradients) of the target's log-odds."""

    name = "shap_gradient"
    label = "SHAP (gradient)"
    signed = True
    random = True
    serial = True  # shap seeds NumPy's global generator in each call, and builds explainers lazily

    def __init__(self, model, background: np.ndarray | None = None, samples: int = 64, *, seed: int = 0):
        """
        Args:
            model: a Keras functional model (never modified).
            background: (K, H, W, C) reference inputs; pass the shipped
                ``<modality>.background.npy`` (see :func:`load_background`).
            samples: path samples per image, evaluated as one batch. Defaults to 64.
            seed: seeds shap's sampling of references and path positions. Defaults to 0.

        Raises:
            ValueError: no background, or one whose shape does not match the model input.
        """
        super().__init__(model, seed=seed, batch_size=samples)
        if background is None:
            raise ValueError("SHAP needs a background: pass the array from weights/<modality>.background.npy")
        background = np.asarray(background, np.float32)
        if background.ndim != 4 or background.shape[1:] != self.input_shape:
            raise ValueError(
                f"background must have shape (K, {', '.join(map(str, self.input_shape))}); got {background.shape}"
            )
        if samples < 1:
            raise ValueError(f"samples must be at least 1; got {samples}")
        self.background, self.samples = background, int(samples)
        self._explainers: dict[int, object] = {}

    @property
    def params(self) -> dict:
        return {
            "background": f"{len(self.background)} k-means centroids of training inputs",
            "samples": self.samples,
            "score": "log-odds of the target class",
        }

    def _explainer(self, target: int):
        import shap

        if target not in self._explainers:
            self._explainers[target] = shap.GradientExplainer(
                _log_odds_model(self.logits_model, target), self.background, batch_size=self.samples
            )
        return self._explainers[target]

    def _attribute(self, images, targets, seed):
        maps = []
        for image, target in zip(images, targets):
            values = self._explainer(int(target)).shap_values(image[None], nsamples=self.samples, rseed=seed)
            values = np.asarray(values, np.float32).reshape(image.shape)
            maps.append(values.sum(axis=-1))
        return np.stack(maps), [{} for _ in images]


class PartitionSHAP(BlackBoxExplainer):
    """shap's Partition explainer with an image blur masker, on class probabilities."""

    name = "shap_partition"
    label = "SHAP (partition)"
    signed = True
    serial = True  # shap's Partition keeps per-call state on its explainer object

    def __init__(self, model, max_evals: int = 300, blur: int = 10, *, seed: int = 0, batch_size: int | None = None):
        """
        Args:
            model: a Keras model returning class probabilities, or a NumpyNetwork.
            max_evals: model evaluations per image. Defaults to 300.
            blur: side of the box blur that hides a pixel group. Defaults to 10.
            batch_size: inputs per model call. Defaults to ``max_evals`` (one call per image).
            seed: unused (Partition is deterministic).

        Raises:
            ValueError: max_evals below 10 or blur below 1.
        """
        import shap

        super().__init__(model, seed=seed, batch_size=int(batch_size or max_evals))
        if max_evals < 10 or blur < 1:
            raise ValueError(f"max_evals must be ≥ 10 and blur ≥ 1; got {max_evals}, {blur}")
        self.max_evals, self.blur = int(max_evals), int(blur)
        masker = shap.maskers.Image(f"blur({self.blur},{self.blur})", self.input_shape)
        self._partition = shap.explainers.Partition(self.predict, masker)

    @property
    def params(self) -> dict:
        return {
            "max_evals": self.max_evals,
            "masker": f"blur({self.blur},{self.blur})",
            "output": "probability of the target class",
        }

    def _attribute(self, images, targets, seed):
        maps = []
        for image, target in zip(images, targets):
            result = self._partition(
                image[None], max_evals=self.max_evals, batch_size=self.batch_size, outputs=[int(target)], silent=True
            )
            maps.append(np.asarray(result.values, np.float32).reshape(image.shape).sum(axis=-1))
        return np.stack(maps), [{} for _ in images]
