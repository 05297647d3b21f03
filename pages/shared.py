"""Cached loaders and small view helpers shared by the pages.

Models and explainers are loaded once per server with ``st.cache_resource`` (one object
shared by every session; never mutated). Per-image results are cached with
``st.cache_data`` under the image's SHA-256 and the settings that change them, so moving
an opacity slider or picking another colour map never runs the model again. Nothing heavy
happens at import: TensorFlow loads on the first prediction.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.errors import BreastXAIError, WeightsError
from core.modality import MODALITIES, Modality, get_modality
from core.model_card import eval_path, read_card, read_json, weights_path

ROOT = Path(__file__).resolve().parent.parent
FAST_METHODS = ("gradcam", "gradcampp", "ig", "saliency")
ACCENT = "#0b6e82"


# ---------------------------------------------------------------------------------------
# routing


def route_through_app() -> None:
    """Send a page that Streamlit ran on its own back through ``app.py``'s router.

    Until ``st.navigation`` has run once in a server process, Streamlit treats a folder
    named ``pages/`` as an old-style multipage app: a first visit straight to a deep link
    such as ``/metrics`` runs ``pages/metrics.py`` by itself, under a page list built from
    the folder. Clearing that mode and rerunning lets ``app.py`` route the same URL (its
    pages have the same URL paths) with the real navigation. Called first by every page.
    """
    from streamlit import config
    from streamlit.runtime.pages_manager import PagesManager

    # AppTest resets this mode before each of its runs and runs pages directly by design.
    if PagesManager.uses_pages_directory and not config.get_option("global.appTest"):
        PagesManager.uses_pages_directory = False
        st.rerun()


# ---------------------------------------------------------------------------------------
# where things are


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
    return _data_folder("mammo", "mini_mias")


def modality_label(name: str) -> str:
    return get_modality(name).title


def modality_names() -> list[str]:
    return list(MODALITIES)


def modality_picker(key: str, container=st) -> str:
    """The modality switch the reviewer pages share; histopathology until one is chosen."""
    choice = container.segmented_control(
        "Modality", modality_names(), default="histo", format_func=modality_label, key=key,
    )
    return choice or "histo"


# ---------------------------------------------------------------------------------------
# cached loaders


@st.cache_resource(show_spinner="Loading the model…")
def load_classifier(modality: str):
    """The shipped model for ``modality``, its SHA-256 checked against its card."""
    from core.predict import Classifier

    return Classifier.load(modality)


@st.cache_resource(show_spinner="Preparing the explanation methods…")
def load_explainers(modality: str, methods: tuple[str, ...]) -> dict:
    from core.analysis import build_explainers

    return build_explainers(load_classifier(modality), methods)


@st.cache_data(show_spinner=False)
def load_card(modality: str) -> dict | None:
    try:
        return read_card(weights_path(modality))
    except WeightsError:
        return None


@st.cache_data(show_spinner=False)
def load_eval(modality: str) -> dict | None:
    try:
        return read_json(eval_path(weights_path(modality)))
    except WeightsError:
        return None


def compare_path(modality: str) -> Path:
    return weights_path(modality).with_suffix(".compare.json")


@st.cache_data(show_spinner=False)
def load_compare(modality: str, _mtime: float = 0.0) -> dict | None:
    try:
        return read_json(compare_path(modality))
    except WeightsError:
        return None


def method_labels() -> dict[str, str]:
    """Method name → display label, in the engine's order."""
    from core.explainers import METHOD_LABELS, METHODS

    return {name: METHOD_LABELS.get(name, name) for name in METHODS}


def image_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@st.cache_data(show_spinner=False, max_entries=32)
def decode(data: bytes, filename: str | None):
    from core.decode import decode_image

    return decode_image(data, filename)


@st.cache_data(show_spinner=False, max_entries=64)
def predict(modality: str, key: str, _model_input: np.ndarray):
    """The prediction for one model input; ``key`` identifies the input (image hash + region)."""
    return load_classifier(modality).predict_image(_model_input)


@st.cache_data(show_spinner=False, max_entries=64)
def explain_method(modality: str, key: str, method: str, seed: int, _model_input: np.ndarray):
    """One method's explanation and faithfulness scores for one model input (cached)."""
    from core.analysis import analyse

    classifier = load_classifier(modality)
    explainers = load_explainers(modality, (method,))
    return analyse(classifier, _model_input, [method], seed=seed, explainers=explainers)


def run_analysis(modality: str, key: str, model_input: np.ndarray, methods: list[str], seed: int = 0):
    """Every chosen method, one at a time with a progress bar, then their agreement.

    Each method is cached on its own, so adding a method to the selection computes only
    that method, and a rerun with the same image and settings computes nothing.
    Returns a ``core.analysis.CaseAnalysis``.
    """
    from core.analysis import CaseAnalysis

    labels = method_labels()
    results = {}
    bar = None
    for i, method in enumerate(methods):
        cached = _is_cached(modality, key, method, seed)
        if not cached and bar is None:
            bar = st.progress(0.0, text="Computing explanations…")
        if bar is not None:
            bar.progress(i / len(methods), text=f"Computing {labels.get(method, method)} ({i + 1} of {len(methods)})…")
        case = explain_method(modality, key, method, seed, model_input)
        results[method] = case.methods[method]
        _mark_cached(modality, key, method, seed)
    if bar is not None:
        bar.empty()
    agreement = agreement_of(tuple(methods), {m: results[m].explanation for m in methods}, seed)
    prediction = predict(modality, key, model_input)
    return CaseAnalysis(prediction=prediction, methods=results, agreement=agreement, seed=seed)


