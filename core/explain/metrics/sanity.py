"""Model-parameter randomisation test (Adebayo et al. 2018).

A map that explains the *model* must change when the model's learned weights are
destroyed. The check works on a clone of the model (``keras.models.clone_model`` plus
``set_weights``; the caller's model, which the app shares between users, is never
touched), builds the explainer on the clone once, then re-initialises the layers with
weights cascading from the top (``logits`` first, the first convolution last) and explains
the same images again after each step. The re-initialisation is written into the clone's
variables in place, so compiled gradient functions see the new weights without retracing.

Similarity to the original map is the Spearman correlation of the importance maps (|map|
for signed methods, as in the paper's absolute-value variant) and the SSIM of the display
heatmaps. A method **fails** when, with every layer randomised, its maps still correlate
with the originals above ``threshold`` (default 0.5): such a map reflects the input (edges,
colour), not what the model learned.

Reference:
    Adebayo et al., Sanity Checks for Saliency Maps, NeurIPS 2018
    (https://arxiv.org/abs/1810.03292).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.explain.methods.base import Explainer
from core.explain.metrics.agreement import importance, spearman

THRESHOLD = 0.5


@dataclass(frozen=True)
class SanityResult:
    method: str
    layers: tuple[str, ...]  # layers randomised, cumulatively, in this order
    spearman: np.ndarray  # (len(layers),) mean Spearman to the original map after each step
    ssim: np.ndarray  # (len(layers),) mean SSIM of the heatmaps after each step
    threshold: float
    passed: bool  # the final similarity is below ``threshold``

    @property
    def final_similarity(self) -> float:
        return float(self.spearman[-1]) if len(self.spearman) else 1.0


def clone_model(model):
    """An independent copy of ``model`` with the same weights."""
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def weight_layers(model) -> list[str]:
    """Names of layers with a kernel (convolutions and dense layers), top first."""
    return [layer.name for layer in reversed(model.layers) if getattr(layer, "kernel", None) is not None]


def randomise_layer(layer, rng: np.random.Generator) -> None:
    """Re-initialise a layer's kernel (Glorot uniform) and bias (zeros) in place."""
    kernel = layer.kernel
    shape = tuple(kernel.shape)
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    kernel.assign(rng.uniform(-limit, limit, shape).astype(kernel.dtype))
    if getattr(layer, "bias", None) is not None:
        layer.bias.assign(np.zeros(tuple(layer.bias.shape), layer.bias.dtype))


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, data_range=1.0))


def randomisation_check(
    explainer_factory: Callable[[object], Explainer],
    model,
    images: np.ndarray,
    targets: Sequence[int],
    layers: Sequence[str] | None = None,
    threshold: float = THRESHOLD,
    seed: int = 0,
) -> SanityResult:
    """Cascading randomisation of ``model``'s layers and the explainer's response.

    Args:
        explainer_factory: builds the explainer for a given model, e.g.
            ``lambda m: make_explainer("ig", m, steps=16)``.
        model: the trained model; only a clone of it is modified.
        images: (N, H, W, C) inputs to explain.
        targets: the class explained for each image (keep the original predictions).
        layers: the layers to randomise, in order. Defaults to every conv/dense layer,
            top first.
        threshold: the largest final Spearman similarity that passes. Defaults to 0.5.
        seed: seeds the new weights and the explainer. Defaults to 0.
    """
    clone = clone_model(model)
    layers = tuple(layers) if layers is not None else tuple(weight_layers(clone))
    explainer = explainer_factory(clone)
    targets = np.asarray(targets, np.int32)
    original = explainer.explain(images, targets, seed=seed)
    rng = np.random.default_rng(seed)
    rho, ssim = [], []
    for name in layers:
        randomise_layer(clone.get_layer(name), rng)
        randomised = explainer.explain(images, targets, seed=seed)
        rho.append(np.mean([spearman(importance(a), importance(b)) for a, b in zip(original, randomised)]))
        ssim.append(np.mean([_ssim(a.heatmap, b.heatmap) for a, b in zip(original, randomised)]))
    rho_arr, ssim_arr = np.asarray(rho), np.asarray(ssim)
    final = float(rho_arr[-1]) if len(rho_arr) else 1.0
    return SanityResult(
        method=explainer.name,
        layers=layers,
        spearman=rho_arr,
        ssim=ssim_arr,
        threshold=float(threshold),
        passed=bool(final < threshold),
    )
