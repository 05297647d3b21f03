"""Tissue scale: resampling to the model's µm per pixel, the fine-detail measure and the scale check."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.imaging.preprocess import resize_to
from core.imaging.scale import (
    MODEL_UM_PER_PX,
    WARN_LARGER,
    ScaleReference,
    check_scale,
    estimate_zoom,
    fine_detail,
    resample_to_model,
    resampled_shape,
)
from core.model.card import WEIGHTS_DIR
from core.region.mosaic import build_mosaic


def test_resampling_follows_the_stated_scale():
    img = np.random.default_rng(0).random((300, 200, 3)).astype(np.float32)
    assert resample_to_model(img, MODEL_UM_PER_PX) is img  # already at the model's scale
    assert resample_to_model(img, 0.5).shape == (38, 25, 3)  # a 20× scan shrinks 8×
    assert resample_to_model(img, 8.0).shape == (600, 400, 3)
    assert resampled_shape(2000, 3000, 0.25) == (125, 188)
    with pytest.raises(ValueError):
        resampled_shape(10, 10, 0.0)


def test_fine_detail_needs_tissue_and_reads_8_bit_pictures():
    assert np.isnan(fine_detail(np.ones((100, 100, 3), np.float32)))  # blank slide
    assert np.isnan(fine_detail(np.zeros((8, 8, 3), np.float32)))  # too small
    rng = np.random.default_rng(1)
    img = (rng.random((120, 120, 3)) * 0.6).astype(np.float32)
    assert fine_detail((img * 255).astype(np.uint8)) == pytest.approx(fine_detail(img), rel=0.02)


def test_enlarging_a_texture_lowers_its_fine_detail_monotonically():
    rng = np.random.default_rng(2)
    img = (0.2 + 0.5 * rng.random((200, 200, 3))).astype(np.float32)
    details = [fine_detail(resize_to(img, int(200 * z), int(200 * z))) for z in (1.0, 1.5, 2.0, 3.0)]
    assert all(a > b for a, b in zip(details, details[1:]))


def test_estimate_zoom_inverts_the_reference_curve():
    ref = ScaleReference(4.0, (1.0, 2.0, 4.0), (1.0, 0.4, 0.2))
    rng = np.random.default_rng(3)
    img = (0.2 + 0.5 * rng.random((64, 64, 3))).astype(np.float32)
    d = fine_detail(img)
    exact = ScaleReference(4.0, (1.0, 2.0, 4.0), (d * 2, d, d / 2))  # d sits at zoom 2
    assert estimate_zoom(img, exact) == pytest.approx(2.0, rel=1e-6)
    assert np.isnan(estimate_zoom(np.ones((64, 64, 3), np.float32), ref))  # no tissue, no estimate


@pytest.fixture(scope="module")
def reference() -> ScaleReference:
    card = json.loads((WEIGHTS_DIR / "histo.json").read_text())
    ref = ScaleReference.from_card(card)
    assert ref is not None, "the histopathology card has no tissue_scale: run python -m core.train.scale"
    assert ref.um_per_px == MODEL_UM_PER_PX and list(ref.detail) == sorted(ref.detail, reverse=True)
    return ref


def test_a_real_slide_passes_and_its_enlarged_copy_is_flagged(histo_dir, reference):
    # a complete slide rebuilt from its own patches is at the model's scale by construction
    held_out = json.loads((WEIGHTS_DIR / "histo.json").read_text())["split"]["held_out"]  # complete slides
    slide = build_mosaic(str(histo_dir / held_out[0])).image.astype(np.float32) / 255.0
    part = slide[: min(800, slide.shape[0]), : min(800, slide.shape[1])]
    native = check_scale(part, MODEL_UM_PER_PX, reference)
    assert not native.suspicious, native.sentence()
    h, w = part.shape[:2]
    enlarged = check_scale(resize_to(part, 2 * h, 2 * w), MODEL_UM_PER_PX, reference)
    assert enlarged.suspicious and enlarged.zoom >= WARN_LARGER
    assert enlarged.suggested_um_per_px == pytest.approx(MODEL_UM_PER_PX / enlarged.zoom)
    assert "larger" in enlarged.sentence()
    # stating its true scale (2 µm per pixel) resamples it back, and the check passes again
    back = resample_to_model(resize_to(part, 2 * h, 2 * w), MODEL_UM_PER_PX / 2)
    assert back.shape == part.shape
    assert not check_scale(back, MODEL_UM_PER_PX / 2, reference).suspicious
