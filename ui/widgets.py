"""Small widgets and text helpers the pages share."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.explain.metrics.verdict import FAITHFUL, NO_BETTER, WORSE, verdict_of
from core.modality import MODALITIES, get_modality
from ui import figures, state

ACCENT = "#0b6e82"


def modality_label(name: str) -> str:
    return get_modality(name).title


def modality_names() -> list[str]:
    return list(MODALITIES)


def modality_picker(key: str, container=st) -> str:
    """The modality switch the reviewer pages share; histopathology until one is chosen."""
    choice = container.segmented_control(
        "Modality",
        modality_names(),
        default="histo",
        format_func=modality_label,
        key=key,
    )
    return choice or "histo"


def show_error(exc: Exception) -> None:
    st.error(str(exc), icon=":material/error:")


def explanation_grid(
    analysis, model_input: np.ndarray, opacity: float, colorscale: str, key_prefix: str, per_row: int = 4
) -> None:
    """The maps of a ``CaseAnalysis`` side by side, each with its seconds and faithfulness."""
    labels = state.method_labels()
    items = list(analysis.methods.items())
    for start in range(0, len(items), per_row):
        cols = st.columns(per_row)
        for col, (name, result) in zip(cols, items[start : start + per_row]):
            e = result.explanation
            with col, st.container(border=True):
                st.markdown(f"**{labels.get(name, name)}**")
                st.plotly_chart(
                    figures.overlay_figure(model_input, e.heatmap, opacity, colorscale, show_scale=False, height=220),
                    key=f"{key_prefix}_{name}",
                    config={"displayModeBar": False},
                )
                v = verdict_of(result)
                badge = {
                    FAITHFUL: ":green-badge[faithful]",
                    NO_BETTER: ":orange-badge[no better than random]",
                    WORSE: ":red-badge[worse than random]",
                }[v.label]
                st.markdown(badge)
                st.caption(
                    f"{e.seconds:.2f} s · deletion AUC {fmt(result.deletion_auc)} "
                    f"(random {fmt(result.random_deletion_auc)}) · insertion AUC "
                    f"{fmt(result.insertion_auc)} (random {fmt(result.random_insertion_auc)})"
                )


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
