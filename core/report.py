"""A case report: one self-contained HTML page (or a PDF) per analysed image.

It holds what someone auditing the case later needs — the image and the 50×50 input the
model saw, the prediction, every explanation map with its run time and faithfulness
scores, the agreement between methods, the model's name, version and weights SHA-256, the
seeds and the time — and nothing that identifies a patient: no file name, no DICOM
header, no free text. The image is identified only by the SHA-256 of its bytes.

Pictures come from :mod:`core.imaging.pictures`, the same toolkit as the app and the CLI, so a
map in the report has the colours it had on screen.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from PIL import Image

from core.explain.metrics.verdict import case_summary, verdict_of
from core.imaging.pictures import fit_within, overlay, to_png
from core.model.calibration import Calibration, describe

DISCLAIMER = (
    "Not a medical device: research software. The prediction and its explanations support, "
    "and never replace, the judgement of a qualified pathologist or radiologist."
)


# ---------------------------------------------------------------------------------------
# the report


@dataclass(frozen=True)
class MapEntry:
    method: str
    label: str
    heatmap: np.ndarray  # (50, 50) in [0, 1]
    seconds: float
    deletion_auc: float
    insertion_auc: float
    random_deletion_auc: float
    random_insertion_auc: float
    seed: int | None
    params: dict = field(default_factory=dict)
    verdict: str = ""  # in plain words, see core.explain.metrics.verdict


@dataclass(frozen=True)
class CaseReport:
    modality: str
    modality_title: str
    image: np.ndarray  # what the user uploaded (display copy), (H, W, C) in [0, 1]
    model_input: np.ndarray  # (50, 50, C)
    label: str
    probability: float
    p_positive: float
    positive_name: str
    maps: tuple[MapEntry, ...]
    agreement_methods: tuple[str, ...]
    agreement_spearman: np.ndarray | None
    agreement_top10: np.ndarray | None
    model_name: str
    model_created: str
    weights_sha256: str
    versions: dict
    seed: int
    image_sha256: str
    region: tuple[float, float, float] | None = None  # (cx, cy, side) on a whole film
    colormap: str = "Inferno"
    opacity: float = 0.5
    summary: str = ""  # the case in one paragraph (verdicts and where the maps agree)
    calibrated_positive: float | None = None  # P(positive) after the card's calibration
    calibration_note: str = ""  # how it was fitted and how it held (core.model.calibration.describe)
    created: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))


def report_from_analysis(
    analysis,
    *,
    modality,
    image,
    model_input,
    card: dict,
    labels: dict[str, str],
    image_sha256: str,
    region=None,
    colormap: str = "Inferno",
    opacity: float = 0.5,
) -> CaseReport:
    """Build a :class:`CaseReport` from a ``core.explain.case.CaseAnalysis``."""
    maps = []
    for name, r in analysis.methods.items():
        e = r.explanation
        maps.append(
            MapEntry(
                name,
                labels.get(name, name),
                np.asarray(e.heatmap, np.float32),
                float(e.seconds),
                float(r.deletion_auc),
                float(r.insertion_auc),
                float(r.random_deletion_auc),
                float(r.random_insertion_auc),
                e.seed,
                dict(e.params),
                verdict_of(r).sentence,
            )
        )
    ag = analysis.agreement
    p = analysis.prediction
    cal = Calibration.from_card(card)
    return CaseReport(
        modality=modality.name,
        modality_title=modality.title,
        image=fit_within(np.asarray(image, np.float32)),
        model_input=np.asarray(model_input, np.float32),
        label=p.label,
        probability=float(p.probability),
        p_positive=float(p.p_positive),
        positive_name=modality.positive,
        maps=tuple(maps),
        agreement_methods=tuple(ag.methods) if ag is not None else (),
        agreement_spearman=None if ag is None else np.asarray(ag.spearman),
        agreement_top10=None if ag is None else np.asarray(ag.top10_overlap),
        model_name=card.get("model", {}).get("name", ""),
        model_created=card.get("created", ""),
        weights_sha256=card.get("weights", {}).get("sha256", ""),
        versions=dict(card.get("versions", {})),
        seed=int(analysis.seed),
        image_sha256=image_sha256,
        region=region,
        colormap=colormap,
        opacity=opacity,
        summary=case_summary(analysis.methods, labels),
        calibrated_positive=None if cal is None else float(cal.apply(p.p_positive)),
        calibration_note=describe(card),
    )


def _calibrated_text(r: CaseReport) -> str:
    return f"P({r.positive_name}) = {r.calibrated_positive:.3f} after calibration ({r.calibration_note})"


def _img(png: bytes, alt: str, width: int | None = None) -> str:
    size = f' width="{width}"' if width else ""
    return f'<img alt="{html.escape(alt)}"{size} src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _fmt(v: float | None, digits: int = 3) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _matrix_html(title: str, methods: tuple[str, ...], labels: dict[str, str], m: np.ndarray | None) -> str:
    if m is None or not len(methods):
        return ""
    head = "".join(f"<th>{html.escape(labels.get(x, x))}</th>" for x in methods)
    rows = "".join(
        f"<tr><th>{html.escape(labels.get(a, a))}</th>"
        + "".join(f"<td>{_fmt(float(m[i, j]), 2)}</td>" for j in range(len(methods)))
        + "</tr>"
        for i, a in enumerate(methods)
    )
    return f"<h3>{html.escape(title)}</h3><table><tr><th></th>{head}</tr>{rows}</table>"


def render_html(r: CaseReport) -> str:
    """The report as one HTML document with every image embedded (no external files)."""
    labels = {e.method: e.label for e in r.maps}
    base = r.model_input
    tiles = "".join(
        f"<figure>{_img(to_png(overlay(base, e.heatmap, r.opacity, r.colormap), 4), e.label)}"
        f"<figcaption><b>{html.escape(e.label)}</b><br>{e.seconds:.2f} s · deletion AUC {_fmt(e.deletion_auc)} "
        f"(random {_fmt(e.random_deletion_auc)}) · insertion AUC {_fmt(e.insertion_auc)} (random {_fmt(e.random_insertion_auc)})"
        f"{'' if e.seed is None else f' · seed {e.seed}'}<br><i>{html.escape(e.verdict)}</i></figcaption></figure>"
        for e in r.maps
    )
    versions = ", ".join(f"{html.escape(k)} {html.escape(str(v))}" for k, v in r.versions.items())
    region = (
        ""
        if r.region is None
        else (
            f"<tr><th>Region on the film</th><td>centre ({r.region[0]:.0f}, {r.region[1]:.0f}) px, side {r.region[2]:.0f} px</td></tr>"
        )
    )
    calibrated = (
        f"<tr><th>Calibrated</th><td>{html.escape(_calibrated_text(r))}</td></tr>\n"
        if r.calibrated_positive is not None
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>BreastXAI case report</title>
<style>
body{{font-family:system-ui,-apple-system,Segoe UI,sans-serif;color:#1f2a37;max-width:1000px;margin:2em auto;padding:0 1em}}
h1{{color:#0b5f73}} table{{border-collapse:collapse;margin:.5em 0}} th,td{{border:1px solid #d0d7de;padding:4px 8px;text-align:left}}
figure{{display:inline-block;margin:6px;vertical-align:top;width:220px}} figcaption{{font-size:12px}}
figure img{{max-width:100%;height:auto}} figure.upload{{width:320px}}
.note{{background:#fff8e1;border-left:4px solid #f0ad4e;padding:8px}} img{{image-rendering:pixelated}}
</style></head><body>
<h1>BreastXAI case report</h1>
<p class="note">{html.escape(DISCLAIMER)}</p>
<table>
<tr><th>Created</th><td>{html.escape(r.created)}</td></tr>
<tr><th>Modality</th><td>{html.escape(r.modality_title)}</td></tr>
<tr><th>Prediction</th><td><b>{html.escape(r.label)}</b> (probability {r.probability:.1%}; P({html.escape(r.positive_name)}) = {r.p_positive:.3f})</td></tr>
{calibrated}<tr><th>Image SHA-256</th><td><code>{html.escape(r.image_sha256)}</code></td></tr>
{region}
<tr><th>Model</th><td>{html.escape(r.model_name)} (trained {html.escape(r.model_created)})</td></tr>
<tr><th>Weights SHA-256</th><td><code>{html.escape(r.weights_sha256)}</code></td></tr>
<tr><th>Seed</th><td>{r.seed}</td></tr>
<tr><th>Software</th><td>{versions}</td></tr>
</table>
<h2>Image</h2>
<figure class="upload">{_img(to_png(r.image), "uploaded image", 300)}<figcaption>As uploaded</figcaption></figure>
<figure>{_img(to_png(r.model_input, 4), "model input")}<figcaption>The 50×50 input the model sees</figcaption></figure>
<h2>Explanations</h2>
<p>Colour scale {html.escape(r.colormap)}, shared by all maps (0 = least, 1 = most important); overlay opacity {r.opacity:.2f}.
Deletion AUC: lower is better (the score falls fast when the most important pixels are removed).
Insertion AUC: higher is better. Each map's verdict compares both with a random map's scores on this image.</p>
<p><b>In short:</b> {html.escape(r.summary)}</p>
{tiles}
<h2>Agreement between methods</h2>
{_matrix_html("Spearman rank correlation", r.agreement_methods, labels, r.agreement_spearman)}
{_matrix_html("Overlap of the top 10% pixels", r.agreement_methods, labels, r.agreement_top10)}
</body></html>
"""


