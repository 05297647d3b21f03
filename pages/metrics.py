"""Metrics for reviewers: everything read from the committed model card and eval file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.evaluate.paper import BASELINES_NOTE, WHY_THEY_DIFFER, comparison_table
from core.evaluate.scores import confusion, curves, operating_point
from core.evaluate.slides import PUBLISHED_WHOLE_SLIDE
from core.model.calibration import Calibration, describe
from ui import figures, state, widgets


def _whole_slides(record: dict) -> None:
    """Every patch of each complete unseen slide scored: the published papers' protocol."""
    ws = record["whole_slides"]
    st.subheader("Whole slides (every patch of each complete unseen slide)")
    st.caption(
        "A slide counts as complete when its patches cover the slide's 50-px grid densely (told from the data). "
        "Mean: over slides; pooled: over all their patches. The two papers scored whole test slides the same way."
    )
    rows = [
        {
            "Slide (patient)": r["patient"],
            "Patches": r["n"],
            "IDC patches": r["n_positive"],
            "AUC": r["auc"],
            "Balanced accuracy": r["balanced_accuracy"],
            "F1": r["f1"],
            "Sensitivity": r["sensitivity"],
            "Specificity": r["specificity"],
        }
        for r in ws["slides"]
    ]
    for name in ("mean", "pooled"):
        r = ws[name]
        rows.append(
            {
                "Slide (patient)": f"{name} over slides" if name == "mean" else "pooled patches",
                "Patches": r.get("n"),
                "IDC patches": None,
                "AUC": r["auc"],
                "Balanced accuracy": r["balanced_accuracy"],
                "F1": r["f1"],
                "Sensitivity": r["sensitivity"],
                "Specificity": r["specificity"],
            }
        )
    for ref in PUBLISHED_WHOLE_SLIDE:
        rows.append(
            {
                "Slide (patient)": f"published: {ref['source']}",
                "F1": ref["f1"],
                "Balanced accuracy": ref["balanced_accuracy"],
            }
        )
    numbers = ("AUC", "Balanced accuracy", "F1", "Sensitivity", "Specificity")
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        key="whole_slides",
        column_config={k: st.column_config.NumberColumn(k, format="%.3f") for k in numbers},
    )
    with st.expander("ROC and precision–recall of one slide"):
        slide = st.selectbox("Slide", [r["patient"] for r in ws["slides"]], key="slide_curves")
        preds = [p for p in record.get("predictions", []) if p["patient"] == slide]
        y = np.array([p["label"] for p in preds], int)
        prob = np.array([p["probability"] for p in preds], float)
        if len(set(y.tolist())) < 2:
            st.info("This slide holds one class only: no ROC curve.")
            return
        c = curves(y, prob).to_dict()
        c1, c2 = st.columns(2)
        fig = go.Figure(go.Scatter(x=c["roc"]["fpr"], y=c["roc"]["tpr"], mode="lines", name="ROC"))
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="grey"), name="chance"))
        fig.update_layout(
            title=f"Slide {slide}: ROC", xaxis_title="1 − specificity", yaxis_title="Sensitivity", height=340
        )
        c1.plotly_chart(fig, key="slide_roc")
        fig = go.Figure(go.Scatter(x=c["pr"]["recall"], y=c["pr"]["precision"], mode="lines", name="PR"))
        fig.update_layout(
            title=f"Slide {slide}: precision–recall", xaxis_title="Recall", yaxis_title="Precision", height=340
        )
        c2.plotly_chart(fig, key="slide_pr")


