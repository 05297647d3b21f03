"""The batch cohort: every labelled image as a plain row, in a seeded order."""

from __future__ import annotations

import os

import numpy as np
import pytest

from core.batch.cohort import ROW_KEYS, list_cohort
from core.batch.worker import read_case_input, read_input
from core.data.histo import find_patches
from core.data.labelled import count_labelled, load_labelled
from core.errors import DataError


def _one_patient(histo_dir):
    for folder in sorted(p for p in histo_dir.iterdir() if p.is_dir()):
        if (folder / "0").is_dir() and (folder / "1").is_dir():
            return folder
    pytest.skip("no patient with both classes")


def test_histo_rows_are_plain_and_complete(histo_dir):
    folder = _one_patient(histo_dir)
    rows = list_cohort("histo", folder)
    patches = find_patches(folder)
    assert len(rows) == len(patches)
    assert {r["image_id"] for r in rows} == {p.id for p in patches}
    for r in rows[:20]:
        assert tuple(r) == ROW_KEYS
        assert all(isinstance(v, str | int | float) for v in r.values())  # ids and paths, never pixels
        assert r["patient_id"] == folder.name and r["label"] in (0, 1)
        assert r["image_id"].endswith(f"class{r['label']}")
        assert os.path.isabs(r["path"])  # workers may run in another directory


def test_the_order_is_seeded_and_limit_takes_its_start(histo_dir):
    folder = _one_patient(histo_dir)
    ids = [r["image_id"] for r in list_cohort("histo", folder, seed=3)]
    assert ids == [r["image_id"] for r in list_cohort("histo", folder, seed=3)]
    assert ids != [r["image_id"] for r in list_cohort("histo", folder, seed=4)]
    assert [r["image_id"] for r in list_cohort("histo", folder, seed=3, limit=5)] == ids[:5]


def test_keep_filters_patients(histo_dir):
    folder = _one_patient(histo_dir)
    assert list_cohort("histo", folder, keep=lambda p: p != folder.name) == []


def _same_inputs_as_load_labelled(root, patients: int = 2):
    """The worker's model input of each row equals load_labelled's, for a few patients' lesions."""
    rows = list_cohort("mammo", root)
    assert rows and all(tuple(r) == ROW_KEYS for r in rows)
    chosen = sorted({r["patient_id"] for r in rows})[:patients]
    data = load_labelled("mammo", root, keep=lambda p: p in chosen)
    mine = [r for r in rows if r["patient_id"] in chosen]
    assert mine
    assert sorted(r["image_id"] for r in mine) == sorted(data.ids.tolist())
    by_id = {i: k for k, i in enumerate(data.ids.tolist())}
    films: dict = {}
    for r in mine:
        k = by_id[r["image_id"]]
        assert r["label"] == data.y[k]
        np.testing.assert_allclose(read_input("mammo", r, films), data.x[k], atol=1e-6)
    return rows


def test_mammo_rows_give_the_inputs_core_evaluate_scores(mammo_dir):
    rows = _same_inputs_as_load_labelled(mammo_dir)
    assert {r["label"] for r in rows} == {0, 1}
    assert len(rows) == count_labelled("mammo", mammo_dir)


def test_cbis_film_rows_give_the_inputs_core_evaluate_scores(cbis_films_dir):
    rows = _same_inputs_as_load_labelled(cbis_films_dir, patients=1)
    assert {r["framing"] for r in rows} == {"film"}


def test_cbis_film_rows_carry_the_lesion_box_core_evaluate_uses(cbis_films_dir):
    """The box each map is scored against is the one load_labelled maps into the input."""
    rows = list_cohort("mammo", cbis_films_dir)
    chosen = sorted({r["patient_id"] for r in rows})[:2]
    data = load_labelled("mammo", cbis_films_dir, keep=lambda p: p in chosen)
    by_id = {i: k for k, i in enumerate(data.ids.tolist())}
    films: dict = {}
    mine = [r for r in rows if r["patient_id"] in chosen]
    assert mine
    for r in mine:
        x, box = read_case_input("mammo", r, films)
        assert box is not None and r["box_w"] > 0 and r["box_h"] > 0
        np.testing.assert_allclose(box, data.boxes[by_id[r["image_id"]]], atol=1e-4)
        np.testing.assert_allclose(x, data.x[by_id[r["image_id"]]], atol=1e-6)


def test_patches_and_crops_have_no_box(histo_dir):
    row = list_cohort("histo", histo_dir, limit=1)[0]
    assert read_case_input("histo", row)[1] is None


def test_bad_folder_and_modality(tmp_path):
    with pytest.raises(DataError):
        list_cohort("histo", tmp_path / "missing")
    with pytest.raises(ValueError, match="unknown modality"):
        list_cohort("ct", tmp_path)