def _latin1(text: str) -> str:
    table = {
        "–": "-",
        "—": "-",
        "→": "->",
        "×": "x",
        "…": "...",
        "·": "-",
        "≥": ">=",
        "≤": "<=",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
    }
    for a, b in table.items():
        text = text.replace(a, b)
    return text.encode("latin-1", "replace").decode("latin-1")


def render_pdf(r: CaseReport) -> bytes:
    """The report as a PDF (fpdf2, core fonts)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "BreastXAI case report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "I", 9)
    pdf.multi_cell(0, 5, _latin1(DISCLAIMER), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 10)
    facts = [
        ("Created", r.created),
        ("Modality", r.modality_title),
        ("Prediction", f"{r.label} (probability {r.probability:.1%}; P({r.positive_name}) = {r.p_positive:.3f})"),
        *([("Calibrated", _calibrated_text(r))] if r.calibrated_positive is not None else []),
        ("Image SHA-256", r.image_sha256),
        *(
            [("Region on the film", f"centre ({r.region[0]:.0f}, {r.region[1]:.0f}) px, side {r.region[2]:.0f} px")]
            if r.region
            else []
        ),
        ("Model", f"{r.model_name} (trained {r.model_created})"),
        ("Weights SHA-256", r.weights_sha256),
        ("Seed", str(r.seed)),
        ("Software", ", ".join(f"{k} {v}" for k, v in r.versions.items())),
    ]
    for k, v in facts:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(35, 5, _latin1(k))
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(0, 5, _latin1(v), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    y = pdf.get_y()
    pdf.image(Image.open(io.BytesIO(to_png(r.image))), x=10, y=y, w=45)
    pdf.image(Image.open(io.BytesIO(to_png(r.model_input, 4))), x=60, y=y, w=45)
    pdf.set_y(y + 47)
    pdf.set_font("Helvetica", "", 8)
    pdf.cell(0, 4, "Left: as uploaded. Right: the 50x50 input the model sees.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(
        0,
        7,
        _latin1(f"Explanations (colour scale {r.colormap}, opacity {r.opacity:.2f})"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if r.summary:
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(0, 4.5, _latin1(f"In short: {r.summary}"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    col = 0
    for e in r.maps:
        if col == 0 and pdf.get_y() > 230:
            pdf.add_page()
        x = 10 + col * 64
        y = pdf.get_y()
        pdf.image(
            Image.open(io.BytesIO(to_png(overlay(r.model_input, e.heatmap, r.opacity, r.colormap), 4))), x=x, y=y, w=40
        )
        pdf.set_xy(x, y + 41)
        pdf.set_font("Helvetica", "B", 8)
        pdf.cell(60, 4, _latin1(e.label))
        pdf.set_xy(x, y + 45)
        pdf.set_font("Helvetica", "", 7)
        pdf.multi_cell(
            60,
            3.5,
            _latin1(
                f"{e.seconds:.2f} s; deletion AUC {_fmt(e.deletion_auc)} (random {_fmt(e.random_deletion_auc)}); "
                f"insertion AUC {_fmt(e.insertion_auc)} (random {_fmt(e.random_insertion_auc)}). {e.verdict}"
            ),
        )
        col += 1
        if col == 3:
            col = 0
            pdf.set_y(y + 62)
        else:
            pdf.set_y(y)
    if col:
        pdf.set_y(pdf.get_y() + 62)
    if r.agreement_spearman is not None and len(r.agreement_methods):
        if pdf.get_y() > 220:
            pdf.add_page()
        labels = {e.method: e.label for e in r.maps}
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 7, "Agreement (Spearman rank correlation)", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 7)
        # Columns are numbered and each row names its method in full, so no header is cut short.
        name_w = 38.0
        w = min(16.0, (190.0 - name_w) / max(len(r.agreement_methods), 1))
        pdf.cell(name_w, 5, "")
        for k in range(len(r.agreement_methods)):
            pdf.cell(w, 5, str(k + 1), border=1, align="C")
        pdf.ln()
        for i, a in enumerate(r.agreement_methods):
            pdf.cell(name_w, 5, _latin1(f"{i + 1}  {labels.get(a, a)}"), border=1)
            for j in range(len(r.agreement_methods)):
                pdf.cell(w, 5, _fmt(float(r.agreement_spearman[i, j]), 2), border=1)
            pdf.ln()
    return bytes(pdf.output())


__all__ = ["CaseReport", "DISCLAIMER", "MapEntry", "render_html", "render_pdf", "report_from_analysis"]
