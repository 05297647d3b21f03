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


def test_film_lesion_augmentation_keeps_shape_range_and_is_seeded():
    from core.train.augment import augment_film_lesions, jitter_square

    rng = np.random.default_rng(0)
    contexts = [rng.random((150, 150, 1)).astype(np.float32) for _ in range(4)]
    a = augment_film_lesions(contexts, 1.5, np.random.default_rng(7))
    b = augment_film_lesions(contexts, 1.5, np.random.default_rng(7))
    assert a.shape == (4, 50, 50, 1) and a.dtype == np.float32
    assert a.min() >= 0.0 and a.max() <= 1.0 and np.array_equal(a, b)
    sides = {jitter_square(contexts[0], 1.5, np.random.default_rng(s)).shape[0] for s in range(50)}
    assert min(sides) >= round(100 * 0.8) - 1 and max(sides) <= round(100 * 1.25) + 1  # 0.8–1.25 × the square
