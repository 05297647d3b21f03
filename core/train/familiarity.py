"""Write the familiarity reference of a shipped model from its own training inputs.

    python -m core.train.familiarity --modality histo --data DIR [--weights FILE]

The training inputs are the training patients listed in the model card; see
:mod:`core.model.familiarity` for the score. Training writes the reference itself; this
command makes it for weights trained before it existed, and prints how often the training
inputs, the other unseen patients' inputs and a few images of the other modality are flagged.
"""

from __future__ import annotations

import numpy as np

from core.config import configure
from core.data.labelled import load_labelled
from core.errors import command
from core.model.familiarity import features, fit_reference, reference_path, save_reference, scores
from core.train.shipped import shipped_model


def write_reference(model, x_train: np.ndarray, weights_file) -> dict:
    """Fit the reference on the training inputs and save it beside the weights."""
    feats = features(model, x_train)
    ref = fit_reference(feats)
    save_reference(reference_path(weights_file), ref)
    flagged = float((scores(ref, feats) > ref.threshold).mean())
    return {"threshold": round(ref.threshold, 4), "training_inputs": int(len(x_train)), "training_flagged": flagged}


@command
def main(argv: list[str] | None = None) -> int:
    configure()
    args, clf = shipped_model("python -m core.train.familiarity", __doc__, argv)
    weights_file = args.weights
    train = set(clf.card.get("split", {}).get("patients", {}).get("train", []))
    data = load_labelled(args.modality, args.data, keep=lambda p: p in train)
    info = write_reference(clf.model, data.x, weights_file)
    print(
        f"wrote {reference_path(weights_file)}: threshold {info['threshold']} from {info['training_inputs']} "
        f"training inputs, {info['training_flagged']:.1%} of them flagged"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
