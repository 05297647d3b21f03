"""The batch cohort: every labelled image as a plain row, in a seeded order."""

from __future__ import annotations

import pytest

from core.batch.cohort import ROW_KEYS, list_cohort
from core.data.histo import find_patches
from core.data.mammo import find_mammo_lesions
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


def test_the_order_is_seeded_and_limit_takes_its_start(histo_dir):
    folder = _one_patient(histo_dir)
    ids = [r["image_id"] for r in list_cohort("histo", folder, seed=3)]
    assert ids == [r["image_id"] for r in list_cohort("histo", folder, seed=3)]
    assert ids != [r["image_id"] for r in list_cohort("histo", folder, seed=4)]
    assert [r["image_id"] for r in list_cohort("histo", folder, seed=3, limit=5)] == ids[:5]


def test_keep_filters_patients(histo_dir):
    folder = _one_patient(histo_dir)
    assert list_cohort("histo", folder, keep=lambda p: p != folder.name) == []


def test_mammo_rows_carry_the_lesion_square(mammo_dir):
    rows = list_cohort("mammo", mammo_dir)
    lesions = find_mammo_lesions(mammo_dir)
    assert len(rows) == len(lesions) > 0
    by_id = {lesion.id: lesion for lesion in lesions}
    for r in rows:
        lesion = by_id[r["image_id"]]
        assert (r["path"], r["label"], r["side"]) == (lesion.path, lesion.label, lesion.side)


def test_bad_folder_and_modality(tmp_path):
    with pytest.raises(DataError):
        list_cohort("histo", tmp_path / "missing")
    with pytest.raises(ValueError, match="unknown modality"):
        list_cohort("ct", tmp_path)
