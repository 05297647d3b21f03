"""The scorer that every worker (or the local engine) runs over batches of cohort rows.

:class:`CaseScorer` loads the model and builds the explainers once, in ``__init__`` — a
Ray Data actor keeps them for its life — and ``__call__`` takes a batch of cohort rows
(:func:`core.batch.cohort.list_cohort`, with the ``methods`` each row still needs, as
given by :func:`core.batch.cohort.pending`) and returns one output row per image and method
(:data:`core.batch.store.SCHEMA`). Each image is read, predicted, given its seeded
random-map reference (:func:`core.explain.case.prepare_case`) and explained with each
method (:func:`core.explain.case.explain_one`), so the numbers are those of the
dashboard and ``python -m core.explain`` for the same seed. Rows that need no method
(``--methods none``) are predicted together, in one model call per batch. An image that cannot be read,
or a method that fails on one image, gives a row with its ``error`` and NaNs; the batch
goes on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.batch.store import COLUMNS, FLOAT_COLUMNS, NO_METHOD
from core.config import configure
from core.errors import WeightsError

ROOT = Path(__file__).resolve().parents[2]
ERROR_CHARS = 500  # an error message is cut to this length in its row


def resolve_weights(weights: str | os.PathLike | None, modality: str) -> Path:
    """The weights file a worker loads: relative paths are taken from the repository root.

    The driver passes the repository's own weights as paths relative to its root, so a
    worker that received the repository as its working directory finds its own copy.
    """
    if weights is None:
        from core.model.card import weights_path

        return weights_path(modality)
    path = Path(weights)
    return path if path.is_absolute() else ROOT / path


def portable_weights(weights: str | os.PathLike | None) -> str | None:
    """``weights`` as a worker should be told it: relative to the repository root when inside it."""
    if weights is None:
        return None
    path = Path(weights).resolve()
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def read_input(modality: str, row: dict, films: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """A cohort row's image as a (50, 50, C) model input, as ``core.data.labelled`` loads it."""
    return read_case_input(modality, row, films)[0]


def read_case_input(
    modality: str, row: dict, films: dict[str, np.ndarray] | None = None
) -> tuple[np.ndarray, tuple[float, float, float, float] | None]:
    """A cohort row's (50, 50, C) model input and its lesion box in input pixels (or None).

    ``row["framing"]`` (see :data:`core.batch.cohort.ROW_KEYS`) says how: an IDC patch
    padded to 50 px, a lesion region (:func:`core.data.mammo.lesion_region`), or a lesion on
    a whole film framed by the model's box rule — the one framing with a known box, mapped
    into the input as ``core.data.labelled`` maps it. ``films`` keeps the last film decoded.
    """
    from core.modality import get_modality

    path = str(row["path"])
    if modality == "histo":
        from core.data.histo import load_patch

        return load_patch(path), None
    from core.imaging.preprocess import to_model_input

    target = get_modality(modality)
    if row.get("framing", "region") == "film":
        from core.imaging.decode import read_image
        from core.imaging.lesion import LesionSquare, crop_inside, frame_box, side_for_box
        from core.imaging.preprocess import to_gray

        films = {} if films is None else films
        if path not in films:
            films.clear()
            films[path] = to_gray(read_image(path).pixels)
        film = films[path]
        h, w = film.shape[:2]
        cx, cy = float(row["cx"]), float(row["cy"])
        bw, bh = float(row.get("box_w", 0.0)), float(row.get("box_h", 0.0))
        if bw > 0 and bh > 0:  # the reader's own rule (core.data.labelled frames film lesions the same way)
            square, box = frame_box((cx - bw / 2.0, cy - bh / 2.0, bw, bh), h, w, size=target.input_shape[0])
        else:
            square, box = LesionSquare(cx, cy, side_for_box(float(row["side"]), h, w)), None
        return to_model_input(crop_inside(film, square), target), box
    from core.data.mammo import Lesion, lesion_region

    lesion = Lesion(
        id=str(row["image_id"]),
        path=path,
        patient=str(row["patient_id"]),
        label=int(row["label"]),
        abnormality=str(row.get("abnormality", "")),
        cx=float(row.get("cx", 0.0)),
        cy=float(row.get("cy", 0.0)),
        side=float(row.get("side", 0.0)),
    )
    return to_model_input(lesion_region(lesion), target), None


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    if not isinstance(exc, OSError | ValueError) and exc.__class__.__name__ not in text:
        text = f"{exc.__class__.__name__}: {text}"
    return text[:ERROR_CHARS]


