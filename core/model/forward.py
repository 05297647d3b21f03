"""One batched forward call for a model of either runtime: Keras or NumPy.

Callers hand a batch of (N, H, W, C) float32 inputs and get NumPy class probabilities
back, whichever runtime holds the weights (:mod:`core.model.numpy_runtime`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.model.numpy_runtime import NumpyNetwork


def input_shape_of(model) -> tuple[int, ...]:
    """(H, W, C) of one input, for a Keras model or a :class:`~core.model.numpy_runtime.NumpyNetwork`."""
    if isinstance(model, NumpyNetwork):
        return model.input_shape
    return tuple(int(d) for d in model.inputs[0].shape[1:])


def n_classes_of(model) -> int:
    if isinstance(model, NumpyNetwork):
        return model.n_classes
    return int(model.outputs[0].shape[-1])


def compiled_forward(model) -> Callable[[np.ndarray], np.ndarray]:
    """A batch of inputs → class probabilities (NumPy in, NumPy out).

    For a Keras model the call runs inside one ``tf.function`` with a fixed signature, so it
    traces once; a :class:`~core.model.numpy_runtime.NumpyNetwork` is called as it is.
    """
    if isinstance(model, NumpyNetwork):
        return model.predict
    import tensorflow as tf

    spec = tf.TensorSpec((None, *input_shape_of(model)), tf.float32)
    forward = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    return lambda x: forward(x).numpy()
