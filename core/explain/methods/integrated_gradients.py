"""Integrated Gradients with a selectable baseline, batched over the path.

``attribution = (x − x') · ∫₀¹ ∂z/∂x(x' + α(x − x')) dα`` summed over colour channels, where
``z`` is the target's log-odds. The integral uses the midpoint rule on ``steps`` points, all
evaluated in batches inside one ``tf.function``.

The default baseline is the blurred image (σ = 5 px), the same "removed" image that the
deletion and insertion scores use (:mod:`core.explain.metrics.faithfulness`), so the map answers the
question those scores ask: what the fine structure contributes. A black baseline asks
what the image contributes compared with no light at all, which on H&E (no tissue is
black) mostly credits bright, flat areas; it stays selectable.

Completeness (the axiom that the attributions add up to ``z(x) − z(x')``) is reported per
image as ``extras["completeness_error"] = |Σ attribution − Δz| / |Δz|``. A ReLU network's
gradient along the path is piecewise constant, so the quadrature error falls only about as
1/steps, and a few images miss the tolerance with the default points: an image is complete
enough when ``|Σ attribution − Δz| ≤ tolerance · max(|Δz|, min_difference)``. The floor
matters where an image scores almost as its baseline does (|Δz| of a few hundredths of a
log-odds unit): there a relative error divides by almost nothing, and without the floor
such an image was refined up to ``max_steps`` points, many times a usual image's work, to
bring a miss already far under 0.01 log-odds below 2% of its tiny Δz. Those images alone
are refined with nested rules that reuse every gradient already computed: the trapezoid
rule on the ``steps`` + 1 cell edges averaged with the midpoint rule gives the trapezoid
rule on twice as many cells (2·steps + 1 points); each further level adds the midpoints of
the current cells and doubles again, up to ``max_steps`` cells. ``extras["steps"]`` counts
the gradient evaluations used for the image.

Reference:
    Sundararajan, Taly & Yan, Axiomatic Attribution for Deep Networks, ICML 2017
    (https://arxiv.org/abs/1703.01365).
"""

from __future__ import annotations

import numpy as np

from core.explain.methods.base import BLUR_SIGMA, WhiteBoxExplainer, blur

BASELINES = ("black", "blurred", "white")
# |Δz| (log-odds) below which the completeness tolerance is absolute (see the module docstring)
MIN_DIFFERENCE = 0.5


def make_baseline(images: np.ndarray, kind: str) -> np.ndarray:
    """The reference input for each image: all zeros, all ones, or a Gaussian blur."""
    if kind == "black":
        return np.zeros_like(images)
    if kind == "white":
        return np.ones_like(images)
    if kind == "blurred":
        return blur(images, BLUR_SIGMA)
    raise ValueError(f"baseline must be one of {BASELINES}; got {kind!r}")


