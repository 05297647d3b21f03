"""Region analysis: tiling, background, map assembly, slide mosaics, AUC, CLI and page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import app_test
from PIL import Image

from core.errors import ImageError
from core.imaging.grid import tile_origins
from core.imaging.pictures import fit_within, side_by_side
from core.region.cli import main
from core.region.mosaic import (
    build_mosaic,
    evaluate_mosaic,
    label_map,
    model_part,
    patch_probabilities,
)
from core.region.pictures import mosaic_panels
from core.region.tiles import (
    BACKGROUND,
    NO_DATA,
    TILE,
    TISSUE,
    RegionResult,
    analyse_region,
    background_pixels,
    tile_image,
)

PINK = np.array([0.85, 0.45, 0.70], np.float32)  # an H&E-like colour: never background
ROOT = Path(__file__).resolve().parents[2]


def red_scorer(tiles: np.ndarray) -> np.ndarray:
    """A stand-in model: the tile's mean green deficit, so maps are predictable."""
    return (1.0 - tiles[..., 1].mean(axis=(1, 2))).astype(np.float32)


def tissue(h: int, w: int) -> np.ndarray:
    return np.broadcast_to(PINK, (h, w, 3)).copy()


# ---------------------------------------------------------------------------------------
# tiling on synthetic images


def test_tile_origins_cover_the_image():
    assert tile_origins(100, 50).tolist() == [0, 50]
    assert tile_origins(120, 50).tolist() == [0, 50, 70]  # a last tile flush with the edge
    assert tile_origins(100, 25).tolist() == [0, 25, 50]
    assert tile_origins(30, 50).tolist() == [0]
    with pytest.raises(ValueError):
        tile_origins(100, 0)


def test_background_rule():
    img = np.ones((4, 4, 3), np.float32)  # white glass
    img[0, 0] = PINK
    img[1, 1] = (0.02, 0.02, 0.02)  # black padding: background too
    img[2, 2] = (0.95, 0.80, 0.90)  # bright but pink: tissue (fat membranes, pale eosin)
    mask = background_pixels(img)
    assert not mask[0, 0] and mask[1, 1] and not mask[2, 2] and mask[3, 3]


def test_background_tiles_are_skipped_and_map_has_image_shape():
    img = np.ones((300, 400, 3), np.float32)
    img[:, 200:] = PINK  # right half tissue, left half white
    res = analyse_region(img, None, 50, scorer=red_scorer)
    assert res.probability.shape == (300, 400)
    assert res.tiles == 6 * 8
    assert res.tissue_tiles == 6 * 4 and res.background_tiles == 6 * 4 and res.no_data_tiles == 0
    assert np.isnan(res.probability[:, :200]).all()
    assert np.allclose(res.probability[:, 200:], 1 - PINK[1], atol=1e-5)
    assert np.isnan(res.p_positive[res.status == BACKGROUND]).all()
    assert res.flagged_fraction == pytest.approx(1.0)  # 0.55 ≥ 0.5 everywhere on tissue
    assert res.flagged_tiles == res.tissue_tiles
    assert all(t.x >= 200 for t in res.top_tiles(5))


def test_mostly_white_tile_with_a_little_tissue_is_still_tissue():
    img = np.ones((50, 50, 3), np.float32)
    img[:, :10] = PINK  # 20% tissue: under the 90% background share
    res = analyse_region(img, None, 50, scorer=red_scorer)
    assert res.status.tolist() == [TISSUE]


def test_stride_overlaps_average_in_the_map():
    img = tissue(100, 150)
    img[:, 100:] = (0.7, 0.2, 0.6)  # a different tissue colour on the right third
    res50 = analyse_region(img, None, 50, scorer=red_scorer)
    res25 = analyse_region(img, None, 25, scorer=red_scorer)
    assert res50.tiles == 2 * 3 and res25.tiles == 3 * 5
    assert res25.probability.shape == (100, 150)
    # pixels x 75..99 are covered by a pure-pink tile and one straddling the boundary
    p_pink, p_mixed = 1 - 0.45, 1 - (0.45 + 0.2) / 2
    assert res25.probability[10, 80] == pytest.approx((p_pink + p_mixed) / 2, abs=1e-5)
    assert res50.probability[10, 80] == pytest.approx(p_pink, abs=1e-5)


@pytest.mark.parametrize("shape", [(100, 100), (100, 137), (37, 64), (20, 20)])
def test_tiny_images(shape):
    img = tissue(*shape)
    res = analyse_region(img, None, 50, scorer=red_scorer)
    assert res.probability.shape == shape
    assert res.tissue_tiles >= 1 and np.isfinite(res.probability).all()


def test_uint8_and_float_give_the_same_map():
    img = tissue(120, 160)
    a = analyse_region(img, None, 50, scorer=red_scorer)
    b = analyse_region((img * 255).round().astype(np.uint8), None, 50, scorer=red_scorer)
    assert np.allclose(a.probability, b.probability, atol=3e-3)


