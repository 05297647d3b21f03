"""Analyse one image: prediction, explanation maps side by side, agreement, case report."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.errors import BreastXAIError
from core.explain.metrics.verdict import case_summary
from core.imaging.guess import guess_modality
from core.imaging.image import UPLOAD_EXTENSIONS
from core.imaging.lesion import box_in_input, crop_region, looks_like_whole_film
from core.imaging.pictures import COLORMAPS, colour_key, fit_within, matrix_picture, to_png
from core.imaging.preprocess import is_patch_sized, map_to_image, to_model_input
from core.modality import INPUT_SIZE, get_modality
from core.report import render_html, render_pdf, report_from_analysis
from ui import figures, lesion, state, widgets


def _larger_than_a_patch(pixels: np.ndarray, data: bytes, name: str, digest: str) -> tuple[np.ndarray, str]:
    """An H&E image larger than a patch: send it to Region, or pick one 50×50 patch on it."""
    h, w = pixels.shape[:2]
    st.warning(
        f"This H&E image is {w}×{h} px; the model reads one {INPUT_SIZE}×{INPUT_SIZE} px patch at the data set's "
        "scale, so it is not shrunk into one input. Map the whole image in **Region**, or pick one patch here.",
        icon=":material/grid_view:",
    )
    if st.button("Open this image in Region", key=f"to_region_{digest[:16]}", type="primary"):
        from app import page  # the router, imported only when a user switches

        st.session_state["region_handoff"] = {"data": data, "name": name, "digest": digest}
        st.switch_page(page("region"))
    if not st.toggle("Pick a 50×50 patch on this image", key=f"pick_patch_{digest[:16]}"):
        st.stop()
    c1, c2 = st.columns(2)
    x = c1.slider(
        "Patch left edge x (px)", 0, max(0, w - INPUT_SIZE), max(0, w // 2 - INPUT_SIZE // 2), key=f"px_{digest[:16]}"
    )
    y = c2.slider(
        "Patch top edge y (px)", 0, max(0, h - INPUT_SIZE), max(0, h // 2 - INPUT_SIZE // 2), key=f"py_{digest[:16]}"
    )
    return pixels[y : y + INPUT_SIZE, x : x + INPUT_SIZE], f":patch {x},{y}"


@st.cache_data(show_spinner=False, max_entries=16)
def build_reports(
    key: str,
    methods: tuple,
    colormap: str,
    opacity: float,
    _analysis,
    _image,
    _model_input,
    modality_name: str,
    region_tuple,
):
    report = report_from_analysis(
        _analysis,
        modality=get_modality(modality_name),
        image=_image,
        model_input=_model_input,
        card=state.load_card(modality_name) or {},
        labels=state.method_labels(),
        image_sha256=key.split("|")[0].split(":")[0],
        region=region_tuple,
        colormap=colormap,
        opacity=opacity,
    )
    return render_html(report), render_pdf(report)


DEFAULT_OPACITY = 0.5


@st.fragment
def _explanations(request: tuple, modality, prediction, target: int, labels: dict, case: tuple, settings: dict):
    """The maps, their display settings, zoom, summary and report; the analysis, or None.

    A fragment: a colour map or opacity change reruns only this part, from cached results.
    Each map's place is laid out first and filled once, as soon as its method is done, so a
    slow run shows the maps one by one and no tile is drawn twice.
    """
    modality_name, model_input, methods, input_box = request
    case_key, digest, pixels, _, region_tuple, original = case
    s1, s2, s3 = st.columns([1, 2, 1])
    colormap = s1.selectbox("Colour map", COLORMAPS, key="colormap")
    opacity = s2.slider("Overlay opacity", 0.0, 1.0, DEFAULT_OPACITY, 0.05, key="opacity")
    signed = s3.toggle(
        "Signed maps",
        key="signed",
        help="For IG, LIME, SHAP and occlusion: red speaks for the class, blue against it (scaled to the largest).",
    )
    st.caption(
        f"Every map explains the class {modality.class_names[target]} "
        f"({'the prediction' if target == prediction.class_index else 'not the prediction'}) on one colour scale, 0 (least) to 1 "
        "(most important). Deletion AUC: lower is better; insertion AUC: higher is better."
    )
    st.image(to_png(colour_key(colormap)), caption="Colour key — importance: 0 least, 1 most")
    bar = st.empty()
    slots = widgets.tile_slots(methods)
    drawn: set[str] = set()

    def draw(method: str, result) -> None:
        with slots[method]:  # the tile's frame takes the empty place itself
            widgets.explanation_tile(method, result, model_input, opacity, colormap, signed)
        drawn.add(method)

    try:
        analysis = state.run_analysis(
            modality_name,
            case_key,
            model_input,
            methods,
            seed=0,
            target=target,
            box=input_box,
            settings=settings,
            on_result=draw,
            progress_in=bar,
        )
    except BreastXAIError as exc:
        widgets.show_error(exc)
        return None
    for method, result in analysis.methods.items():
        if method not in drawn:
            draw(method, result)
    # a toggle, not an expander: a collapsed expander still draws its chart on every repaint
    if st.toggle("Zoom: one map beside the original at full resolution", key="zoom_on"):
        name = st.selectbox("Map", methods, format_func=lambda m: labels.get(m, m), key="zoom_method")
        e = analysis.methods[name].explanation
        as_signed = signed and e.signed
        h, w = original.shape[:2]
        on_image = map_to_image(widgets.signed_map(e.attribution) if as_signed else e.heatmap, h, w, modality.channels)
        st.plotly_chart(
            figures.zoom_pair(original, on_image, opacity, colormap, signed=as_signed),
            key="zoom_pair",
            config={"displaylogo": False, "scrollZoom": True},
        )
        st.caption(
            f"Left: the {'marked square of the film' if region_tuple else 'image'} at its own {w}×{h} px; right: "
            f"the {labels.get(name, name)} map laid over it. Zoom (drag a box, or scroll) or pan in either panel: "
            "the other follows. Double-click to reset."
        )
    st.info(f"**In short:** {case_summary(analysis.methods, labels)}", icon=":material/summarize:")
    st.subheader("Case report")
    # Deferred: a report is built only when its button is pressed, never on a slider change.
    # The key names everything the report shows: the case, the methods, the class explained
    # and each method's settings, besides the display settings.
    report_key = f"{case_key}|target {target}|{sorted(settings.items())}"
    report_args = (report_key, tuple(methods), colormap, float(opacity), analysis, pixels, model_input)
    report_args += (modality_name, region_tuple)
    d1, d2, _ = st.columns([1, 1, 3])
    with d1:
        st.download_button(
            "Download report (HTML)",
            lambda: build_reports(*report_args)[0],
            file_name=f"breastxai-report-{digest[:8]}.html",
            mime="text/html",
            on_click="ignore",
            key="report_html",
        )
    with d2:
        st.download_button(
            "Download report (PDF)",
            lambda: build_reports(*report_args)[1],
            file_name=f"breastxai-report-{digest[:8]}.pdf",
            mime="application/pdf",
            on_click="ignore",
            key="report_pdf",
        )
    st.caption(
        "The report holds the image, prediction, maps, scores, model version, weights SHA-256, seed and time — no patient identifiers."
    )
    return analysis


def render() -> None:
    st.title("Analyse an image")
    if state.warm_up_status() == "preparing":
        st.caption(
            ":material/hourglass_top: Preparing the models in the background — the first answer may take a few seconds longer."
        )
    st.markdown(
        "**Upload a histopathology patch or a mammogram (PNG, JPEG, TIFF or DICOM), check the modality, "
        "and read the prediction with its explanations side by side.**"
    )
    upload = st.file_uploader(
        "Image file",
        type=list(UPLOAD_EXTENSIONS),
        key="upload",
        help="The image is held in the server's memory only; it is never written to disk.",
    )
    picked = st.session_state.get("gallery_pick")
    if upload is not None:
        data, name, source = upload.getvalue(), upload.name, "upload"
    elif picked:
        try:
            with open(picked["path"], "rb") as fh:
                data = fh.read()
        except OSError as exc:
            widgets.show_error(BreastXAIError(f"The gallery image cannot be opened: {exc.strerror or exc}."))
            st.stop()
        name, source = picked["path"].rsplit("/", 1)[-1], "gallery"
        st.info(
            f"Showing **{picked['id']}** from the gallery (true class: {picked['truth']}).",
            icon=":material/photo_library:",
        )
        if st.button("Clear the gallery image"):
            del st.session_state["gallery_pick"]
            st.rerun()
    else:
        st.caption("No image yet. Try one from the **Gallery** page if a data folder is configured.")
        st.stop()
    try:
        decoded = state.decode(data, name)
    except BreastXAIError as exc:
        widgets.show_error(exc)
        st.stop()
    digest = state.image_digest(data)
    pixels = decoded.pixels
    guess = guess_modality(pixels)
    names = widgets.modality_names()
    forced = picked["modality"] if source == "gallery" and picked else None
    suggested = forced or guess.modality or "histo"
    modality_name = st.radio(
        "Modality",
        names,
        index=names.index(suggested),
        horizontal=True,
        key=f"modality_{digest[:16]}",
        format_func=widgets.modality_label,
        help="Suggested from the image: stained colour means an H&E patch, grey means a mammogram.",
    )
    modality = get_modality(modality_name)
    doubtful = guess.modality != modality_name
    if guess.modality and guess.modality != modality_name:
        st.warning(
            f"{guess.reason} Check the modality: this model expects a {modality.title.lower()}, "
            "and its answer on another kind of image means nothing.",
            icon=":material/warning:",
        )
    elif guess.modality is None:
        st.warning(guess.reason, icon=":material/warning:")
    if doubtful and not st.checkbox(
        f"I have checked the image: analyse it as a {modality.title.lower()} anyway",
        key=f"proceed_{digest[:16]}",
        help="The image does not look like what this model was trained on, so no answer is shown until you confirm.",
    ):
        st.stop()
    if state.load_card(modality_name) is None:
        st.error(widgets.missing_weights_message(modality_name))
        st.stop()
    region, input_box = None, None
    model_pixels, crop_tag = pixels, ""
    if modality_name == "histo" and not is_patch_sized(*pixels.shape[:2]):
        model_pixels, crop_tag = _larger_than_a_patch(pixels, data, name, digest)
    if modality_name == "mammo":
        h, w = pixels.shape[:2]
        if st.toggle(
            "This is a whole mammogram: mark the lesion", value=looks_like_whole_film(h, w), key=f"film_{digest[:16]}"
        ):
            preset = picked.get("box") if source == "gallery" and picked else None
            marked = lesion.lesion_marker(pixels, digest[:16], preset)
            if marked is None:
                st.stop()  # no answer for a film until its lesion is marked
            region, film_box = marked
            model_pixels = crop_region(pixels, region)
            input_box = box_in_input(film_box, region, h, w)
    model_input = to_model_input(model_pixels, modality)
    case_key = digest + crop_tag
    if region is not None:
        case_key += f":{region.cx:.0f},{region.cy:.0f},{region.side:.0f}"
    try:
        prediction = state.predict(modality_name, case_key, model_input)
    except BreastXAIError as exc:
        widgets.show_error(exc)
        st.stop()
    c1, c2, c3 = st.columns([2, 1, 2])
    with c1:
        # a marked film is already on screen above: show the marked square here, not the film again
        shown = fit_within(model_pixels if region is not None else pixels, 360)
        what = "Marked square" if region is not None else "Original"
        st.image(
            to_png(shown, max(1, 200 // max(shown.shape[:2]))),
            caption=f"{what} · {decoded.format} · {decoded.width}×{decoded.height} px · {decoded.bit_depth}-bit",
        )
    with c2:
        st.image(to_png(model_input, 4), caption="What the model sees (50×50)")
    with c3:
        st.metric("Prediction", prediction.label, help="The class with the higher probability.")
        st.markdown(f"Prediction: **{prediction.label}** with probability **{prediction.probability:.1%}**")
        st.progress(prediction.p_positive, text=f"P({modality.positive}) = {prediction.p_positive:.3f}")
        st.caption("A decision aid for research, not a diagnosis.")
    widgets.trust_strip(state.load_card(modality_name), modality, prediction.p_positive)
    widgets.familiarity_flag(state.unfamiliarity(modality_name, case_key, model_input))
    labels = state.method_labels()
    st.subheader("Explanations")
    methods, settings = widgets.method_form(labels, key="methods")
    other = modality.class_names[1 - prediction.class_index]
    explained = st.radio(
        "Explain the class",
        [f"predicted ({prediction.label})", f"the other ({other})"],
        horizontal=True,
        key=f"explain_class_{case_key}",
        help="Maps show what speaks for the chosen class; the other class shows what speaks against the answer.",
    )
    target = prediction.class_index if explained.startswith("predicted") else 1 - prediction.class_index
    if not methods:
        st.caption("Choose at least one method.")
        st.stop()
    region_tuple = None if region is None else (region.cx, region.cy, region.side)
    analysis = _explanations(
        (modality_name, model_input, methods, input_box),
        modality,
        prediction,
        target,
        labels,
        (case_key, digest, pixels, modality_name, region_tuple, model_pixels),
        settings,
    )
    # outside the fragment: a repaint of the maps leaves the agreement pictures as they are
    if analysis is None:
        return
    if len(methods) > 1 and analysis.agreement is not None:
        st.subheader("Agreement between methods")
        ag = analysis.agreement
        names_shown = [labels.get(m, m) for m in ag.methods]
        # pictures, not charts: they cost every user's browser nothing to draw; side by side
        # while a cell's value stays legible at half the page's width, one under the other beyond
        c1, c2 = st.columns(2) if len(names_shown) <= 5 else (st.container(), st.container())
        c1.image(
            to_png(matrix_picture(np.asarray(ag.spearman), names_shown, -1.0, 1.0, "RdBu")),
            caption="Spearman rank correlation of the maps (−1 red, 0 white, +1 blue)",
        )
        c2.image(
            to_png(matrix_picture(np.asarray(ag.top10_overlap), names_shown, 0.0, 1.0, "Blues")),
            caption="Share of the top-10% pixels in common (0 white, 1 dark blue)",
        )


if __name__ == "__main__":
    # Streamlit ran this file on its own (a first visit straight to this page's URL on a
    # fresh server, under the old pages/ folder convention): hand over to the app's router.
    from app import main

    main()
