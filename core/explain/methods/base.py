"""The one interface every explanation method implements, and the shared pieces.

An :class:`Explainer` takes its settings in ``__init__(model, **settings)`` and the data
in ``explain(images, targets)``, so switching method is switching class. Each call returns
one :class:`Explanation` per image: the raw attribution at input resolution (50×50), a
display heatmap normalised by one rule for every method (:func:`normalise_heatmap`), the
explained class, the settings and seed used, and the seconds taken.

Two families, as in xplique:

* :class:`WhiteBoxExplainer` — gradient methods. They explain the target's *log-odds*
  ``z_t = logit_t − logsumexp(other logits)`` (for two classes ``logit_t − logit_other``),
  read from the pre-softmax ``logits`` layer through :func:`core.model.network.logits_model`, which
  shares the weights and never modifies the caller's model (the app caches one model for
  every user). With a two-way softmax only the difference of the logits changes the
  prediction, so explaining one raw logit would credit pixels that move both logits alike.
* :class:`BlackBoxExplainer` — LIME, SHAP Partition and occlusion. They see only a batched
  ``predict(x) -> class probabilities`` that calls the model inside one ``tf.function``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from core.model.forward import compiled_forward, input_shape_of, n_classes_of
from core.model.numpy_runtime import NumpyNetwork

# Display rule, one for every method: take |attribution| (signed maps keep their sign in
# ``Explanation.attribution``), divide by its 99th percentile so one hot pixel cannot wash
# out the rest of the map, and clip to [0, 1]. A map that is zero everywhere stays zero.
HEATMAP_PERCENTILE = 99.0
# Inputs per model call, for every method that sends many (see ``Explainer.batch_size``).
DEFAULT_BATCH_SIZE = 128


def normalise_heatmap(attribution: np.ndarray, percentile: float = HEATMAP_PERCENTILE) -> np.ndarray:
    """(H, W) attribution → (H, W) float32 display heatmap in [0, 1] (see module notes)."""
    magnitude = np.abs(np.nan_to_num(np.asarray(attribution, np.float64)))
    scale = np.percentile(magnitude, percentile)
    if scale <= 0:
        scale = magnitude.max()
    if scale <= 0:
        return np.zeros(magnitude.shape, np.float32)
    return np.clip(magnitude / scale, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class Explanation:
    """One method's explanation of one image."""

    method: str
    attribution: np.ndarray  # (H, W) float32 raw map; signed when ``signed``
    heatmap: np.ndarray  # (H, W) float32 in [0, 1], normalised alike for every method
    target: int  # the explained class index
    params: dict  # the method's settings, JSON-serialisable
    seed: int | None  # the seed used by a random method, else None
    seconds: float  # wall time for this image (a batch's time divided by its size)
    signed: bool  # True when positive and negative values mean for and against
    extras: dict = field(default_factory=dict)  # e.g. {"completeness_error": 0.004} for IG


