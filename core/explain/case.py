"""One image, every chosen method: the maps, their faithfulness and their agreement.

``build_explainers`` makes the explainers once per model (the dashboard caches the result;
building traces the compiled functions). The work on one image comes in two steps:

* :func:`prepare_case` — once per image: the prediction, the class to explain, and the
  deletion/insertion scores of a seeded random map, the reference every method is held to;
* :func:`explain_one` — once per method: the map and its deletion and insertion AUC.

``analyse`` runs both for a list of methods and compares the methods with each other. The
dashboard calls the two steps itself so that it can cache each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.explain.methods import METHODS, Explainer, Explanation, canonical, load_background, make_explainer
from core.explain.metrics.agreement import Agreement, agreement
from core.explain.metrics.faithfulness import STEPS, deletion_insertion, random_map
from core.explain.metrics.localisation import Localisation, localisation
from core.model.card import weights_path
from core.model.classifier import Classifier, Prediction

DEFAULT_METHODS: tuple[str, ...] = tuple(METHODS)
# On the command lines the short name "shap" covers both SHAP explainers.
CLI_ALIASES = {"shap": ("shap_gradient", "shap_partition")}


@dataclass(frozen=True)
class MethodResult:
    explanation: Explanation
    deletion_auc: float  # lower is better
    insertion_auc: float  # higher is better
    random_deletion_auc: float  # the same scores for a random map: the reference line
    random_insertion_auc: float
    deletion_curve: np.ndarray | None = None  # (steps + 1,) target probability
    insertion_curve: np.ndarray | None = None
    localisation: Localisation | None = None  # against the lesion box, when the case has one


@dataclass(frozen=True)
class CaseReference:
    """What every method on one image is scored against, computed once per image."""

    model_input: np.ndarray  # (50, 50, C)
    prediction: Prediction
    target: int  # the class explained
    random_deletion_auc: float
    random_insertion_auc: float
    seed: int
    steps: int
    box: tuple[float, float, float, float] | None = None  # the lesion (x0, y0, x1, y1) in input pixels
    random_localisation: Localisation | None = None  # the random map's scores against the box


@dataclass(frozen=True)
class CaseAnalysis:
    prediction: Prediction
    methods: dict[str, MethodResult]
    agreement: Agreement
    seed: int


def resolve_methods(names: Sequence[str] | str, aliases: bool = False) -> tuple[str, ...]:
    """Method names in display order, duplicates dropped.

    With ``aliases`` (the command lines), "shap" stands for both SHAP explainers; elsewhere
    it is the old key of the gradient variant, ``shap_gradient``.

    Raises:
        ValueError: an unknown name.
    """
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    wanted: list[str] = []
    for name in names:
        if aliases and name in CLI_ALIASES:
            wanted.extend(CLI_ALIASES[name])
        elif canonical(name) in METHODS:
            wanted.append(canonical(name))
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
        methods: method names (see :data:`core.explain.methods.METHODS`).
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
        if name == "shap_gradient" and "background" not in kwargs:
            kwargs["background"] = (
                background if background is not None else load_background(weights_path(classifier.modality.name))
            )
        explainers[name] = make_explainer(name, classifier.model, **kwargs)
    return explainers


def warm_up(explainers: dict[str, Explainer], model_input: np.ndarray, target: int = 0) -> None:
    """Run each explainer once, untimed, so that later calls do not pay for tracing."""
    x = np.asarray(model_input, np.float32)[None]
    for explainer in explainers.values():
        explainer.explain(x, [target])


def prepare_case(
    classifier: Classifier,
    model_input: np.ndarray,
    *,
    seed: int = 0,
    steps: int = STEPS,
    target: int | None = None,
    box: tuple[float, float, float, float] | None = None,
) -> CaseReference:
    """The prediction and the random-map reference for one (50, 50, C) input.

    ``target`` is the class to explain; by default the predicted one. ``box`` is a known
    lesion (x0, y0, x1, y1) in the input's pixels: each map is then also scored on whether
    it points at it (:mod:`core.explain.metrics.localisation`).
    """
    x = np.asarray(model_input, np.float32)
    prediction = classifier.predict_image(x)
    target = prediction.class_index if target is None else int(target)
    reference = random_map(x.shape[:2], seed)
    rand_del, rand_ins = deletion_insertion(classifier.predict, x, reference, target, steps, seed)
    rand_loc = localisation(reference, box) if box is not None else None
    return CaseReference(x, prediction, target, rand_del.auc, rand_ins.auc, seed, steps, box, rand_loc)


def explain_one(classifier: Classifier, explainer: Explainer, case: CaseReference) -> MethodResult:
    """One method's map for the case's target class, scored beside the case's random map."""
    x = case.model_input
    explanation = explainer.explain(x[None], [case.target], seed=case.seed)[0]
    dele, ins = deletion_insertion(classifier.predict, x, explanation.attribution, case.target, case.steps, case.seed)
    loc = localisation(explanation.attribution, case.box) if case.box is not None else None
    return MethodResult(
        explanation, dele.auc, ins.auc, case.random_deletion_auc, case.random_insertion_auc, dele.curve, ins.curve, loc
    )


def combine(case: CaseReference, results: dict[str, MethodResult]) -> CaseAnalysis:
    """The case's methods together, with their agreement."""
    explanations = {n: r.explanation for n, r in results.items()}
    return CaseAnalysis(case.prediction, dict(results), agreement(explanations, seed=case.seed), case.seed)


def analyse(
    classifier: Classifier,
    model_input: np.ndarray,
    methods: Sequence[str],
    seed: int = 0,
    explainers: dict[str, Explainer] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    steps: int = STEPS,
    box: tuple[float, float, float, float] | None = None,
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
        box: a known lesion (x0, y0, x1, y1) in the input's pixels, for localisation scores.
    """
    names = resolve_methods(methods)
    explainers = dict(explainers or {})
    missing = [n for n in names if n not in explainers]
    if missing:
        explainers.update(build_explainers(classifier, missing))
    case = prepare_case(classifier, model_input, seed=seed, steps=steps, box=box)
    results: dict[str, MethodResult] = {}
    for i, name in enumerate(names):
        if progress is not None:
            progress(name, i, len(names))
        results[name] = explain_one(classifier, explainers[name], case)
    if progress is not None:
        progress("agreement", len(names), len(names))
    return combine(case, results)


__all__ = [
    "Agreement",
    "CaseAnalysis",
    "CaseReference",
    "DEFAULT_METHODS",
    "MethodResult",
    "analyse",
    "build_explainers",
    "combine",
    "explain_one",
    "prepare_case",
    "resolve_methods",
    "warm_up",
]