def test_holes_are_no_data_not_background():
    img = tissue(100, 200)
    valid = np.ones((100, 200), bool)
    valid[:, 100:150] = False  # a missing column of patches
    img[:, 100:150] = 1.0
    res = analyse_region(img, None, 50, valid=valid, scorer=red_scorer)
    holes = res.positions[:, 1] == 100
    assert (res.status[holes] == NO_DATA).all() and res.no_data_tiles == 2
    assert res.background_tiles == 0
    assert np.isnan(res.probability[:, 100:150]).all() and np.isfinite(res.probability[:, :100]).all()


def test_bad_stride_and_too_many_tiles():
    with pytest.raises(ValueError):
        analyse_region(tissue(100, 100), None, 0, scorer=red_scorer)
    with pytest.raises(ValueError):
        analyse_region(tissue(100, 100), None, 51, scorer=red_scorer)
    with pytest.raises(ImageError):
        analyse_region(np.zeros((5000, 5000, 3), np.uint8), None, 1, scorer=red_scorer)  # 25 M tiles


def test_tile_image_pads_past_the_edge():
    img = tissue(120, 120)
    t = tile_image(img, 100, 100)
    assert t.shape == (TILE, TILE, 3)
    assert np.allclose(t[:20, :20], PINK) and np.allclose(t[20:, :], 1.0)


def test_compiled_scorer_matches_classifier_predict():
    from core.modality import HISTO
    from core.model.classifier import Classifier
    from core.model.network import build_model
    from core.region.tiles import TileScorer

    clf = Classifier(build_model(HISTO, seed=1), HISTO)
    tiles = np.random.default_rng(0).random((70, 50, 50, 3), dtype=np.float32)
    fast = TileScorer(clf, batch_size=32)(tiles)  # 3 batches, the last one padded
    assert fast.shape == (70,)
    assert np.allclose(fast, clf.predict_positive(tiles), atol=1e-4)


# ---------------------------------------------------------------------------------------
# slide mosaics from the data set


def _fake_result(mosaic, prob: np.ndarray) -> RegionResult:
    h, w = mosaic.valid.shape
    return RegionResult(
        h,
        w,
        50,
        np.zeros((0, 2), np.int32),
        np.zeros(0, np.int8),
        np.zeros(0, np.float32),
        prob.astype(np.float32),
        mosaic.valid,
        0.5,
        0.0,
    )


def test_mosaic_of_a_sampled_patient_has_holes(histo_dir):
    from core.data.histo import load_patch

    m = build_mosaic(histo_dir / "9262")
    assert m.patient == "9262" and not m.complete
    assert len(m.patches) == 9 and m.on_grid
    assert m.grid_cells > len(m.patches)  # holes where the sample has no patch
    assert m.valid.sum() == int((m.sizes[:, 0] * m.sizes[:, 1]).sum())
    for p, (y, x) in zip(m.patches, m.positions):  # positions come from the names
        assert (x + m.origin[0], y + m.origin[1]) == (p.x, p.y)
        assert np.allclose(m.image[y : y + 50, x : x + 50] / 255.0, load_patch(p.path), atol=1e-6)
    lm = label_map(m)
    assert np.isnan(lm[~m.valid]).all() and set(np.unique(lm[m.valid])) <= {0.0, 1.0}


def test_mosaic_of_a_complete_patient_and_its_auc(histo_dir):
    m = build_mosaic(histo_dir / "9124")
    assert m.complete and m.on_grid and len(m.patches) == 465
    assert {m.origin[0] % 50, m.origin[1] % 50} == {1}  # the data set's grid starts at 1
    small = m.sizes.min(axis=1) < 50
    assert small.any()  # slide-edge patches are kept at their true size
    truth = label_map(m)
    assert evaluate_mosaic(m, _fake_result(m, truth), {}).auc == pytest.approx(1.0)
    assert evaluate_mosaic(m, _fake_result(m, 1 - truth), {}).auc == pytest.approx(0.0)
    # an arbitrary map: the same number sklearn gives on the patch scores
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    noisy = np.where(m.valid, np.clip(truth * 0.3 + rng.random(truth.shape) * 0.7, 0, 1), np.nan)
    res = _fake_result(m, noisy)
    p = patch_probabilities(m, res)
    score = evaluate_mosaic(m, res, {})
    assert score.auc == pytest.approx(roc_auc_score(m.labels, p), abs=1e-4)
    assert score.patches == 465 and score.scored_patches == 465


def test_model_part_from_the_card():
    card = {"split": {"held_out": ["9124"], "patients": {"train": ["1"], "val": ["2"], "test": ["9124"]}}}
    assert model_part(card, "1") == "train" and model_part(card, "2") == "val"
    assert model_part(card, "9124") == "test" and model_part(card, "77") == "none"
    assert model_part({}, "1") is None


