"""The model input's geometry and its inverse: a map laid back on the image it explains."""

from __future__ import annotations

import numpy as np
import pytest

from core.imaging.preprocess import map_to_image, resize_to, to_model_input


def test_a_short_patch_map_is_cut_where_the_patch_was_padded():
    patch = np.random.default_rng(0).random((30, 40, 3)).astype(np.float32)
    assert to_model_input(patch, "histo").shape == (50, 50, 3)
    hm = np.zeros((50, 50), np.float32)
    hm[:30, :40] = 0.5
    back = map_to_image(hm, 30, 40, channels=3)
    assert back.shape == (30, 40) and np.all(back == 0.5)


def test_a_square_crop_map_is_stretched_to_the_crop():
    hm = np.zeros((50, 50), np.float32)
    hm[:25, :25] = 1.0  # the top-left quarter of the input
    back = map_to_image(hm, 200, 200, channels=1)
    assert back.shape == (200, 200)
    assert back[:90, :90].min() > 0.99 and back[110:, 110:].max() < 0.01


def test_a_non_square_image_loses_the_padding_to_a_centred_square():
    # a 100×200 grey image is padded to 200×200 (50 rows above and below) before the resize
    hm = np.zeros((50, 50), np.float32)
    hm[12:38] = 1.0  # the image's band in the 50×50 input
    back = map_to_image(hm, 100, 200, channels=1)
    assert back.shape == (100, 200)
    assert back[5:-5].min() > 0.9


def test_signed_maps_keep_their_sign_and_scale():
    hm = np.zeros((50, 50), np.float32)
    hm[:, :25], hm[:, 25:] = -0.4, 0.8
    back = map_to_image(hm, 100, 100, channels=1)
    assert back[:, :40].max() == pytest.approx(-0.4, abs=1e-4) and back[:, 60:].min() == pytest.approx(0.8, abs=1e-4)


def test_resize_to_any_shape():
    img = np.random.default_rng(1).random((40, 60, 3)).astype(np.float32)
    assert resize_to(img, 20, 30).shape == (20, 30, 3)
    assert resize_to(img, 40, 60) is not img and np.array_equal(resize_to(img, 40, 60), img)
