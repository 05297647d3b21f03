"""Region: an IDC probability map over a larger H&E image or a rebuilt slide, tile by tile."""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from core.errors import BreastXAIError
from core.imaging.guess import guess_modality
from core.imaging.image import RASTER_EXTENSIONS
from core.imaging.pictures import COLORMAPS, fit_within, to_png
from core.imaging.scale import (
    MODEL_UM_PER_PX,
    ScaleCheck,
    ScaleReference,
    check_scale,
    resample_to_model,
    resampled_shape,
)
from core.region.mosaic import Mosaic, build_mosaic, evaluate_mosaic, model_part, patient_folders
from core.region.pictures import heatmap_rgb, overlay_rgb, truth_rgb
from core.region.tiles import (
    BACKGROUND_SHARE,
    TILE,
    TISSUE,
    RegionResult,
    analyse_region,
    tile_image,
    tiles_csv,
)
from ui import figures, paths, state, widgets

MAX_PIXELS = 40_000_000  # the decoder's own limit, for an image enlarged to the model's scale
DISPLAY_SIDE = 900  # the map is shown at most this many pixels wide or high
STRIDES = (50, 40, 25, 20, 10)


@st.cache_data(show_spinner="Rebuilding the slide from its patches…", max_entries=4)
def mosaic_of(folder: str) -> Mosaic:
    return build_mosaic(folder)


@st.cache_data(show_spinner="Tiling and scoring the region…", max_entries=8)
def region_of(key: str, stride: int, _image: np.ndarray, _valid: np.ndarray | None) -> RegionResult:
    """The analysis depends on the image (``key``) and the stride only; threshold is applied at display."""
    return analyse_region(_image, state.load_classifier("histo"), stride, valid=_valid)


@st.cache_data(show_spinner=False, max_entries=4)
def at_model_scale(key: str, um_per_px: float, _pixels: np.ndarray) -> np.ndarray:
    return resample_to_model(_pixels, um_per_px)


@st.cache_data(show_spinner=False, max_entries=8)
def scale_check_of(key: str, um_per_px: float, _image: np.ndarray, _reference: ScaleReference) -> ScaleCheck:
    return check_scale(_image, um_per_px, _reference)


@st.cache_data(show_spinner=False, max_entries=16)
def picture_of(key: str, stride: int, opacity: float, threshold: float | None, _image, _result) -> np.ndarray:
    """The overlay shrunk for display, as uint8 (cached per image, stride and display settings)."""
    rgb = fit_within(overlay_rgb(_image, _result, opacity, threshold), DISPLAY_SIDE)
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)


def folder_label(folder, card: dict, complete: frozenset[str]) -> str:
    pid = folder.name
    part = model_part(card, pid)
    seen = {
        "train": "trained on",
        "val": "validation",
        "test": "unseen (test part)",
        "none": "unseen (not in its data)",
    }
    kind = "complete slide" if pid in complete else "sampled patches"
    return f"{pid} · {kind} · {seen.get(part, 'split unknown')}"


