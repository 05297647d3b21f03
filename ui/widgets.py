"""Small widgets and text helpers the pages share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from core.explain.metrics.verdict import FAITHFUL, NO_BETTER, WORSE, verdict_of
from core.imaging.pictures import overlay, signed_overlay, to_png
from core.modality import MODALITIES, get_modality
from core.model.calibration import Calibration, describe
from ui import paths, state

ACCENT = "#0b6e82"
TILE_SCALE = 4  # each map pixel drawn as 4×4 screen pixels (nearest), so cells stay crisp


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


OWN_FOLDER = "\u2026"  # the results choice "a folder of my own"


def results_picker(modality: str, key: str, shipped: str) -> Path | None:
    """Which results a reviewer page shows: the files shipped with the weights, or a batch run.

    Offers the batch folders of this modality found under :func:`ui.paths.results_dir`
    and any folder typed in. Returns the chosen batch folder, or None for the shipped files.
    """
    from core.batch.summary import batch_folders

    found = [str(p) for p in batch_folders(paths.results_dir(), modality)]
    labels = {"": shipped, OWN_FOLDER: "A batch folder of my own\u2026"}
    choice = st.selectbox(
        "Results shown",
        ["", *found, OWN_FOLDER],
        format_func=lambda v: labels.get(v) or f"Batch run: {Path(v).name}",
        key=key,
        help="A batch run is a folder written by `python -m core.batch --out DIR`: every image of a cohort scored. "
        f"Folders under `{paths.results_dir().name}/` (or `$BREASTXAI_RESULTS`) are listed here.",
    )
    if choice == OWN_FOLDER:
        typed = st.text_input("Batch result folder", key=f"{key}_path", placeholder="path written by --out")
        return Path(typed).expanduser() if typed.strip() else None
    return Path(choice) if choice else None


def open_batch(folder: Path, modality: str) -> tuple[dict, dict]:
    """A batch folder's (Compare record, Metrics record); stops the page with a message if unusable."""
    from core.errors import BreastXAIError

    try:
        compare, evaluation = state.load_batch(folder)
    except BreastXAIError as exc:
        show_error(exc)
        st.stop()
    if compare.get("modality") != modality:
        st.error(f"'{folder.name}' holds {compare.get('modality')} results; choose that modality above.")
        st.stop()
    return compare, evaluation


def show_error(exc: Exception) -> None:
    st.error(str(exc), icon=":material/error:")


def signed_map(attribution: np.ndarray) -> np.ndarray:
    """A signed attribution scaled to [−1, 1] by its largest magnitude (0 stays 0)."""
    a = np.nan_to_num(np.asarray(attribution, np.float32))
    top = float(np.abs(a).max())
    return a / top if top > 0 else a


def explanation_grid(
    results: dict,
    model_input: np.ndarray,
    opacity: float,
    colorscale: str,
    per_row: int = 4,
    signed: bool = False,
) -> None:
    """Method results (name → ``MethodResult``) side by side, each with its seconds and faithfulness.

    With ``signed``, methods whose maps have a sign show evidence for (red) and against (blue).
    """
    items = list(results.items())
    for start in range(0, len(items), per_row):
        for col, (name, result) in zip(st.columns(per_row), items[start : start + per_row]):
            with col:
                explanation_tile(name, result, model_input, opacity, colorscale, signed)


def tile_slots(methods: list[str], per_row: int = 4) -> dict:
    """An empty place per method, laid out as :func:`explanation_grid` lays out its tiles.

    A page fills each with :func:`explanation_tile` as its method finishes, so a map that
    arrives draws one tile, not the grid again.
    """
    slots = {}
    for start in range(0, len(methods), per_row):
        for col, name in zip(st.columns(per_row), methods[start : start + per_row]):
            slots[name] = col.empty()
    return slots


