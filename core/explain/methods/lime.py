"""LIME on superpixels chosen for 50×50 inputs.

Segmentation: SLIC with ``n_segments=64, compactness=40`` (50–64 superpixels of roughly
6×6 pixels, the size of a few nuclei in a 50×50 H&E patch or of a micro-
calcification cluster in a mammogram crop). LIME's default quickshift (kernel 4,
max_dist 200) is tuned for 224-pixel photographs and returns 1–4 segments on a 50×50
input, which leaves nothing to attribute; SLIC also gives a predictable number of
features, so ``samples`` per feature stays roughly constant (500 samples ≈ 8–10 per
superpixel). Compactness 40 keeps superpixels near-regular while still bending to strong
edges; at 20, noisy, highly textured patches collapse to 10–20 superpixels. Grey mammogram inputs are repeated to RGB for SLIC's Lab conversion and
turned back to one channel before they reach the model.

A hidden superpixel takes its own mean colour (LIME's default ``hide_color=None``), which
removes texture without painting out-of-distribution black squares. LIME's own sampler is
seeded with ``seed``. The classifier function calls the model inside one ``tf.function``
on batches of ``batch_size`` (LIME's default of 10 per call is the slow part otherwise).

Reference:
    Ribeiro, Singh & Guestrin, "Why Should I Trust You?": Explaining the Predictions
    of Any Classifier, KDD 2016 (https://arxiv.org/abs/1602.04938).
"""

from __future__ import annotations

import numpy as np

from core.explain.methods.base import BlackBoxExplainer

N_SEGMENTS = 64
COMPACTNESS = 40.0


def segment(image: np.ndarray, n_segments: int = N_SEGMENTS, compactness: float = COMPACTNESS) -> np.ndarray:
    """(H, W, 3) image → (H, W) int superpixel labels from 0 (SLIC, deterministic)."""
    from skimage.segmentation import slic

    labels = slic(image.astype(np.float64), n_segments=n_segments, compactness=compactness, start_label=0)
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape)  # 0..K-1, no gaps


def _lime_explainer(seed: int):
    """LIME's image explainer with a vectorised, silent ``data_labels``.

    Same random draws and the same perturbed images as LIME's own loop (which masks one
    superpixel at a time in Python and prints a progress bar); the masks are built with
    one indexing operation.
    """
    from lime import lime_image

    class VectorisedLimeImageExplainer(lime_image.LimeImageExplainer):
        def data_labels(self, image, fudged_image, segments, classifier_fn, num_samples, batch_size=10):
            n_features = np.unique(segments).shape[0]
            data = self.random_state.randint(0, 2, num_samples * n_features).reshape((num_samples, n_features))
            data[0, :] = 1
            labels = []
            for start in range(0, num_samples, batch_size):
                keep = data[start : start + batch_size][:, segments].astype(bool)[..., None]  # (B, H, W, 1)
                labels.append(classifier_fn(np.where(keep, image[None], fudged_image[None])))
            return data, np.concatenate(labels)

    return VectorisedLimeImageExplainer(random_state=seed)


class LIME(BlackBoxExplainer):
    """Weights of a local linear model over superpixels, painted back onto the pixels."""

    name = "lime"
    label = "LIME"
    signed = True
    random = True

    def __init__(
        self,
        model,
        samples: int = 500,
        n_segments: int = N_SEGMENTS,
        compactness: float = COMPACTNESS,
        *,
        seed: int = 0,
        batch_size: int = 500,
    ):
        """
        Args:
            model: a Keras model returning class probabilities, or a NumpyNetwork.
            samples: perturbed images per explanation. Defaults to 500.
            n_segments: SLIC's target number of superpixels. Defaults to 64.
            compactness: SLIC's colour/space trade-off. Defaults to 40.
            batch_size: perturbed images per model call. Defaults to 500.
            seed: seeds LIME's sampler. Defaults to 0.

        Raises:
            ValueError: samples or n_segments below 2.
        """
        super().__init__(model, seed=seed, batch_size=batch_size)
        if samples < 2 or n_segments < 2:
            raise ValueError(f"samples and n_segments must be at least 2; got {samples}, {n_segments}")
        self.samples, self.n_segments, self.compactness = int(samples), int(n_segments), float(compactness)

    @property
    def params(self) -> dict:
        return {
            "samples": self.samples,
            "segmentation": "slic",
            "n_segments": self.n_segments,
            "compactness": self.compactness,
            "hide_color": "superpixel mean",
            "output": "probability of the target class",
        }

    def _attribute(self, images, targets, seed):
        grey = images.shape[-1] == 1

        def classifier_fn(batch: np.ndarray) -> np.ndarray:
            batch = np.asarray(batch, np.float32)
            return self.predict(batch[..., :1] if grey else batch)

        maps, extras = [], []
        for image, target in zip(images, targets):
            rgb = np.repeat(image, 3, axis=-1) if grey else image
            explainer = _lime_explainer(seed)
            explanation = explainer.explain_instance(
                rgb.astype(np.float64),
                classifier_fn,
                labels=(int(target),),
                top_labels=None,
                num_features=10_000,
                num_samples=self.samples,
                batch_size=self.batch_size,
                segmentation_fn=lambda img: segment(img, self.n_segments, self.compactness),
                random_seed=seed,
            )
            weights = np.zeros(explanation.segments.max() + 1, np.float32)
            for feature, weight in explanation.local_exp[int(target)]:
                weights[feature] = weight
            maps.append(weights[explanation.segments])
            extras.append({"superpixels": int(len(weights)), "local_r2": float(explanation.score)})
        return np.stack(maps), extras
