"""The CNN's shapes, layer names and structure."""

from __future__ import annotations

import numpy as np
import pytest

from core.modality import HISTO, MAMMO
from core.model.network import (
    FILTERS,
    LAST_CONV_LAYER,
    LOGITS_LAYER,
    OUTPUT_LAYER,
    build_model,
    count_flops,
    logits_model,
)


@pytest.mark.parametrize("modality", [HISTO, MAMMO])
def test_shapes_and_softmax(modality):
    model = build_model(modality)
    assert tuple(model.input_shape) == (None, 50, 50, modality.channels)
    assert tuple(model.output_shape) == (None, 2)
    out = np.asarray(model(np.random.default_rng(0).random((3, 50, 50, modality.channels), dtype=np.float32)))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_named_layers_and_no_global_pooling():
    model = build_model(HISTO)
    names = [layer.name for layer in model.layers]
    for name in (LAST_CONV_LAYER, "flatten", "dense", "dropout", LOGITS_LAYER, OUTPUT_LAYER):
        assert name in names
    kinds = {type(layer).__name__ for layer in model.layers}
    assert "Flatten" in kinds and "BatchNormalization" in kinds and "MaxPooling2D" in kinds
    assert not any("Global" in k for k in kinds)
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert convs[-1].name == LAST_CONV_LAYER and all(c.kernel_size == (3, 3) for c in convs)


def test_logits_model_shares_weights():
    model = build_model(MAMMO)
    x = np.random.default_rng(1).random((2, 50, 50, 1), dtype=np.float32)
    logits = np.asarray(logits_model(model)(x))
    probs = np.asarray(model(x))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(e / e.sum(axis=1, keepdims=True), probs, rtol=1e-4, atol=1e-6)


def test_flops_are_small_enough_for_fast_tiling():
    flops = count_flops(build_model(HISTO))
    assert 1e7 < flops < 5e7


def test_block_widths_can_be_chosen_but_not_the_number_of_blocks():
    def widths(model):
        return [layer.filters for layer in model.layers if type(layer).__name__ == "Conv2D"]

    assert widths(build_model(HISTO)) == list(FILTERS)
    wide = build_model(HISTO, filters=(16, 32, 96, 192))
    assert widths(wide) == [16, 32, 96, 192] and wide.get_layer(LAST_CONV_LAYER).filters == 192
    assert count_flops(wide) > count_flops(build_model(HISTO))
    with pytest.raises(ValueError, match="4 positive numbers"):
        build_model(HISTO, filters=(16, 32, 64))
