"""Augmentation: stain jitter against skimage's colour deconvolution, shapes and ranges."""

from __future__ import annotations

import numpy as np
from skimage.color import rgb2hed

from core.train.augment import _LOG_EPS, HED_FROM_RGB, augment_histo, augment_mammo, dihedral, hed_jitter


def _images(n=4, c=3, seed=0):
    return np.random.default_rng(seed).uniform(0.05, 1.0, (n, 50, 50, c)).astype(np.float32)


def test_stain_matrix_matches_skimage():
    x = _images()
    ours = np.maximum((np.log(np.maximum(x, 1e-6)) / _LOG_EPS) @ HED_FROM_RGB, 0)
    np.testing.assert_allclose(ours, rgb2hed(x.reshape(-1, 50, 3)).reshape(x.shape), atol=1e-5)


def test_hed_jitter_with_zero_sigma_is_identity():
    x = _images()
    np.testing.assert_allclose(hed_jitter(x, np.random.default_rng(1), sigma=0.0), x, atol=1e-5)


def test_dihedral_keeps_pixels():
    x = _images(8)
    out = dihedral(x, np.random.default_rng(2))
    np.testing.assert_allclose(np.sort(out.reshape(8, -1), axis=1), np.sort(x.reshape(8, -1), axis=1))


def test_augmenters_are_seeded_and_in_range():
    x = _images()
    a = augment_histo(x, np.random.default_rng(3))
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, augment_histo(x, np.random.default_rng(3)))
    regions = [np.random.default_rng(i).random((80, 80, 1)).astype(np.float32) for i in range(3)]
    m = augment_mammo(regions, np.random.default_rng(4))
    assert m.shape == (3, 50, 50, 1) and m.min() >= 0 and m.max() <= 1
