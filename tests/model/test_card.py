"""Weights integrity: every load checks the file's SHA-256 against its model card, and a
damaged, replaced or missing file is one clear error naming it — in code and in the CLIs."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.errors import WeightsError
from core.evaluate.run import main as evaluate_main
from core.modality import HISTO
from core.model.card import card_path, sha256_file, verify_weights, write_json
from core.train.fit import main as train_main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> Path:
    """A freshly built (untrained) histo model saved with a card recording its SHA-256."""
    from core.model.network import build_model

    folder = tmp_path_factory.mktemp("weights")
    path = folder / "histo.keras"
    build_model(HISTO, seed=0).save(path)
    write_json(card_path(path), {"modality": "histo", "weights": {"file": path.name, "sha256": sha256_file(path)}})
    return path


def copy_weights(src: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / src.name
    dst.write_bytes(src.read_bytes())
    card_path(dst).write_bytes(card_path(src).read_bytes())
    return dst


def test_valid_weights_load_and_report_their_hash(tiny_weights, tmp_path):
    from core.model.classifier import Classifier

    path = copy_weights(tiny_weights, tmp_path)
    clf = Classifier.load("histo", path)
    assert clf.weights_sha256 == sha256_file(path)
    assert len(clf.weights_sha256) == 64


@pytest.mark.parametrize("where", [0.0, 0.5, 0.999])
def test_one_changed_byte_is_refused_naming_the_file(tiny_weights, tmp_path, where):
    from core.model.classifier import Classifier

    path = copy_weights(tiny_weights, tmp_path)
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError) as info:
        Classifier.load("histo", path)
    message = str(info.value)
    assert "'histo.keras'" in message and "does not match its model card" in message
    assert "Restore it" in message


def test_missing_weights_file(tmp_path):
    from core.model.classifier import Classifier

    with pytest.raises(WeightsError, match=r"'histo\.keras' is missing"):
        Classifier.load("histo", tmp_path / "histo.keras")


def test_missing_card(tiny_weights, tmp_path):
    path = copy_weights(tiny_weights, tmp_path)
    card_path(path).unlink()
    with pytest.raises(WeightsError, match=r"model card 'histo\.json'.*missing"):
        verify_weights(path)


@pytest.mark.parametrize("card_text", ["{not json", "{}", '{"weights": {}}'])
def test_unreadable_or_empty_card(tiny_weights, tmp_path, card_text):
    path = copy_weights(tiny_weights, tmp_path)
    card_path(path).write_text(card_text)
    with pytest.raises(WeightsError, match="histo"):
        verify_weights(path)


def test_default_folder_follows_the_environment(tiny_weights, tmp_path):
    """BREASTXAI_WEIGHTS is read when core.model.card is imported (fresh interpreter)."""
    copy_weights(tiny_weights, tmp_path)
    code = "from core.model.card import weights_path; print(weights_path('histo'))"
    env = {**os.environ, "BREASTXAI_WEIGHTS": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == tmp_path / "histo.keras"


# --- the CLIs ------------------------------------------------------------------------


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """Run a command's ``main`` in this process with its default weights folder moved."""
    import core.model.card

    def run(args: list[str], weights_dir: Path) -> CliRun:
        monkeypatch.setattr(core.model.card, "WEIGHTS_DIR", Path(weights_dir))
        assert args[0] == "-m"
        main = {"core.evaluate": evaluate_main, "core.train": train_main}[args[1]]
        code = main(args[2:])
        out = capsys.readouterr()
        return CliRun(code, out.out, out.err)

    return run


def assert_one_line_error(out: CliRun, *needles: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, out.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def test_evaluate_cli_missing_weights(run_cli, tmp_path):
    out = run_cli(["-m", "core.evaluate", "--modality", "histo", "--data", str(tmp_path)], tmp_path)
    assert_one_line_error(out, "'histo.keras'", "missing")


def test_evaluate_cli_damaged_weights(run_cli, tiny_weights, tmp_path):
    path = copy_weights(tiny_weights, tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    out = run_cli(["-m", "core.evaluate", "--modality", "histo", "--data", str(tmp_path)], tmp_path)
    assert_one_line_error(out, "'histo.keras'", "does not match")


@pytest.mark.slow
def test_evaluate_cli_bad_data_folder(run_cli, tiny_weights, tmp_path):
    copy_weights(tiny_weights, tmp_path / "w")
    missing = tmp_path / "no-such-folder"
    out = run_cli(["-m", "core.evaluate", "--modality", "histo", "--data", str(missing)], tmp_path / "w")
    assert_one_line_error(out, "no-such-folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    out = run_cli(["-m", "core.evaluate", "--modality", "histo", "--data", str(empty)], tmp_path / "w")
    assert_one_line_error(out, "empty")


def test_train_cli_bad_data_folder(run_cli, tmp_path):
    out = run_cli(
        [
            "-m",
            "core.train",
            "--modality",
            "histo",
            "--data",
            str(tmp_path / "nothing"),
            "--out",
            str(tmp_path / "out"),
            "--epochs",
            "1",
        ],
        tmp_path,
    )
    assert_one_line_error(out, "nothing")
    assert not (tmp_path / "out" / "histo.keras").exists()
