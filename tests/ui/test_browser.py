"""End to end in a real browser: ``streamlit run app.py`` driven by Debian's Chromium.

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
    """``streamlit run app.py`` on a free loopback port (bench/load.py's server); yields its URL."""
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
