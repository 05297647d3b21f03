"""The Compare page's JSON as a small batch run (python -m core.batch.compare) on real data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.batch.compare import main, pick_balanced, test_rows
from core.batch.store import part_files, read_results
from core.errors import DataError

test_rows.__test__ = False  # a function under test, not a pytest test


def test_pick_balances_classes_and_is_seeded():
    labels = np.array([0] * 30 + [1] * 5)
    idx = pick_balanced(labels, 10, seed=3)
    assert len(idx) == 10 and len(set(idx.tolist())) == 10
    assert labels[idx].sum() == 5  # every positive, then negatives fill up
    assert np.array_equal(idx, pick_balanced(labels, 10, seed=3))
    even = np.array([0] * 10 + [1] * 10)
    assert even[pick_balanced(even, 6, 0)].sum() == 3
    assert len(pick_balanced(labels, 100, 0)) == 35


def test_rows_come_only_from_the_cards_test_patients(histo_dir):
    patients = sorted(p.name for p in histo_dir.iterdir() if p.is_dir())[:2]
    card = {"split": {"patients": {"test": patients}}}
    rows = test_rows("histo", histo_dir, card, n=6, seed=0)
    assert len(rows) == 6 and {r["patient_id"] for r in rows} <= set(patients)
    assert rows == test_rows("histo", histo_dir, card, n=6, seed=0)
    with pytest.raises(DataError):
        test_rows("histo", histo_dir, {"split": {"patients": {"test": ["no-such-patient"]}}}, n=2)


@pytest.mark.slow
def test_cli_writes_the_pages_json_from_a_kept_batch_folder(mammo_weights, cbis_films_dir, tmp_path):
    out, batch = tmp_path / "mammo.compare.json", tmp_path / "batch"
    argv = [
        "--modality", "mammo", "--data", str(cbis_films_dir), "--n", "2", "--methods", "gradcam,ig",
        "--sanity-images", "1", "--out", str(out), "--batch-out", str(batch),
    ]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(out.read_text())
    card = json.loads(mammo_weights.with_suffix(".json").read_text())
    assert data["weights_sha256"] == card["weights"]["sha256"]
    # CBIS-DDSM lesions carry their box: every map is also scored on localisation
    assert {"relevance_mass", "pointing_hit", "random_relevance_mass"} <= set(data["per_method"]["gradcam"])
    assert data["methods"] == ["gradcam", "ig"] and data["n_images"] == 2
    assert data["labels"] == {"gradcam": "Grad-CAM", "ig": "Integrated Gradients"}
    assert len(data["per_method"]["ig"]["insertion_auc"]) == 2
    assert data["sanity"]["gradcam"]["images"] == 1
    assert np.asarray(data["agreement"]["spearman_mean"]).shape == (2, 2)  # from the kept maps
    # the batch folder holds the same numbers, and a rerun reuses it instead of recomputing
    df = read_results(batch)
    assert sorted(df["deletion_auc"][df["method"] == "ig"].round(5)) == sorted(data["per_method"]["ig"]["deletion_auc"])
    parts = part_files(batch)
    assert main(argv) == 0 and part_files(batch) == parts
    assert json.loads(out.read_text())["per_method"] == data["per_method"]


def test_cli_reports_an_unknown_method(mammo_weights, mammo_dir, capsys):
    assert main(["--modality", "mammo", "--data", str(mammo_dir), "--methods", "magic"]) == 2
    assert "unknown explanation method" in capsys.readouterr().err
