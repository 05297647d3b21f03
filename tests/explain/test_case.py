"""The per-image case: the prediction and the random-map reference once, then each method."""

from __future__ import annotations

import numpy as np

from core.explain.case import analyse, build_explainers, explain_one, prepare_case
from core.modality import HISTO
from core.model.classifier import Classifier
from core.model.network import build_model


class CountingClassifier(Classifier):
    calls = 0

    def predict_image(self, x):
        type(self).calls += 1
        return super().predict_image(x)


def test_prediction_and_reference_are_computed_once_per_image():
    clf = CountingClassifier(build_model(HISTO, seed=1), HISTO)
    x = np.random.default_rng(0).random((50, 50, 3)).astype(np.float32)
    methods = ["gradcam", "saliency", "occlusion"]
    CountingClassifier.calls = 0
    case = analyse(clf, x, methods, seed=2)
    assert CountingClassifier.calls == 1
    refs = {(r.random_deletion_auc, r.random_insertion_auc) for r in case.methods.values()}
    assert len(refs) == 1  # one random map, shared by every method


def test_explain_one_scores_beside_the_case_reference():
    clf = Classifier(build_model(HISTO, seed=1), HISTO)
    x = np.random.default_rng(1).random((50, 50, 3)).astype(np.float32)
    case = prepare_case(clf, x, seed=3, steps=10)
    explainer = build_explainers(clf, ["saliency"])["saliency"]
    result = explain_one(clf, explainer, case)
    assert result.random_deletion_auc == case.random_deletion_auc
    assert result.explanation.target == case.target == case.prediction.class_index
    other = prepare_case(clf, x, seed=3, steps=10, target=1 - case.target)
    assert explain_one(clf, explainer, other).explanation.target == 1 - case.target