def render() -> None:
    st.title("Region analysis")
    st.markdown(
        "**Map the probability of invasive ductal carcinoma over a larger H&E region or a whole slide "
        "rebuilt from its patches, then open any tile to see why the model scored it so.**"
    )
    if state.load_card("histo") is None:
        st.error(widgets.missing_weights_message("histo"))
        st.stop()
    card = state.load_card("histo") or {}
    handoff = st.session_state.get("region_handoff")  # an image sent here from Analyse
    if handoff and st.session_state.get("region_handoff_seen") != handoff["digest"]:
        st.session_state["region_handoff_seen"] = handoff["digest"]
        st.session_state["region_source"] = "Upload a region image"
    source = st.radio(
        "Source", ["Slide mosaic from the data set", "Upload a region image"], horizontal=True, key="region_source"
    )
    mosaic = None
    if source.startswith("Slide"):
        root = paths.histo_root()
        if root is None:
            st.info("No histopathology data folder is configured (set BREASTXAI_DATA). Upload a region image instead.")
            st.stop()
        folders = patient_folders(root)
        complete = state.complete_slides(str(root))
        unseen_complete = [f for f in folders if f.name in complete and model_part(card, f.name) in ("test", "none")]
        default = folders.index(unseen_complete[0]) if unseen_complete else 0
        folder = st.selectbox(
            "Patient",
            folders,
            index=default,
            format_func=lambda f: folder_label(f, card, complete),
            key="region_patient",
            help="Complete slides hold every patch of the patient; sampled ones hold about 9% (holes show hatched). "
            "The AUC is a fair estimate only on complete slides of patients the model never saw.",
        )
        try:
            mosaic = mosaic_of(str(folder))
        except BreastXAIError as exc:
            widgets.show_error(exc)
            st.stop()
        image, valid, key = mosaic.image, mosaic.valid, f"mosaic:{mosaic.patient}"
        caption = f"Patient {mosaic.patient}: {len(mosaic.patches)} patches on a {mosaic.valid.shape[1]}×{mosaic.valid.shape[0]} px slide"
    else:
        upload = st.file_uploader(
            "H&E region image (PNG, JPEG or TIFF; about 100 to 5,000 px a side)",
            type=list(RASTER_EXTENSIONS),
            key="region_upload",
            help="Nothing is stored: the image stays in this session's memory. "
            "Give its scale below; it is resampled to the model's before tiling.",
        )
        if upload is not None:
            data, name = upload.getvalue(), upload.name
        elif handoff:
            data, name = handoff["data"], handoff["name"]
            st.info(f"Analysing **{name}**, sent here from Analyse.", icon=":material/grid_view:")
        else:
            st.caption("No image yet. Or pick a slide mosaic from the data set above.")
            st.stop()
        try:
            decoded = state.decode(data, name)
        except BreastXAIError as exc:
            widgets.show_error(exc)
            st.stop()
        guess = guess_modality(decoded.pixels)
        if guess.modality != "histo" and not st.checkbox(
            "Map it anyway",
            key=f"region_anyway_{state.image_digest(data)[:16]}",
            help="The image does not look like H&E-stained tissue; a map of it would mean nothing.",
        ):
            st.warning(f"This does not look like H&E tissue: {guess.reason}", icon=":material/warning:")
            st.stop()
        digest = state.image_digest(data)
        um = st.number_input(
            "Scale of this image (µm per pixel)",
            min_value=0.05,
            max_value=32.0,
            value=MODEL_UM_PER_PX,
            step=0.25,
            format="%.2f",
            key=f"region_um_{digest[:16]}",
            help=f"The model reads tissue at about {MODEL_UM_PER_PX:g} µm per pixel (the data set's 40× scans "
            "downsampled 16:1), so one 50-px tile spans about 200 µm. A 40× scan is about 0.25 µm per pixel, "
            "20× about 0.5, 10× about 1. The image is resampled to the model's scale before tiling.",
        )
        h, w = resampled_shape(decoded.height, decoded.width, float(um))
        if h * w > MAX_PIXELS or min(h, w) < TILE:
            st.error(
                f"At {um:g} µm per pixel this image would be {w}×{h} px at the model's scale: "
                + ("too large to map here." if h * w > MAX_PIXELS else "smaller than one 50×50 tile."),
                icon=":material/error:",
            )
            st.stop()
        key = f"upload:{digest}:{float(um):g}"
        image = at_model_scale(key, float(um), decoded.pixels)
        valid = None
        caption = f"{name} · {decoded.width}×{decoded.height} px at {um:g} µm per pixel"
        if (h, w) != (decoded.height, decoded.width):
            caption += f", resampled to {w}×{h} px at the model's {MODEL_UM_PER_PX:g} µm per pixel"
        reference = ScaleReference.from_card(card)
        if reference is not None:
            check = scale_check_of(key, float(um), image, reference)
            if check.suspicious:
                st.warning(f"**Check the scale.** {check.sentence()}", icon=":material/straighten:")
            else:
                st.caption(f"Scale check: {check.sentence()}")
    c1, c2, c3, c4 = st.columns([1, 2, 2, 2])
    with c1:
        stride = st.selectbox(
            "Stride (px)",
            STRIDES,
            key="region_stride",
            help="Pixels between tiles; below 50 the tiles overlap and the map is smoother but slower.",
        )
    with c2:
        threshold = st.slider("Flag at IDC probability ≥", 0.05, 0.95, 0.5, 0.05, key="region_threshold")
    with c3:
        opacity = st.slider("Heatmap opacity", 0.0, 1.0, 0.45, 0.05, key="region_opacity")
    with c4:
        only_flagged = st.toggle(
            "Colour flagged only", value=False, key="region_only", help="Colour only tiles at or above the threshold."
        )
    try:
        result = region_of(key, int(stride), image, valid)
    except BreastXAIError as exc:
        widgets.show_error(exc)
        st.stop()
    result = dataclasses.replace(result, threshold=float(threshold))
    m1, m2, m3, m4, m5 = st.columns(5)
    m1.metric("Tiles", f"{result.tiles:,}", help="50×50 tiles at this stride, including background and holes.")
    m2.metric(
        "Tissue tiles",
        f"{result.tissue_tiles:,}",
        help=f"Tiles with under {BACKGROUND_SHARE:.0%} white/empty pixels; only these are scored.",
    )
    m3.metric(
        "Flagged tissue",
        f"{result.flagged_fraction:.1%}",
        help="Share of the tissue area with IDC probability at or above the threshold.",
    )
    m4.metric(
        "Seconds", f"{result.seconds:.2f}", help="Tiling, background test, inference and map (first run; cached after)."
    )
    score = None
    if mosaic is not None:
        score = evaluate_mosaic(mosaic, result, card)
        m5.metric(
            "Patch-level AUC",
            widgets.fmt(score.auc),
            help="ROC AUC of the map against the patch labels, over the scored patches.",
        )
        if score.note:
            st.caption(f"Note: {score.note}.")
        elif score.reportable:
            st.caption("Complete slide of a patient the model never saw: this AUC is a fair estimate for this slide.")
    picture = picture_of(key, int(stride), float(opacity), float(threshold) if only_flagged else None, image, result)
    fig, tissue = figures.region_map_figure(picture, result, wide=mosaic is None)
    st.caption(
        f"{caption}. Colour: IDC probability from blue (0) through yellow to red (1); uncoloured tissue is background "
        "(skipped); hatched grey is no data (missing patches). Click a tile to explain it."
    )
    if mosaic is not None:
        left, right = st.columns(2)
        with left:
            event = st.plotly_chart(
                fig, key="region_map", on_select="rerun", selection_mode="points", config={"displaylogo": False}
            )
        with right:
            # the truth on the very grid and size of the map beside it
            truth = (np.clip(fit_within(truth_rgb(mosaic), DISPLAY_SIDE), 0, 1) * 255).round().astype(np.uint8)
            st.plotly_chart(figures.aligned_twin(fig, truth), key="region_truth", config={"displaylogo": False})
            st.caption("Truth: patch labels (red = IDC, blue = no IDC), on the same grid as the map.")
    else:
        event = st.plotly_chart(
            fig, key="region_map", on_select="rerun", selection_mode="points", config={"displaylogo": False}
        )
    st.plotly_chart(figures.probability_legend(), key="region_legend", config={"displayModeBar": False})
    e1, e2, _ = st.columns([1, 1, 2])
    e1.download_button(
        "Download the map (PNG)",
        lambda: to_png(heatmap_rgb(result)),
        file_name="idc-probability-map.png",
        mime="image/png",
        on_click="ignore",
        key="region_map_png",
    )
    e2.download_button(
        "Download the flagged tiles (CSV)",
        lambda: tiles_csv(result, flagged_only=True),
        file_name="idc-flagged-tiles.csv",
        mime="text/csv",
        on_click="ignore",
        key="region_tiles_csv",
    )
    top = result.top_tiles(10)
    if not result.tissue_tiles or not len(tissue):
        st.info("No tissue tiles in this image: everything is background or missing.")
        st.stop()
    selection = event.get("selection") if hasattr(event, "get") else None
    points = (selection or {}).get("points") or []
    pick_key = f"region_pick:{key}:{stride}"
    if points:
        picked = result.tile_at(int(points[-1]["y"]), int(points[-1]["x"]))
        if picked is not None and result.status[picked] == TISSUE:
            st.session_state[pick_key] = picked
    options = [int(np.flatnonzero((result.positions[:, 0] == t.y) & (result.positions[:, 1] == t.x))[0]) for t in top]
    chosen = st.session_state.get(pick_key)
    if chosen is not None and chosen not in options:
        options = [chosen] + options
    index = st.selectbox(
        "Tile",
        options,
        index=options.index(chosen) if chosen in options else 0,
        key=f"tile_select:{key}:{stride}:{chosen}",
        format_func=lambda i: (
            f"x {result.positions[i, 1]}, y {result.positions[i, 0]} · P(IDC) {result.p_positive[i]:.3f}"
        ),
        help="The most suspicious tiles, or the one you clicked on the map.",
    )
    ty, tx = (int(v) for v in result.positions[index])
    model_input = tile_image(image, ty, tx)
    case_key = f"{key}:tile:{ty},{tx}"
    t1, t2 = st.columns([1, 3])
    with t1:
        st.image(to_png(model_input, 4), caption=f"Tile at x {tx}, y {ty} (50×50)")
    with t2:
        p = float(result.p_positive[index])
        st.progress(
            min(max(p, 0.0), 1.0),
            text=f"P(IDC) = {p:.3f} · {'flagged' if p >= threshold else 'not flagged'} at {threshold:.2f}",
        )
        if mosaic is not None:
            at = np.flatnonzero((mosaic.positions[:, 0] == ty) & (mosaic.positions[:, 1] == tx))
            if len(at):
                st.markdown(
                    f"Patch label: **{'IDC' if mosaic.labels[at[0]] else 'no IDC'}** (`{mosaic.patches[at[0]].id}`)"
                )
        st.caption("A decision aid for research, not a diagnosis.")
    try:
        import core.explain.case  # noqa: F401
    except ImportError:
        st.info("The explanation engine is not installed, so only the tile's probability is shown.")
        st.stop()
    labels = state.method_labels()
    methods, settings = widgets.method_form(labels, key="region_methods")
    colormap = st.selectbox("Colour map", COLORMAPS, key="region_colormap")
    if not methods:
        st.caption("Choose at least one method.")
        st.stop()
    try:
        analysis = state.run_analysis("histo", case_key, model_input, methods, seed=0, settings=settings)
    except BreastXAIError as exc:
        widgets.show_error(exc)
        st.stop()
    st.caption(
        f"Every map explains the predicted class ({analysis.prediction.label}) of this tile on one scale, 0 (least) "
        "to 1 (most important). Deletion AUC: lower is better; insertion AUC: higher is better."
    )
    widgets.explanation_grid(analysis.methods, model_input, 0.5, colormap)


if __name__ == "__main__":
    # Streamlit ran this file on its own (a first visit straight to this page's URL on a
    # fresh server, under the old pages/ folder convention): hand over to the app's router.
    from app import main

    main()
