"""Every page under Streamlit's AppTest, and the small helpers the pages rely on.

Pages run against the shipped weights (``weights/``) and the real data sets; the Analyse
flow goes through the real ``file_uploader`` with a real patch.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA, ROOT, app_test

from core.evaluate.paper import PAPER_CLAIMED, comparison_table
from core.imaging.guess import guess_modality
from core.imaging.lesion import (
    BOX_SCALE,
    MIN_SIDE_FRACTION,
    crop_region,
    looks_like_whole_film,
    region_from_box,
    region_from_click,
)
from core.model.card import read_card, weights_path

APP = str(ROOT / "app.py")
TIMEOUT = 120


@pytest.fixture(autouse=True)
def _data_env(monkeypatch):
    monkeypatch.setenv("BREASTXAI_DATA", str(DATA))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")


def _app(page: str = "analyse"):
    return app_test(page, TIMEOUT).run()


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _tile_titles(at) -> list[str]:
    """The bold method names that head the map tiles (each followed by its verdict badge)."""
    return [m.value.split("  \n", 1)[0] for m in at.markdown if "-badge[" in m.value]


def _press(at, label: str):
    """The button (or form submit button) with this label, clicked (not yet run)."""
    return next(b for b in at.button if b.label == label).click()


def _png(path) -> bytes:
    return path.read_bytes()


# --- pages ------------------------------------------------------------------------------------


def test_analyse_opens_with_one_sentence_and_an_uploader():
    at = _app()
    _ok(at)
    assert at.title[0].value == "Analyse an image"
    assert "Upload a histopathology patch or a mammogram" in at.markdown[0].value
    assert len(at.file_uploader) == 1


def test_analyse_histo_patch_flow(histo_weights, histo_dir, monkeypatch):
    import streamlit as st

    import ui.state

    st.cache_data.clear()  # other tests in this process may have explained the same patch
    calls = []
    real = ui.state.explain_one
    monkeypatch.setattr(ui.state, "explain_one", lambda *a, **k: calls.append(a[1].name) or real(*a, **k))

    patch = sorted(histo_dir.glob("*/1/*.png"))[0]
    at = _app()
    at.file_uploader[0].upload(patch.name, _png(patch), "image/png").run()
    _ok(at)
    assert at.radio[0].value == "histo"  # suggested from the stain colour
    assert not at.warning
    text = " ".join(m.value for m in at.markdown)
    assert "Prediction: **" in text and ("**IDC**" in text or "**no IDC**" in text)
    assert "Calibrated P(IDC) = **" in text  # beside the answer, from the card's calibration
    assert any("fitted on" in c.value and "validation images" in c.value for c in at.caption)
    # a choice in the methods form reruns nothing until it is sent
    at.multiselect(key="methods").set_value(["gradcam", "smoothgrad"]).run()
    assert "**SmoothGrad**" not in _tile_titles(at)
    at.multiselect(key="methods").set_value(["gradcam", "smoothgrad"])
    _press(at, "Explain").run()
    _ok(at)
    tiles = _tile_titles(at)
    assert "**Grad-CAM**" in tiles and "**SmoothGrad**" in tiles and "**Saliency**" not in tiles
    assert any("deletion AUC" in c.value for c in at.caption)
    assert [d.label for d in at.get("download_button")] == ["Download report (HTML)", "Download report (PDF)"]
    # the two methods' agreement, drawn as pictures with their meaning underneath
    captions = [c for el in at.image for c in el.captions]
    assert any(c.startswith("Spearman rank correlation") for c in captions)
    assert any(c.startswith("Share of the top-10% pixels") for c in captions)
    # the zoom: one map beside the original, two panels whose axes move together
    import json as _json

    assert not any(_json.loads(c.proto.spec)["layout"].get("xaxis2") for c in at.get("plotly_chart"))  # off
    at.toggle(key="zoom_on").set_value(True).run()
    _ok(at)
    specs = [_json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    zoom = next(s for s in specs if s["layout"].get("xaxis2"))
    assert zoom["layout"]["xaxis2"]["matches"] == "x" and zoom["layout"]["yaxis2"]["matches"] == "y"
    assert [t["type"] for t in zoom["data"]] == ["image", "image", "heatmap"]
    n = len(calls)
    assert n >= 2
    # display settings never recompute an explanation
    at.slider(key="opacity").set_value(0.8).run()
    at.selectbox(key="colormap").set_value("Viridis").run()
    _ok(at)
    assert len(calls) == n


def test_analyse_warns_when_modality_looks_wrong(mammo_weights, histo_weights, mammo_dir):
    crop = sorted((mammo_dir / "roi" / "benign").glob("*.png"))[0]
    at = _app()
    at.file_uploader[0].upload(crop.name, _png(crop), "image/png").run()
    _ok(at)
    assert at.radio[0].value == "mammo"
    at.radio[0].set_value("histo").run()
    _ok(at)
    assert any("Check the modality" in w.value for w in at.warning)
    # no headline answer on the wrong kind of image until the user says so
    assert not any(m.value.startswith("Prediction:") for m in at.markdown)
    at.checkbox[0].check().run()
    _ok(at)
    # past the modality check; this grey crop is larger than a patch, so it is offered Region
    assert any("not shrunk into one input" in w.value for w in at.warning)


def _he_region(height: int, width: int) -> bytes:
    """An H&E-coloured JPEG larger than a patch (pink stroma, purple nuclei)."""
    import io

    from PIL import Image

    rng = np.random.default_rng(0)
    img = np.empty((height, width, 3), np.float32)
    img[:] = (0.86, 0.55, 0.72)
    nuclei = rng.random((height, width)) < 0.15
    img[nuclei] = (0.45, 0.25, 0.60)
    buf = io.BytesIO()
    Image.fromarray((img * 255).astype(np.uint8)).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def test_a_large_he_image_is_never_squashed_into_one_input(histo_weights):
    at = _app()
    at.file_uploader[0].upload("region.jpg", _he_region(200, 300), "image/jpeg").run()
    _ok(at)
    assert at.radio[0].value == "histo"
    assert any("300×200 px" in w.value for w in at.warning)
    assert not any(m.value.startswith("Prediction:") for m in at.markdown)
    assert any(b.label == "Open this image in Region" for b in at.button)
    at.toggle(key=next(t.key for t in at.toggle if t.label.startswith("Pick a 50×50 patch"))).set_value(True).run()
    _ok(at)
    assert any(m.value.startswith("Prediction:") for m in at.markdown)


def test_large_he_image_handed_to_region(histo_weights):
    at = _app()
    at.file_uploader[0].upload("region.jpg", _he_region(200, 300), "image/jpeg").run()
    next(b for b in at.button if b.label == "Open this image in Region").click().run()
    _ok(at)
    assert at.title[0].value == "Region analysis"
    assert any("sent here from Analyse" in i.value for i in at.info)
    assert any(m.label == "Tissue tiles" for m in at.metric)


def _slide_png(histo_dir, zoom: int) -> bytes:
    """A real complete slide's corner, rebuilt from its patches and enlarged ``zoom`` times."""
    import io
    import json

    from PIL import Image

    from core.model.card import WEIGHTS_DIR
    from core.region.mosaic import build_mosaic

    held_out = json.loads((WEIGHTS_DIR / "histo.json").read_text())["split"]["held_out"]
    image = build_mosaic(str(histo_dir / held_out[0])).image
    grey = image.mean(axis=2)
    # the 300×300 window with the most tissue (darkest), on a 50-px grid
    _, y, x = min(
        (grey[y : y + 300, x : x + 300].mean(), y, x)
        for y in range(0, image.shape[0] - 299, 50)
        for x in range(0, image.shape[1] - 299, 50)
    )
    part = image[y : y + 300, x : x + 300]
    pic = Image.fromarray(part).resize((300 * zoom, 300 * zoom), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    pic.save(buf, format="PNG")
    return buf.getvalue()


def test_region_resamples_to_the_stated_scale_and_warns_on_enlarged_tissue(histo_weights, histo_dir):
    at = _app("region")
    at.radio(key="region_source").set_value("Upload a region image").run()
    at.file_uploader[0].upload("enlarged.png", _slide_png(histo_dir, 2), "image/png").run()
    _ok(at)
    assert any("Check the scale" in w.value and "larger" in w.value for w in at.warning)
    scale = next(n for n in at.number_input if n.label.startswith("Scale of this image"))
    assert scale.value == 4.0
    scale.set_value(2.0).run()  # its true scale: the page shrinks it back to the model's
    _ok(at)
    assert not any("Check the scale" in w.value for w in at.warning)
    assert any("resampled to 300×300 px" in c.value for c in at.caption)
    assert any(m.label == "Tissue tiles" for m in at.metric)


def test_analyse_whole_film_gives_no_answer_until_the_lesion_is_marked(mammo_weights, mammo_dir):
    film = sorted((mammo_dir / "images" / "malignant").glob("*.png"))[0]
    at = _app()
    at.file_uploader[0].upload(film.name, _png(film), "image/png").run()
    _ok(at)
    assert at.toggle[0].value is True  # 512 px: a whole film
    assert not any(m.value.startswith("Prediction:") for m in at.markdown)
    assert any("No lesion marked yet" in i.value for i in at.info)
    # a click on the film (as the chart reports it) marks the lesion's centre
    import hashlib

    key = f"roi_chart_{hashlib.sha256(_png(film)).hexdigest()[:16]}"
    at.session_state[key] = {"selection": {"points": [{"x": 300, "y": 200}], "box": []}}
    at.run()
    _ok(at)
    assert next(s for s in at.slider if s.label == "Centre x (px)").value == 300
    assert any(m.value.startswith("Prediction:") for m in at.markdown)
    # a drawn box moves it and sets the lesion's size
    at.session_state[key] = {"selection": {"points": [], "box": [{"x": [100, 160], "y": [120, 150]}]}}
    at.run()
    _ok(at)
    assert next(s for s in at.slider if s.label == "Centre x (px)").value == 130
    assert next(s for s in at.slider if s.label.startswith("Lesion size")).value == 60
    # the marked box is known inside the crop: every map says how much of it falls there
    assert any(c.value.startswith("In the lesion box:") for c in at.caption)


def test_analyse_rejects_a_broken_file_and_stays_usable():
    at = _app()
    at.file_uploader[0].upload("scan.png", b"not an image at all", "image/png").run()
    _ok(at)
    assert at.error and "Upload a PNG, JPEG, TIFF or DICOM" in at.error[0].value
    assert len(at.file_uploader) == 1


def test_metrics_page_threshold_updates_operating_point(histo_weights):
    at = _app("metrics")
    _ok(at)
    assert at.title[0].value == "Metrics"
    card = read_card(weights_path("histo"))
    headline = {m.label: m.value for m in at.metric}
    assert headline["Accuracy"] == f"{card['test_metrics']['accuracy']:.3f}"
    at.slider(key="threshold").set_value(0.0).run()  # everything called positive
    _ok(at)
    low = {m.label: m.value for m in at.metric[-4:]}
    assert set(low) == {"Sensitivity", "Specificity", "PPV (precision)", "NPV"}
    assert (low["Sensitivity"], low["Specificity"], low["NPV"]) == ("1.000", "0.000", "–")
    at.slider(key="threshold").set_value(1.0).run()  # (almost) nothing called positive
    high = {m.label: m.value for m in at.metric[-4:]}
    assert high["Specificity"] == "1.000" and high["Sensitivity"] != "1.000"
    tables = [d.value for d in at.dataframe]
    paper = next(t for t in tables if "Model" in t.columns)
    assert list(paper["Model"])[0] == "Paper's CNN (claimed)" and len(paper) >= 2


def test_metrics_page_mammo(mammo_weights):
    at = _app("metrics")
    at.segmented_control(key="metrics_modality").set_value("mammo").run()
    _ok(at)
    assert any(m.label == "AUC" for m in at.metric)
    # the reliability curve before and after the card's calibration, and how it was fitted
    import json as _json

    specs = [_json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any([t.get("name") for t in s["data"]][:2] == ["model", "calibrated"] for s in specs)
    assert any("fitted on" in c.value and "validation" in c.value for c in at.caption)


def test_gallery_filters_and_opens_in_analyse(histo_weights, histo_dir):
    at = _app("gallery")
    _ok(at)
    assert at.button and at.button[0].label == "Open in Analyse"
    at.segmented_control(key="gallery_outcome").set_value("wrong").run()
    _ok(at)
    at.button[0].click().run()
    _ok(at)
    assert at.title[0].value == "Analyse an image"
    assert any("from the gallery" in i.value for i in at.info)
    assert any(m.value.startswith("Prediction:") for m in at.markdown)


def test_compare_page_renders(histo_weights):
    at = _app("compare")
    _ok(at)
    assert at.title[0].value == "Compare methods"
    shipped = weights_path("histo").with_suffix(".compare.json").exists()
    assert bool(at.get("plotly_chart")) == shipped


def _batch_folder(root, modality="histo"):
    """A small batch result folder (two patients, two methods with maps), written by the store."""
    from core.batch.store import ResultStore
    from core.batch.worker import columns

    card = read_card(weights_path(modality))
    manifest = {"modality": modality, "weights_sha256": card["weights"]["sha256"], "seed": 0, "steps": 50}
    store = ResultStore(root / "cohort-a", manifest)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(8):
        patient, label, p = f"p{i % 2}", int(i % 3 == 0), float(rng.random())
        for method in ("gradcam", "ig"):
            rows.append(
                {
                    "image_id": f"img{i}", "patient_id": patient, "label": label, "path": f"/d/{patient}/{label}/img{i}.png",
                    "probability": p, "predicted": int(p >= 0.5), "method": method, "deletion_auc": 0.3,
                    "insertion_auc": 0.6 + 0.01 * i, "random_deletion_auc": 0.5, "random_insertion_auc": 0.5,
                    "seconds": 0.01, "case_seconds": 0.1, "error": "",
                    "map": rng.random((50, 50)).astype(np.float32), "signed": method == "ig",
                }
            )  # fmt: skip
    store.add(columns(rows, (50, 50)))
    store.flush()
    return root / "cohort-a"


def test_compare_and_metrics_open_a_batch_folder(histo_weights, tmp_path, monkeypatch):
    from ui.widgets import OWN_FOLDER

    folder = _batch_folder(tmp_path)
    monkeypatch.setenv("BREASTXAI_RESULTS", str(tmp_path))
    at = _app("compare")
    at.selectbox(key="compare_source_histo").set_value(str(folder)).run()
    _ok(at)
    assert any("8 images from batch run 'cohort-a'" in c.value for c in at.caption)
    assert "Agreement (mean over images)" in [h.value for h in at.subheader]  # the run kept its maps
    summary = next(d.value for d in at.dataframe if "Median insertion AUC" in d.value.columns)
    assert summary["Method"].tolist() == ["Grad-CAM", "Integrated Gradients"]
    assert summary["Median insertion AUC"].iloc[0] == pytest.approx(0.635)

    at = _app("metrics")
    at.selectbox(key="metrics_source_histo").set_value(str(folder)).run()
    _ok(at)
    assert "Headline (batch run 'cohort-a')" in [h.value for h in at.subheader]
    assert any("8 images from 2 patients" in c.value for c in at.caption)
    patients = next(d.value for d in at.dataframe if "mean_probability" in d.value.columns)
    assert patients["patient"].tolist() == ["p0", "p1"]

    # a folder that is not a batch run is said to be one, with no traceback
    at.selectbox(key="metrics_source_histo").set_value(OWN_FOLDER).run()
    at.text_input(key="metrics_source_histo_path").input(str(tmp_path / "nothing")).run()
    _ok(at)
    assert any("not a batch result folder" in e.value for e in at.error)


def test_about_page_shows_card_facts(histo_weights):
    at = _app("about")
    _ok(at)
    card = read_card(weights_path("histo"))
    assert any(c.value == card["weights"]["sha256"] for c in at.code)
    notes = [w.value for w in at.warning if "medical device" in w.value.lower()]
    assert len(notes) == 1 and notes[0].lower().count("medical device") == 1  # said once, not twice
    training = at.table[0].value
    assert "{" not in training.to_string()  # readable settings, no raw Python dicts
    assert all(len(v.split(".")[-1]) <= 4 for v in training["Value"] if v.replace(".", "").isdigit())


# --- helpers the pages rely on -------------------------------------------------------------


def test_modality_guess_on_real_images(histo_dir, mammo_dir):
    patches = sorted(histo_dir.glob("*/1/*.png"))[:20]
    from core.imaging.decode import read_image

    guesses = [guess_modality(read_image(str(p), min_side=1).pixels).modality for p in patches]
    assert guesses.count("histo") >= 18
    films = sorted((mammo_dir / "images").glob("*/*.png"))[:5] + sorted((mammo_dir / "roi").glob("*/*.png"))[:5]
    assert all(guess_modality(read_image(str(p)).pixels).modality == "mammo" for p in films)


def test_modality_guess_edge_cases():
    green = np.zeros((40, 40, 3), np.float32)
    green[..., 1] = 0.8
    assert guess_modality(green).modality is None
    assert guess_modality(np.ones((40, 40, 1), np.float32)).modality is None  # blank
    rgb_grey = np.repeat(np.linspace(0, 1, 1600, dtype=np.float32).reshape(40, 40, 1), 3, axis=2)
    assert guess_modality(rgb_grey).modality == "mammo"


def test_box_and_click_follow_the_training_framing():
    r = region_from_box(100, 200, 340, 260, 800, 800)  # a 240 × 60 px box
    assert (r.cx, r.cy) == (220, 230) and r.side == BOX_SCALE * 240
    small = region_from_click(10, 10, 20, 800, 800)
    assert small.side == MIN_SIDE_FRACTION * 800  # never below the training minimum
    assert region_from_click(-5, 900, 20, 800, 800).cx == 0
    film = np.arange(800 * 800, dtype=np.float32).reshape(800, 800, 1)
    crop = crop_region(film, region_from_click(400, 400, 200, 800, 800))
    assert crop.shape == (300, 300, 1) and crop[150, 150, 0] == film[400, 400, 0]
    edge = crop_region(film, region_from_click(5, 795, 20, 800, 800))  # shifted inside, not padded
    assert edge.shape == (160, 160, 1) and edge[0, 0, 0] == film[640, 0, 0] and edge.min() == film[640:, :160].min()
    assert looks_like_whole_film(512, 512) and not looks_like_whole_film(128, 128)


def test_paper_table_reads_our_rows_from_the_card():
    card = {
        "weights": {"sha256": "f" * 64},
        "test_metrics": {"accuracy": 0.8, "f1": 0.7, "auc": 0.9, "n": 10},
        "paper_protocol": {"test_metrics": {"accuracy": 0.95, "f1": 0.9, "auc": 0.97, "n": 12}},
    }
    rows = comparison_table("histo", card)
    assert rows[0] is PAPER_CLAIMED["histo"] and rows[0].accuracy == 0.974
    assert [r.accuracy for r in rows[1:]] == [0.8, 0.95]
    assert len(comparison_table("mammo", {})) == 1


def test_metrics_paper_row_says_not_stated_instead_of_none(histo_weights):
    at = _app("metrics")
    _ok(at)
    table = next(d.value for d in at.dataframe if "Test images" in d.value.columns)
    assert "None" not in table["Test images"].astype(str).tolist()
    assert "not stated" in table["Test images"].astype(str).tolist()


def test_gallery_probability_names_its_class(histo_weights, histo_dir):
    at = _app("gallery")
    at.segmented_control(key="gallery_outcome").set_value("correct").run()  # scored examples only
    _ok(at)
    shown = [c.value for c in at.caption if "P(" in c.value]
    assert shown and all("P(IDC) = " in c for c in shown)


def test_colour_scales_are_drawn_from_the_maps_own_table():
    from core.imaging.pictures import colormap_lut, colour_key
    from ui.figures import zoom_pair

    key = colour_key("Inferno", width=300, bar=10)
    strip = key[5, 14 : 300 - 14]  # the bar, between its margins
    lut = (colormap_lut("Inferno", 300 - 28) * 255).round()
    assert np.array_equal(strip, lut.astype(np.uint8))
    assert strip[0].max() < 10 and strip[-1][0] > 200  # Inferno starts near black, ends yellow
    fig = zoom_pair(np.zeros((4, 4, 3), np.float32), np.zeros((4, 4)), 0.5, "Inferno")
    stops = fig.data[2].colorscale
    first = [int(v) for v in stops[0][1][4:-1].split(",")]
    assert stops[0][0] == 0 and stops[-1][0] == 1 and max(first) < 10


def test_all_methods_in_one_click_and_the_other_class_on_demand(histo_weights, histo_dir):
    patch = sorted(histo_dir.glob("*/1/*.png"))[0]
    at = _app()
    at.file_uploader[0].upload(patch.name, _png(patch), "image/png").run()
    next(b for b in at.button if b.label == "All methods").click().run()
    _ok(at)
    from core.explain.methods import METHODS

    assert at.multiselect(key="methods").value == list(METHODS)
    radio = next(r for r in at.radio if r.label == "Explain the class")
    radio.set_value(radio.options[1]).run()
    _ok(at)
    assert any("not the prediction" in c.value for c in at.caption)


def test_changing_one_methods_setting_recomputes_only_that_method(histo_weights, histo_dir, monkeypatch):
    import streamlit as st

    import ui.state

    st.cache_data.clear()
    calls = []
    real = ui.state.explain_one
    monkeypatch.setattr(ui.state, "explain_one", lambda *a, **k: calls.append(a[1].name) or real(*a, **k))
    patch = sorted(histo_dir.glob("*/0/*.png"))[3]
    at = _app()
    at.file_uploader[0].upload(patch.name, _png(patch), "image/png").run()
    at.multiselect(key="methods").set_value(["gradcam", "ig"])
    _press(at, "Explain").run()
    _ok(at)
    before = list(calls)
    assert not at.select_slider  # the settings stay hidden until asked for
    at.toggle(key="methods_settings_on").set_value(True).run()
    assert not at.warning and not at.exception
    at.select_slider(key="set_ig_steps").set_value(16)
    _press(at, "Explain").run()
    _ok(at)
    assert calls[len(before) :] == ["ig"]  # Grad-CAM's map is reused, IG is computed with 16 points
    # hidden again, the changed setting still applies: nothing is computed again
    at.toggle(key="methods_settings_on").set_value(False).run()
    _press(at, "Explain").run()
    _ok(at)
    assert calls[len(before) :] == ["ig"]
    at.toggle(key="methods_settings_on").set_value(True).run()
    assert at.select_slider(key="set_ig_steps").value == 16  # and shows itself again


def test_signed_maps_keep_the_sign_scaled_to_the_largest():
    from core.imaging.pictures import signed_overlay
    from ui.widgets import signed_map

    a = np.array([[2.0, -4.0], [0.0, 1.0]], np.float32)
    assert signed_map(a).tolist() == [[0.5, -1.0], [0.0, 0.25]]
    assert signed_map(np.zeros((2, 2))).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    rgb = signed_overlay(np.zeros((2, 2, 3), np.float32), signed_map(a), 1.0)
    assert rgb[0, 1, 2] > rgb[0, 1, 0] + 0.2  # −1: blue, against the class
    assert rgb[1, 1, 0] > rgb[1, 1, 2]  # +0.25: reddish, for it
    assert np.allclose(rgb[1, 0], rgb[1, 0].mean(), atol=0.03) and rgb[1, 0].mean() > 0.9  # 0: white


def test_an_unlike_input_is_flagged_beside_its_answer(histo_weights):
    import io

    from PIL import Image

    green = np.zeros((50, 50, 3), np.uint8)
    green[..., 1], green[..., 2] = 180, 50
    buf = io.BytesIO()
    Image.fromarray(green).save(buf, format="PNG")
    at = _app()
    at.file_uploader[0].upload("leaf.png", buf.getvalue(), "image/png").run()
    if at.radio[0].value != "histo":
        at.radio[0].set_value("histo").run()
    at.checkbox[0].check().run()  # past the modality check, on purpose
    _ok(at)
    assert any(m.value.startswith("Prediction:") for m in at.markdown)
    assert any("Outside what this model was trained on" in w.value for w in at.warning)


def test_a_slow_run_draws_each_map_once_in_its_place(histo_weights, histo_dir, monkeypatch):
    """Maps that arrive one by one fill their own tiles; none is drawn again at the end."""
    import ui.widgets

    monkeypatch.setattr(ui.state, "_will_wait", lambda *a: True)  # as with a full work queue
    drawn: list[str] = []
    real = ui.widgets.explanation_tile
    monkeypatch.setattr(ui.widgets, "explanation_tile", lambda name, *a, **k: drawn.append(name) or real(name, *a, **k))
    patch = sorted(histo_dir.glob("*/0/*.png"))[3]
    at = _app()
    at.file_uploader[0].upload(patch.name, _png(patch), "image/png").run()
    _ok(at)
    shown = _tile_titles(at)
    assert len(shown) == len(ui.state.FAST_METHODS) and len(set(shown)) == len(shown)
    assert sorted(drawn) == sorted(ui.state.FAST_METHODS)  # each once
    drawn.clear()
    at.slider(key="opacity").set_value(0.8).run()  # a repaint draws each tile once more, from the cache
    _ok(at)
    assert sorted(drawn) == sorted(ui.state.FAST_METHODS)
