"""The batch results store: Parquet parts, resuming, reading back and summarising (no model)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from core.batch.cohort import pending
from core.batch.store import (
    COLUMNS,
    IMAGE_ERROR,
    NO_METHOD,
    SCHEMA,
    ResultStore,
    part_files,
    read_results,
    summarise,
    to_table,
)
from core.batch.worker import columns
from core.errors import BreastXAIError

MANIFEST = {"modality": "histo", "weights_sha256": "abc", "seed": 0, "steps": 50}


def row(image_id, method="gradcam", patient="p1", label=1, probability=0.9, dele=0.2, ins=0.8, error=""):
    nan = float("nan")
    failed = bool(error) and method == NO_METHOD
    return {
        "image_id": image_id,
        "patient_id": patient,
        "label": label,
        "path": f"/data/{image_id}.png",
        "probability": nan if failed else probability,
        "predicted": -1 if failed else int(probability >= 0.5),
        "method": method,
        "deletion_auc": nan if error else dele,
        "insertion_auc": nan if error else ins,
        "random_deletion_auc": nan if error else 0.5,
        "random_insertion_auc": nan if error else 0.5,
        "seconds": 0.01,
        "case_seconds": 0.2,
        "error": error,
    }


def test_a_batch_becomes_a_table_of_the_schema_with_null_errors():
    t = to_table(columns([row("a"), row("b", error="gradcam: boom")]))
    assert t.schema == SCHEMA
    assert t.column("error").to_pylist() == [None, "gradcam: boom"]
    assert to_table(columns([])).num_rows == 0


def test_parts_are_written_whole_and_numbered(tmp_path):
    store = ResultStore(tmp_path / "out", MANIFEST, part_rows=3)
    store.add(columns([row("a"), row("b")]))
    assert part_files(tmp_path / "out") == []  # still buffered
    store.add(columns([row("c")]))  # 3 rows: a part
    store.add(columns([row("d")]))
    store.flush()
    parts = part_files(tmp_path / "out")
    assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet"]
    assert [pq.read_metadata(p).num_rows for p in parts] == [3, 1]
    assert not list((tmp_path / "out").glob(".*tmp"))  # no temporary file left behind
    assert store.rows_written == 4 and store.parts_written == 2
    assert store.flush() is None  # nothing buffered: no empty part


def test_read_results_keeps_one_row_per_image_and_method(tmp_path):
    store = ResultStore(tmp_path, MANIFEST)
    store.add(columns([row("a", dele=0.1), row("a", "ig"), row("b")]))
    store.flush()
    store.add(columns([row("a", dele=0.3)]))  # the same (image, method) again, later
    store.flush()
    df = read_results(tmp_path)
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 3
    assert df.set_index(["image_id", "method"]).loc[("a", "gradcam"), "deletion_auc"] == pytest.approx(0.3)


def test_an_empty_folder_reads_as_an_empty_frame_with_the_columns(tmp_path):
    df = read_results(tmp_path / "missing")
    assert df.empty and list(df.columns) == list(COLUMNS)


def test_done_records_methods_and_unreadable_images(tmp_path):
    store = ResultStore(tmp_path, MANIFEST)
    store.add(columns([row("a"), row("a", "ig"), row("b"), row("c", NO_METHOD, error="ImageError: bad")]))
    store.flush()
    assert store.done() == {"a": {"gradcam", "ig"}, "b": {"gradcam"}, "c": {IMAGE_ERROR}}


def test_pending_asks_only_for_what_is_missing():
    rows = [{"image_id": i} for i in "abcd"]
    done = {"a": {"gradcam", "ig"}, "b": {"gradcam"}, "c": {IMAGE_ERROR}}
    todo = pending(rows, done, ("gradcam", "ig"))
    assert [(r["image_id"], r["methods"]) for r in todo] == [("b", "ig"), ("d", "gradcam,ig")]
    # Predictions only: any row of an image is enough.
    assert [r["image_id"] for r in pending(rows, done, ())] == ["d"]
    assert pending(rows, done, ())[0]["methods"] == ""


def test_a_folder_of_another_run_is_refused(tmp_path):
    ResultStore(tmp_path, MANIFEST)
    ResultStore(tmp_path, MANIFEST)  # the same settings: resume
    with pytest.raises(BreastXAIError, match="seed 0 there, 1 now"):
        ResultStore(tmp_path, {**MANIFEST, "seed": 1})


def test_parts_without_a_manifest_are_refused(tmp_path):
    store = ResultStore(tmp_path, MANIFEST)
    store.add(columns([row("a")]))
    store.flush()
    (tmp_path / "run.json").unlink()
    with pytest.raises(BreastXAIError, match="no run.json"):
        ResultStore(tmp_path, MANIFEST)


def test_summarise_by_method_and_patient():
    rows = [
        # gradcam beats the random map (0.5) on deletion for a and b, not on insertion for b
        row("a", "gradcam", "p1", 1, 0.9, dele=0.2, ins=0.8),
        row("b", "gradcam", "p1", 0, 0.7, dele=0.4, ins=0.4),
        row("c", "gradcam", "p2", 0, 0.1, dele=0.3, ins=0.9),
        row("a", "ig", "p1", 1, 0.9, dele=0.6, ins=0.3),
        row("b", "ig", "p1", 0, 0.7, error="ig: failed"),
        row("c", "ig", "p2", 0, 0.1, dele=0.7, ins=0.2),
        row("d", NO_METHOD, "p2", 1, error="ImageError: not an image"),
    ]
    df = to_table(columns(rows)).to_pandas()
    s = summarise(df)
    assert s.images == 4 and s.errors == 1
    m = s.methods.set_index("method")
    assert list(m.index) == ["gradcam", "ig"]
    assert m.loc["gradcam", "images"] == 3 and m.loc["ig", "images"] == 2 and m.loc["ig", "errors"] == 1
    assert m.loc["gradcam", "mean_deletion_auc"] == pytest.approx(0.3)
    assert m.loc["gradcam", "median_insertion_auc"] == pytest.approx(0.8)
    assert bool(m.loc["gradcam", "beats_random_deletion"]) and bool(m.loc["gradcam", "beats_random_insertion"])
    assert not m.loc["ig", "beats_random_deletion"] and not m.loc["ig", "beats_random_insertion"]
    assert m.loc["gradcam", "share_beats_random_insertion"] == pytest.approx(2 / 3)
    p = s.patients.set_index("patient_id")
    assert p.loc["p1", "n"] == 2 and p.loc["p1", "n_positive"] == 1 and p.loc["p1", "errors"] == 0
    assert p.loc["p1", "accuracy"] == pytest.approx(0.5)  # b: 0.7 for a negative patch
    assert p.loc["p2", "n"] == 1 and p.loc["p2", "errors"] == 1 and p.loc["p2", "accuracy"] == 1.0
    assert p.loc["p2", "mean_probability"] == pytest.approx(0.1)


def test_summarise_of_predictions_only_has_no_method_rows():
    df = to_table(columns([row("a", NO_METHOD), row("b", NO_METHOD, probability=0.2, label=0)])).to_pandas()
    s = summarise(df)
    assert s.methods.empty and s.images == 2 and s.errors == 0
    assert s.patients["accuracy"].tolist() == [1.0]
    assert not math.isnan(float(np.asarray(s.patients["mean_probability"])[0]))