class IntegratedGradients(WhiteBoxExplainer):
    """Integrated Gradients of the target's log-odds along a straight path."""

    name = "ig"
    label = "Integrated Gradients"
    signed = True

    def __init__(
        self,
        model,
        baseline: str = "blurred",
        steps: int = 64,
        tolerance: float = 0.02,
        max_steps: int = 1024,
        min_difference: float = MIN_DIFFERENCE,
        *,
        seed: int = 0,
        batch_size: int = 128,
    ):
        """
        Args:
            model: a Keras functional model (never modified).
            baseline: "black" (zeros), "blurred" (Gaussian blur, σ = 5 px) or "white"
                (ones, the empty glass of an H&E slide). Defaults to "blurred".
            steps: points on the path. Defaults to 64.
            batch_size: path points per gradient call. Defaults to 128.
            seed: unused (the method is deterministic).
            tolerance: completeness error above which an image is refined by doubling
                the number of cells (nested, see the module docstring). Defaults to 0.02.
            max_steps: the most cells the path of one image is cut into. Defaults to 1024.
            min_difference: the smallest |Δz| (log-odds units) that ``tolerance`` is taken
                relative to: an image whose score differs from its baseline's by less is
                complete within ``tolerance · min_difference`` (0.01 log-odds by default).
                0 makes the tolerance purely relative. Defaults to 0.5.

        Raises:
            ValueError: unknown baseline, steps/batch_size below 1, or a negative min_difference.
        """

        super().__init__(model, seed=seed, batch_size=batch_size)
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}; got {baseline!r}")
        if steps < 1:
            raise ValueError(f"steps must be at least 1; got {steps}")
        self.baseline, self.steps = baseline, int(steps)
        if min_difference < 0:
            raise ValueError(f"min_difference must not be negative; got {min_difference}")
        self.tolerance, self.max_steps = float(tolerance), max(int(max_steps), int(steps))
        self.min_difference = float(min_difference)

    @property
    def params(self) -> dict:
        return {
            "baseline": self.baseline,
            "steps": self.steps,
            "max_steps": self.max_steps,
            "tolerance": self.tolerance,
            "min_difference": self.min_difference,
            "rule": "midpoint; refined by nested trapezoid doubling",
            "score": "log-odds of the target class",
        }

    def _path_sum(self, images, baselines, targets, alphas: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Σₖ weights[k] · ∇z at α = alphas[k] on each image's path, batched over all points."""
        n, steps = len(images), len(alphas)
        # Every (image, alpha) pair as one flat list of path points, cut into batches.
        image_idx = np.repeat(np.arange(n), steps)
        alpha_all = np.tile(alphas.astype(np.float32), n)
        weight_all = np.tile(weights.astype(np.float32), n)
        total = np.zeros_like(images)
        for start in range(0, len(image_idx), self.batch_size):
            idx = image_idx[start : start + self.batch_size]
            a = alpha_all[start : start + self.batch_size, None, None, None]
            points = baselines[idx] + a * (images[idx] - baselines[idx])
            grads = self.gradients(points, targets[idx])
            weighted = grads * weight_all[start : start + self.batch_size, None, None, None]
            # idx is sorted: sum each image's run of points (np.add.at is ten times slower).
            runs = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
            total[idx[runs]] += np.add.reduceat(weighted, runs, axis=0)
        return total

    @staticmethod
    def _midpoints(cells: int) -> tuple[np.ndarray, np.ndarray]:
        return (np.arange(cells) + 0.5) / cells, np.full(cells, 1.0 / cells)

    @staticmethod
    def _edges(cells: int) -> tuple[np.ndarray, np.ndarray]:
        weights = np.full(cells + 1, 1.0 / cells)
        weights[[0, -1]] /= 2
        return np.arange(cells + 1) / cells, weights

    def _attribute(self, images, targets, seed):
        baselines = make_baseline(images, self.baseline)
        n = len(images)
        scores = self.scores(np.concatenate([images, baselines]), np.concatenate([targets, targets]))
        delta = scores[:n] - scores[n:]
        # Path-averaged gradients: the midpoint rule on `steps` cells to begin with.
        mean_grad = self._path_sum(images, baselines, targets, *self._midpoints(self.steps))
        steps_used = np.full(n, self.steps)
        cells = np.full(n, self.steps)

        def attributions() -> np.ndarray:
            return ((images - baselines) * mean_grad).sum(axis=-1)

        def misses() -> np.ndarray:
            return np.abs(attributions().sum(axis=(1, 2)) - delta)

        def errors() -> np.ndarray:
            return misses() / np.maximum(np.abs(delta), 1e-6)

        allowed = self.tolerance * np.maximum(np.abs(delta), self.min_difference)
        while (bad := np.flatnonzero((misses() > allowed) & (cells * 2 <= self.max_steps))).size:
            # All images refined together share one level (they started equal and advance
            # together), so one batched pass serves them all.
            c = int(cells[bad[0]])
            if c == self.steps:  # trapezoid on the cell edges, averaged with the midpoints
                extra = self._path_sum(images[bad], baselines[bad], targets[bad], *self._edges(c))
                added = c + 1
            else:  # already a trapezoid rule: add the midpoints of its cells
                extra = self._path_sum(images[bad], baselines[bad], targets[bad], *self._midpoints(c))
                added = c
            mean_grad[bad] = (mean_grad[bad] + extra) / 2
            cells[bad] = 2 * c
            steps_used[bad] += added
        attr = attributions()
        extras = [
            {
                "completeness_error": float(e),
                "score_difference": float(delta[i]),
                "attribution_sum": float(attr[i].sum()),
                "steps": int(steps_used[i]),
            }
            for i, e in enumerate(errors())
        ]
        return attr, extras
