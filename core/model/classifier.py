"""Loading a trained model and scoring model inputs in batches.

The model is called directly inside one ``tf.function`` with a fixed input signature,
so it traces once and never goes through ``model.predict``'s per-call overhead. A one-shot
command may load it with ``runtime="numpy"`` instead (:mod:`core.model.numpy_runtime`):
the same answers without importing TensorFlow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import WeightsError
from core.modality import Modality, get_modality
from core.model.card import verify_weights, weights_path
from core.model.familiarity import feature_extractor, load_reference, reference_path, scores
from core.model.forward import compiled_forward


@dataclass(frozen=True)
class Prediction:
    modality: str
    label: str  # the predicted class name
    probability: float  # of the predicted class
    p_positive: float  # of IDC (histo) or malignant (mammo)
    class_index: int


def dihedral_views(x: np.ndarray) -> list[np.ndarray]:
    """The 8 flips/90° rotations of an (N, H, W, C) batch."""
    views = []
    for base in (x, x.transpose(0, 2, 1, 3)):
        for flip_h in (False, True):
            for flip_v in (False, True):
                v = base[:, :, ::-1] if flip_h else base
                views.append(np.ascontiguousarray(v[:, ::-1] if flip_v else v))
    return views


class Classifier:
    """A loaded model for one modality with a fast batched ``predict``."""

    def __init__(
        self,
        model,
        modality: Modality | str,
        card: dict | None = None,
        batch_size: int = 128,
        weights_file: str | os.PathLike | None = None,
    ):
        self.model = model
        self.modality = get_modality(modality) if isinstance(modality, str) else modality
        self.card = card or {}
        self.batch_size = batch_size
        self.weights_file = Path(weights_file) if weights_file else None
        self._familiarity = load_reference(reference_path(self.weights_file)) if self.weights_file else None
        self._forward = compiled_forward(model)
        self._features = None  # the familiarity feature extractor, built on first use

    @classmethod
    def load(
        cls,
        modality: str,
        weights_file: str | os.PathLike | None = None,
        verify: bool = True,
        runtime: str = "keras",
    ) -> Classifier:
        """Load ``weights/<modality>.keras``, checking its SHA-256 against the card.

        ``runtime="numpy"`` reads it into a :class:`~core.model.numpy_runtime.NumpyNetwork`
        (raising :class:`~core.model.numpy_runtime.UnsupportedNetwork` for an architecture it
        does not implement); the default loads it with Keras.
        """
        path = Path(weights_file) if weights_file else weights_path(modality)
        card = verify_weights(path) if verify else {}  # before the slow Keras import
        if runtime == "numpy":
            from core.model.numpy_runtime import NumpyNetwork

            return cls(NumpyNetwork.load(path), modality, card, weights_file=path)
        if runtime != "keras":
            raise ValueError(f"runtime must be 'keras' or 'numpy'; got {runtime!r}")
        import keras

        try:
            model = keras.models.load_model(path, compile=False)
        except Exception as exc:
            raise WeightsError(f"The weights file '{path.name}' cannot be loaded: {exc}") from None
        return cls(model, modality, card, weights_file=path)

    @property
    def weights_sha256(self) -> str:
        return self.card.get("weights", {}).get("sha256", "")

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N, 50, 50, C) inputs → (N, 2) class probabilities."""
        x = np.asarray(x, np.float32)
        if x.ndim == 3:
            x = x[None]
        out = [self._forward(x[i : i + self.batch_size]) for i in range(0, len(x), self.batch_size)]
        return np.concatenate(out) if out else np.zeros((0, 2), np.float32)

    def predict_positive(self, x: np.ndarray, tta: bool = False) -> np.ndarray:
        """(N, 50, 50, C) inputs → (N,) probability of the positive class.

        With ``tta`` the probability is averaged over the 8 flips/90° rotations of each input
        (test-time augmentation; 8× the cost).
        """
        if not tta:
            return self.predict(x)[:, 1]
        return np.mean([self.predict(v)[:, 1] for v in dihedral_views(x)], axis=0)

    def unfamiliarity(self, model_input: np.ndarray) -> tuple[float, float] | None:
        """(score, threshold) of :mod:`core.model.familiarity` for one input, or None without a reference."""
        if self._familiarity is None:
            return None
        if self._features is None:
            self._features = feature_extractor(self.model)
        x = model_input[None] if model_input.ndim == 3 else model_input
        return float(scores(self._familiarity, self._features(x))[0]), self._familiarity.threshold

    def predict_image(self, model_input: np.ndarray) -> Prediction:
        p = self.predict(model_input[None] if model_input.ndim == 3 else model_input)[0]
        idx = int(np.argmax(p))
        return Prediction(
            modality=self.modality.name,
            label=self.modality.class_names[idx],
            probability=float(p[idx]),
            p_positive=float(p[1]),
            class_index=idx,
        )