class CaseScorer:
    """Score batches of cohort rows: prediction, then each method's map and its AUCs.

    Args:
        modality: ``"histo"`` or ``"mammo"``.
        methods: the method names to build explainers for (registry keys); each row's
            ``methods`` column says which of them it needs. Empty: predictions only.
        weights: the weights file (default: the modality's shipped weights); a relative
            path is taken from the repository root (see :func:`resolve_weights`).
        seed: seeds the random reference map and every random method, for every image.
        steps: points on each deletion/insertion curve.
        tf_threads: TensorFlow threads for this process (None: TensorFlow's default). A
            worker process sets it before TensorFlow runs anything.
        expect_sha256: the weights' SHA-256 the driver recorded; a worker whose file
            differs refuses to start.
        warm: run every explainer once on a blank input in ``__init__``, so that the
            first image's ``seconds`` do not include tracing.
        maps: also return each method's map (``map``, ``signed``) for the store to keep.
    """

    def __init__(
        self,
        modality: str,
        methods: Sequence[str] = (),
        weights: str | os.PathLike | None = None,
        seed: int = 0,
        steps: int | None = None,
        tf_threads: int | None = None,
        expect_sha256: str | None = None,
        warm: bool = True,
        maps: bool = False,
    ) -> None:
        configure(tf_threads=tf_threads)
        from core.explain.case import build_explainers, prepare_case, resolve_methods, warm_up
        from core.explain.metrics.faithfulness import STEPS
        from core.model.classifier import Classifier

        self.modality = modality
        self.maps = bool(maps)
        self._films: dict[str, np.ndarray] = {}  # the last film decoded: its lesions may follow
        self.seed = int(seed)
        self.steps = int(steps or STEPS)
        self.methods = resolve_methods(list(methods)) if methods else ()
        self.classifier = Classifier.load(modality, resolve_weights(weights, modality))
        if expect_sha256 and self.classifier.weights_sha256 != expect_sha256:
            raise WeightsError(
                f"This worker's weights ({self.classifier.weights_sha256[:12]}) differ from the driver's "
                f"({expect_sha256[:12]}); ship the same weights file to every node."
            )
        background = None
        if "shap_gradient" in self.methods:
            from core.explain.methods import load_background

            background = load_background(resolve_weights(weights, modality))
        self.explainers = build_explainers(self.classifier, self.methods, background=background)
        if warm:
            blank = np.full(self.classifier.modality.input_shape, 0.5, np.float32)
            warm_up(self.explainers, blank)
            prepare_case(self.classifier, blank, seed=self.seed, steps=self.steps)

    @property
    def weights_sha256(self) -> str:
        return self.classifier.weights_sha256

    def read(self, row: dict) -> np.ndarray:
        """One row's image as a (50, 50, C) model input (see :func:`read_input`)."""
        return read_input(self.modality, row, self._films)

    def read_case(self, row: dict) -> tuple[np.ndarray, tuple[float, float, float, float] | None]:
        """One row's model input and lesion box in input pixels (see :func:`read_case_input`)."""
        return read_case_input(self.modality, row, self._films)

    def wanted(self, row: dict) -> list[str]:
        """The methods a row asks for (all of this scorer's, if the row does not say)."""
        return [m for m in str(row.get("methods", ",".join(self.methods))).split(",") if m]

    @staticmethod
    def _base(row: dict) -> dict:
        return {
            "image_id": str(row["image_id"]),
            "patient_id": str(row["patient_id"]),
            "label": int(row["label"]),
            "path": str(row["path"]),
            **dict.fromkeys(FLOAT_COLUMNS, float("nan")),
            "predicted": -1,
            "method": NO_METHOD,
            "error": "",
        }

    def score(self, row: dict) -> list[dict]:
        """The output rows of one cohort row (never raises for a bad image or method)."""
        from core.explain.case import explain_one, prepare_case

        start = time.perf_counter()
        base = self._base(row)
        names = self.wanted(row)
        if not names:
            return self.predict_only([row])
        try:
            x, box = self.read_case(row)
            case = prepare_case(self.classifier, x, seed=self.seed, steps=self.steps, box=box)
        except Exception as exc:  # noqa: BLE001 — any failure of one image is that image's row
            return [{**base, "error": _error_text(exc), "case_seconds": time.perf_counter() - start}]
        base.update(probability=float(case.prediction.p_positive), predicted=int(case.prediction.class_index))
        rows = []
        for name in names:
            try:
                if name not in self.explainers:
                    raise ValueError(f"method {name!r} was not built by this worker")
                r = explain_one(self.classifier, self.explainers[name], case)
                out = {
                    **base,
                    "method": name,
                    "deletion_auc": float(r.deletion_auc),
                    "insertion_auc": float(r.insertion_auc),
                    "random_deletion_auc": float(r.random_deletion_auc),
                    "random_insertion_auc": float(r.random_insertion_auc),
                    "seconds": float(r.explanation.seconds),
                }
                if r.localisation is not None:
                    out["relevance_mass"] = float(r.localisation.relevance_mass)
                    out["pointing_hit"] = float(r.localisation.pointing_hit)
                    out["box_share"] = float(r.localisation.box_share)
                if self.maps:
                    out["map"] = np.asarray(r.explanation.attribution, np.float32)
                    out["signed"] = bool(r.explanation.signed)
                rows.append(out)
            except Exception as exc:  # noqa: BLE001 — one method failing on one image
                rows.append({**base, "method": name, "error": f"{name}: {_error_text(exc)}"})
        case_seconds = time.perf_counter() - start
        for r in rows:
            r["case_seconds"] = case_seconds
        return rows

    def predict_only(self, rows: list[dict]) -> list[dict]:
        """One ``"none"`` row per cohort row: the images read one by one, predicted in one call."""
        out, inputs, good = [], [], []
        for row in rows:
            start = time.perf_counter()
            base = self._base(row)
            try:
                inputs.append(self.read(row))
                good.append(len(out))
            except Exception as exc:  # noqa: BLE001
                base["error"] = _error_text(exc)
            base["case_seconds"] = time.perf_counter() - start
            out.append(base)
        if inputs:
            start = time.perf_counter()
            p = self.classifier.predict(np.stack(inputs))
            each = (time.perf_counter() - start) / len(inputs)
            for i, probs in zip(good, p):
                out[i].update(probability=float(probs[1]), predicted=int(np.argmax(probs)), seconds=each)
                out[i]["case_seconds"] += each
        return out

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A batch of cohort rows (column arrays) → the output rows (column arrays of :data:`COLUMNS`)."""
        started = time.time()
        keys = list(batch)
        n = len(batch[keys[0]]) if keys else 0
        rows = [{k: _plain(batch[k][i]) for k in keys} for i in range(n)]
        out = self.predict_only([r for r in rows if not self.wanted(r)])
        for row in rows:
            if self.wanted(row):
                out.extend(self.score(row))
        result = columns(out, self.classifier.modality.input_shape[:2] if self.maps else None)
        # When this batch ran in the worker (wall clock, seconds): for the throughput once the
        # workers are up (bench/batch.py); not written to the Parquet parts.
        result["batch_started"] = np.full(len(out), started)
        result["batch_finished"] = np.full(len(out), time.time())
        return result


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def columns(rows: list[dict], map_shape: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
    """Output rows as column arrays with fixed dtypes (an empty batch keeps them too).

    With ``map_shape`` the batch also carries ``map`` (N, H, W) — NaN for a row without
    one (an error, a predictions-only row) — and ``signed`` (N,).
    """
    out: dict[str, np.ndarray] = {}
    if map_shape is not None:
        blank = np.full(map_shape, np.nan, np.float32)
        out["map"] = np.stack([r.get("map", blank) for r in rows]) if rows else np.zeros((0, *map_shape), np.float32)
        out["signed"] = np.asarray([bool(r.get("signed", False)) for r in rows], bool)
    for col in COLUMNS:
        if col in FLOAT_COLUMNS:  # a score a row does not have (e.g. localisation without a box) is NaN
            out[col] = np.asarray([r.get(col, np.nan) for r in rows], np.float64)
            continue
        values = [r[col] for r in rows]
        if col in ("label", "predicted"):
            out[col] = np.asarray(values, np.int64)
        else:
            out[col] = np.asarray(values, dtype=str) if values else np.zeros(0, dtype=str)
    return out


__all__ = ["CaseScorer", "columns", "portable_weights", "read_case_input", "read_input", "resolve_weights"]
