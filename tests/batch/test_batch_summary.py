"""A batch folder as the Compare and Metrics pages' records (core.batch.summary), no model."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from core.batch.store import NO_METHOD, ResultStore, read_maps, read_results
from core.batch.summary import (
    batch_folders,
    cohort_agreement,
    compare_record,
    complete_in_cohort,
    evaluation_record,
    image_predictions,
    read_manifest,
)
from core.batch.worker import columns
from core.errors import BreastXAIError
from core.explain.metrics.agreement import agreement_of_maps

MANIFEST = {"modality": "histo", "weights_sha256": "abc", "seed": 0, "steps": 50}


def _row(image_id, method, patient, label, p, dele=0.3, ins=0.7, error="", **extra):
    return {
        "image_id": image_id,
        "patient_id": patient,
        "label": label,
        "path": f"/data/{patient}/{label}/{image_id}.png",
        "probability": p,
        "predicted": int(p >= 0.5),
        "method": method,
        "deletion_auc": dele,
        "insertion_auc": ins,
        "random_deletion_auc": 0.5,
        "random_insertion_auc": 0.5,
        "seconds": 0.01,
        "case_seconds": 0.1,
        "error": error,
        **extra,
    }


def _maps(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"gradcam": rng.random((50, 50)).astype(np.float32), "ig": rng.normal(size=(50, 50)).astype(np.float32)}


@pytest.fixture()
def folder(tmp_path):
    """Six images of two patients, two methods each with maps; one unreadable image."""
    out = tmp_path / "run"
    store = ResultStore(out, MANIFEST, part_rows=5)
    rng = np.random.default_rng(1)
    for i in range(6):
        patient, label = f"p{i % 2}", i % 2 if i < 4 else 1 - i % 2
        p = float(rng.random())
        rows = []
        for method, m in _maps(i).items():
            rows.append(_row(f"img{i}", method, patient, label, p, map=m, signed=method == "ig"))
        store.add(columns(rows, (50, 50)))
    store.add(columns([_row("bad", NO_METHOD, "p0", 0, float("nan"), error="cannot decode")], (50, 50)))
    store.flush()
    return out


def test_maps_are_kept_beside_each_part_and_read_back(folder):
    maps = read_maps(folder)
    assert len(maps) == 12  # six images × two methods; the unreadable image has none
    attribution, signed = maps[("img3", "ig")]
    np.testing.assert_allclose(attribution, _maps(3)["ig"], atol=2e-3)  # float16 on disk
    assert signed and not maps[("img3", "gradcam")][1]


def test_compare_record_lists_each_methods_scores(folder):
    rec = compare_record(folder)
    assert rec["methods"] == ["gradcam", "ig"]  # the registry's order
    assert rec["n_images"] == 6 and rec["errors"] == 1
    assert len(rec["per_method"]["ig"]["deletion_auc"]) == 6
    assert "relevance_mass" not in rec["per_method"]["ig"]  # no box, no localisation
    assert {p["id"] for p in rec["predictions"]} == {f"img{i}" for i in range(6)}


def test_cohort_agreement_is_the_mean_of_each_images_agreement(folder):
    got = cohort_agreement(folder, ["gradcam", "ig"])
    per_image = []
    for i in range(6):
        maps = read_maps(folder)
        imp = {m: np.abs(maps[(f"img{i}", m)][0]) if m == "ig" else maps[(f"img{i}", m)][0] for m in ("gradcam", "ig")}
        per_image.append(agreement_of_maps(imp).spearman)
    assert got["images"] == 6
    np.testing.assert_allclose(got["spearman_mean"], np.mean(per_image, axis=0), atol=1e-4)


def test_a_run_without_maps_has_no_agreement(tmp_path):
    store = ResultStore(tmp_path / "r", MANIFEST)
    store.add(columns([_row("a", "gradcam", "p", 1, 0.9), _row("a", "ig", "p", 1, 0.9)]))
    store.flush()
    assert compare_record(tmp_path / "r")["agreement"]["spearman_mean"] is None


def test_localisation_lists_when_the_images_had_boxes(tmp_path):
    store = ResultStore(tmp_path / "r", {**MANIFEST, "modality": "mammo"})
    store.add(
        columns(
            [
                _row("a", "gradcam", "p", 1, 0.9, relevance_mass=0.7, pointing_hit=1.0, box_share=0.2),
                _row("b", "gradcam", "q", 0, 0.2, relevance_mass=0.1, pointing_hit=0.0, box_share=0.3),
            ]
        )
    )
    store.flush()
    rec = compare_record(tmp_path / "r")["per_method"]["gradcam"]
    assert rec["relevance_mass"] == [0.7, 0.1] and rec["pointing_hit"] == [1.0, 0.0]
    assert rec["random_relevance_mass"] == rec["random_pointing_hit"] == [0.2, 0.3]


def test_evaluation_record_matches_scikit_learn(folder):
    rec = evaluation_record(folder)
    preds = image_predictions(read_results(folder))
    assert rec["metrics"]["n"] == 6 and rec["metrics"]["n_patients"] == 2 and rec["errors"] == 1
    assert rec["metrics"]["auc"] == pytest.approx(roc_auc_score(preds["label"], preds["probability"]), abs=1e-4)
    assert [r["patient"] for r in rec["per_patient"]] == ["p0", "p1"]
    assert sum(r["n"] for r in rec["per_patient"]) == 6 and len(rec["predictions"]) == 6


def test_complete_slides_are_told_from_the_cohorts_own_grid():
    import pandas as pd

    dense = [(f"7_idx5_x{x}_y{y}_class0", "7") for x in range(1, 552, 50) for y in range(1, 552, 50)]
    sparse = [(f"8_idx5_x{x}_y{y}_class0", "8") for x in range(1, 2000, 400) for y in range(1, 2000, 400)]
    df = pd.DataFrame([{"image_id": i, "patient_id": p, "path": f"/d/{p}/0/{i}.png"} for i, p in dense + sparse])
    assert complete_in_cohort(df) == ["7"]


def test_folders_are_found_by_modality_and_others_refused(folder, tmp_path):
    assert batch_folders(tmp_path, "histo") == [folder]
    assert batch_folders(tmp_path, "mammo") == []
    assert batch_folders(folder) == [folder]  # the folder itself
    assert read_manifest(folder)["modality"] == "histo"
    with pytest.raises(BreastXAIError, match="not a batch result folder"):
        read_manifest(tmp_path / "nothing")