def agreement_of(methods: tuple[str, ...], explanations: dict, seed: int = 0):
    from core.agreement import agreement

    return agreement({m: explanations[m] for m in methods}, seed=seed)


def _is_cached(modality, key, method, seed) -> bool:
    return (modality, key, method, seed) in st.session_state.setdefault("_explained", set())


def _mark_cached(modality, key, method, seed) -> None:
    st.session_state.setdefault("_explained", set()).add((modality, key, method, seed))


# ---------------------------------------------------------------------------------------
# view helpers


def show_error(exc: Exception) -> None:
    st.error(str(exc), icon=":material/error:")


def overlay_figure(base: np.ndarray, heatmap: np.ndarray | None, opacity: float, colorscale: str,
                   show_scale: bool = False, height: int = 260, title: str | None = None) -> go.Figure:
    """The model input with a heatmap on top; hovering shows each pixel's value."""
    base = np.asarray(base, np.float32)
    rgb = np.repeat(base, 3, axis=2) if base.shape[2] == 1 else base
    fig = go.Figure(go.Image(z=(np.clip(rgb, 0, 1) * 255).astype(np.uint8), hoverinfo="skip"))
    if heatmap is not None:
        fig.add_trace(go.Heatmap(
            z=np.asarray(heatmap, np.float32), zmin=0.0, zmax=1.0, colorscale=colorscale, opacity=opacity,
            showscale=show_scale, hovertemplate="x %{x}, y %{y}<br>importance %{z:.2f}<extra></extra>",
            colorbar=dict(thickness=10, len=0.9, title=dict(text="importance", side="right")),
        ))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, scaleanchor="x", constrain="domain")
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=28 if title else 0, b=0), title=title)
    return fig


def explanation_grid(analysis, model_input: np.ndarray, opacity: float, colorscale: str, key_prefix: str, per_row: int = 4) -> None:
    """The maps of a ``CaseAnalysis`` side by side, each with its seconds and faithfulness."""
    labels = method_labels()
    items = list(analysis.methods.items())
    for start in range(0, len(items), per_row):
        cols = st.columns(per_row)
        for col, (name, result) in zip(cols, items[start : start + per_row]):
            e = result.explanation
            with col, st.container(border=True):
                st.markdown(f"**{labels.get(name, name)}**")
                st.plotly_chart(
                    overlay_figure(model_input, e.heatmap, opacity, colorscale, show_scale=False, height=220),
                    key=f"{key_prefix}_{name}", config={"displayModeBar": False},
                )
                st.caption(
                    f"{e.seconds:.2f} s · deletion AUC {fmt(result.deletion_auc)} "
                    f"(random {fmt(result.random_deletion_auc)}) · insertion AUC "
                    f"{fmt(result.insertion_auc)} (random {fmt(result.random_insertion_auc)})"
                )


def colour_bar(colorscale: str) -> go.Figure:
    """A thin horizontal bar of the shared colour scale, 0 to 1."""
    ramp = np.linspace(0.0, 1.0, 101)[None, :]
    fig = go.Figure(go.Heatmap(z=ramp, x=ramp[0], colorscale=colorscale, zmin=0, zmax=1, showscale=False,
                               hovertemplate="importance %{x:.2f}<extra></extra>"))
    fig.update_yaxes(visible=False)
    fig.update_xaxes(tickvals=[0, 0.25, 0.5, 0.75, 1], range=[0, 1], title=dict(text="importance: 0 least, 1 most", standoff=14))
    fig.update_layout(height=95, margin=dict(l=10, r=10, t=5, b=55))
    return fig


def matrix_figure(matrix: np.ndarray, labels: list[str], title: str, zmin: float = -1.0, zmax: float = 1.0,
                  colorscale: str = "RdBu", fmt: str = ".2f") -> go.Figure:
    fig = go.Figure(go.Heatmap(
        z=matrix, x=labels, y=labels, zmin=zmin, zmax=zmax, colorscale=colorscale,
        text=[[format(int(round(v)) if fmt == "d" else v, fmt) for v in row] for row in np.asarray(matrix, float)], texttemplate="%{text}",
        hovertemplate="%{y} vs %{x}: %{z:.2f}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=title, height=120 + 45 * len(labels), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def fmt(value, digits: int = 3, percent: bool = False) -> str:
    if value is None:
        return "–"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(v):
        return "–"
    return f"{v:.1%}" if percent else f"{v:.{digits}f}"


def missing_weights_message(modality: str) -> str:
    return (
        f"The {get_modality(modality).title.lower()} model is not installed: "
        f"weights/{modality}.keras and its card are missing. Train it with "
        f"`python -m core.train --modality {modality} --data DIR` and reload this page."
    )


__all__ = [
    "ACCENT",
    "BreastXAIError",
    "FAST_METHODS",
    "Modality",
    "ROOT",
    "compare_path",
    "data_dir",
    "decode",
    "fmt",
    "histo_root",
    "image_digest",
    "load_card",
    "load_classifier",
    "load_compare",
    "load_eval",
    "load_explainers",
    "mammo_root",
    "matrix_figure",
    "method_labels",
    "missing_weights_message",
    "modality_label",
    "modality_names",
    "modality_picker",
    "overlay_figure",
    "predict",
    "route_through_app",
    "run_analysis",
    "show_error",
]


if __name__ == "__main__":  # opened as a page of its own (see route_through_app)
    route_through_app()
