"""Shared fixtures: where the real data sets are, and the tiny-settings switches.

Data-dependent tests use ``../shared/data`` (or ``$BREASTXAI_DATA``). Without it they skip
with a reason, except in CI (``CI=true``), where missing data is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.config import configure

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("BREASTXAI_DATA", ROOT.parent / "shared" / "data"))
HISTO_DIR = DATA / "histo" / "IDC_regular_ps50_idx5"
MAMMO_DIR = DATA / "mammo" / "mini_mias"
CBIS_DIR = DATA / "mammo" / "cbis_ddsm_csv"
CBIS_FILMS_DIR = DATA / "mammo" / "cbis_ddsm_mass"
WEIGHTS = ROOT / "weights"
# The app's background warm-up would compete with the tests for the CPU; tests start cold.
os.environ.setdefault("BREASTXAI_WARM_START", "0")

configure()  # the process-wide settings the app and the commands apply first (see core.config)


def need(path: Path, message: str | None = None) -> Path:
    """``path`` if it exists; else skip with ``message``, or fail in CI."""
    if path.exists():
        return path
    message = message or f"data set not found at {path} (set BREASTXAI_DATA or place ../shared/data beside the repo)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def histo_dir() -> Path:
    return need(HISTO_DIR)


@pytest.fixture(scope="session")
def mammo_dir() -> Path:
    return need(MAMMO_DIR)


@pytest.fixture(scope="session")
def cbis_dir() -> Path:
    return need(CBIS_DIR)


@pytest.fixture(scope="session")
def cbis_films_dir() -> Path:
    return need(CBIS_FILMS_DIR)


def _weights(modality: str) -> Path:
    path = WEIGHTS / f"{modality}.keras"
    return need(path, f"shipped weights {path.name} not found in weights/")


@pytest.fixture(scope="session")
def histo_weights() -> Path:
    return _weights("histo")


@pytest.fixture(scope="session")
def mammo_weights() -> Path:
    return _weights("mammo")


def _open_app(default: str) -> None:
    from app import main

    main(default=default)


def app_test(page: str = "analyse", timeout: float = 180):
    """The whole app, its real navigation included, opened on ``page`` (not yet run).

    Pages are functions handed to ``st.Page``, so AppTest cannot switch to them by file;
    the app itself opens on the page under test instead.
    """
    from streamlit.testing.v1 import AppTest

    return AppTest.from_function(_open_app, args=(page,), default_timeout=timeout)


PAGE_NAMES = ("analyse", "region", "compare", "metrics", "gallery", "about")
