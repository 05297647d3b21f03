"""``python -m core.batch`` end to end on a small real histo cohort: local, resumed, and on Ray.

The cohort is 6 patches of one patient (3 of each class), linked into a temporary folder
in the data set's layout, plus one file of garbage bytes with a valid patch name.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow.parquet as pq
import pytest

from core.batch.cli import main, parse_methods
from core.batch.store import COLUMNS, NO_METHOD, SCHEMA, part_files, read_results
from core.errors import BreastXAIError

METHODS = "gradcam,ig"  # two fast methods keep the runs short
BAD = "x9999_y9999_class0"


@pytest.fixture(scope="module")
def cohort(histo_dir, tmp_path_factory):
    """A 7-image cohort folder: 3 + 3 real patches of one patient and one unreadable file."""
    for folder in sorted(p for p in histo_dir.iterdir() if p.is_dir()):
        files = {c: sorted(os.listdir(folder / c))[:3] if (folder / c).is_dir() else [] for c in "01"}
        if all(len(f) == 3 for f in files.values()):
            break
    else:
        pytest.skip("no patient with three patches of each class")
    root = tmp_path_factory.mktemp("cohort")
    for c, names in files.items():
        (root / folder.name / c).mkdir(parents=True)
        for name in names:
            (root / folder.name / c / name).symlink_to(folder / c / name)
    bad = root / folder.name / "0" / f"{folder.name}_idx5_{BAD}.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3)
    return root


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def local_run(cohort, histo_weights, tmp_path_factory):
    """--limit 3 first (an interrupted job), then the whole cohort into the same folder."""
    out = tmp_path_factory.mktemp("local") / "results"
    args = ["--modality", "histo", "--data", str(cohort), "--out", str(out), "--methods", METHODS]
    first = main([*args, "--engine", "local", "--limit", "3", "--batch-size", "2"])
    after_first = read_results(out)
    second = main([*args, "--engine", "local", "--batch-size", "2"])
    return {"out": out, "args": args, "codes": (first, second), "first": after_first, "df": read_results(out)}


def test_local_run_writes_one_row_per_image_and_method(local_run):
    assert local_run["codes"] == (0, 0)
    df = local_run["df"]
    assert list(df.columns) == list(COLUMNS)
    for part in part_files(local_run["out"]):
        assert pq.read_schema(part).remove_metadata() == SCHEMA
    ok = df[df["error"].isna()]
    assert len(ok) == 6 * 2 and ok["image_id"].nunique() == 6
    assert sorted(ok["method"].unique()) == ["gradcam", "ig"]
    assert ok["probability"].between(0, 1).all() and (ok["predicted"] >= 0).all()
    for col in ("deletion_auc", "insertion_auc", "random_deletion_auc", "random_insertion_auc"):
        assert ok[col].between(0, 1).all()
    assert (ok["seconds"] > 0).all() and (ok["case_seconds"] >= ok["seconds"]).all()
    # the label comes from the file name
    assert (ok["label"] == ok["image_id"].str[-1].astype(int)).all()


def test_an_unreadable_image_gets_its_error_and_the_job_finishes(local_run):
    df = local_run["df"]
    bad = df[df["image_id"].str.endswith(BAD)]
    assert len(bad) == 1
    r = bad.iloc[0]
    assert r["method"] == NO_METHOD and r["error"].startswith("ImageError: ")
    assert np.isnan(r["probability"]) and np.isnan(r["deletion_auc"]) and r["predicted"] == -1
    assert df[~df["image_id"].str.endswith(BAD)]["error"].isna().all()


def test_a_resumed_run_does_each_image_exactly_once(local_run):
    first, df = local_run["first"], local_run["df"]
    assert first["image_id"].nunique() == 3
    assert df["image_id"].nunique() == 7
    raw = [pq.read_table(p).to_pandas() for p in part_files(local_run["out"])]
    rows = np.concatenate([t["image_id"].to_numpy() + "/" + t["method"].to_numpy() for t in raw])
    assert len(rows) == len(set(rows)) == len(df)  # nothing written twice, even before read_results dedups
    # the first run's rows were kept, not recomputed
    keep = first.set_index(["image_id", "method"])["deletion_auc"]
    assert df.set_index(["image_id", "method"]).loc[keep.index, "deletion_auc"].equals(keep)


def test_a_rerun_with_nothing_left_writes_nothing(local_run, capsys):
    parts = part_files(local_run["out"])
    code, out, _ = _run(capsys, *local_run["args"], "--engine", "local")
    assert code == 0 and "7 already in" in out and "0 to do" in out
    assert part_files(local_run["out"]) == parts


def test_numbers_are_those_of_explain_one(local_run, cohort):
    from core.data.histo import load_patch
    from core.explain.case import build_explainers, explain_one, prepare_case
    from core.model.classifier import Classifier

    df = local_run["df"].set_index(["image_id", "method"])
    clf = Classifier.load("histo")
    ig = build_explainers(clf, ["ig"])["ig"]
    row = df[df["error"].isna()].xs("ig", level="method").iloc[0]
    case = prepare_case(clf, load_patch(row["path"]), seed=0)
    r = explain_one(clf, ig, case)
    assert row["probability"] == pytest.approx(case.prediction.p_positive, abs=1e-5)
    assert row["deletion_auc"] == pytest.approx(r.deletion_auc, abs=1e-4)
    assert row["insertion_auc"] == pytest.approx(r.insertion_auc, abs=1e-4)
    assert row["random_deletion_auc"] == pytest.approx(r.random_deletion_auc, abs=1e-4)


def test_predictions_only(local_run, cohort, tmp_path, capsys):
    code, out, _ = _run(
        capsys,
        "--modality",
        "histo",
        "--data",
        str(cohort),
        "--out",
        str(tmp_path),
        "--methods",
        "none",
        "--engine",
        "local",
    )
    assert code == 0 and "predictions only" in out
    df = read_results(tmp_path)
    assert len(df) == 7 and (df["method"] == NO_METHOD).all()
    assert df["error"].notna().sum() == 1 and df["deletion_auc"].isna().all()
    # predicted in one call per batch, the same probabilities as one image at a time
    with_methods = local_run["df"].drop_duplicates("image_id").set_index("image_id")["probability"]
    np.testing.assert_allclose(df.set_index("image_id")["probability"].loc[with_methods.index], with_methods, atol=1e-5)


def test_methods_parse_like_the_explain_command():
    assert parse_methods("none") == ()
    assert parse_methods("ig,gradcam,ig") == ("gradcam", "ig")
    assert parse_methods("shap") == ("shap_gradient", "shap_partition")
    with pytest.raises(BreastXAIError, match="unknown explanation method"):
        parse_methods("magic")


def test_errors_are_one_line(local_run, cohort, tmp_path, capsys):
    code, _, err = _run(
        capsys, "--modality", "histo", "--data", str(cohort), "--out", str(tmp_path), "--methods", "magic"
    )
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1
    code, _, err = _run(capsys, *local_run["args"], "--engine", "local", "--seed", "1")
    assert code == 2 and "another run" in err and err.count("\n") == 1
    code, _, err = _run(capsys, "--modality", "histo", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o"))
    assert code == 2 and "does not exist" in err


@pytest.mark.slow
def test_ray_gives_the_same_numbers_as_local(local_run, cohort, tmp_path, capsys, monkeypatch):
    out = tmp_path / "ray"
    monkeypatch.chdir(cohort.parent)  # a relative --data: the workers must still find the files
    code, stdout, _ = _run(
        capsys,
        "--modality", "histo", "--data", cohort.name, "--out", str(out), "--methods", METHODS,
        "--engine", "ray", "--workers", "2", "--batch-size", "2",
    )  # fmt: skip
    assert code == 0, stdout
    import ray

    assert not ray.is_initialized()  # the command shut its local Ray down
    ray_df = read_results(out).set_index(["image_id", "method"]).sort_index()
    local = local_run["df"].set_index(["image_id", "method"]).sort_index()
    assert ray_df.index.equals(local.index)
    assert ray_df["error"].notna().sum() == 1 and ray_df["error"].dropna().iloc[0].startswith("ImageError: ")
    ok = local["error"].isna()
    np.testing.assert_allclose(ray_df.loc[ok, "probability"], local.loc[ok, "probability"], atol=1e-5)
    for col in ("deletion_auc", "insertion_auc", "random_deletion_auc", "random_insertion_auc"):
        np.testing.assert_allclose(ray_df.loc[ok, col], local.loc[ok, col], atol=1e-4)


@pytest.mark.slow
def test_ray_resumes_what_local_started(local_run, cohort, tmp_path, capsys):
    """A folder begun with one engine is finished by the other: the rows are interchangeable."""
    import shutil

    out = tmp_path / "mixed"
    shutil.copytree(local_run["out"], out)
    for part in part_files(out)[1:]:  # keep only the first run's part(s): 3 images
        part.unlink()
    done = read_results(out)["image_id"].nunique()
    assert 0 < done < 7
    code, stdout, _ = _run(
        capsys,
        "--modality", "histo", "--data", str(cohort), "--out", str(out), "--methods", METHODS,
        "--engine", "ray", "--workers", "1", "--batch-size", "4",
    )  # fmt: skip
    assert code == 0 and f"{done} already in" in stdout
    df = read_results(out)
    assert df["image_id"].nunique() == 7 and len(df) == 6 * 2 + 1


def test_a_mammo_cohort_is_framed_and_explained(mammo_dir, mammo_weights, tmp_path, capsys):
    code, out, _ = _run(
        capsys,
        "--modality", "mammo", "--data", str(mammo_dir), "--out", str(tmp_path), "--methods", "gradcam",
        "--engine", "local", "--limit", "3",
    )  # fmt: skip
    assert code == 0, out
    df = read_results(tmp_path)
    assert len(df) == 3 and (df["method"] == "gradcam").all() and df["error"].isna().all()
    assert df["probability"].between(0, 1).all() and df["deletion_auc"].between(0, 1).all()
