"""Model card: intended use, data, training, limitations, versions and weights hashes."""

from __future__ import annotations

import streamlit as st

from core.report import DISCLAIMER
from ui import state, widgets


def render() -> None:
    st.title("Model card")
    st.markdown("**What the two models are for, what they were trained on, and where they fall short.**")
    st.warning(DISCLAIMER, icon=":material/gpp_maybe:")
    st.header("Intended use")
    st.markdown(
        """
    - **Histopathology** — classify one 50×50-pixel H&E patch (at the data set's scale, as cut from a
      whole-slide image) as *IDC* (invasive ductal carcinoma) or *no IDC*.
    - **Mammography** — classify a lesion already found on a mammogram as *malignant* or *benign*.
      Upload a whole film and mark the lesion (click its centre or draw a box); the model sees a square
      of 1.5 times the lesion's size, at least a fifth of the film, as in its CBIS-DDSM training data.
      It does **not** search a film for lesions, and it was trained on masses only (no calcifications).
    - **Users** — pathologists, radiologists and reviewers checking the model's behaviour, with each
      prediction explained by several methods and scored for faithfulness.
    - **Not for** — screening, triage or diagnosis; other stains, magnifications or organs; images
      from other modalities (ultrasound, MRI, tomosynthesis).
    """
    )
    st.header("Limitations")
    st.markdown(
        """
    - **The mammography model is weak**: trained from scratch on CBIS-DDSM mass films (8-bit JPEG
      copies stretched to 800×800 px, masses only) at 50×50 px, it separates benign from malignant
      masses only moderately on unseen women (its cross-validated AUC is on *Metrics*), and less on another
      institution's films (mini-MIAS). Treat its answer as a second look at the lesion, never as a
      verdict.
    - **What Grad-CAM shows on it**: the last convolution works on a 6×6 grid for a 50×50 input, so a
      Grad-CAM map is 36 cells of about 8×8 pixels each, smoothed over the patch. It says *which part* of the region mattered, not
      *which pixels*; on a mammogram crop it often covers the lesion's margin or the surrounding
      tissue as much as the lesion. Compare it with the pixel-level methods and read the faithfulness
      scores before trusting it.
    - **Explanations are not proof**: a map shows what changed the model's score, which may be a
      stain artefact or film edge. The sanity checks on the *Compare* page test whether a method
      responds to the model at all.
    - **Patch-level histopathology**: a patch is 50×50 pixels of a slide; the model sees no context,
      and a whole-slide diagnosis is not the sum of patch predictions.
    - **Probabilities** are calibrated only as far as the *Metrics* page's calibration curve shows.
    - **Data shift**: other scanners, stains and film digitisers were not in the training data.
    """
    )
    for name in widgets.modality_names():
        card = state.load_card(name)
        st.header(widgets.modality_label(name))
        if card is None:
            st.info(widgets.missing_weights_message(name))
            continue
        data, split, hp = card.get("data", {}), card.get("split", {}), card.get("hyperparameters", {})
        model = card.get("model", {})
        c1, c2, c3 = st.columns(3)
        c1.metric("Images", data.get("n_images", "–"))
        c2.metric("Patients", data.get("n_patients", "–"))
        c3.metric("Parameters", f"{model.get('parameters', 0):,}")
        st.markdown(
            f"**Data** — {data.get('source', '')}; by class: "
            + ", ".join(f"{k} {v}" for k, v in data.get("by_class", {}).items())
            + "."
        )
        counts = split.get("counts", {})
        parts = split.get("patients", {})
        st.markdown(
            f"**Split** — {split.get('protocol', '')} protocol (seed {split.get('seed', '–')}): "
            + ", ".join(
                f"{k} {counts.get(k, '–')} images / {len(parts.get(k, []))} patients" for k in ("train", "val", "test")
            )
            + ". No patient appears in two parts."
            if split.get("protocol") == "patient"
            else f"**Split** — {split.get('protocol', '')}."
        )
        if split.get("held_out"):
            st.markdown(
                f"**Held out** — patients {', '.join(split['held_out'])} were put in the test part on purpose: their "
                "slides are complete in the data set, so the Region page can check the model on whole slides it never saw."
            )
        st.markdown("**Training**")
        st.table(widgets.training_rows(hp, card.get("classes", [])))
        st.markdown(
            f"**Model** — `{model.get('name', '')}`, {model.get('flops_per_image', 0) / 1e6:.1f} MFLOPs per image, "
            f"last convolution `{model.get('last_conv_layer', '')}`; trained {card.get('created', '')}."
        )
        st.markdown("**Weights SHA-256**")
        st.code(card.get("weights", {}).get("sha256", ""), language=None)
        with st.expander("Software versions"):
            st.table({"package": list(card.get("versions", {})), "version": list(card.get("versions", {}).values())})


if __name__ == "__main__":
    # Streamlit ran this file on its own (a first visit straight to this page's URL on a
    # fresh server, under the old pages/ folder convention): hand over to the app's router.
    from app import main

    main()
