"""One image, every chosen method: the maps, their faithfulness and their agreement.

``build_explainers`` makes the explainers once per model (the dashboard caches the result;
building traces the compiled functions). ``analyse`` predicts, explains the predicted
class with each method, scores each map by deletion and insertion AUC beside a seeded
random map's scores, and compares the methods with each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .agreement import Agreement, agreement
from .explainers import METHODS, Explainer, Explanation, load_background, make_explainer
from .faithfulness import STEPS, deletion_insertion, random_map
from .model_card import weights_path
from .predict import Classifier, Prediction

DEFAULT_METHODS: tuple[str, ...] = tuple(METHODS)
# The CLI's short name "shap" covers both SHAP explainers.
ALIASES = {"shap": ("shap", "shap_partition")}


@dataclass(frozen=True)
class MethodResult:
    explanation: Explanation
    deletion_auc: float  # lower is better
    insertion_auc: float  # higher is better
    random_deletion_auc: float  # the same scores for a random map: the reference line
    random_insertion_auc: float
    deletion_curve: np.ndarray | None = None  # (steps + 1,) target probability
    insertion_curve: np.ndarray | None = None


@dataclass(frozen=True)
class CaseAnalysis:
    prediction: Prediction
    methods: dict[str, MethodResult]
    agreement: Agreement
    seed: int


def resolve_methods(names: Sequence[str] | str, aliases: bool = False) -> tuple[str, ...]:
    """Method names in display order, duplicates dropped.

    With ``aliases`` (the command lines), "shap" stands for both SHAP explainers; elsewhere
    every name means exactly one method.

    Raises:
        ValueError: an unknown name.
    """
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    wanted: list[str] = []
    for name in names:
        if aliases and name in ALIASES:
            wanted.extend(ALIASES[name])
        elif name in METHODS:
            wanted.append(name)
        else:
            raise ValueError(f"unknown explanation method {name!r}; choose from {', '.join(METHODS)}")
    return tuple(n for n in METHODS if n in wanted)


def build_explainers(
    classifier: Classifier,
    methods: Sequence[str],
    background: np.ndarray | None = None,
    settings: dict[str, dict] | None = None,
) -> dict[str, Explainer]:
    """One explainer per method for ``classifier``'s model (cache the result).

    Args:
        classifier: the loaded model.
        methods: method names (see :data:`core.explainers.METHODS`).
        background: SHAP background; defaults to the file shipped beside the modality's
            default weights (``weights/<modality>.background.npy``).
        settings: per-method settings overriding the defaults, e.g. ``{"lime": {"samples": 1000}}``.

    Raises:
        ValueError: an unknown method or setting.
        WeightsError: SHAP was asked for and no background was passed or shipped.
    """
    settings = settings or {}
    explainers: dict[str, Explainer] = {}
    for name in resolve_methods(methods):
        kwargs = dict(settings.get(name, {}))
        if name == "shap" and "background" not in kwargs:
            kwargs["background"] = background if background is not None else load_background(weights_path(classifier.modality.name))
        explainers[name] = make_explainer(name, classifier.model, **kwargs)
    return explainers


def warm_up(explainers: dict[str, Explainer], model_input: np.ndarray, target: int = 0) -> None:
    """Run each explainer once, untimed, so that later calls do not pay for tracing."""
    x = np.asarray(model_input, np.float32)[None]
    for explainer in explainers.values():
        explainer.explain(x, [target])


def analyse(
    classifier: Classifier,
    model_input: np.ndarray,
    methods: Sequence[str],
    seed: int = 0,
    explainers: dict[str, Explainer] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    steps: int = STEPS,
) -> CaseAnalysis:
    """Explain ``classifier``'s prediction for one (50, 50, C) input with each method.

    Args:
        classifier: the loaded model.
        model_input: one preprocessed (50, 50, C) image.
        methods: method names, in any order (aliases allowed).
        seed: seeds every random method and the random reference map. Defaults to 0.
        explainers: prebuilt explainers (from :func:`build_explainers`); missing ones
            are built here.
        progress: called as ``progress(method, i, total)`` before each method.
        steps: points on each deletion/insertion curve. Defaults to 50.
    """
    names = resolve_methods(methods)
    explainers = dict(explainers or {})
    missing = [n for n in names if n not in explainers]
    if missing:
        explainers.update(build_explainers(classifier, missing))
    x = np.asarray(model_input, np.float32)
    prediction = classifier.predict_image(x)
    target = prediction.class_index
    reference = random_map(x.shape[:2], seed)
    rand_del, rand_ins = deletion_insertion(classifier.predict, x, reference, target, steps, seed)
    results: dict[str, MethodResult] = {}
    for i, name in enumerate(names):
        if progress is not None:
            progress(name, i, len(names))
        explanation = explainers[name].explain(x[None], [target], seed=seed)[0]
        dele, ins = deletion_insertion(classifier.predict, x, explanation.attribution, target, steps, seed)
        results[name] = MethodResult(explanation, dele.auc, ins.auc, rand_del.auc, rand_ins.auc, dele.curve, ins.curve)
    if progress is not None:
        progress("agreement", len(names), len(names))
    return CaseAnalysis(
        prediction=prediction,
        methods=results,
        agreement=agreement({n: r.explanation for n, r in results.items()}, seed=seed),
        seed=seed,
    )


__all__ = [
    "Agreement",
    "CaseAnalysis",
    "DEFAULT_METHODS",
    "MethodResult",
    "analyse",
    "build_explainers",
    "resolve_methods",
    "warm_up",
]
