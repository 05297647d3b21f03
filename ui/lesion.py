"""The lesion marker for whole mammograms: click the centre, draw a box, or use sliders."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.imaging.lesion import (
    SIDE_PER_RADIUS,
    LesionSquare,
    crop_region,
    default_radius,
    region_from_box,
    region_from_click,
)
from core.imaging.pictures import fit_within, to_png


def lesion_marker(film: np.ndarray, key: str) -> LesionSquare:
    """Let the user mark the lesion with a click, a box, or sliders; return the LesionSquare."""
    h, w = film.shape[:2]
    kx, ky, kr, kchart, kseen = (f"roi_{n}_{key}" for n in ("x", "y", "r", "chart", "seen"))
    st.session_state.setdefault(kx, w // 2)
    st.session_state.setdefault(ky, h // 2)
    st.session_state.setdefault(kr, int(round(default_radius(h, w))))
    event = st.session_state.get(kchart)
    selection = (event or {}).get("selection") if isinstance(event, dict) or hasattr(event, "get") else None
    if selection:
        signature = json.dumps({"b": selection.get("box"), "p": selection.get("points")}, sort_keys=True, default=str)
        if signature != st.session_state.get(kseen):
            st.session_state[kseen] = signature
            boxes, points = selection.get("box") or [], selection.get("points") or []
            if boxes:
                b = boxes[-1]
                region = region_from_box(b["x"][0], b["y"][0], b["x"][1], b["y"][1], h, w)
                st.session_state[kx], st.session_state[ky] = int(region.cx), int(region.cy)
                st.session_state[kr] = max(1, int(round(region.side / SIDE_PER_RADIUS)))
            elif points:
                st.session_state[kx] = int(np.clip(points[-1]["x"], 0, w - 1))
                st.session_state[ky] = int(np.clip(points[-1]["y"], 0, h - 1))
    region = region_from_click(st.session_state[kx], st.session_state[ky], st.session_state[kr], h, w)

    display = fit_within(film, 640)
    k = display.shape[1] / w
    grey = (np.clip(display[..., 0] if display.shape[2] == 1 else display.mean(-1), 0, 1) * 255).astype(np.uint8)
    fig = go.Figure(go.Image(z=np.stack([grey] * 3, -1), hoverinfo="skip", dx=1 / k, dy=1 / k))
    step = max(w, h) / 48
    gx, gy = np.meshgrid(np.arange(step / 2, w, step), np.arange(step / 2, h, step))
    fig.add_trace(
        go.Scatter(
            x=gx.ravel(),
            y=gy.ravel(),
            mode="markers",
            marker=dict(size=8, opacity=0.01, color="white"),
            hovertemplate="x %{x:.0f}, y %{y:.0f}<extra>click to centre here</extra>",
            showlegend=False,
        )
    )
    x0, y0, x1, y1 = region.box
    fig.add_shape(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, line=dict(color="#ffb000", width=2))
    fig.update_xaxes(visible=False, range=[0, w], constrain="domain")
    fig.update_yaxes(visible=False, range=[h, 0], scaleanchor="x", constrain="domain")
    fig.update_layout(height=480, margin=dict(l=0, r=0, t=0, b=0), dragmode="select")
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(
            fig, key=kchart, on_select="rerun", selection_mode=("points", "box"), config={"displaylogo": False}
        )
    with right:
        st.markdown(
            "**Mark the lesion.** Click its centre or draw a box around it on the film (box tool "
            "in the chart's toolbar), or use the sliders. The model sees the yellow square: "
            "four times the lesion radius, as in its training data."
        )
        st.slider("Centre x (px)", 0, w - 1, key=kx)
        st.slider("Centre y (px)", 0, h - 1, key=ky)
        st.slider("Lesion radius (px)", 2, max(3, min(h, w) // 4), key=kr)
        crop = crop_region(film, region)
        st.image(
            to_png(fit_within(crop, 200)), caption=f"LesionSquare {region.side:.0f}×{region.side:.0f} px", width=200
        )
    return region
