"""Explanation methods behind one interface: ``make_explainer(name, model, **settings)``.

Every explainer takes its settings in ``__init__`` and images in ``explain(images,
targets)``, and returns one :class:`Explanation` per image (see :mod:`.base`). Heavy
libraries (TensorFlow, tf-keras-vis, lime, shap) are imported only when an explainer is
built.
"""

from __future__ import annotations

from .base import BlackBoxExplainer, Explainer, Explanation, WhiteBoxExplainer, normalise_heatmap
from .gradcam import GradCAM, GradCAMPlusPlus
from .integrated_gradients import IntegratedGradients
from .lime_explainer import LIME
from .occlusion import Occlusion
from .saliency import SmoothGrad, VanillaSaliency
from .shap_explainer import GradientSHAP, PartitionSHAP, load_background

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


def make_explainer(name: str, model, **settings) -> Explainer:
    """Build the explainer called ``name`` for ``model`` with the method's ``settings``.

    Raises:
        ValueError: unknown method name, or a setting the method rejects.
    """
    try:
        cls = METHODS[name]
    except KeyError:
        raise ValueError(f"unknown explanation method {name!r}; choose from {', '.join(METHODS)}") from None
    try:
        return cls(model, **settings)
    except TypeError as exc:
        raise ValueError(f"bad settings for {name}: {exc}") from None


__all__ = [
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
    "load_background",
    "make_explainer",
    "normalise_heatmap",
]
