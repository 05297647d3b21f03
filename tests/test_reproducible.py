"""Reproducible cases: the same image and seed give the same prediction and the same maps
for every method — in this process and in a fresh one — and the case report records the
seeds, the software versions and the weights' SHA-256 needed to audit it later."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from core.modality import HISTO

pytestmark = pytest.mark.slow

# Small but real settings, so that every method runs in seconds on two cores.
SETTINGS = {
    "lime": {"samples": 120},
    "shap_partition": {"max_evals": 120},
    "smoothgrad": {"samples": 8},
    "ig": {"steps": 16},
    "shap_gradient": {"samples": 16},
}
SEED_MODEL = 3


def _image() -> np.ndarray:
    rng = np.random.default_rng(11)
    base = np.linspace(0.2, 0.9, 50, dtype=np.float32)
    x = np.stack([np.add.outer(base, base) / 2] * 3, axis=-1) * np.array([0.9, 0.6, 0.8], np.float32)
    return np.clip(x + rng.normal(0, 0.05, x.shape).astype(np.float32), 0, 1)


def _run(seed: int):
    """One analysis with freshly built explainers (no state carried between runs)."""
    from core.explain.case import analyse, build_explainers
    from core.explain.methods import METHODS
    from core.model.classifier import Classifier
    from core.model.network import build_model

    clf = Classifier(build_model(HISTO, seed=SEED_MODEL), HISTO)
    background = np.random.default_rng(5).random((4, 50, 50, 3), dtype=np.float32)
    explainers = build_explainers(clf, list(METHODS), background=background, settings=SETTINGS)
    return analyse(clf, _image(), list(METHODS), seed=seed, explainers=explainers)


def _fingerprint(case) -> dict:
    out = {"prediction": [case.prediction.label, round(case.prediction.p_positive, 6)]}
    for name, r in case.methods.items():
        out[name] = hashlib.sha256(np.ascontiguousarray(r.explanation.attribution, np.float32).tobytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def twice():
    return _run(0), _run(0)


def test_same_seed_same_prediction_and_maps(twice):
    a, b = twice
    assert a.prediction == b.prediction
    assert list(a.methods) == list(b.methods) and len(a.methods) >= 8
    for name in a.methods:
        ea, eb = a.methods[name].explanation, b.methods[name].explanation
        np.testing.assert_array_equal(ea.attribution, eb.attribution, err_msg=name)
        np.testing.assert_array_equal(ea.heatmap, eb.heatmap, err_msg=name)
        assert a.methods[name].deletion_auc == b.methods[name].deletion_auc, name
        assert ea.seed == eb.seed
    np.testing.assert_array_equal(a.agreement.spearman, b.agreement.spearman)


def test_the_seed_is_what_fixes_the_random_methods(twice):
    """A different seed changes the random methods' maps, so the seed is really used."""
    from core.explain.methods import METHODS

    a, _ = twice
    c = _run(1)
    random_methods = [n for n in a.methods if getattr(METHODS[n], "random", False)]
    assert random_methods, "no method declares itself random"
    changed = [
        n
        for n in random_methods
        if not np.array_equal(a.methods[n].explanation.attribution, c.methods[n].explanation.attribution)
    ]
    assert changed == random_methods
    for n in random_methods:
        assert a.methods[n].explanation.seed == 0 and c.methods[n].explanation.seed == 1


def test_a_fresh_process_gives_the_same_case(twice):
    code = (
        "import json, sys; sys.path[:0] = ['tests', '.'];"
        "import test_reproducible as t; print(json.dumps(t._fingerprint(t._run(0))))"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == _fingerprint(twice[0])


def test_report_records_seed_versions_and_weights_hash(twice):
    from core.report import render_html, report_from_analysis

    a, _ = twice
    card = {
        "model": {"name": "paper CNN"},
        "created": "2025-01-01",
        "weights": {"sha256": "f" * 64},
        "versions": {"python": "3.11.7", "tensorflow-cpu": "2.21.0", "numpy": np.__version__},
    }
    report = report_from_analysis(
        a, modality=HISTO, image=_image(), model_input=_image(), card=card, labels={}, image_sha256="e" * 64
    )
    html = render_html(report)
    assert "f" * 64 in html and "e" * 64 in html
    assert "tensorflow-cpu 2.21.0" in html and f"numpy {np.__version__}" in html
    assert "<th>Seed</th><td>0</td>" in html
    random_maps = [m for m in report.maps if m.seed is not None]
    assert random_maps and html.count("seed 0") >= len(random_maps)