def test_comparison_picture(histo_dir):
    m = build_mosaic(histo_dir / "9262")
    res = analyse_region(m.image, None, 50, valid=m.valid, scorer=red_scorer)
    assert res.tissue_tiles + res.background_tiles == len(m.patches)
    panels = mosaic_panels(m, res)
    assert [p.shape[:2] for _, p in panels] == [m.valid.shape] * 4
    pic = side_by_side(panels, max_side=200, gap=12)
    widths = [fit_within(p, 200).shape[1] for _, p in panels]
    assert pic.dtype == np.uint8 and pic.shape[1] == sum(widths) + 12 * 5  # one row, four panels


# ---------------------------------------------------------------------------------------
# CLI (shipped weights)


def test_cli_image_json(histo_weights, tmp_path, capsys):
    img = np.ones((260, 330, 3), np.float32)
    img[40:220, 60:300] = PINK
    path = tmp_path / "region.png"
    Image.fromarray((img * 255).astype(np.uint8)).save(path)
    assert main(["--image", str(path), "--stride", "50", "--json", "--out", str(tmp_path / "out")]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("tiles", "tissue_tiles", "seconds", "flagged_fraction", "top_tiles"):
        assert key in out
    assert out["tiles"] == 6 * 7 and 0 < out["tissue_tiles"] < out["tiles"]
    assert np.load(tmp_path / "out" / "probability.npy").shape == (260, 330)
    assert (tmp_path / "out" / "overlay.png").exists()


def test_cli_mosaic_json(histo_weights, histo_dir, tmp_path, capsys):
    assert main(["--mosaic", str(histo_dir / "9262"), "--json", "--out", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("tiles", "tissue_tiles", "seconds", "flagged_fraction", "auc", "complete", "unseen", "model_part"):
        assert key in out
    assert out["patient"] == "9262" and out["complete"] is False and out["reportable"] is False
    assert out["auc"] is None or 0.0 <= out["auc"] <= 1.0
    assert (tmp_path / "comparison.png").exists()


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["--image", str(tmp_path / "missing.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "Traceback" not in err
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    assert main(["--image", str(bad), "--weights", str(tmp_path / "none.keras")]) == 2
    assert main(["--mosaic", str(tmp_path), "--json"]) == 2  # no patches there
    assert main(["--image", str(bad), "--stride", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error:") for line in err)


# ---------------------------------------------------------------------------------------
# page


@pytest.mark.slow
def test_region_page_renders_a_mosaic(histo_weights, histo_dir):
    at = app_test("region", timeout=600)
    at.session_state["region_patient"] = histo_dir / "9262"  # 9 patches: quick
    at.session_state["region_methods"] = ["saliency"]
    at.run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tissue tiles"] == "9" and "Patch-level AUC" in metrics
    downloads = [d.label for d in at.get("download_button")]
    assert "Download the map (PNG)" in downloads and "Download the flagged tiles (CSV)" in downloads
    assert any("Saliency" in md.value for md in at.markdown)


@pytest.mark.slow
def test_region_page_analyses_an_uploaded_image(histo_weights):
    import io

    img = np.ones((200, 300, 3), np.float32)
    img[60:140, 100:200] = PINK  # exactly the 2×2 tiles at y 50–150, x 100–200 hold tissue
    buf = io.BytesIO()
    Image.fromarray((img * 255).astype(np.uint8)).save(buf, format="PNG")
    at = app_test("region", timeout=600)
    at.session_state["region_source"] = "Upload a region image"
    at.session_state["region_methods"] = ["saliency"]
    at.run()
    at.file_uploader(key="region_upload").set_value(("region.png", buf.getvalue(), "image/png"))
    at.run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tiles"] == str(4 * 6) and metrics["Tissue tiles"] == "4"
    assert "Patch-level AUC" not in metrics
    assert any("Saliency" in md.value for md in at.markdown)


def test_region_page_refuses_a_photo_that_is_not_tissue(histo_weights):
    import io

    rng = np.random.default_rng(0)
    photo = np.zeros((200, 300, 3), np.float32)
    photo[..., 1] = 0.6 + 0.2 * rng.random((200, 300))  # green leaves
    photo[:80, :, 2] = 0.9  # blue sky
    buf = io.BytesIO()
    Image.fromarray((photo * 255).astype(np.uint8)).save(buf, format="PNG")
    at = app_test("region", timeout=600)
    at.session_state["region_source"] = "Upload a region image"
    at.run()
    at.file_uploader(key="region_upload").set_value(("garden.png", buf.getvalue(), "image/png"))
    at.run()
    assert not at.exception
    assert any("does not look like H&E tissue" in w.value for w in at.warning)
    assert not any(m.label == "Tissue tiles" for m in at.metric)


def test_flagged_tiles_csv_lists_only_tissue_at_or_above_the_threshold():
    from core.region.tiles import tiles_csv

    img = np.ones((100, 150, 3), np.float32)
    img[:, :100] = PINK
    res = analyse_region(img, None, 50, scorer=red_scorer)
    rows = tiles_csv(res, flagged_only=True).strip().splitlines()[1:]
    expected = int(((res.status == TISSUE) & (res.p_positive >= res.threshold)).sum())
    assert len(rows) == expected and all(",tissue," in r for r in rows)
    assert len(tiles_csv(res).strip().splitlines()) == res.tiles + 1
