"""Plotly figures the pages share: the zoom on one map, method matrices, the region map and its key."""

from __future__ import annotations

import base64

import numpy as np
import plotly.graph_objects as go

from core.imaging.pictures import NO_DATA_RGB, colorscale_stops, colourise, to_png
from core.region.tiles import TILE, TISSUE, RegionResult

# The zoom is redrawn on every opacity or colour-map change, so its figure is built cheaply:
# the picture under the map travels as a PNG (a short string, not an array of pixels to
# validate and serialise), the map as a float32 array, and the properties, written here by
# hand, skip plotly's validation pass (about 30 ms a figure, most of it the colour scale's).


def _image_trace(rgb: np.ndarray, **extra) -> dict:
    rgb = np.asarray(rgb, np.float32)
    rgb = np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb
    data = base64.b64encode(to_png(np.clip(rgb, 0, 1))).decode("ascii")
    return {"type": "image", "source": f"data:image/png;base64,{data}", "hoverinfo": "skip", **extra}


def _heatmap_trace(heatmap: np.ndarray, opacity: float, colorscale: str, signed: bool, **extra) -> dict:
    return {
        "type": "heatmap",
        "z": np.asarray(heatmap, np.float32),
        "zmin": -1.0 if signed else 0.0,
        "zmax": 1.0,
        "colorscale": "RdBu_r" if signed else colorscale_stops(colorscale),
        "opacity": opacity,
        "showscale": False,
        "hovertemplate": "x %{x}, y %{y}<br>"
        + ("evidence %{z:+.2f}" if signed else "importance %{z:.2f}")
        + "<extra></extra>",
        **extra,
    }


def _figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure from trusted, hand-written properties, without plotly's validation pass."""
    return go.Figure(data=data, layout=layout, _validate=False)


def zoom_pair(
    original: np.ndarray,
    heatmap: np.ndarray,
    opacity: float,
    colorscale: str,
    signed: bool = False,
    height: int = 460,
) -> go.Figure:
    """The original at full resolution beside the same picture with one map over it.

    The two panels share their axes, so zooming or panning in either moves both: the
    evidence and the tissue or film under it are always the same pixels.
    """
    hidden = {"visible": False, "constrain": "domain"}
    data = [
        _image_trace(original, xaxis="x", yaxis="y"),
        _image_trace(original, xaxis="x2", yaxis="y2"),
        _heatmap_trace(heatmap, opacity, colorscale, signed, xaxis="x2", yaxis="y2"),
    ]
    layout = {
        "xaxis": {**hidden, "domain": [0.0, 0.49]},
        "xaxis2": {**hidden, "domain": [0.51, 1.0], "matches": "x"},  # the map follows the original, and back
        "yaxis": {**hidden, "scaleanchor": "x", "autorange": "reversed"},
        "yaxis2": {**hidden, "anchor": "x2", "matches": "y", "scaleanchor": "x2", "autorange": "reversed"},
        "annotations": [
            {"text": t, "x": x, "y": 1.0, "xref": "paper", "yref": "paper", "yanchor": "bottom", "showarrow": False}
            for t, x in (("original", 0.245), ("map", 0.755))
        ],
        "height": height,
        "margin": {"l": 0, "r": 0, "t": 24, "b": 0},
        "dragmode": "zoom",
    }
    return _figure(data, layout)


def matrix_figure(
    matrix: np.ndarray,
    labels: list[str],
    title: str,
    zmin: float = -1.0,
    zmax: float = 1.0,
    colorscale: str = "RdBu",
    fmt: str = ".2f",
) -> go.Figure:
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=labels,
            y=labels,
            zmin=zmin,
            zmax=zmax,
            colorscale=colorscale,
            text=[[format(int(round(v)) if fmt == "d" else v, fmt) for v in row] for row in np.asarray(matrix, float)],
            texttemplate="%{text}",
            hovertemplate="%{y} vs %{x}: %{z:.2f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=title, height=120 + 45 * len(labels), margin=dict(l=10, r=10, t=40, b=10))
    return fig


