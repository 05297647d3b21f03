"""The paper's compact CNN, built with the Keras functional API.

Four 3×3 conv blocks (conv → batch norm → ReLU → 2×2 max-pool), Flatten (no global
pooling), Dense + ReLU + Dropout and a 2-way softmax. Layers are named so that the
explanation code can find them: :data:`LAST_CONV_LAYER` is the last convolution and
:data:`LOGITS_LAYER` the dense layer whose output goes into the softmax.

The first block has 16 filters: it runs at full 50×50 resolution, so its width sets most of
the cost (about 19 MFLOPs per input in all, against 27 with 32 filters there) while the
late blocks, at 12×12 and 6×6, carry the capacity. ``bench/region.py`` prints the tiles per
second this gives on the machine at hand.
"""

from __future__ import annotations

import keras
from keras import layers

from core.modality import Modality
from core.model.names import LAST_CONV_LAYER as LAST_CONV_LAYER  # re-exported
from core.model.names import LOGITS_LAYER, OUTPUT_LAYER

FILTERS = (16, 32, 64, 128)
DENSE_UNITS = 128
DROPOUT = 0.5


def build_model(modality: Modality, seed: int = 42, filters: tuple[int, ...] = FILTERS) -> keras.Model:
    """A freshly initialised model for ``modality``'s input shape (50, 50, C).

    ``filters``: the number of filters of each of the four conv blocks (the shipped models:
    :data:`FILTERS`). Always four blocks: the explanation code finds the last one by its name.
    """
    if len(filters) != len(FILTERS) or min(filters) < 1:
        raise ValueError(f"filters must be {len(FILTERS)} positive numbers, one per conv block; got {filters}")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=modality.input_shape, name="image")
    x = inputs
    for i, width in enumerate(filters, start=1):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(DENSE_UNITS, name="dense")(x)
    x = layers.Activation("relu", name="dense_relu")(x)
    x = layers.Dropout(DROPOUT, name="dropout")(x)
    logits = layers.Dense(2, name=LOGITS_LAYER)(x)
    outputs = layers.Activation("softmax", name=OUTPUT_LAYER)(logits)
    return keras.Model(inputs, outputs, name=f"breastxai_{modality.name}")


def logits_model(model: keras.Model) -> keras.Model:
    """A model that shares ``model``'s weights and returns the pre-softmax logits."""
    return keras.Model(model.input, model.get_layer(LOGITS_LAYER).output, name=f"{model.name}_logits")


def count_flops(model: keras.Model) -> int:
    """Multiply-adds × 2 of the conv and dense layers for one input."""
    flops = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            k_h, k_w = layer.kernel_size
            c_in = layer.input.shape[-1]
            flops += 2 * h * w * c_out * k_h * k_w * c_in
        elif isinstance(layer, layers.Dense):
            flops += 2 * layer.input.shape[-1] * layer.units
    return int(flops)
