"""Localisation scores against hand-built maps with known answers, and boxes mapped into crops."""

from __future__ import annotations

import numpy as np
import pytest

from core.explain.metrics.localisation import box_mask, localisation
from core.imaging.lesion import box_in_input, crop_inside, square_for_box

BOX = (10.0, 20.0, 30.0, 40.0)  # x0, y0, x1, y1 in a 50×50 input


def test_all_mass_inside_the_box_scores_one_and_hits():
    m = np.zeros((50, 50), np.float32)
    m[25:35, 15:25] = 1.0
    loc = localisation(m, BOX)
    assert loc.relevance_mass == pytest.approx(1.0) and loc.pointing_hit
    assert loc.box_share == pytest.approx(box_mask((50, 50), BOX).mean()) == pytest.approx(400 / 2500)


def test_a_map_peaking_outside_misses_and_negative_evidence_is_ignored():
    m = np.zeros((50, 50), np.float32)
    m[25:35, 15:25] = 0.5
    m[2, 45] = 1.0  # the peak lies outside the box
    m[30, 20] = -5.0  # evidence against the class does not count
    loc = localisation(m, BOX)
    assert not loc.pointing_hit
    assert loc.relevance_mass == pytest.approx((0.5 * 99) / (0.5 * 99 + 1.0))


def test_a_uniform_map_scores_the_box_share_and_an_empty_map_scores_zero():
    assert localisation(np.ones((50, 50)), BOX).relevance_mass == pytest.approx(400 / 2500)
    empty = localisation(np.zeros((50, 50)), BOX)
    assert empty.relevance_mass == 0.0 and not empty.pointing_hit


def test_film_box_lands_where_the_crop_shows_it():
    film = np.zeros((800, 800, 1), np.float32)
    box = (700.0, 720.0, 60.0, 40.0)  # near the corner: the square is shifted inside the film
    film[720:760, 700:760] = 1.0
    square = square_for_box(*box, 800, 800)
    crop = crop_inside(film, square)
    x0, y0, x1, y1 = box_in_input(box, square, 800, 800, size=crop.shape[0])
    ys, xs = np.nonzero(crop[..., 0])
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == pytest.approx((x0, y0, x1, y1), abs=1)


def test_frame_box_is_the_square_rule_and_the_box_mapped_into_the_input():
    from core.imaging.lesion import frame_box

    box = (700.0, 720.0, 60.0, 40.0)
    square, inside = frame_box(box, 800, 800, size=50)
    assert square == square_for_box(*box, 800, 800)
    assert inside == box_in_input(box, square, 800, 800, size=50)
    assert all(0.0 <= v <= 50.0 for v in inside)