def _external(record: dict) -> None:
    """The same model on another institution's images: the test it was never tuned to."""
    m = record.get("metrics", {})
    st.subheader(f"External test — {record.get('data_label') or record.get('data_folder', '')}")
    st.caption(
        f"{m.get('n', '–')} lesions of {m.get('n_patients', '–')} women from another institution, film scanner, country "
        "and decade; none was seen in training or tuning."
        + (
            " Left out by the reader: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in record["skipped"].items())
            if record.get("skipped")
            else ""
        )
    )
    ci = m.get("ci", {})
    rows = [
        {
            "metric": k.replace("_", " "),
            "value": m.get(k),
            "95% CI": "–" if not ci.get(k) else f"{widgets.fmt(ci[k][0])}–{widgets.fmt(ci[k][1])}",
        }
        for k in ("auc", "balanced_accuracy", "sensitivity", "specificity", "f1", "accuracy")
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        key="external",
        column_config={"value": st.column_config.NumberColumn("value", format="%.3f")},
    )


def render() -> None:
    st.title("Metrics")
    st.markdown(
        "**Choose a modality to audit the model's test results; every number comes from the files shipped with the weights.**"
    )
    modality = widgets.modality_picker("metrics_modality")
    card = state.load_card(modality)
    if card is None:
        st.error(widgets.missing_weights_message(modality))
        st.stop()
    folder = widgets.results_picker(modality, f"metrics_source_{modality}", "The shipped test results")
    names = card.get("classes", ["negative", "positive"])
    split = card.get("split", {})
    if folder is None:
        record = state.load_eval(modality)
        tm = card.get("test_metrics", {})
        st.subheader("Headline (test set)")
        st.caption(
            f"{tm.get('n', '–')} test images from {tm.get('n_patients', '–')} patients ({tm.get('n_positive', '–')} {names[1]}), "
            f"{split.get('protocol', '')} split; 95% intervals by bootstrap over patients; threshold 0.5."
        )
    else:
        _, record = widgets.open_batch(folder, modality)
        tm = record.get("metrics", {})
        st.subheader(f"Headline (batch run '{folder.name}')")
        seen = sorted(set(split.get("patients", {}).get("train", [])) | set(split.get("patients", {}).get("val", [])))
        overlap = len({r["patient"] for r in record.get("per_patient", [])} & set(seen))
        st.caption(
            f"{tm.get('n', '–')} images from {tm.get('n_patients', '–')} patients ({tm.get('n_positive', '–')} {names[1]}) "
            "scored by `python -m core.batch`; 95% intervals by bootstrap over patients; threshold 0.5."
            + (f" {record['errors']} images could not be read." if record.get("errors") else "")
        )
        if overlap:
            st.warning(
                f"{overlap} of these patients were in the model's training or validation part: "
                "these figures are optimistic for them.",
                icon=":material/warning:",
            )
        if record.get("weights_sha256") and record["weights_sha256"] != card.get("weights", {}).get("sha256"):
            st.warning("This batch run was scored with other weights than the installed ones.")
    if modality == "mammo":
        st.warning(
            f"A weak model: it learned from {card.get('data', {}).get('n_images', '–')} CBIS-DDSM mass lesions from scratch "
            f"at 50×50 px and is tested on {tm.get('n', '–')} lesions of unseen women; read the intervals, the "
            "cross-validation and the external test, not the point values.",
            icon=":material/warning:",
        )
    headline = [
        ("accuracy", "Accuracy"),
        ("f1", "F1"),
        ("auc", "AUC"),
        ("balanced_accuracy", "Balanced accuracy"),
        ("sensitivity", "Sensitivity"),
        ("specificity", "Specificity"),
        ("precision", "Precision (PPV)"),
    ]
    cols = st.columns(len(headline))
    for col, (key, label) in zip(cols, headline):
        lo, hi = tm.get("ci", {}).get(key) or [None, None]
        interval = "95% CI not defined" if widgets.fmt(lo) == "–" else f"95% CI {widgets.fmt(lo)}–{widgets.fmt(hi)}"
        col.metric(label, widgets.fmt(tm.get(key)), help=interval)
        col.caption(interval)
    st.caption(f"Brier score {widgets.fmt(tm.get('brier'))} (lower is better).")
    if record is None:
        st.info(
            "No evaluation file (`weights/<modality>.eval.json`) is installed, so curves and per-image results are not available."
        )
    else:
        points = record.get("curves", {})
        st.subheader("ROC and precision–recall")
        c1, c2 = st.columns(2)
        roc = points.get("roc", {})
        fig = go.Figure(
            go.Scatter(
                x=roc.get("fpr", []),
                y=roc.get("tpr", []),
                mode="lines",
                name="ROC",
                customdata=roc.get("thresholds", []),
                hovertemplate="FPR %{x:.3f}<br>TPR %{y:.3f}<br>threshold %{customdata:.3f}<extra></extra>",
            )
        )
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="grey"), name="chance"))
        fig.update_layout(
            title=f"ROC (AUC {widgets.fmt(record.get('metrics', {}).get('auc'))})",
            xaxis_title="1 − specificity",
            yaxis_title="Sensitivity",
            height=380,
            margin=dict(t=40),
        )
        c1.plotly_chart(fig, key="roc")
        pr = points.get("pr", {})
        fig = go.Figure(
            go.Scatter(
                x=pr.get("recall", []),
                y=pr.get("precision", []),
                mode="lines",
                name="PR",
                customdata=pr.get("thresholds", []),
                hovertemplate="recall %{x:.3f}<br>precision %{y:.3f}<br>threshold %{customdata:.3f}<extra></extra>",
            )
        )
        prevalence = record.get("metrics", {}).get("n_positive", 0) / max(record.get("metrics", {}).get("n", 1), 1)
        fig.add_hline(y=prevalence, line_dash="dot", line_color="grey", annotation_text="prevalence")
        fig.update_layout(
            title="Precision–recall",
            xaxis_title="Recall (sensitivity)",
            yaxis_title="Precision (PPV)",
            height=380,
            margin=dict(t=40),
        )
        c2.plotly_chart(fig, key="pr")

        # --- threshold --------------------------------------------------------------------
        st.subheader("Confusion matrix at a chosen threshold")
        preds = record.get("predictions", [])
        y = np.array([p["label"] for p in preds], int)
        p = np.array([p["probability"] for p in preds], float)
        threshold = st.slider(f"Threshold on P({names[1]})", 0.0, 1.0, 0.5, 0.01, key="threshold")
        tn, fp, fn, tp = confusion(y, p >= threshold)
        op = operating_point(tn, fp, fn, tp)
        c1, c2 = st.columns([1, 1])
        fig = figures.matrix_figure(
            np.array([[tn, fp], [fn, tp]]), [], "", zmin=0, zmax=max(len(y), 1), colorscale="Blues", fmt="d"
        )
        fig.data[0].update(
            x=[f"predicted {names[0]}", f"predicted {names[1]}"],
            y=[f"true {names[0]}", f"true {names[1]}"],
            hovertemplate="%{y}, %{x}: %{z}<extra></extra>",
        )
        fig.update_layout(height=320, title=f"{len(y)} images, threshold {threshold:.2f}")
        c1.plotly_chart(fig, key="confusion")
        with c2:
            m1, m2 = st.columns(2)
            m1.metric("Sensitivity", widgets.fmt(op["sensitivity"]))
            m2.metric("Specificity", widgets.fmt(op["specificity"]))
            m1.metric("PPV (precision)", widgets.fmt(op["ppv"]))
            m2.metric("NPV", widgets.fmt(op["npv"]))
            st.caption(
                f"TP {tp} · FP {fp} · FN {fn} · TN {tn}. Recomputed from the per-image predictions of the results shown."
            )

        st.subheader("Calibration")
        cal = points.get("calibration", {})
        fig = go.Figure(
            go.Scatter(
                x=cal.get("mean_predicted", []),
                y=cal.get("fraction_positive", []),
                mode="lines+markers",
                customdata=cal.get("count", []),
                name="model",
                hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}<br>%{customdata} images<extra></extra>",
            )
        )
        calibration = Calibration.from_card(card)
        preds = record.get("predictions") or []
        if calibration is not None and preds:
            y = np.array([p["label"] for p in preds], int)
            after = curves(y, calibration.apply(np.array([p["probability"] for p in preds], float))).calibration
            fig.add_trace(
                go.Scatter(
                    x=after["mean_predicted"],
                    y=after["fraction_positive"],
                    mode="lines+markers",
                    customdata=after["count"],
                    name="calibrated",
                    hovertemplate="calibrated %{x:.2f}<br>observed %{y:.2f}<br>%{customdata} images<extra></extra>",
                )
            )
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="grey"), name="perfect"))
        fig.update_layout(
            xaxis_title=f"Mean predicted P({names[1]})",
            yaxis_title=f"Observed fraction {names[1]}",
            height=360,
            margin=dict(t=20),
        )
        st.plotly_chart(fig, key="calibration")
        if calibration is not None:
            st.caption(
                f"The calibrated probability shown beside each answer: {describe(card)}. "
                "It is fitted on the validation patients, so these test patients check it."
            )

        st.subheader("Per patient")
        st.dataframe(pd.DataFrame(record.get("per_patient", [])), hide_index=True, key="per_patient")
    if record is not None and (record.get("whole_slides") or {}).get("slides"):
        _whole_slides(record)
    st.subheader("Training curves")
    hist = card.get("history", {})
    if hist.get("loss"):
        epochs = list(range(1, len(hist["loss"]) + 1))
        c1, c2 = st.columns(2)
        fig = go.Figure()
        for k, label in (("loss", "training loss"), ("val_loss", "validation loss")):
            fig.add_trace(go.Scatter(x=epochs, y=hist.get(k, []), mode="lines+markers", name=label))
        if hist.get("best_epoch"):
            fig.add_vline(x=hist["best_epoch"][0], line_dash="dot", annotation_text="kept")
        fig.update_layout(xaxis_title="Epoch", yaxis_title="Loss", height=320, margin=dict(t=20))
        c1.plotly_chart(fig, key="loss")
        fig = go.Figure()
        for k, label in (("accuracy", "training accuracy"), ("val_accuracy", "validation accuracy")):
            fig.add_trace(go.Scatter(x=epochs, y=hist.get(k, []), mode="lines+markers", name=label))
        fig.update_layout(xaxis_title="Epoch", yaxis_title="Accuracy", height=320, margin=dict(t=20))
        c2.plotly_chart(fig, key="accuracy")
        st.caption(
            "Batch size per epoch: "
            + ", ".join(str(b) for b in hist.get("batch_size", []))
            + ". Learning rate per epoch: "
            + ", ".join(f"{v:.0e}" for v in hist.get("learning_rate", []))
            + "."
        )
    cv = card.get("cross_validation")
    if cv:
        st.subheader(f"{cv.get('folds')}-fold cross-validation (patient-grouped)")
        st.dataframe(
            pd.DataFrame([{"metric": k, "mean": v["mean"], "sd": v["sd"]} for k, v in cv.get("mean_sd", {}).items()]),
            hide_index=True,
            key="cv",
        )
    external = state.load_external_eval(modality)
    if external is not None:
        _external(external)
    st.subheader("The paper's Table 1 beside our results")
    rows = comparison_table(modality, card)
    st.dataframe(
        pd.DataFrame([r.as_dict() for r in rows]),
        hide_index=True,
        key="paper_table",
        column_config={k: st.column_config.NumberColumn(k, format="%.3f") for k in ("Accuracy", "F1", "AUC")},
    )
    st.caption(BASELINES_NOTE)
    st.markdown(f"**Why the numbers differ.** {WHY_THEY_DIFFER}")


if __name__ == "__main__":
    # Streamlit ran this file on its own (a first visit straight to this page's URL on a
    # fresh server, under the old pages/ folder convention): hand over to the app's router.
    from app import main

    main()
