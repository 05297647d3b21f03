"""The case report: self-contained, complete, and free of patient identifiers."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import plotly.colors as pc
import pytest

from core.imaging.pictures import COLORMAPS, colorize, colormap_lut, fit_within, overlay
from core.modality import HISTO, MAMMO
from core.report import CaseReport, render_html, render_pdf, report_from_analysis

SHA = "ab" * 32
IMAGE_SHA = "cd" * 32


def _fake_analysis(methods=("gradcam", "lime"), seed=7):
    rng = np.random.default_rng(0)
    results = {}
    for m in methods:
        e = SimpleNamespace(
            heatmap=rng.random((50, 50)).astype(np.float32),
            seconds=0.25,
            seed=seed if m == "lime" else None,
            params={"steps": 8},
        )
        results[m] = SimpleNamespace(
            explanation=e, deletion_auc=0.2, insertion_auc=0.7, random_deletion_auc=0.4, random_insertion_auc=0.5
        )
    k = len(methods)
    agreement = SimpleNamespace(methods=tuple(methods), spearman=np.eye(k), top10_overlap=np.eye(k))
    prediction = SimpleNamespace(label="IDC", probability=0.91, p_positive=0.91, class_index=1)
    return SimpleNamespace(prediction=prediction, methods=results, agreement=agreement, seed=seed)


CARD = {
    "model": {"name": "breastxai_histo"},
    "created": "2026-01-01T00:00:00Z",
    "weights": {"sha256": SHA},
    "versions": {"python": "3.11", "tensorflow-cpu": "2.21.0"},
}


def _report(card: dict = CARD, **kw) -> CaseReport:
    return report_from_analysis(
        _fake_analysis(),
        modality=HISTO,
        image=np.random.default_rng(1).random((700, 300, 3)),
        model_input=np.random.default_rng(2).random((50, 50, 3)),
        card=card,
        labels={"gradcam": "Grad-CAM", "lime": "LIME"},
        image_sha256=IMAGE_SHA,
        **kw,
    )


def test_html_is_self_contained_and_complete():
    doc = render_html(_report())
    # every image is embedded; nothing is fetched from elsewhere
    assert len(re.findall(r'src="data:image/png;base64,', doc)) == 2 + 2
    assert not re.search(r'(src|href)="(https?:|//|file:)', doc)
    for needed in (
        "IDC",
        "91.0%",
        SHA,
        IMAGE_SHA,
        "breastxai_histo",
        "Grad-CAM",
        "LIME",
        "0.200",
        "0.700",
        "Seed",
        "tensorflow-cpu 2.21.0",
        "Not a medical device",
        "Spearman",
    ):
        assert needed in doc, needed


def test_report_carries_no_patient_identifier():
    """Only what the report is given reaches it, and it is never given a name or header."""
    fields = set(CaseReport.__dataclass_fields__)
    assert not fields & {"filename", "file_name", "patient", "patient_id", "metadata", "dicom"}
    doc = render_html(_report())
    assert "idx5" not in doc and "MIAS_P" not in doc


def test_region_of_a_whole_film_is_reported():
    doc = render_html(_report(region=(250.0, 300.0, 96.0)))
    assert "centre (250, 300) px, side 96 px" in doc


def test_display_copy_is_shrunk():
    r = _report()
    assert max(r.image.shape[:2]) == 512 and r.image.shape[2] == 3


def test_pdf_renders():
    pdf = render_pdf(_report(region=(1.0, 2.0, 64.0)))
    assert pdf[:5] == b"%PDF-" and len(pdf) > 5_000


def test_pdf_renders_grey_mammogram():
    r = report_from_analysis(
        _fake_analysis(("gradcam",)),
        modality=MAMMO,
        image=np.random.default_rng(1).random((128, 128, 1)),
        model_input=np.random.default_rng(2).random((50, 50, 1)),
        card=CARD,
        labels={},
        image_sha256=IMAGE_SHA,
    )
    assert render_pdf(r)[:5] == b"%PDF-"
    assert "Mammogram lesion" in render_html(r)


@pytest.mark.parametrize("name", COLORMAPS)
def test_colormap_matches_plotly_scale_ends(name):
    scale = pc.get_colorscale(name)
    lut = colormap_lut(name)

    def rgb(c):
        return np.array(pc.hex_to_rgb(c) if c.startswith("#") else pc.unlabel_rgb(c), float) / 255

    np.testing.assert_allclose(lut[0], rgb(scale[0][1]), atol=1e-6)
    np.testing.assert_allclose(lut[-1], rgb(scale[-1][1]), atol=1e-6)


def test_overlay_blends_linearly():
    base = np.full((4, 4, 1), 0.5, np.float32)
    heat = np.linspace(0, 1, 16).reshape(4, 4)
    np.testing.assert_allclose(overlay(base, heat, 0.0), np.full((4, 4, 3), 0.5))
    np.testing.assert_allclose(overlay(base, heat, 1.0, "Viridis"), colorize(heat, "Viridis"))


def test_fit_within_keeps_small_images():
    small = np.zeros((50, 40, 3), np.float32)
    assert fit_within(small) is small
    assert fit_within(np.zeros((1024, 256, 1), np.float32), 512).shape == (512, 128, 1)


def test_calibrated_probability_is_reported_with_how_it_was_fitted():
    from core.model.calibration import Calibration

    card = {
        **CARD,
        "calibration": {
            "method": "Platt scaling of the log-odds",
            "a": 0.5,
            "b": -0.2,
            "fitted_on": {"part": "validation", "n": 100, "n_patients": 9},
            "test": {"n": 50, "n_patients": 4, "ece_raw": 0.1, "ece_calibrated": 0.04},
        },
    }
    r = _report(card)
    expected = float(Calibration(0.5, -0.2).apply(0.91))
    assert r.calibrated_positive == pytest.approx(expected)
    doc = render_html(r)
    assert f"P(IDC) = {expected:.3f} after calibration" in doc and "100 validation images of 9 patients" in doc
    assert "0.100 to 0.040" in doc
    assert render_pdf(r)[:4] == b"%PDF"
    assert _report().calibrated_positive is None and "after calibration" not in render_html(_report())
