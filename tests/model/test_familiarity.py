"""The familiarity score: training-like inputs pass, far-off ones are flagged."""

from __future__ import annotations

import numpy as np

from core.model.familiarity import fit_reference, load_reference, save_reference, scores


def test_about_one_percent_of_training_inputs_and_far_inputs_are_flagged(tmp_path):
    rng = np.random.default_rng(0)
    train = rng.normal(1.0, 0.5, (2000, 16))
    ref = fit_reference(train)
    assert abs((scores(ref, train) > ref.threshold).mean() - 0.01) < 0.005
    near = rng.normal(1.0, 0.5, (200, 16))
    far = rng.normal(4.0, 0.5, (20, 16))
    assert (scores(ref, near) > ref.threshold).mean() < 0.05
    assert (scores(ref, far) > ref.threshold).all()
    save_reference(tmp_path / "r.npz", ref)
    again = load_reference(tmp_path / "r.npz")
    assert np.allclose(scores(again, far), scores(ref, far)) and again.threshold == ref.threshold
    assert load_reference(tmp_path / "missing.npz") is None


def test_a_constant_feature_does_not_divide_by_zero():
    train = np.zeros((100, 4))
    train[:, 0] = np.linspace(0, 1, 100)
    ref = fit_reference(train)
    assert np.isfinite(scores(ref, np.ones((3, 4)))).all()