class Explainer:
    """Base class: settings in ``__init__``, data in :meth:`explain`.

    Subclasses set ``name``, ``label``, ``signed`` and ``random`` and implement
    :meth:`_attribute`, which returns ``(N, H, W)`` maps and one extras dict per image.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    signed: ClassVar[bool] = False
    random: ClassVar[bool] = False  # whether the method draws random numbers (then seeded)
    # Whether calls must take turns: True where the library keeps per-call state on its
    # explainer object or seeds NumPy's global generator (shap), so two users' calls at once
    # would mix. Every other method is safe to call from several threads at once.
    serial: ClassVar[bool] = False
    # Whether the method also runs on a NumpyNetwork (no TensorFlow): those that need only
    # the model's outputs, or a late layer's gradient; not those that need the input's.
    runs_without_tensorflow: ClassVar[bool] = False

    def __init__(self, model, *, seed: int = 0, batch_size: int = DEFAULT_BATCH_SIZE):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1; got {batch_size}")
        self.model = model
        self.seed = int(seed)
        # One meaning for every method: how many inputs (images, noisy copies, path points
        # or perturbed images) go through the model in one call.
        self.batch_size = int(batch_size)
        self.input_shape = input_shape_of(model)
        # One explainer may be shared by every user of the app (see ``serial`` and ``turn``).
        self._lock = threading.RLock()

    @property
    def params(self) -> dict:
        """The method's settings as reported in every :class:`Explanation`."""
        return {}

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for this explainer's turn when its calls must take turns (``serial``), else go ahead.

        A caller that also queues for the CPU takes its turn here first, so that it never
        holds a CPU slot while it waits for another user's call to the same explainer.
        """
        if self.serial:
            with self._lock:
                yield
        else:
            yield

    def _attribute(self, images: np.ndarray, targets: np.ndarray, seed: int) -> tuple[np.ndarray, list[dict]]:
        raise NotImplementedError

    def explain(self, images: np.ndarray, targets, seed: int | None = None) -> list[Explanation]:
        """Explain ``targets[i]`` for ``images[i]``.

        Args:
            images: (N, H, W, C) float32 model inputs (a single (H, W, C) image is accepted).
            targets: N class indices (an int is used for every image).
            seed: overrides the seed given to ``__init__`` for this call. Defaults to None.

        Returns:
            One :class:`Explanation` per image, in order.

        Raises:
            ValueError: the images do not match the model's input shape, or the targets
                are not one valid class index per image.
        """
        images = self._check_images(images)
        targets = self._check_targets(targets, len(images))
        seed = self.seed if seed is None else int(seed)
        with self.turn():
            start = time.perf_counter()
            maps, extras = self._attribute(images, targets, seed)
            seconds = (time.perf_counter() - start) / max(len(images), 1)
        maps = np.nan_to_num(np.asarray(maps, np.float32))
        params = self.params
        return [
            Explanation(
                method=self.name,
                attribution=maps[i],
                heatmap=normalise_heatmap(maps[i]),
                target=int(targets[i]),
                params=dict(params),
                seed=seed if self.random else None,
                seconds=seconds,
                signed=self.signed,
                extras=extras[i],
            )
            for i in range(len(images))
        ]

    __call__ = explain

    def _check_images(self, images) -> np.ndarray:
        images = np.asarray(images, np.float32)
        if images.ndim == len(self.input_shape):
            images = images[None]
        if images.shape[1:] != self.input_shape:
            raise ValueError(f"images must have shape (N, {', '.join(map(str, self.input_shape))}); got {images.shape}")
        return images

    def _check_targets(self, targets, n: int) -> np.ndarray:
        targets = np.asarray(targets)
        if targets.ndim == 0:
            targets = np.full(n, int(targets))
        n_classes = n_classes_of(self.model)
        if targets.shape != (n,) or not np.issubdtype(targets.dtype, np.integer):
            raise ValueError(f"targets must be {n} class indices; got {targets!r}")
        if targets.min() < 0 or targets.max() >= n_classes:
            raise ValueError(f"targets must lie in [0, {n_classes - 1}]; got {targets.tolist()}")
        return targets.astype(np.int32)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({settings})"


def logits_of(model):
    """A model with the same weights that returns pre-softmax logits.

    Uses the ``logits`` layer when present (:func:`core.model.network.logits_model`); otherwise
    the model's output is taken as probabilities and wrapped in a log, which gives the
    same log-odds.
    """
    import keras

    # Imported here so that the method registry stays light: Keras loads only when an
    # explainer is built, and a CLI can check its arguments and read its image first.
    from core.model.network import LOGITS_LAYER, logits_model

    if any(layer.name == LOGITS_LAYER for layer in model.layers):
        return logits_model(model)
    log = keras.layers.Lambda(lambda p: keras.ops.log(keras.ops.maximum(p, 1e-12)), name="log_probabilities")
    return keras.Model(model.inputs, log(model.outputs[0]), name=f"{model.name}_log")


def log_odds(logits, targets):
    """(N, K) logits and (N,) targets → (N,) log-odds of each target class (a tf op)."""
    import tensorflow as tf

    n_classes = logits.shape[-1]
    own = tf.gather(logits, targets, axis=1, batch_dims=1)
    others = tf.where(tf.one_hot(targets, n_classes) > 0, tf.constant(-np.inf, logits.dtype), logits)
    return own - tf.reduce_logsumexp(others, axis=1)


class WhiteBoxExplainer(Explainer):
    """Gradient methods: a logits sub-model and one compiled gradient of the log-odds.

    :meth:`gradients` (∂ log-odds / ∂ input) and :meth:`scores` (the log-odds) are the two
    compiled calls every gradient method shares; each is traced once per explainer.
    """

    def __init__(self, model, *, seed: int = 0, batch_size: int = DEFAULT_BATCH_SIZE):
        if isinstance(model, NumpyNetwork):
            raise ValueError(f"{self.label or type(self).__name__} needs the Keras model (input gradients)")
        import tensorflow as tf

        super().__init__(model, seed=seed, batch_size=batch_size)
        self.logits_model = logits_of(model)
        spec_x = tf.TensorSpec((None, *self.input_shape), tf.float32)
        spec_t = tf.TensorSpec((None,), tf.int32)
        self._gradient_fn = tf.function(self._gradient_graph, input_signature=[spec_x, spec_t])
        self._score_fn = tf.function(
            lambda x, t: log_odds(self.logits_model(x, training=False), t), input_signature=[spec_x, spec_t]
        )

    def _gradient_graph(self, x, targets):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            score = log_odds(self.logits_model(x, training=False), targets)
        return tape.gradient(score, x)

    def gradients(self, x: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(N, H, W, C) ∂ log-odds of ``targets[i]`` / ∂ ``x[i]``, in batches of ``batch_size``."""
        x = np.asarray(x, np.float32)
        t = np.asarray(targets, np.int32)
        out = [
            self._gradient_fn(x[i : i + self.batch_size], t[i : i + self.batch_size]).numpy()
            for i in range(0, len(x), self.batch_size)
        ]
        return np.concatenate(out) if out else np.zeros_like(x)

    def scores(self, x: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(N,) log-odds of ``targets[i]`` for ``x[i]``."""
        x = np.asarray(x, np.float32)
        t = np.asarray(targets, np.int32)
        out = [
            self._score_fn(x[i : i + self.batch_size], t[i : i + self.batch_size]).numpy()
            for i in range(0, len(x), self.batch_size)
        ]
        return np.concatenate(out) if out else np.zeros(0, np.float32)


class BlackBoxExplainer(Explainer):
    """Model-agnostic methods: only a batched, compiled ``predict`` of probabilities.

    They run on a Keras model or on a :class:`~core.model.numpy_runtime.NumpyNetwork` alike.
    """

    runs_without_tensorflow = True

    def __init__(self, model, *, seed: int = 0, batch_size: int = 512):
        super().__init__(model, seed=seed, batch_size=batch_size)
        self._forward = compiled_forward(model)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N, H, W, C) → (N, K) class probabilities, in batches of ``batch_size``."""
        x = np.asarray(x, np.float32)
        out = [self._forward(x[i : i + self.batch_size]) for i in range(0, len(x), self.batch_size)]
        return np.concatenate(out) if out else np.zeros((0, n_classes_of(self.model)), np.float32)


# σ in pixels of the Gaussian blur that "removes" image content, shared by the IG baseline
# and the deletion/insertion scores: it wipes out nuclei, texture and edges at 50×50 but
# keeps the colour layout.
BLUR_SIGMA = 5.0


def blur(images: np.ndarray, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """Gaussian blur of (N, H, W, C) images over H and W only."""
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(np.asarray(images, np.float32), sigma=(0, sigma, sigma, 0), mode="reflect")
