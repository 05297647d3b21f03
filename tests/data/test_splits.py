"""Split protocols: patient-disjoint vs the paper's patch-level split."""

from __future__ import annotations

import numpy as np

from core.data.splits import paper_split, patient_split


def _groups():
    rng = np.random.default_rng(0)
    return np.repeat([f"p{i}" for i in range(40)], rng.integers(5, 60, 40))


def test_patient_split_is_disjoint_and_about_80_20():
    g = _groups()
    s = patient_split(g, seed=42, hold_out=("p3", "p7"))
    parts = s.patients(g)
    assert not set(parts["train"]) & set(parts["test"])
    assert not set(parts["val"]) & set(parts["test"]) and not set(parts["train"]) & set(parts["val"])
    assert {"p3", "p7"} <= set(parts["test"])
    assert 0.18 <= len(s.test) / len(g) <= 0.35
    assert len(s.train) + len(s.val) + len(s.test) == len(g)
    again = patient_split(g, seed=42, hold_out=("p3", "p7"))
    assert np.array_equal(again.test, s.test)


def test_paper_split_mixes_patients():
    g = _groups()
    y = (np.arange(len(g)) % 3 == 0).astype(int)
    s = paper_split(y, seed=42)
    parts = s.patients(g)
    assert set(parts["train"]) & set(parts["test"])  # the leak the patient split avoids
    assert abs(len(s.test) / len(g) - 0.2) < 0.01
