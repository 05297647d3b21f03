"""The committed weights: integrity against their cards, and honest performance on unseen patients."""

from __future__ import annotations

import csv
import json

import pytest

from core.data.labelled import load_labelled
from core.evaluate import run as evaluate_mod
from core.evaluate.run import seen_patients
from core.model.card import read_card, sha256_file
from core.model.classifier import Classifier


@pytest.mark.parametrize("modality", ["histo", "mammo"])
def test_weights_sha256_matches_card(modality, request):
    path = request.getfixturevalue(f"{modality}_weights")
    card = read_card(path)
    assert card["weights"]["sha256"] == sha256_file(path)
    assert card["split"]["protocol"] == "patient"


def test_shipped_histo_model_is_well_above_chance_on_unseen_patients(histo_weights, histo_dir):
    clf = Classifier.load("histo")
    test_patients = clf.card["split"]["patients"]["test"][:6]
    assert not set(test_patients) & seen_patients(clf.card)
    sample = load_labelled("histo", histo_dir, keep=lambda p: p in test_patients)  # only these are decoded
    from sklearn.metrics import roc_auc_score

    auc = roc_auc_score(sample.y, clf.predict_positive(sample.x))
    assert auc > 0.8, f"AUC {auc:.3f} on {len(sample)} patches of unseen patients"


def test_evaluate_cli_prints_json_for_unseen_patients(histo_weights, histo_dir, capsys):
    assert evaluate_mod.main(["--modality", "histo", "--data", str(histo_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("n", "auc", "f1", "accuracy", "balanced_accuracy", "sensitivity", "specificity"):
        assert isinstance(out[key], (int, float))
    assert set(out["ci"]) >= {"auc", "f1", "accuracy"}
    assert out["excluded_training_images"] > 0
    card = read_card(histo_weights)
    with open(histo_dir.parent / "MANIFEST.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    seen = seen_patients(card)
    assert out["n"] == sum(r["patient_id"] not in seen for r in rows)
    assert out["excluded_training_images"] == sum(r["patient_id"] in seen for r in rows)


def test_evaluate_mammo_cli(mammo_weights, mammo_dir, capsys):
    assert evaluate_mod.main(["--modality", "mammo", "--data", str(mammo_dir)]) == 0
    text = capsys.readouterr().out
    assert "auc" in text and "95% CI" in text
