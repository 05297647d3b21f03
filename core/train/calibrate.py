"""Fit a shipped model's calibration on its validation patients and record it in the card.

    python -m core.train.calibrate --modality histo --data DIR [--weights FILE]

The validation and test patients are the ones the model card lists; see
:mod:`core.model.calibration` for the method. Training records the calibration itself; this
command makes it for weights trained before it existed (the weights are not touched, so
their SHA-256 still matches) and prints the expected calibration error on the test patients
before and after.
"""

from __future__ import annotations

import numpy as np

from core.config import configure
from core.data.labelled import load_labelled
from core.errors import command
from core.evaluate.scores import brier_score
from core.model.calibration import METHOD, expected_calibration_error, fit_platt
from core.model.card import card_path, read_json, write_json
from core.train.shipped import shipped_model


def calibration_record(
    y_val: np.ndarray,
    p_val: np.ndarray,
    n_val_patients: int,
    y_test: np.ndarray,
    p_test: np.ndarray,
    n_test_patients: int,
) -> dict:
    """The card's ``calibration`` entry: the fit on validation, and its check on the test patients."""
    cal = fit_platt(y_val, p_val)
    p_cal = cal.apply(p_test)
    return {
        "method": METHOD,
        "a": round(cal.a, 5),
        "b": round(cal.b, 5),
        "fitted_on": {"part": "validation", "n": int(len(y_val)), "n_patients": int(n_val_patients)},
        "test": {
            "n": int(len(y_test)),
            "n_patients": int(n_test_patients),
            "ece_raw": round(expected_calibration_error(y_test, p_test), 4),
            "ece_calibrated": round(expected_calibration_error(y_test, p_cal), 4),
            "brier_raw": round(brier_score(y_test, p_test), 4),
            "brier_calibrated": round(brier_score(y_test, p_cal), 4),
            "bins": 10,
        },
    }


@command
def main(argv: list[str] | None = None) -> int:
    configure()
    args, clf = shipped_model("python -m core.train.calibrate", __doc__, argv)
    weights_file = args.weights
    patients = clf.card.get("split", {}).get("patients", {})
    val, test = set(patients.get("val", [])), set(patients.get("test", []))
    if not val or not test:
        raise SystemExit("The model card lists no validation or test patients: retrain with --split patient.")
    data = load_labelled(args.modality, args.data, keep=lambda p: p in val or p in test)
    in_val = np.isin(data.groups, sorted(val))
    p = clf.predict_positive(data.x)
    record = calibration_record(
        data.y[in_val],
        p[in_val],
        len(set(data.groups[in_val].tolist())),
        data.y[~in_val],
        p[~in_val],
        len(set(data.groups[~in_val].tolist())),
    )
    card = read_json(card_path(weights_file))
    card["calibration"] = record
    write_json(card_path(weights_file), card)
    t = record["test"]
    print(
        f"{args.modality}: a {record['a']}, b {record['b']} from {record['fitted_on']['n']} validation images of "
        f"{record['fitted_on']['n_patients']} patients; on {t['n']} test images of {t['n_patients']} patients "
        f"ECE {t['ece_raw']} → {t['ece_calibrated']}, Brier {t['brier_raw']} → {t['brier_calibrated']}"
    )
    print(f"wrote the calibration into {card_path(weights_file)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