BADGES = {
    FAITHFUL: ":green-badge[faithful]",
    NO_BETTER: ":orange-badge[no better than random]",
    WORSE: ":red-badge[worse than random]",
}


def explanation_tile(
    name: str, result, model_input: np.ndarray, opacity: float, colorscale: str, signed: bool = False
) -> None:
    """One method's map with its verdict, localisation, seconds and faithfulness scores.

    Four elements (frame, title with verdict, picture, caption): each element costs every
    user's browser a redraw, and a crowd's browsers share the server's cores in the load bench.
    """
    e = result.explanation
    with st.container(border=True):
        # the verdict on its own line, so every tile's picture starts at the same height
        st.markdown(f"**{state.method_labels().get(name, name)}**  \n{BADGES[verdict_of(result).label]}")
        # a picture, not a chart: a repaint (opacity, colour map) swaps one PNG per map,
        # where a chart per map made the browser redraw them all; values on hover are
        # in the zoom below
        picture = (
            signed_overlay(model_input, signed_map(e.attribution), opacity)
            if signed and e.signed
            else overlay(model_input, e.heatmap, opacity, colorscale)
        )
        st.image(to_png(picture, TILE_SCALE), width="stretch")
        lines = []
        if result.localisation is not None:
            loc = result.localisation
            lines.append(
                f"In the lesion box: {loc.relevance_mass:.0%} of the importance (uniform map "
                f"{loc.box_share:.0%}) · peak {'inside' if loc.pointing_hit else 'outside'} the box"
            )
        lines.append(
            f"{e.seconds:.2f} s · deletion AUC {fmt(result.deletion_auc)} "
            f"(random {fmt(result.random_deletion_auc)}) · insertion AUC "
            f"{fmt(result.insertion_auc)} (random {fmt(result.random_insertion_auc)})"
        )
        st.caption("  \n".join(lines))


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


def familiarity_flag(result: tuple[float, float] | None) -> None:
    """Say so when the input is unlike anything the model was trained on."""
    if result is None:
        return
    score, threshold = result
    if score > threshold:
        st.warning(
            f"**Outside what this model was trained on**: this input's features are {score:.2f} standard units from "
            f"the training inputs' on average, beyond the {threshold:.2f} that 99% of them stay within. "
            "Treat the answer as unsupported.",
            icon=":material/explore_off:",
        )
    else:
        st.caption(
            f"Familiar input: {score:.2f} standard units from the training inputs (99% stay within {threshold:.2f})."
        )


def trust_strip(card: dict | None, modality, p_positive: float | None = None) -> None:
    """The model's validated figures on unseen patients, and the calibrated probability, beside every answer."""
    cal = Calibration.from_card(card)
    if cal is not None and p_positive is not None:
        how = describe(card)
        st.markdown(
            f"Calibrated P({modality.positive}) = **{float(cal.apply(p_positive)):.3f}** "
            f"(the model's own {p_positive:.3f}, recalibrated)",
            help="The decision at 0.5 uses the model's own probability; the calibrated one is what "
            "'probability' should mean: among inputs given 0.7, about 7 in 10 positive.",
        )
        st.caption(f"Calibration: {how}.")
    tm = (card or {}).get("test_metrics") or {}
    if not tm:
        st.caption("No validated figures are recorded for this model.")
        return
    ci = tm.get("ci", {})

    def with_ci(key: str, percent: bool = False) -> str:
        lo, hi = ci.get(key, (None, None))
        interval = "" if lo is None else f" (95% CI {fmt(lo, percent=percent)}–{fmt(hi, percent=percent)})"
        return f"{fmt(tm.get(key), percent=percent)}{interval}"

    st.markdown(
        f"**How far to trust this model** — on {tm.get('n', '–')} images of {tm.get('n_patients', '–')} patients "
        f"it never saw: AUC {with_ci('auc')}; at the 0.5 threshold used here, sensitivity {with_ci('sensitivity', True)} "
        f"and specificity {with_ci('specificity', True)}."
    )
    lo = (ci.get("auc") or (None, None))[0]
    if lo is not None and lo <= 0.5:
        st.error(
            f"The {modality.title.lower()} model's AUC interval on unseen patients reaches 0.5 (chance): "
            "its answer here is not evidence either way.",
            icon=":material/report:",
        )


