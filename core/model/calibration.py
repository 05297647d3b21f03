"""A calibrated probability: Platt scaling of the model's log-odds, fitted on validation patients.

A network trained with class weights and early stopping ranks well but its softmax is not a
frequency: "80%" need not mean that 8 in 10 such inputs are positive. Platt scaling maps the
log-odds ``z = log(p / (1 - p))`` to ``sigmoid(a·z + b)``, two numbers fitted by logistic
regression on the validation patients (never the test patients, whose figures would then
be flattered). The mapping is monotonic, so the ranking, the AUC and the decision at the
model's own 0.5 threshold are unchanged; only the number shown beside the answer moves. The
card records the fit and, on the unseen test patients, the expected calibration error
before and after, so the claim can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-6
BINS = 10
METHOD = "Platt scaling of the log-odds"


def logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), EPS, 1.0 - EPS)
    return np.log(p / (1.0 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, np.float64)))


@dataclass(frozen=True)
class Calibration:
    a: float  # slope on the log-odds
    b: float  # intercept

    def apply(self, p_positive: np.ndarray | float) -> np.ndarray:
        """Calibrated probabilities of the positive class."""
        return sigmoid(self.a * logit(p_positive) + self.b)

    @classmethod
    def from_card(cls, card: dict | None) -> Calibration | None:
        entry = (card or {}).get("calibration") or {}
        if "a" not in entry or "b" not in entry:
            return None
        return cls(float(entry["a"]), float(entry["b"]))


def fit_platt(y_true: np.ndarray, p_positive: np.ndarray, iterations: int = 100) -> Calibration:
    """Maximum-likelihood ``a, b`` by Newton's method on the two-parameter logistic model.

    Platt's target smoothing ((n₊ + 1)/(n₊ + 2) and 1/(n₋ + 2) instead of 1 and 0) keeps the
    fit finite when the validation predictions are perfectly separated.
    """
    y = np.asarray(y_true, np.float64)
    z = logit(p_positive)
    n_pos, n_neg = float(y.sum()), float(len(y) - y.sum())
    t = np.where(y > 0.5, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    X = np.stack([z, np.ones_like(z)], axis=1)

    def loss(w: np.ndarray) -> float:  # cross-entropy against the smoothed targets
        s = X @ w
        return float(np.sum(np.logaddexp(0.0, s) - t * s))

    w = np.zeros(2)
    for _ in range(iterations):
        q = sigmoid(X @ w)
        grad = X.T @ (q - t)
        hess = X.T @ (X * (q * (1.0 - q))[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        # damped Newton: halve the step until the loss does not rise (plain Newton can overshoot)
        current, scale = loss(w), 1.0
        while scale > 1e-6 and loss(w - scale * step) > current:
            scale /= 2
        w = w - scale * step
        if np.max(np.abs(scale * step)) < 1e-10:
            break
    return Calibration(float(w[0]), float(w[1]))


def expected_calibration_error(y_true: np.ndarray, p_positive: np.ndarray, bins: int = BINS) -> float:
    """Mean |observed frequency − mean predicted probability| over equal-width bins, weighted by count."""
    y = np.asarray(y_true, np.float64)
    p = np.asarray(p_positive, np.float64)
    if not len(p):
        return float("nan")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for k in range(bins):
        sel = idx == k
        if sel.any():
            total += sel.sum() * abs(y[sel].mean() - p[sel].mean())
    return float(total / len(p))


def describe(card: dict | None) -> str:
    """What the card's calibration is and how well it held on unseen patients, in one sentence."""
    entry = (card or {}).get("calibration") or {}
    if "a" not in entry:
        return ""
    fit, test = entry.get("fitted_on", {}), entry.get("test", {})
    text = (
        f"{entry.get('method', METHOD)}, fitted on {fit.get('n', '–')} validation images of "
        f"{fit.get('n_patients', '–')} patients"
    )
    if "ece_raw" in test:
        text += (
            f"; on {test.get('n', '–')} images of {test.get('n_patients', '–')} unseen patients the expected "
            f"calibration error went from {test['ece_raw']:.3f} to {test['ece_calibrated']:.3f}"
        )
    return text