MAX_CLICKABLE = 20_000  # tiles with a click target on the region map; beyond, a coarser grid


def region_map_figure(picture: np.ndarray, result: RegionResult, wide: bool) -> tuple[go.Figure, np.ndarray]:
    """The region overlay with an invisible click target on each tissue tile.

    Returns the figure and the indices of the tiles that carry a click target.
    """
    h, w = result.height, result.width
    k = picture.shape[1] / w
    tissue = np.flatnonzero(result.status == TISSUE)
    if len(tissue) > MAX_CLICKABLE:  # thin the clickable points to a coarser grid; the map stays full
        step = int(np.ceil(np.sqrt(len(tissue) / MAX_CLICKABLE)))
        cell = result.positions[tissue] // int(result.stride)
        tissue = tissue[(cell[:, 0] % step == 0) & (cell[:, 1] % step == 0)]
    centres = result.positions[tissue] + TILE / 2
    fig = go.Figure(go.Image(z=picture, dx=1 / k, dy=1 / k, hoverinfo="skip"))
    scatter = go.Scattergl if len(tissue) > 5000 else go.Scatter
    fig.add_trace(
        scatter(
            x=centres[:, 1],
            y=centres[:, 0],
            mode="markers",
            customdata=tissue,
            marker=dict(size=max(4, int(TILE * k * 0.8)), opacity=0.01, color="white", symbol="square"),
            text=[f"{p:.2f}" for p in result.p_positive[tissue]],
            hovertemplate="tile x %{x:.0f}, y %{y:.0f}<br>P(IDC) %{text}<extra>click to explain</extra>",
            showlegend=False,
        )
    )
    fig.update_xaxes(visible=False, range=[0, w], constrain="domain")
    fig.update_yaxes(visible=False, range=[h, 0], scaleanchor="x", constrain="domain")
    fig_width = 900 if wide else 560  # about the column's width, for the height below
    fig.update_layout(
        height=int(np.clip(fig_width * h / w, 240, 720)), margin=dict(l=0, r=0, t=0, b=0), clickmode="event+select"
    )
    return fig, tissue


def aligned_twin(map_figure: go.Figure, picture: np.ndarray) -> go.Figure:
    """Another picture of the same region drawn on the map figure's grid, size and ranges."""
    base = map_figure.data[0]
    fig = go.Figure(go.Image(z=picture, dx=base.dx, dy=base.dy, hoverinfo="skip"))
    fig.update_xaxes(map_figure.layout.xaxis)
    fig.update_yaxes(map_figure.layout.yaxis)
    fig.update_layout(height=map_figure.layout.height, margin=map_figure.layout.margin)
    return fig


def probability_legend() -> go.Figure:
    """The region map's colour key: the probability ramp, background and the no-data hatch."""
    ramp = np.linspace(0.0, 1.0, 101)
    rgb = (colourise(ramp)[None] * 255).round().astype(np.uint8)
    key = np.full((1, 24, 3), 255, np.uint8)  # white: background
    hatch = np.repeat((NO_DATA_RGB * 255).round().astype(np.uint8)[None, None], 24, axis=1)
    hatch[0, ::4] = (NO_DATA_RGB * 0.8 * 255).round().astype(np.uint8)
    strip = np.concatenate(
        [rgb, np.full((1, 10, 3), 255, np.uint8), key, np.full((1, 10, 3), 255, np.uint8), hatch], axis=1
    )
    fig = go.Figure(go.Image(z=np.repeat(strip, 12, axis=0), hoverinfo="skip"))
    n = rgb.shape[1]
    ticks = [0, n // 4, n // 2, 3 * n // 4, n - 1, n + 10 + 12, n + 10 + 24 + 10 + 12]
    labels = ["0", "0.25", "0.5", "0.75", "1 = IDC", "background", "no data"]
    fig.update_xaxes(tickvals=ticks, ticktext=labels, showgrid=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(
        height=90, margin=dict(l=10, r=10, t=24, b=30), title=dict(text="P(IDC) colour key", font_size=12)
    )
    return fig
