"""The explanation CLI: one-line errors, the JSON shape, overlays, and real images."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from core.explain.cli import main

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str


def run_process(*args: str, timeout: int = 600) -> CliRun:
    """``python -m core.explain`` in a fresh interpreter, as a user runs it."""
    r = subprocess.run(
        [sys.executable, "-m", "core.explain", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliRun(r.returncode, r.stdout, r.stderr)


@pytest.fixture
def run_cli(capsys):
    """The command's ``main`` called in this process (no interpreter start-up per case)."""

    def run(*args: str) -> CliRun:
        code = main(list(args))
        out = capsys.readouterr()
        return CliRun(code, out.out, out.err)

    return run


def assert_one_line_error(result: CliRun, *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]


def test_unreadable_file_gives_one_line_error_and_no_traceback_in_a_fresh_process(tmp_path):
    bad = tmp_path / "scan.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nthis is not really a png")
    result = run_process("--modality", "histo", "--image", str(bad))
    assert_one_line_error(result, "scan.png")
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        line for line in result.stderr.splitlines() if line.startswith("error: ")
    ]


def test_missing_file_gives_one_line_error(run_cli, tmp_path):
    assert_one_line_error(run_cli("--modality", "mammo", "--image", str(tmp_path / "absent.png")), "absent.png")


def test_unknown_method_gives_one_line_error(run_cli, tmp_path):
    image = tmp_path / "ok.png"
    from PIL import Image

    Image.fromarray((np.random.default_rng(0).random((50, 50, 3)) * 255).astype(np.uint8)).save(image)
    assert_one_line_error(run_cli("--modality", "histo", "--image", str(image), "--methods", "gradcam,magic"), "magic")


def test_missing_weights_give_one_line_error(run_cli, tmp_path):
    image = tmp_path / "ok.png"
    from PIL import Image

    Image.fromarray((np.random.default_rng(0).random((50, 50, 3)) * 255).astype(np.uint8)).save(image)
    result = run_cli("--modality", "histo", "--image", str(image), "--weights", str(tmp_path / "none.keras"))
    assert_one_line_error(result, "none.keras")


def _first_patch(histo_dir: Path) -> Path:
    patient = sorted(d for d in histo_dir.iterdir() if d.is_dir())[0]
    return sorted(patient.glob("1/*.png"))[0]


def test_json_output_and_overlays_on_a_real_patch(run_cli, histo_weights, histo_dir, tmp_path):
    out = tmp_path / "overlays"
    result = run_cli(
        "--modality",
        "histo",
        "--image",
        str(_first_patch(histo_dir)),
        "--methods",
        "gradcam,ig,occlusion",
        "--json",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["prediction"]["label"] in ("no IDC", "IDC") and 0.5 <= report["prediction"]["probability"] <= 1
    assert list(report["methods"]) == ["gradcam", "ig", "occlusion"]
    for figures in report["methods"].values():
        assert {"seconds", "deletion_auc", "insertion_auc"} <= set(figures)
        assert figures["seconds"] > 0 and 0 <= figures["deletion_auc"] <= 1 and 0 <= figures["insertion_auc"] <= 1
    ig = report["methods"]["ig"]
    assert ig["completeness_error"] >= 0 and np.isfinite(ig["score_difference"])
    from PIL import Image

    for name in ("gradcam", "ig", "occlusion"):
        with Image.open(out / f"{name}.png") as im:
            assert im.size == (200, 200) and im.mode == "RGB"


@pytest.mark.slow
def test_every_method_on_a_real_mammogram_crop(run_cli, mammo_weights, mammo_dir):
    crop = sorted((mammo_dir / "roi" / "malignant").glob("*.png"))[0]
    result = run_cli("--modality", "mammo", "--image", str(crop))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("Prediction: ")
    for label in (
        "Grad-CAM",
        "Grad-CAM++",
        "Integrated Gradients",
        "Saliency",
        "SmoothGrad",
        "LIME",
        "SHAP (gradient)",
        "SHAP (partition)",
        "Occlusion",
        "random map (reference)",
    ):
        assert label in text


def test_grad_cam_alone_runs_without_tensorflow_and_scores_as_keras_does(histo_weights, histo_dir):
    """The default runtime for Grad-CAM is NumPy: a fresh process never imports TensorFlow,
    and the prediction and scores are those of the Keras runtime."""
    patch = str(_first_patch(histo_dir))
    probe = (
        "import sys, json; from core.explain.cli import main; "
        f"main(['--modality', 'histo', '--image', {patch!r}, '--methods', 'gradcam,gradcampp', '--json']); "
        "print(json.dumps({'tensorflow': 'tensorflow' in sys.modules, 'keras': 'keras' in sys.modules}))"
    )
    r = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    report_line, imported_line = r.stdout.strip().splitlines()[-2:]
    fast = json.loads(report_line)
    assert fast["runtime"] == "numpy"
    assert json.loads(imported_line) == {"tensorflow": False, "keras": False}
    keras_run = json.loads(
        run_process(
            "--modality", "histo", "--image", patch, "--methods", "gradcam,gradcampp", "--json", "--runtime", "keras"
        ).stdout
    )
    assert keras_run["runtime"] == "keras"
    assert fast["prediction"]["label"] == keras_run["prediction"]["label"]
    assert fast["prediction"]["probability"] == pytest.approx(keras_run["prediction"]["probability"], abs=1e-5)
    for name in ("gradcam", "gradcampp"):
        for score in ("deletion_auc", "insertion_auc"):
            assert fast["methods"][name][score] == pytest.approx(keras_run["methods"][name][score], abs=2e-3)


def test_numpy_runtime_refuses_input_gradient_methods(run_cli, histo_weights, histo_dir):
    result = run_cli(
        "--modality", "histo", "--image", str(_first_patch(histo_dir)), "--methods", "gradcam,ig", "--runtime", "numpy"
    )
    assert_one_line_error(result, "--runtime numpy", "ig")
    auto = run_cli("--modality", "histo", "--image", str(_first_patch(histo_dir)), "--methods", "gradcam,ig", "--json")
    assert auto.returncode == 0 and json.loads(auto.stdout)["runtime"] == "keras"


def _report(score_difference: float) -> dict:
    ig = {"seconds": 0.1, "deletion_auc": 0.2, "insertion_auc": 0.8, "completeness_error": 0.06}
    return {
        "prediction": {"label": "IDC", "probability": 0.9},
        "methods": {"ig": {**ig, "score_difference": score_difference}},
        "random_map": {"deletion_auc": None, "insertion_auc": None},
    }


def test_table_gives_a_tiny_score_difference_beside_its_relative_completeness_error():
    from core.explain.cli import format_table
    from core.explain.methods.integrated_gradients import MIN_DIFFERENCE

    tiny = format_table(_report(0.027))
    assert "completeness error 6.00% of a score difference of only 0.027 log-odds" in tiny
    usual = format_table(_report(-2 * MIN_DIFFERENCE))
    assert "completeness error 6.00%" in usual and "score difference" not in usual
