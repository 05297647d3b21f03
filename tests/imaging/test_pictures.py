"""The matrix picture: each cell coloured by its value on the named scale, NaN left white."""

import numpy as np
import pytest

from core.imaging.pictures import colormap_lut, matrix_picture


def _cell_colour(picture: np.ndarray, n: int, cell: int, i: int, j: int) -> np.ndarray:
    top = picture.shape[0] - n * cell - 2  # the labels take the space above and to the left
    left = picture.shape[1] - n * cell - 2
    return picture[top + i * cell + 3, left + j * cell + 3]  # a corner of the cell, clear of its text


def test_cells_take_the_scale_colour_of_their_value():
    m = np.array([[1.0, -1.0, np.nan], [-1.0, 1.0, 0.0], [np.nan, 0.0, 1.0]])
    pic = matrix_picture(m, ["Grad-CAM", "Integrated Gradients", "LIME"], -1.0, 1.0, "RdBu", cell=40)
    assert pic.dtype == np.uint8 and pic.ndim == 3 and pic.shape[2] == 3
    lut = (colormap_lut("RdBu", 256) * 255).round().astype(np.uint8)
    assert np.array_equal(_cell_colour(pic, 3, 40, 0, 0), lut[255])
    assert np.array_equal(_cell_colour(pic, 3, 40, 0, 1), lut[0])
    assert np.array_equal(_cell_colour(pic, 3, 40, 1, 2), lut[128])  # 0 sits in the middle of −1…1
    assert np.array_equal(_cell_colour(pic, 3, 40, 0, 2), [255, 255, 255])  # no value: white
    assert not np.array_equal(lut[0], lut[255])


def test_values_beyond_the_range_take_its_ends_and_a_wrong_shape_is_refused():
    pic = matrix_picture(np.array([[2.0, -0.5], [-0.5, 2.0]]), ["a", "b"], 0.0, 1.0, "Blues", cell=30)
    lut = (colormap_lut("Blues", 256) * 255).round().astype(np.uint8)
    assert np.array_equal(_cell_colour(pic, 2, 30, 0, 0), lut[255])
    assert np.array_equal(_cell_colour(pic, 2, 30, 0, 1), lut[0])
    with pytest.raises(ValueError):
        matrix_picture(np.eye(3), ["a", "b"])