def training_rows(hp: dict, classes: list[str]) -> list[dict[str, str]]:
    """A model card's training settings as readable rows (setting, value) for a table."""
    plateau, stop = hp.get("reduce_lr_on_plateau", {}), hp.get("early_stopping", {})
    weights = hp.get("class_weight", {})
    names = {str(i): n for i, n in enumerate(classes)}
    rows = [
        ("Epochs (at most)", hp.get("epochs", "–")),
        ("Batch size", " → ".join(str(b) for b in hp.get("batch_size_schedule", [])) or "–"),
        ("Optimiser", f"{hp.get('optimizer', '–')}, learning rate {hp.get('learning_rate', '–')}"),
        (
            "Learning rate on a plateau",
            f"× {plateau.get('factor', '–')} after {plateau.get('patience', '–')} epochs without progress "
            f"(never below {plateau.get('min_lr', '–')})"
            if plateau
            else "–",
        ),
        (
            "Early stopping",
            f"on {stop.get('monitor', 'val_loss').replace('val_loss', 'validation loss')}, "
            f"patience {stop.get('patience', '–')} epochs, best weights kept"
            if stop
            else "–",
        ),
        ("Augmentation", hp.get("augmentation", "–")),
        ("Class weights", ", ".join(f"{names.get(str(k), k)} {float(v):.2f}" for k, v in weights.items()) or "–"),
        ("Seed", hp.get("seed", "–")),
    ]
    return [{"Setting": k, "Value": str(v)} for k, v in rows]


def _select_all(key: str, names: list[str]) -> None:
    st.session_state[key] = names


def method_form(labels: dict[str, str], key: str) -> tuple[list[str], dict]:
    """The methods to run and their settings, chosen in a form and sent with one button.

    Choosing in a form reruns nothing until *Explain* (or *All methods*) is pressed, so a
    choice made while maps are still computing can never be lost to a rerun that started
    before it. The first visit runs the default fast methods without a press. The selection
    lives in session state (no widget default), so *All methods* can set it.
    """
    st.session_state.setdefault(key, [m for m in state.FAST_METHODS if m in labels])
    # a toggle outside the form, not an expander inside it: a collapsed expander still draws
    # its eight settings widgets on every upload, in every user's browser
    show = st.toggle(
        "Method settings",
        key=f"{key}_settings_on",
        help="Change a method's settings (IG baseline and path points, LIME samples, Grad-CAM layer, SmoothGrad).",
    )
    with st.form(f"{key}_form", border=False):
        methods = st.multiselect(
            "Methods",
            list(labels),
            format_func=lambda m: labels.get(m, m),
            key=key,
            help="Choose any number, then press Explain. LIME, SHAP (partition) and occlusion take longer; "
            "their progress is shown.",
        )
        # every method's settings are offered: a method added in the form shows none until sent
        offered = method_settings(list(SETTING_DEFAULTS), key_prefix="" if key == "methods" else f"{key}_", show=show)
        settings = {name: values for name, values in offered.items() if name in methods}
        b1, b2, _ = st.columns([1, 1, 4])
        b1.form_submit_button("Explain", type="primary", icon=":material/play_arrow:")
        b2.form_submit_button(
            "All methods",
            on_click=_select_all,
            args=(key, list(labels)),
            help="Every method at once (the slower ones show progress).",
        )
    return list(methods), settings


# The settings a user may change per method, with the engine's defaults (core.explain.methods).
SETTING_DEFAULTS: dict[str, dict[str, object]] = {
    "ig": {"baseline": "blurred", "steps": 64},
    "lime": {"samples": 500},
    "gradcam": {"layer": "relu4"},
    "gradcampp": {"layer": "relu4"},
    "smoothgrad": {"noise": 0.2, "samples": 20},
}


