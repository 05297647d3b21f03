"""Where the app finds things: the repository root, the configured data and results folders."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path | None:
    """The data folder: ``$BREASTXAI_DATA``, else ``../shared/data`` beside the repo, if it exists."""
    env = os.environ.get("BREASTXAI_DATA")
    path = Path(env) if env else ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


def _data_folder(*parts: str) -> Path | None:
    d = data_dir()
    p = d.joinpath(*parts) if d else None
    return p if p is not None and p.is_dir() else None


def histo_root() -> Path | None:
    return _data_folder("histo", "IDC_regular_ps50_idx5")


def mammo_root() -> Path | None:
    """The mammography data the app shows: CBIS-DDSM mass films, else mini-MIAS."""
    return _data_folder("mammo", "cbis_ddsm_mass") or _data_folder("mammo", "mini_mias")


def mammo_external_root() -> Path | None:
    return _data_folder("mammo", "mini_mias")


def results_dir() -> Path:
    """Where the pages look for batch result folders: ``$BREASTXAI_RESULTS``, else ``artifacts/batch``.

    Each folder of ``python -m core.batch --out`` under it (or the folder itself) can be
    opened on the Compare and Metrics pages; any other folder can be typed in there.
    """
    env = os.environ.get("BREASTXAI_RESULTS")
    return Path(env) if env else ROOT / "artifacts" / "batch"
