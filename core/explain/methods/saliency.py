"""Vanilla saliency and SmoothGrad through tf-keras-vis's ``Saliency``.

tf-keras-vis does the bookkeeping (input checks, |gradient|, maximum over colour channels);
this module swaps in a compiled gradient call so the model runs inside one
``tf.function``. SmoothGrad follows tf-keras-vis's definition (noise σ = ``noise`` × the
image's value range, the mean of |gradient| over noisy copies) but draws its noise from a
seeded generator and sends all noisy copies through the model as one batch instead of one
call per sample.

References:
    * Simonyan, Vedaldi & Zisserman, Deep Inside Convolutional Networks: Visualising
      Image Classification Models and Saliency Maps, 2013 (https://arxiv.org/abs/1312.6034).
    * Smilkov et al., SmoothGrad: removing noise by adding noise, 2017
      (https://arxiv.org/abs/1706.03825).
"""

from __future__ import annotations

import numpy as np

from core.explain.methods.base import WhiteBoxExplainer, log_odds


def _log_odds_score(targets):
    """A tf-keras-vis score: the log-odds of each image's target class."""
    from tf_keras_vis.utils.scores import Score

    class LogOddsScore(Score):
        def __init__(self, targets):
            super().__init__("LogOddsScore")
            self.targets = np.asarray(targets, np.int32)

        def __call__(self, output):
            return log_odds(output, self.targets)

    return LogOddsScore(targets)


def _compiled_saliency(explainer: WhiteBoxExplainer):
    """tf-keras-vis ``Saliency`` whose gradient step is the explainer's compiled, batched call."""
    import tensorflow as tf
    from tf_keras_vis.saliency import Saliency

    class CompiledSaliency(Saliency):
        def _get_gradients(self, seed_inputs, scores, gradient_modifier, training, unconnected_gradients):
            grads = [tf.constant(explainer.gradients(np.asarray(seed_inputs[0], np.float32), scores[0].targets))]
            if gradient_modifier is not None:
                grads = [gradient_modifier(g) for g in grads]
            return grads

    return CompiledSaliency(explainer.logits_model, clone=False)


class VanillaSaliency(WhiteBoxExplainer):
    """max over channels of |∂z/∂x|: how sensitive the log-odds is to each pixel."""

    name = "saliency"
    label = "Saliency"

    def __init__(self, model, *, seed: int = 0, batch_size: int = 512):
        super().__init__(model, seed=seed, batch_size=batch_size)
        self._saliency = _compiled_saliency(self)

    @property
    def params(self) -> dict:
        return {"gradient": "absolute", "channels": "max", "score": "log-odds of the target class"}

    def _abs_gradients(self, images, targets) -> np.ndarray:
        """(N, H, W, C) |gradient| through tf-keras-vis, channels kept."""
        grads = self._saliency(_log_odds_score(targets), images, keepdims=True, normalize_map=False)
        return np.asarray(grads, np.float32)

    def _attribute(self, images, targets, seed):
        return self._abs_gradients(images, targets).max(axis=-1), [{} for _ in images]


class SmoothGrad(VanillaSaliency):
    """Saliency averaged over ``samples`` noisy copies of the image (seeded)."""

    name = "smoothgrad"
    label = "SmoothGrad"
    random = True

    def __init__(self, model, samples: int = 20, noise: float = 0.2, *, seed: int = 0, batch_size: int = 512):
        """
        Args:
            model: a Keras functional model (never modified).
            samples: noisy copies per image. Defaults to 20 (tf-keras-vis's examples).
            noise: noise σ as a fraction of the image's value range. Defaults to 0.2
                (tf-keras-vis's default; the paper finds 10–20 % best).
            seed: seeds the noise. Defaults to 0.

        Raises:
            ValueError: samples below 1 or noise negative.
        """
        super().__init__(model, seed=seed, batch_size=batch_size)
        if samples < 1 or noise < 0:
            raise ValueError(f"samples must be ≥ 1 and noise ≥ 0; got {samples}, {noise}")
        self.samples, self.noise = int(samples), float(noise)

    @property
    def params(self) -> dict:
        return {**super().params, "samples": self.samples, "noise": self.noise}

    def _attribute(self, images, targets, seed):
        n = len(images)
        axes = tuple(range(1, images.ndim))
        sigma = self.noise * (images.max(axis=axes, keepdims=True) - images.min(axis=axes, keepdims=True))
        # Noise laid out as (samples, N, H, W, C), the order tf-keras-vis uses.
        rng = np.random.RandomState(seed)
        noisy = images[None] + rng.normal(0.0, np.broadcast_to(sigma[None], (self.samples, *images.shape)))
        noisy = noisy.reshape(self.samples * n, *images.shape[1:]).astype(np.float32)
        grads = self._abs_gradients(noisy, np.tile(targets, self.samples))
        grads = grads.reshape(self.samples, n, *images.shape[1:]).mean(axis=0)
        return grads.max(axis=-1), [{} for _ in images]
