"""Platt scaling against its definition and scikit-learn; the ECE on hand-made bins; the shipped cards."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from core.model.calibration import Calibration, expected_calibration_error, fit_platt, logit, sigmoid
from core.model.card import WEIGHTS_DIR


def overconfident(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from sigmoid(z) while the 'model' says sigmoid(3z): too sure of itself."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, n)
    y = (rng.random(n) < sigmoid(z)).astype(int)
    return y, sigmoid(3 * z)


def test_platt_recovers_the_true_slope_and_matches_sklearn():
    y, p = overconfident(20000)
    cal = fit_platt(y, p)
    assert cal.a == pytest.approx(1 / 3, abs=0.03) and cal.b == pytest.approx(0.0, abs=0.05)
    ref = LogisticRegression(C=1e9).fit(logit(p)[:, None], y)  # the same model without target smoothing
    assert cal.a == pytest.approx(float(ref.coef_[0, 0]), abs=0.01)
    assert cal.b == pytest.approx(float(ref.intercept_[0]), abs=0.01)


def test_calibration_lowers_the_error_and_keeps_the_order():
    y, p = overconfident(4000, seed=1)
    cal = fit_platt(*overconfident(4000, seed=2))
    q = cal.apply(p)
    assert expected_calibration_error(y, q) < expected_calibration_error(y, p) / 2
    order = np.argsort(p)
    assert np.all(np.diff(q[order]) >= -1e-12)  # monotonic: AUC and ranking unchanged


def test_perfectly_separated_validation_stays_finite():
    cal = fit_platt(np.array([0, 0, 1, 1]), np.array([0.01, 0.02, 0.98, 0.99]))
    assert np.isfinite([cal.a, cal.b]).all() and 0 < cal.apply(0.99) < 1


def test_ece_by_hand():
    y = np.array([0, 1, 1, 1])
    p = np.array([0.05, 0.95, 0.95, 0.55])
    # bins: [0.0,0.1) holds 0.05 with frequency 0 → 0.05; [0.9,1.0] holds two 0.95 with frequency 1 → 0.05 each;
    # [0.5,0.6) holds 0.55 with frequency 1 → 0.45
    assert expected_calibration_error(y, p) == pytest.approx((0.05 + 0.05 * 2 + 0.45) / 4)
    assert np.isnan(expected_calibration_error(np.array([]), np.array([])))


@pytest.mark.parametrize("modality", ["histo", "mammo"])
def test_shipped_cards_carry_a_calibration_fitted_on_validation(modality):
    card = json.loads((WEIGHTS_DIR / f"{modality}.json").read_text())
    cal = Calibration.from_card(card)
    assert cal is not None and cal.a > 0  # a positive slope keeps the model's ranking
    entry = card["calibration"]
    assert entry["fitted_on"]["part"] == "validation"
    assert entry["fitted_on"]["n"] == card["split"]["counts"]["val"]
    assert entry["test"]["n"] == card["test_metrics"]["n"]
    assert Calibration.from_card({}) is None
