"""Browse real examples from the configured data folder and open any of them in Analyse."""

from __future__ import annotations

import io

import streamlit as st
from PIL import Image, ImageDraw

from core.errors import BreastXAIError
from core.modality import DECISION_THRESHOLD, get_modality
from ui import paths, state, widgets


@st.cache_data(show_spinner="Listing the data folder…")
def list_examples(modality: str) -> list[dict]:
    """Every labelled example of the modality: id, patient, path, label (0/1)."""
    if modality == "histo":
        from core.data.histo import find_patches

        folder = paths.histo_root()
        if folder is None:
            return []
        return [{"id": p.id, "patient": p.patient, "path": p.path, "label": p.label} for p in find_patches(folder)]
    from core.data.cbis_films import is_film_layout, read_film_lesions
    from core.data.mammo import find_roi_lesions

    folder = paths.mammo_root()
    if folder is None:
        return []
    if is_film_layout(folder):  # whole films with the radiologists' boxes
        return [
            {"id": x.id, "patient": x.patient, "path": x.path, "label": x.label, "box": x.box}
            for x in read_film_lesions(folder).lesions
        ]
    return [{"id": x.id, "patient": x.patient, "path": x.path, "label": x.label} for x in find_roi_lesions(folder)]


@st.cache_data(show_spinner=False, max_entries=256)
def film_thumbnail(path: str, box: tuple[float, float, float, float]) -> bytes:
    """The film with the annotated box drawn on it, small."""
    with Image.open(path) as im:
        film = im.convert("RGB")
    ImageDraw.Draw(film).rectangle([box[0], box[1], box[0] + box[2], box[1] + box[3]], outline=(255, 176, 0), width=6)
    film.thumbnail((240, 240))
    buf = io.BytesIO()
    film.save(buf, format="PNG")
    return buf.getvalue()


def render() -> None:
    st.title("Gallery")
    st.markdown("**Pick a modality and filters, then open any example in Analyse to see its explanations.**")
    root = paths.data_dir()
    if root is None:
        st.info(
            "No data folder is configured. Set the environment variable `BREASTXAI_DATA` to the folder "
            "that holds `histo/IDC_regular_ps50_idx5` and `mammo/cbis_ddsm_mass` (or `mammo/mini_mias`), then reload."
        )
        st.stop()
    c1, c2, c3 = st.columns([3, 2, 2])
    modality = widgets.modality_picker("gallery_modality", c1)
    names = list(get_modality(modality).class_names)
    which_class = c2.segmented_control("Class", ["all", *names], default="all", key="gallery_class") or "all"
    outcome = (
        c3.segmented_control("Model's answer", ["all", "correct", "wrong"], default="all", key="gallery_outcome")
        or "all"
    )
    try:
        examples = list_examples(modality)
    except BreastXAIError as exc:
        widgets.show_error(exc)
        st.stop()
    if not examples:
        st.info(f"The data folder has no {get_modality(modality).title.lower()} examples.")
        st.stop()
    record = state.load_eval(modality)
    scored = {p["id"]: p["probability"] for p in (record or {}).get("predictions", [])}
    if outcome != "all" and not scored:
        st.warning("No evaluation file is installed, so correct and wrong cannot be told apart.")
    rows = []
    for ex in examples:
        if which_class != "all" and names[ex["label"]] != which_class:
            continue
        prob = scored.get(ex["id"])
        correct = None if prob is None else (prob >= DECISION_THRESHOLD) == (ex["label"] == 1)
        if outcome == "correct" and correct is not True:
            continue
        if outcome == "wrong" and correct is not False:
            continue
        rows.append({**ex, "probability": prob, "correct": correct})
    st.caption(
        f"{len(rows)} of {len(examples)} examples. Correct/wrong is known only for the test patients the model "
        "never saw (from the eval file); other examples may have been used for training."
    )
    per_page = 24
    pages = max(1, (len(rows) + per_page - 1) // per_page)
    page = st.number_input("Page", 1, pages, 1, key=f"gallery_page_{modality}") if pages > 1 else 1
    show = rows[(page - 1) * per_page : page * per_page]
    cols_per_row = 6
    for start in range(0, len(show), cols_per_row):
        cols = st.columns(cols_per_row)
        for col, ex in zip(cols, show[start : start + cols_per_row]):
            with col, st.container(border=True):
                st.image(film_thumbnail(ex["path"], tuple(ex["box"])) if "box" in ex else ex["path"], width="stretch")
                verdict = "" if ex["correct"] is None else (" · ✓" if ex["correct"] else " · ✗")
                p_text = "" if ex["probability"] is None else f" · P({names[1]}) = {ex['probability']:.2f}"
                st.caption(f"{names[ex['label']]}{p_text}{verdict}")
                if st.button("Open in Analyse", key=f"open_{ex['id']}"):
                    st.session_state["gallery_pick"] = {
                        "path": ex["path"],
                        "modality": modality,
                        "id": ex["id"],
                        "truth": names[ex["label"]],
                    }
                    if "box" in ex:  # open the film with its annotated lesion marked
                        x, y, w, h = ex["box"]
                        st.session_state["gallery_pick"]["box"] = (x + w / 2, y + h / 2, max(w, h))
                    from app import page  # the router, imported only when a user switches

                    st.switch_page(page("analyse"))


if __name__ == "__main__":
    # Streamlit ran this file on its own (a first visit straight to this page's URL on a
    # fresh server, under the old pages/ folder convention): hand over to the app's router.
    from app import main

    main()
