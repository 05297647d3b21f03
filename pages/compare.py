"""Compare the explanation methods over many images: the shipped comparison or any batch run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.errors import BreastXAIError
from core.explain.compare import summarise_methods
from ui import figures, paths, state, widgets


def render() -> None:
    st.title("Compare methods")
    st.markdown(
        "**Choose a modality to see how faithful, consistent, sane and fast each explanation method is over many test images.**"
    )
    modality = widgets.modality_picker("compare_modality")
    path = state.compare_path(modality)
    folder = widgets.results_picker(modality, f"compare_source_{modality}", "The shipped comparison (test patients)")
    command = f"python -m core.batch.compare --modality {modality} --data DIR --n 40"
    if folder is not None:
        result, _ = widgets.open_batch(folder, modality)
        result = {**result, "part": f"batch run '{folder.name}'"}
        command = f"python -m core.batch --modality {modality} --data DIR --out {folder.name} --maps"
    else:
        result = st.session_state.get(f"compare_fresh_{modality}") or state.load_compare(modality)
    if result is None:
        st.info(
            f"No comparison has been computed for this model yet. Run `{command}` (it writes `{path.name}` beside the weights) or recompute it here below."
        )
    else:
        card = state.load_card(modality) or {}
        if card and result.get("weights_sha256") and result["weights_sha256"] != card.get("weights", {}).get("sha256"):
            st.warning("This comparison was computed for other weights than the installed ones; recompute it.")
        labels = result.get("labels", {})
        methods = result.get("methods", [])
        st.caption(
            f"{result.get('n_images')} images from {result.get('part', 'the test set')}, seed {result.get('seed')}, "
            f"computed {result.get('created', '')}. Recompute with `{command}`."
            + (f" {result['errors']} rows could not be scored." if result.get("errors") else "")
        )
        if folder is not None and (result.get("agreement") or {}).get("spearman_mean") is None:
            st.caption("This run kept no maps (`--maps`), so the methods' agreement is not shown.")
        if modality == "mammo":
            st.warning(
                "A weak model (see its cross-validated AUC on Metrics): its maps show what it relies on, which may not be what "
                "a radiologist would; the localisation scores below say how often that is the lesion itself.",
                icon=":material/warning:",
            )
        per = result.get("per_method", {})

        st.subheader("Faithfulness")
        st.caption(
            "Deletion AUC: how fast the score falls as the most important pixels are removed (lower is better). "
            "Insertion AUC: how fast it rises as they are added back (higher is better). Grey: the same for a random map."
        )
        c1, c2 = st.columns(2)
        for col, key, title in (
            (c1, "deletion_auc", "Deletion AUC (lower is better)"),
            (c2, "insertion_auc", "Insertion AUC (higher is better)"),
        ):
            fig = go.Figure()
            for m in methods:
                fig.add_trace(
                    go.Box(
                        y=per.get(m, {}).get(key, []),
                        name=labels.get(m, m),
                        boxpoints="all",
                        jitter=0.4,
                        pointpos=0,
                        marker=dict(size=3),
                        line=dict(width=1.5),
                        showlegend=False,
                    )
                )
            rand = [v for m in methods for v in per.get(m, {}).get(f"random_{key}", []) if v is not None]
            if rand:
                fig.add_trace(go.Box(y=rand, name="random map", marker_color="grey", boxpoints=False, showlegend=False))
            fig.update_layout(title=title, height=420, margin=dict(t=40))
            col.plotly_chart(fig, key=f"box_{key}")

        rows = [
            {
                "Method": labels.get(s.method, s.method),
                "Median deletion AUC": s.median_deletion_auc,
                "Median insertion AUC": s.median_insertion_auc,
                "Median seconds per image": s.median_seconds,
                "Beats random (deletion, mean)": s.beats_random_deletion,
                "Beats random (insertion, mean)": s.beats_random_insertion,
                **(
                    {
                        "Relevance mass in the box": s.mean_relevance_mass,
                        "(uniform map)": s.mean_random_relevance_mass,
                        "Pointing game hits": s.pointing_rate,
                        "(random pixel)": s.random_pointing_rate,
                    }
                    if s.mean_relevance_mass is not None
                    else {}
                ),
            }
            for s in summarise_methods({m: per.get(m, {}) for m in methods})
        ]
        st.dataframe(
            pd.DataFrame(rows),
            hide_index=True,
            key="summary",
            column_config={
                k: st.column_config.NumberColumn(k, format="%.3f")
                for k in (
                    "Median deletion AUC",
                    "Median insertion AUC",
                    "Median seconds per image",
                    "Relevance mass in the box",
                    "(uniform map)",
                    "Pointing game hits",
                    "(random pixel)",
                )
            },
        )
        if any("relevance_mass" in per.get(m, {}) for m in methods):
            st.subheader("Do the maps point at the radiologist's box?")
            st.caption(
                "Relevance mass: the share of a map's positive importance inside the annotated lesion box (higher is "
                "better; a uniform map scores the box's share of the image, in grey). Pointing game: whether the map's "
                "peak lies in the box."
            )
            fig = go.Figure()
            for m in methods:
                fig.add_trace(
                    go.Box(
                        y=per.get(m, {}).get("relevance_mass", []),
                        name=labels.get(m, m),
                        boxpoints="all",
                        jitter=0.4,
                        pointpos=0,
                        marker=dict(size=3),
                        showlegend=False,
                    )
                )
            rand = next(
                (per[m].get("random_relevance_mass") for m in methods if per.get(m, {}).get("random_relevance_mass")),
                [],
            )
            if rand:
                fig.add_trace(
                    go.Box(y=rand, name="uniform map", marker_color="grey", boxpoints=False, showlegend=False)
                )
            fig.update_layout(yaxis_title="Relevance mass in the lesion box", height=380, margin=dict(t=20))
            st.plotly_chart(fig, key="box_localisation")

        st.subheader("Run time")
        fig = go.Figure()
        for m in methods:
            fig.add_trace(go.Box(y=per.get(m, {}).get("seconds", []), name=labels.get(m, m), showlegend=False))
        fig.update_layout(yaxis_title="Seconds per image (log scale)", yaxis_type="log", height=360, margin=dict(t=20))
        # one labelled tick per power of ten, written out, instead of Plotly's "5, 2, 1, 5, 2" minor labels
        fig.update_yaxes(dtick=1, tickformat="~g", minor=dict(ticks="inside", showgrid=False))
        st.plotly_chart(fig, key="box_seconds")

        ag = result.get("agreement") or {}
        if ag.get("spearman_mean") is not None:
            st.subheader("Agreement (mean over images)")
            names_shown = [labels.get(m, m) for m in ag.get("methods", methods)]
            c1, c2 = st.columns(2)
            c1.plotly_chart(
                figures.matrix_figure(np.array(ag["spearman_mean"], float), names_shown, "Spearman rank correlation"),
                key="ag_spearman",
            )
            if ag.get("top10_mean") is not None:
                c2.plotly_chart(
                    figures.matrix_figure(
                        np.array(ag["top10_mean"], float),
                        names_shown,
                        "Top-10% pixel overlap",
                        zmin=0.0,
                        colorscale="Blues",
                    ),
                    key="ag_top10",
                )

        sanity = result.get("sanity") or {}
        if sanity:
            st.subheader("Sanity check: model randomisation")
            st.caption(
                "Each method is rerun on a copy of the model whose weights are re-initialised layer by layer. "
                "A method whose maps barely change is not explaining the model (Adebayo et al., 2018)."
            )
            table, fig = [], go.Figure()
            for m, rec in sanity.items():
                if not isinstance(rec, dict):
                    continue
                table.append(
                    {
                        "Method": labels.get(m, m),
                        "Passed": rec.get("passed"),
                        "Similarity with all layers randomised": rec.get("final_similarity"),
                        "Pass below": rec.get("threshold"),
                        "Images": rec.get("images"),
                    }
                )
                if rec.get("layers"):
                    fig.add_trace(
                        go.Scatter(
                            x=rec["layers"], y=rec.get("spearman", []), mode="lines+markers", name=labels.get(m, m)
                        )
                    )
            st.dataframe(
                pd.DataFrame(table),
                hide_index=True,
                key="sanity",
                column_config={"Similarity with all layers randomised": st.column_config.NumberColumn(format="%.2f")},
            )
            if fig.data:
                threshold = next(
                    (
                        r.get("threshold")
                        for r in sanity.values()
                        if isinstance(r, dict) and r.get("threshold") is not None
                    ),
                    None,
                )
                if threshold is not None:
                    fig.add_hline(y=threshold, line_dash="dot", line_color="grey", annotation_text="pass below")
                fig.update_layout(
                    xaxis_title="Layers randomised so far (top first)",
                    yaxis_title="Spearman to the original map",
                    height=360,
                    margin=dict(t=20),
                )
                st.plotly_chart(fig, key="sanity_cascade")
    st.divider()
    with st.expander("Recompute here"):
        root = paths.histo_root() if modality == "histo" else paths.mammo_root()
        if root is None:
            st.caption("Needs a data folder (environment variable `BREASTXAI_DATA`).")
        else:
            n = st.number_input("Images", 4, 200, 12, 4, key="compare_n")
            chosen = st.multiselect(
                "Methods",
                list(state.method_labels()),
                default=list(state.FAST_METHODS),
                format_func=lambda m: state.method_labels().get(m, m),
                key="compare_methods",
            )
            st.caption("Shown in this session only; the shipped file changes only through the command line.")
            if st.button("Recompute", key="compare_run", disabled=not chosen):
                from core.batch.compare import build

                try:
                    with st.spinner(f"Explaining {n} images with {len(chosen)} methods…"):
                        st.session_state[f"compare_fresh_{modality}"] = build(
                            modality, root, int(n), chosen, sanity_images=2
                        )
                except BreastXAIError as exc:
                    widgets.show_error(exc)
                else:
                    st.rerun()


if __name__ == "__main__":
    # Streamlit ran this file on its own (a first visit straight to this page's URL on a
    # fresh server, under the old pages/ folder convention): hand over to the app's router.
    from app import main

    main()
