"""Explanation methods behind one interface: ``make_explainer(name, model, **settings)``.

Every explainer takes its settings in ``__init__`` and images in ``explain(images,
targets)``, and returns one :class:`Explanation` per image (see :mod:`.base`). Heavy
libraries (TensorFlow, tf-keras-vis, lime, shap) are imported only when an explainer is
built, and TensorFlow not at all for a method that runs on a
:class:`~core.model.numpy_runtime.NumpyNetwork` (``runs_without_tensorflow``).
"""

from __future__ import annotations

from core.explain.methods.base import BlackBoxExplainer, Explainer, Explanation, WhiteBoxExplainer, normalise_heatmap
from core.explain.methods.gradcam import GradCAM, GradCAMPlusPlus
from core.explain.methods.integrated_gradients import IntegratedGradients
from core.explain.methods.lime import LIME
from core.explain.methods.occlusion import Occlusion
from core.explain.methods.saliency import SmoothGrad, VanillaSaliency
from core.explain.methods.shap import GradientSHAP, PartitionSHAP, load_background

# Display order: gradient maps, then perturbation methods, then the occlusion reference.
METHODS: dict[str, type[Explainer]] = {
    cls.name: cls
    for cls in (
        GradCAM,
        GradCAMPlusPlus,
        IntegratedGradients,
        VanillaSaliency,
        SmoothGrad,
        LIME,
        GradientSHAP,
        PartitionSHAP,
        Occlusion,
    )
}
METHOD_LABELS: dict[str, str] = {name: cls.label for name, cls in METHODS.items()}
# Older names that still work: "shap" was the gradient variant's key before both SHAP
# explainers were named after their algorithm.
ALIASES: dict[str, str] = {"shap": "shap_gradient"}


def canonical(name: str) -> str:
    """The registry key for ``name`` (an alias or a key)."""
    return ALIASES.get(name, name)


def make_explainer(name: str, model, **settings) -> Explainer:
    """Build the explainer called ``name`` for ``model`` with the method's ``settings``.

    Raises:
        ValueError: unknown method name, or a setting the method rejects.
    """
    try:
        cls = METHODS[canonical(name)]
    except KeyError:
        raise ValueError(f"unknown explanation method {name!r}; choose from {', '.join(METHODS)}") from None
    try:
        return cls(model, **settings)
    except TypeError as exc:
        raise ValueError(f"bad settings for {name}: {exc}") from None


__all__ = [
    "ALIASES",
    "METHODS",
    "METHOD_LABELS",
    "BlackBoxExplainer",
    "Explainer",
    "Explanation",
    "GradCAM",
    "GradCAMPlusPlus",
    "GradientSHAP",
    "IntegratedGradients",
    "LIME",
    "Occlusion",
    "PartitionSHAP",
    "SmoothGrad",
    "VanillaSaliency",
    "WhiteBoxExplainer",
    "canonical",
    "load_background",
    "make_explainer",
    "normalise_heatmap",
]
