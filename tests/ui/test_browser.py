"""End to end in a real browser: the dashboard as ``make run`` starts it, driven by Debian's Chromium.

One server and one browser for the whole module (they are slow to start on two cores).
Screenshots go to ``artifacts/screenshots/`` (ignored by git); ``make screenshots`` copies
them over ``docs/screenshots/``, the pictures in the README, so a test run leaves the work
tree clean.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest
from conftest import DATA, ROOT, need

from bench import load  # the same server the load benchmark starts

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "screenshots"
TIMEOUT_MS = 180_000


def _need_chromium() -> str:
    return str(need(Path(CHROMIUM), f"Chromium not found at {CHROMIUM} (apt-get install chromium)"))


@contextlib.contextmanager
def streamlit_server(log_name: str = "streamlit.log"):
    """The dashboard as ``make run`` starts it, on a free loopback port (bench/load.py's server); yields its URL."""
    (ROOT / "artifacts").mkdir(exist_ok=True)
    server = load.Server(DATA, ROOT / "artifacts" / log_name)
    try:
        server.wait_ready()
    except RuntimeError as exc:  # it exited or never answered
        server.stop()
        pytest.fail(f"{exc}; see artifacts/{log_name}")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(histo_weights, mammo_weights, histo_dir, mammo_dir):
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    executable = _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    yield pg
    context.close()


def _screenshot(page, name: str) -> None:
    """Save the whole page: Streamlit scrolls inside its main section, so the viewport is
    stretched to that section's height for the shot."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _wait_idle(page)
    size = page.viewport_size
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return m ? m.scrollHeight : document.body.scrollHeight; }"
    )
    page.set_viewport_size({"width": size["width"], "height": int(min(max(height, size["height"]), 5000))})
    try:  # charts and tables draw lazily once visible
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')].every(e => e.querySelector('.main-svg'))"
            " && [...document.querySelectorAll('[data-testid=\"stDataFrame\"]')].every(e => e.querySelector('canvas'))"
            " && [...document.images].every(i => i.complete && i.naturalWidth > 0)"
            " && !document.querySelector('[data-testid=\"stSkeleton\"]')",
            timeout=30_000,
        )
    except Exception:  # a picture with a chart still drawing is better than none
        pass
    page.wait_for_timeout(1500)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def _wait_idle(page) -> None:
    """Wait until Streamlit has finished the current run (its status widget disappears)."""
    page.wait_for_timeout(500)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=TIMEOUT_MS)


def _analyse(page, url: str, image: Path, modality_title: str) -> str:
    page.goto(url)
    page.get_by_text("Upload a histopathology patch or a mammogram").wait_for()
    page.locator('input[type="file"]').set_input_files(str(image))
    radio = page.locator('[data-testid="stRadio"]').get_by_text(modality_title, exact=True)
    radio.wait_for()
    radio.click()
    _wait_idle(page)
    prediction = page.get_by_text(re.compile(r"^Prediction: .+ with probability")).first
    prediction.wait_for()
    from core.explain.methods import METHOD_LABELS
    from ui.state import FAST_METHODS

    for label in (METHOD_LABELS[m] for m in FAST_METHODS):  # every chosen method's tile
        page.locator(
            '[data-testid="stMarkdownContainer"] strong', has_text=re.compile(f"^{re.escape(label)}$")
        ).first.wait_for()
    page.get_by_text("Agreement between methods").wait_for()
    return prediction.inner_text()


def test_histopathology_patch_end_to_end(server, page, histo_dir, tmp_path):
    patch = sorted(histo_dir.glob("*/1/*.png"))[0]
    text = _analyse(page, server, patch, "Histopathology patch (H&E)")
    assert re.match(r"Prediction: (IDC|no IDC) with probability \d+\.\d%", text), text
    with page.expect_download() as info:
        page.get_by_role("button", name="Download report (HTML)").click()
    saved = tmp_path / "report.html"
    info.value.save_as(saved)
    report = saved.read_text()
    assert "BreastXAI case report" in report and "data:image/png;base64," in report
    assert patch.stem not in report  # the file name carries the patient id
    with page.expect_download() as info:
        page.get_by_role("button", name="Download report (PDF)").click()
    pdf = tmp_path / "report.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    _screenshot(page, "analyse")


def test_mammogram_crop_end_to_end(server, page, mammo_dir):
    crop = sorted((mammo_dir / "roi" / "malignant").glob("*.png"))[0]
    text = _analyse(page, server, crop, "Mammogram lesion")
    assert re.match(r"Prediction: (malignant|benign) with probability \d+\.\d%", text), text
    _screenshot(page, "analyse_mammogram")


@pytest.mark.parametrize(
    ("nav", "heading", "last", "name"),
    [
        ("Region", "Region analysis", "Every map explains the predicted class", "region"),
        ("Compare", "Compare methods", "Recompute here", "compare"),
        ("Metrics", "Metrics", "Why the numbers differ.", "metrics"),
        ("Gallery", "Gallery", "Open in Analyse", "gallery"),
        ("Model card / About", "Model card", "Software versions", "about"),
    ],
)
def test_page_renders(server, page, nav, heading, last, name):
    page.goto(server)
    page.get_by_text("Upload a histopathology patch or a mammogram").wait_for()
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=nav, exact=True).click()
    page.get_by_role("heading", name=heading).first.wait_for()
    page.get_by_text(last).first.wait_for()  # the page's last element: it ran to the end
    _wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    _screenshot(page, name)


@pytest.mark.parametrize(("path", "heading"), [("metrics", "Metrics"), ("region", "Region analysis")])
def test_deep_link_on_a_fresh_server_opens_the_routed_page(browser, histo_weights, mammo_weights, path, heading):
    """A first visit straight to a page's URL gets app.py's navigation and whole pictures."""
    with streamlit_server(f"streamlit-deep-link-{path}.log") as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        broken = []
        page.on("response", lambda r: broken.append(r.url) if "/media/" in r.url and r.status >= 400 else None)
        try:
            page.goto(f"{url}/{path}")
            page.get_by_role("heading", name=heading).first.wait_for()
            _wait_idle(page)
            nav = page.locator('[data-testid="stSidebarNav"]')
            nav.get_by_role("link", name="Model card / About", exact=True).wait_for(timeout=30_000)
            assert nav.get_by_role("link", name="shared").count() == 0
            assert nav.get_by_role("link", name="app").count() == 0
            assert page.locator('[data-testid="stException"]').count() == 0
            page.wait_for_timeout(1000)
            assert page.evaluate("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
            assert broken == []
        finally:
            context.close()


def _no_prediction(page) -> bool:
    return page.get_by_text(re.compile(r"^Prediction: .+ with probability")).count() == 0


def _tile(page, label: str):
    return page.locator('[data-testid="stMarkdownContainer"] strong', has_text=re.compile(f"^{re.escape(label)}$"))


def test_radiologist_film_flow_mark_by_click_then_by_box(server, page, cbis_films_dir):
    """A whole film gets no answer until its lesion is marked; a click and a box both mark it."""
    film = sorted((cbis_films_dir / "train").glob("*.jpg"))[0]
    page.goto(server)
    page.get_by_text("Upload a histopathology patch or a mammogram").wait_for()
    page.locator('input[type="file"]').set_input_files(str(film))
    radio = page.locator('[data-testid="stRadio"]').get_by_text("Mammogram lesion", exact=True)
    radio.wait_for()
    radio.click()
    _wait_idle(page)
    page.get_by_text("No lesion marked yet, so no prediction.").wait_for()
    assert _no_prediction(page)
    assert page.locator('[data-testid="stImage"]').count() == 0  # the film is shown once, in the marker
    drag = page.locator('[data-testid="stPlotlyChart"]').first.locator(".nsewdrag").first
    box = drag.bounding_box()
    # 1. a click on the lesion's centre marks it
    page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.45)
    page.get_by_text(re.compile(r"^Prediction: .+ with probability")).first.wait_for()
    _wait_idle(page)
    page.get_by_text("How far to trust this model").first.wait_for()
    page.get_by_text(re.compile(r"^Calibrated P\(malignant\)")).first.wait_for()
    _tile(page, "Grad-CAM").first.wait_for()
    square = page.get_by_text(re.compile(r"^Square \d+×\d+ px$")).first.inner_text()
    # 2. a box drawn around a (larger) lesion moves and resizes the square
    page.get_by_text("Draw a box", exact=True).first.click()
    _wait_idle(page)
    box = page.locator('[data-testid="stPlotlyChart"]').first.locator(".nsewdrag").first.bounding_box()
    page.wait_for_timeout(1500)  # the chart takes the box tool after its rerun has painted

    def drag_box() -> None:
        x0, y0 = box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.55
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move(x0 + box["width"] * 0.2, y0 + box["height"] * 0.2, steps=8)
        page.mouse.up()

    moved = (
        "(before) => [...document.querySelectorAll('[data-testid=\"stImageCaption\"], figcaption, p, div')]"
        ".some(e => /^Square \\d+×\\d+ px$/.test(e.textContent.trim()) && e.textContent.trim() !== before)"
    )
    drag_box()
    try:
        page.wait_for_function(moved, arg=square, timeout=30_000)
    except Exception:  # a drag that landed while the chart was still switching tools: once more
        _wait_idle(page)
        drag_box()
        page.wait_for_function(moved, arg=square)
    _wait_idle(page)
    assert not _no_prediction(page)
    _tile(page, "Grad-CAM").first.wait_for()
    _screenshot(page, "analyse_film")


def _large_he_region(histo_dir, tmp_path) -> Path:
    """A 3000×2000 px H&E JPEG: a real complete slide, rebuilt from its patches, on white."""
    import json

    import numpy as np
    from PIL import Image

    from core.model.card import WEIGHTS_DIR
    from core.region.mosaic import build_mosaic

    held_out = json.loads((WEIGHTS_DIR / "histo.json").read_text())["split"]["held_out"]
    slide = max((build_mosaic(str(histo_dir / p)).image for p in held_out), key=lambda a: a.shape[0] * a.shape[1])
    canvas = np.full((2000, 3000, 3), 255, np.uint8)
    h, w = min(2000, slide.shape[0]), min(3000, slide.shape[1])
    canvas[:h, :w] = slide[:h, :w]
    path = tmp_path / "region-3000x2000.jpg"
    Image.fromarray(canvas).save(path, quality=90)
    return path


def test_pathologist_large_image_flow_offered_region_with_legend_and_export(server, page, histo_dir, tmp_path):
    image = _large_he_region(histo_dir, tmp_path)
    page.goto(server)
    page.get_by_text("Upload a histopathology patch or a mammogram").wait_for()
    page.locator('input[type="file"]').set_input_files(str(image))
    page.get_by_text("This H&E image is 3000×2000 px").wait_for()
    _wait_idle(page)
    assert _no_prediction(page)  # never squashed into one 50×50 input
    page.get_by_role("button", name="Open this image in Region").click()
    page.get_by_role("heading", name="Region analysis").first.wait_for()
    page.get_by_text("sent here from Analyse").first.wait_for()
    page.get_by_text("P(IDC) colour key").first.wait_for()
    page.get_by_text("no data").first.wait_for()
    _wait_idle(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the map (PNG)").click()
    png = tmp_path / "map.png"
    info.value.save_as(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the flagged tiles (CSV)").click()
    csv = tmp_path / "tiles.csv"
    info.value.save_as(csv)
    assert csv.read_text().splitlines()[0] == "y,x,status,p_idc"
    assert page.locator('[data-testid="stException"]').count() == 0
    _screenshot(page, "region_upload")


def test_colour_bar_low_end_is_dark_on_screen_and_choices_made_while_computing_are_kept(server, page, histo_dir):
    import io

    import numpy as np
    from PIL import Image

    from core.explain.methods import METHOD_LABELS

    patch = sorted(histo_dir.glob("*/0/*.png"))[1]
    page.goto(server)
    page.get_by_text("Upload a histopathology patch or a mammogram").wait_for()
    page.locator('input[type="file"]').set_input_files(str(patch))
    select = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Methods").first
    select.locator("[data-tag]").first.wait_for()
    # add two methods while the default maps are still computing, then send them
    wanted = [METHOD_LABELS["smoothgrad"], METHOD_LABELS["occlusion"]]
    field = select.locator("input").first
    for label in wanted:
        field.click()
        field.fill(label)
        page.get_by_role("option", name=label, exact=True).first.click()
        page.keyboard.press("Escape")
    # the run that was computing finishes: the choices are still there, unsent
    _wait_idle(page)
    for label in wanted:
        assert select.locator(f'[data-tag][aria-label="{label}"]').count() == 1, label
    page.get_by_role("button", name="Explain", exact=True).click()
    for label in wanted:
        _tile(page, label).first.wait_for()
    _wait_idle(page)
    for label in wanted:
        assert select.locator(f'[data-tag][aria-label="{label}"]').count() == 1
    # the Inferno bar (the default colour map) as the browser paints it: black at 0, yellow at 1
    bar = page.locator('[data-testid="stImage"]').filter(has_text="importance: 0 least").first.locator("img")
    shot = np.asarray(Image.open(io.BytesIO(bar.screenshot())).convert("RGB"), np.float32)
    coloured = np.flatnonzero((np.abs(shot - 255).sum(axis=2) > 30).any(axis=0))
    row = shot[: shot.shape[0] // 3].reshape(-1, shot.shape[1], 3)  # the bar sits at the top
    band = row[:, coloured[0] : coloured[-1] + 1]
    left = band[:, : max(1, band.shape[1] // 12)].reshape(-1, 3)
    right = band[:, -max(1, band.shape[1] // 30) :].reshape(-1, 3)
    dark = left[(np.abs(left - 255).sum(axis=1) > 30)]  # ignore any white gaps between pixels
    assert dark.mean() < 60, dark.mean(axis=0)  # near-black, not pink or white
    assert right[:, 0].max() > 200 and right[:, 1].max() > 180  # bright yellow
