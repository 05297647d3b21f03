"""A tiny real training run, end to end: weights and a card that load and verify."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.model.card import sha256_file, verify_weights
from core.model.classifier import Classifier
from core.train import fit as train_mod

SMALL_PATIENTS = ("9262", "8957", "9383", "9258", "9344", "10275")


def _manifest_count(histo_dir, patients) -> int:
    """How many patches the data set's MANIFEST.csv lists for these patients."""
    import csv

    with open(histo_dir.parent / "MANIFEST.csv", newline="") as fh:
        return sum(row["patient_id"] in patients for row in csv.DictReader(fh))


@pytest.fixture()
def small_histo(histo_dir, tmp_path):
    root = tmp_path / "idc"
    root.mkdir()
    for pid in SMALL_PATIENTS:
        (root / pid).symlink_to(histo_dir / pid, target_is_directory=True)
    return root


def test_batch_size_schedule_rises_from_25_to_75():
    config = train_mod.TrainConfig()
    sizes = [config.batch_size(e) for e in range(config.epochs)]
    assert sizes[0] == 25 and sizes[-1] == 75 and sorted(sizes) == sizes and 50 in sizes


@pytest.mark.parametrize("filters", ["16,32,64", "16,32,64,x", "16,32,0,128"])
def test_filters_are_four_positive_widths(filters, capsys):
    with pytest.raises(SystemExit):
        train_mod.main(["--modality", "histo", "--data", "nowhere", "--filters", filters])
    assert "argument --filters: needs 4 positive whole numbers" in capsys.readouterr().err


def test_class_weights_balance_classes():
    w = train_mod.class_weights(np.array([0, 0, 0, 1]))
    assert w[1] == pytest.approx(3 * w[0])


@pytest.mark.parametrize("momentum", [-0.1, 1.0])
def test_weight_average_momentum_outside_zero_one_is_refused(momentum, histo_dir):
    from core.data.labelled import load_labelled

    data = load_labelled("histo", histo_dir, keep=lambda pid: pid == SMALL_PATIENTS[0])
    with pytest.raises(train_mod.BreastXAIError, match="ema_momentum"):
        train_mod.fit(data, data, train_mod.TrainConfig(epochs=1, ema_momentum=momentum), verbose=0)


@pytest.mark.slow
def test_weight_average_is_what_validation_measures_and_what_is_returned(small_histo):
    """With a moving average of the weights, the validation loss of the best epoch is the loss
    of the returned model: the average is validated, kept and returned, not the raw weights."""
    from core.data.labelled import load_labelled

    data = load_labelled("histo", small_histo)
    val = np.isin(data.groups, SMALL_PATIENTS[:2])
    train_set, val_set = data.subset(np.flatnonzero(~val)), data.subset(np.flatnonzero(val))
    config = train_mod.TrainConfig(epochs=3, ema_momentum=0.9)
    model, history = train_mod.fit(train_set, val_set, config, verbose=0)
    assert model.optimizer.use_ema
    w = train_mod.class_weights(train_set.y)
    loss = model.evaluate(
        val_set.x,
        val_set.y,
        sample_weight=np.array([w[int(c)] for c in val_set.y], np.float32),
        batch_size=256,
        verbose=0,
        return_dict=True,
    )["loss"]
    best = history["best_epoch"][0]
    assert loss == pytest.approx(history["val_loss"][best - 1], abs=1e-4)


