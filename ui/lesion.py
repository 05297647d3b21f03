"""The lesion marker for whole mammograms: click the lesion's centre or draw a box around it.

Nothing is predicted until the user has marked the lesion: a film has no default square.
The film is shown once, with an invisible click target on every cell of a fine grid (so a
click anywhere on the film lands on one); a mode switch chooses between clicking (a drag
zooms) and drawing a box. Sliders fine-tune the centre and the lesion's size afterwards.
"""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.imaging.lesion import LesionSquare, crop_region, default_box_side, region_from_box, region_from_click
from core.imaging.pictures import fit_within, to_png

GRID = 48  # click targets per side of the film
CLICK, BOX = "Click the centre", "Draw a box"
DISPLAY_SIDE = 640


def _apply_selection(event, keys: dict[str, str], h: int, w: int) -> None:
    selection = (event or {}).get("selection") if isinstance(event, dict) or hasattr(event, "get") else None
    if not selection:
        return
    signature = json.dumps({"b": selection.get("box"), "p": selection.get("points")}, sort_keys=True, default=str)
    if signature == st.session_state.get(keys["seen"]):
        return
    st.session_state[keys["seen"]] = signature
    boxes, points = selection.get("box") or [], selection.get("points") or []
    if boxes:
        b = boxes[-1]
        region = region_from_box(b["x"][0], b["y"][0], b["x"][1], b["y"][1], h, w)
        st.session_state[keys["x"]], st.session_state[keys["y"]] = int(region.cx), int(region.cy)
        side = max(abs(b["x"][1] - b["x"][0]), abs(b["y"][1] - b["y"][0]))
        st.session_state[keys["size"]] = int(np.clip(round(side), 4, max(5, min(h, w) // 2)))
        st.session_state[keys["marked"]] = True
    elif points:
        st.session_state[keys["x"]] = int(np.clip(points[-1]["x"], 0, w - 1))
        st.session_state[keys["y"]] = int(np.clip(points[-1]["y"], 0, h - 1))
        st.session_state[keys["marked"]] = True


def film_figure(film: np.ndarray, region: LesionSquare | None, box_tool: bool = False) -> go.Figure:
    """The film with a click target on every grid cell; ``box_tool`` makes a drag draw a box.

    Streamlit turns point selection by click off while the box tool is active (a click is
    then only an event, not a selection), so the two ways of marking are two modes: *click*,
    where a drag zooms, and *box*, where a drag draws the lesion's box.
    """
    h, w = film.shape[:2]
    display = fit_within(film, DISPLAY_SIDE)
    k = display.shape[1] / w
    grey = (np.clip(display[..., 0] if display.shape[2] == 1 else display.mean(-1), 0, 1) * 255).astype(np.uint8)
    fig = go.Figure(go.Image(z=np.stack([grey] * 3, -1), hoverinfo="skip", dx=1 / k, dy=1 / k))
    step = max(w, h) / GRID
    gx, gy = np.meshgrid(np.arange(step / 2, w, step), np.arange(step / 2, h, step))
    fig.add_trace(
        # SVG points, not WebGL: Scattergl fires no click while the box tool is active
        go.Scatter(
            x=gx.ravel(),
            y=gy.ravel(),
            mode="markers",
            marker=dict(size=max(4, int(step * k)), symbol="square", opacity=0.01, color="white"),
            hovertemplate="x %{x:.0f}, y %{y:.0f}<extra>click: the lesion's centre</extra>",
            showlegend=False,
        )
    )
    if region is not None:
        x0, y0, x1, y1 = region.box
        fig.add_shape(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, line=dict(color="#ffb000", width=2))
    fig.update_xaxes(visible=False, range=[0, w], constrain="domain")
    fig.update_yaxes(visible=False, range=[h, 0], scaleanchor="x", constrain="domain")
    fig.update_layout(
        height=520,
        margin=dict(l=0, r=0, t=0, b=0),
        dragmode="select" if box_tool else "zoom",
        clickmode="event" if box_tool else "event+select",
    )
    return fig


def lesion_marker(
    film: np.ndarray, key: str, preset: tuple[float, float, float] | None = None
) -> tuple[LesionSquare, tuple[float, float, float, float]] | None:
    """Show the film for marking; once the user has marked it, the lesion's square and its box
    (x, y, w, h: the marked size around the centre), else None.

    ``preset`` (centre x, centre y, box side) marks a known lesion, e.g. one opened from the
    gallery with its annotated box; the user can still move it.
    """
    h, w = film.shape[:2]
    keys = {n: f"roi_{n}_{key}" for n in ("x", "y", "size", "chart", "seen", "marked")}
    if preset is not None and keys["marked"] not in st.session_state:
        cx, cy, side = preset
        st.session_state[keys["x"]], st.session_state[keys["y"]] = int(round(cx)), int(round(cy))
        st.session_state[keys["size"]] = int(np.clip(round(side), 4, max(5, min(h, w) // 2)))
        st.session_state[keys["marked"]] = True
    st.session_state.setdefault(keys["x"], w // 2)
    st.session_state.setdefault(keys["y"], h // 2)
    st.session_state.setdefault(keys["size"], int(round(default_box_side(h, w))))
    _apply_selection(st.session_state.get(keys["chart"]), keys, h, w)
    marked = bool(st.session_state.get(keys["marked"]))
    region = (
        region_from_click(
            st.session_state[keys["x"]], st.session_state[keys["y"]], st.session_state[keys["size"]], h, w
        )
        if marked
        else None
    )
    left, right = st.columns([3, 2])
    with left:
        mode = st.segmented_control(
            "Mark the lesion by",
            [CLICK, BOX],
            default=CLICK,
            key=f"roi_mode_{key}",
            help="Click: a click marks the lesion's centre; drag to zoom in, double-click to zoom out. "
            "Box: drag a box around the lesion.",
        )
        st.plotly_chart(
            film_figure(film, region, box_tool=mode == BOX),
            key=keys["chart"],
            on_select="rerun",
            selection_mode=("points", "box"),
            config={"displaylogo": False, "scrollZoom": True},
        )
    with right:
        st.markdown(
            "**Mark the lesion.** Click its centre, or choose *Draw a box* and drag a box around it (in click mode "
            "a drag zooms in; scroll also zooms). The model sees the yellow square: 1.5 × the lesion's size, at "
            "least a fifth of the film, as in its training data."
        )
        if not marked:
            st.info("No lesion marked yet, so no prediction.", icon=":material/ads_click:")
            return None
        st.slider("Centre x (px)", 0, w - 1, key=keys["x"])
        st.slider("Centre y (px)", 0, h - 1, key=keys["y"])
        st.slider("Lesion size (px, the box's longer side)", 4, max(5, min(h, w) // 2), key=keys["size"])
        crop = crop_region(film, region)
        st.image(to_png(fit_within(crop, 200)), caption=f"Square {region.side:.0f}×{region.side:.0f} px", width=200)
    size = float(st.session_state[keys["size"]])
    return region, (region.cx - size / 2, region.cy - size / 2, size, size)