# Each settings widget: (method, setting, key suffix). Their defaults are SETTING_DEFAULTS.
SETTING_WIDGETS = (
    ("ig", "baseline", "set_ig_baseline"),
    ("ig", "steps", "set_ig_steps"),
    ("lime", "samples", "set_lime"),
    ("gradcam", "layer", "set_gradcam_layer"),
    ("gradcampp", "layer", "set_gradcampp_layer"),
    ("smoothgrad", "noise", "set_sg_noise"),
    ("smoothgrad", "samples", "set_sg_samples"),
)


def method_settings(
    methods: list[str], key_prefix: str = "", show: bool = True
) -> dict[str, tuple[tuple[str, object], ...]]:
    """Per-method settings; only those that differ from the defaults.

    Defaults: Integrated Gradients with a blurred baseline and 64 path points; LIME with 500
    perturbed samples; Grad-CAM and Grad-CAM++ on the last block's rectified maps (``relu4``);
    SmoothGrad with noise 0.2 of the value range and 20 samples. The values live in session
    state, not only in their widgets, so a setting changed and then hidden (``show`` off)
    still applies, and the widgets show it again when shown.
    """
    shown = [m for m in methods if m in SETTING_DEFAULTS]
    if not shown:
        return {}
    for name, setting, suffix in SETTING_WIDGETS:
        k = key_prefix + suffix
        st.session_state[k] = st.session_state.get(k, SETTING_DEFAULTS[name][setting])  # outlives its widget
    if show:
        _settings_widgets(shown, key_prefix)
    # a keyed widget's value is its session-state entry, so shown or hidden the values are read there
    return _changed(
        {
            name: {
                setting: st.session_state[key_prefix + suffix] for n, setting, suffix in SETTING_WIDGETS if n == name
            }
            for name in shown
        }
    )


def _settings_widgets(shown: list[str], key_prefix: str) -> None:
    """The settings widgets of the methods in ``shown``; their values live in session state."""
    with st.container(border=True):
        st.caption("Defaults are the engine's; a changed setting (sent with Explain) computes that method again.")
        if "ig" in shown:
            c1, c2 = st.columns(2)
            c1.selectbox("IG baseline", ["blurred", "black", "white"], key=key_prefix + "set_ig_baseline")
            c2.select_slider("IG path points", [16, 32, 64, 128, 256], key=key_prefix + "set_ig_steps")
        if "lime" in shown:
            st.select_slider("LIME samples", [100, 250, 500, 1000, 2000], key=key_prefix + "set_lime")
        for name in ("gradcam", "gradcampp"):
            if name in shown:
                st.selectbox(
                    f"{'Grad-CAM++' if name == 'gradcampp' else 'Grad-CAM'} layer",
                    ["relu4", "relu3", "relu2"],
                    key=f"{key_prefix}set_{name}_layer",
                    help="relu4: the last block (6×6 cells); earlier blocks are finer and less class-specific.",
                )
        if "smoothgrad" in shown:
            c1, c2 = st.columns(2)
            c1.slider("SmoothGrad noise", 0.05, 0.5, step=0.05, key=key_prefix + "set_sg_noise")
            c2.select_slider("SmoothGrad samples", [10, 20, 50], key=key_prefix + "set_sg_samples")


def _changed(chosen: dict[str, dict[str, object]]) -> dict[str, tuple[tuple[str, object], ...]]:
    """The settings that differ from SETTING_DEFAULTS, as sorted (name, value) pairs per method."""
    out = {}
    for name, values in chosen.items():
        changed = {k: v for k, v in values.items() if v != SETTING_DEFAULTS[name][k]}
        if changed:
            out[name] = tuple(sorted(changed.items()))
    return out