@pytest.mark.slow
def test_one_epoch_run_writes_loadable_model_and_card(small_histo, histo_dir, tmp_path):
    out = tmp_path / "weights"
    code = train_mod.main(["--modality", "histo", "--data", str(small_histo), "--epochs", "1", "--out", str(out)])
    assert code == 0
    card = json.loads((out / "histo.json").read_text())
    assert card["weights"]["sha256"] == sha256_file(out / "histo.keras")
    verify_weights(out / "histo.keras")
    parts = card["split"]["patients"]
    assert not set(parts["train"]) & set(parts["test"])
    n_small = _manifest_count(histo_dir, SMALL_PATIENTS)
    assert card["data"]["n_images"] == n_small and card["data"]["n_patients"] == len(SMALL_PATIENTS)
    assert len(card["history"]["loss"]) == 1 and card["history"]["batch_size"] == [25]
    assert card["hyperparameters"]["filters"] == list(train_mod.FILTERS)  # the shipped widths by default
    for key in ("hyperparameters", "test_metrics", "versions", "training_seconds"):
        assert key in card
    cal = card["calibration"]  # fitted on the validation part, checked on the test part
    assert cal["fitted_on"]["n"] == card["split"]["counts"]["val"] and cal["test"]["n"] == card["test_metrics"]["n"]
    assert np.load(out / "histo.background.npy").shape[1:] == (50, 50, 3)
    clf = Classifier.load("histo", out / "histo.keras")
    p = clf.predict(np.zeros((2, 50, 50, 3), np.float32))
    assert p.shape == (2, 2)
    ev = json.loads((out / "histo.eval.json").read_text())
    assert len(ev["predictions"]) == card["split"]["counts"]["test"]

    # --cv-only adds the recipe's cross-validation to that card and leaves the weights alone
    before = sha256_file(out / "histo.keras")
    code = train_mod.main(
        [
            "--modality",
            "histo",
            "--data",
            str(small_histo),
            "--epochs",
            "1",
            "--cv",
            "2",
            "--cv-only",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    card = json.loads((out / "histo.json").read_text())
    cv = card["cross_validation"]
    assert cv["folds"] == 2 and len(cv["per_fold"]) == 2 and cv["grouping"] == "patient"
    assert sum(f["n"] for f in cv["per_fold"]) == n_small == cv["pooled_out_of_fold"]["n"]
    assert sha256_file(out / "histo.keras") == before == card["weights"]["sha256"]


@pytest.fixture()
def small_cbis(cbis_films_dir, tmp_path):
    """A few dozen real CBIS-DDSM films in the published layout (films linked, COCO filtered)."""
    import shutil

    from core.data.cbis_films import CBIS_MASS_CSVS

    root = tmp_path / "cbis"
    (root / "train").mkdir(parents=True)
    for name in CBIS_MASS_CSVS:
        shutil.copy(cbis_films_dir / name, root / name)
    coco = json.loads((cbis_films_dir / "train" / "_annotations.coco.json").read_text())
    images = sorted(coco["images"], key=lambda im: im["file_name"])[:60]
    keep = {im["id"] for im in images}
    for im in images:
        (root / "train" / im["file_name"]).symlink_to(cbis_films_dir / "train" / im["file_name"])
    subset = {**coco, "images": images, "annotations": [a for a in coco["annotations"] if a["image_id"] in keep]}
    (root / "train" / "_annotations.coco.json").write_text(json.dumps(subset))
    return root


@pytest.mark.slow
def test_one_epoch_on_cbis_films_frames_lesions_by_the_box_rule(small_cbis, tmp_path):
    from core.data.cbis_films import read_film_lesions

    out = tmp_path / "weights"
    args = ["--modality", "mammo", "--data", str(small_cbis), "--epochs", "1", "--repeats", "1", "--out", str(out)]
    assert train_mod.main(args) == 0
    card = json.loads((out / "mammo.json").read_text())
    found = read_film_lesions(small_cbis)
    assert card["data"]["n_images"] == len(found.lesions)
    assert card["data"]["n_patients"] == len({les.patient for les in found.lesions})
    parts = card["split"]["patients"]
    assert not set(parts["train"]) & set(parts["test"]) and not set(parts["val"]) & set(parts["test"])
    verify_weights(out / "mammo.keras")
    ev = json.loads((out / "mammo.eval.json").read_text())
    assert len(ev["predictions"]) == card["split"]["counts"]["test"]
