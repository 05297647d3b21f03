"""Is an input like what the model was trained on? A distance of its features to the training set's.

The features are the activations of the dense layer (``dense_relu``: the 128 values the
classifier's last layer reads). The reference is their per-feature mean and standard
deviation over the training inputs; an input's *unfamiliarity* is the root-mean-square of
its standardised features, a diagonal Mahalanobis distance scaled by the number of features.
An input is flagged as **outside what the model was trained on** when its score exceeds the
99th percentile of the training inputs' own scores, so about 1 in 100 training inputs is
flagged by design. The reference ships beside the weights as ``<weights>.familiarity.npz``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FEATURE_LAYER = "dense_relu"
PERCENTILE = 99.0


@dataclass(frozen=True)
class FeatureReference:
    mean: np.ndarray  # (D,)
    scale: np.ndarray  # (D,) standard deviations, floored
    threshold: float  # the training scores' PERCENTILE-th percentile
    percentile: float = PERCENTILE


def reference_path(weights_file: str | os.PathLike) -> Path:
    return Path(weights_file).with_suffix(".familiarity.npz")


def feature_extractor(model, batch_size: int = 256) -> Callable[[np.ndarray], np.ndarray]:
    """A function from (N, H, W, C) inputs to (N, D) :data:`FEATURE_LAYER` activations.

    Building and tracing the Keras sub-model costs many predictions, so a caller that scores
    many inputs over time (the app's classifier) builds the extractor once and keeps it.
    """
    from core.model.numpy_runtime import NumpyNetwork

    if isinstance(model, NumpyNetwork):

        def numpy_features(x: np.ndarray) -> np.ndarray:
            x = np.asarray(x, np.float32)
            starts = range(0, max(len(x), 1), batch_size)  # an empty batch still gives (0, D)
            return np.concatenate(
                [model.outputs(x[i : i + batch_size], (FEATURE_LAYER,))[FEATURE_LAYER] for i in starts]
            )

        return numpy_features
    import keras

    from core.model.forward import compiled_forward

    sub = keras.Model(model.inputs[0], model.get_layer(FEATURE_LAYER).output)
    forward = compiled_forward(sub)  # traced once: an eager call costs ~10× a prediction

    def keras_features(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        out = [forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, sub.output.shape[-1]), np.float32)

    return keras_features


def features(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """(N, D) activations of :data:`FEATURE_LAYER` for (N, H, W, C) inputs (Keras or NumPy model)."""
    return feature_extractor(model, batch_size)(x)


def scores(reference: FeatureReference, feats: np.ndarray) -> np.ndarray:
    """(N,) unfamiliarity of (N, D) features (0 = the training mean)."""
    z = (np.asarray(feats, np.float64) - reference.mean) / reference.scale
    return np.sqrt(np.mean(z**2, axis=1))


def fit_reference(feats: np.ndarray, percentile: float = PERCENTILE) -> FeatureReference:
    """The reference from the training inputs' (N, D) features."""
    feats = np.asarray(feats, np.float64)
    mean = feats.mean(axis=0)
    scale = np.maximum(feats.std(axis=0), 1e-3 * max(float(feats.std()), 1e-12))
    ref = FeatureReference(mean, scale, 0.0, percentile)
    return FeatureReference(mean, scale, float(np.percentile(scores(ref, feats), percentile)), percentile)


def save_reference(path: str | os.PathLike, reference: FeatureReference) -> None:
    np.savez(
        path, mean=reference.mean, scale=reference.scale, threshold=reference.threshold, percentile=reference.percentile
    )


def load_reference(path: str | os.PathLike) -> FeatureReference | None:
    """The shipped reference, or None when there is none (the app then shows no flag)."""
    try:
        with np.load(path) as f:
            return FeatureReference(f["mean"], f["scale"], float(f["threshold"]), float(f["percentile"]))
    except (OSError, KeyError, ValueError):
        return None
